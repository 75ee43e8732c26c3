#!/usr/bin/env bash
# End-to-end test of examples/kv_server, the Redis-protocol example server.
#
#   tests/e2e/kv_server_test.sh path/to/kv_server
#
# Starts kv_server on a free loopback port and, when redis-server is
# installed, a real Redis next to it; runs the same redis-cli commands against
# both and compares the replies. Then, against kv_server alone: pipelining,
# commands split across writes, inline commands, large values, unknown
# commands and malformed frames (an -ERR reply, the connection closed, the
# server still up), a short redis-benchmark run, and shutdown on SIGTERM and
# SIGINT (exit status 0 within a few seconds, with clients still connected).
# Needs redis-cli, redis-benchmark (Debian: redis-tools), nc (netcat-openbsd)
# and timeout; installs nothing. Exits non-zero if any check fails.
set -uo pipefail

source "$(dirname "$0")/lib.sh"
for tool in redis-cli redis-benchmark nc timeout; do
    if ! command -v "$tool" >/dev/null; then
        echo "kv_server_test: $tool is not installed (Debian: redis-tools, netcat-openbsd, coreutils)" >&2
        exit 2
    fi
done

passed=0
failed=0
pass() { passed=$((passed + 1)); }
# fail_check NAME EXPECTED GOT: counts a failed check and goes on (fail, from
# lib.sh, stops the test). Text with control characters other than newlines
# (raw protocol) is shown escaped: $'+OK\r\n'.
fail_check() {
    failed=$((failed + 1))
    printf 'FAIL: %s\n  expected: %s\n  got:      %s\n' "$1" "$(show "$2")" "$(show "$3")"
}
show() {
    local without_newlines=${1//$'\n'/}
    if [[ $without_newlines =~ [[:cntrl:]] ]]; then printf '%q' "$1"; else printf '%s' "${1//$'\n'/$'\n'            }"; fi
}
check() {  # check NAME EXPECTED GOT
    if [[ $2 == "$3" ]]; then pass; else fail_check "$@"; fi
}

# stop_kv SIGNAL LABEL: stop_server SIGNAL, and nothing alarming on its stderr.
stop_kv() {
    stop_server "$1"
    # A sanitizer build may report and still exit 0 (UBSan, by default).
    local reports
    reports=$(grep -E 'runtime error:|Sanitizer|panic|fatal error' "$server_err")
    check "$2: no sanitizer report, panic or fatal error on stderr" "" "$reports"
    if [[ -n $reports ]]; then sed 's/^/  kv_server stderr: /' "$server_err"; fi
}

cli() {  # cli PORT ARGS...: one command, formatted replies ("(integer) 1", "(nil)")
    local port=$1
    shift
    timeout 10 redis-cli --no-raw -p "$port" "$@" 2>&1
}
# send PORT BYTES: sends BYTES, half-closes, prints everything the server
# answers until it closes. A trailing "." keeps $(...) from eating newlines.
send() { printf '%s' "$2" | timeout 10 nc -N 127.0.0.1 "$1"; echo .; }
# send_and_wait PORT BYTES: sends BYTES without closing our side; prints the
# answer and returns 124 if the server has not closed the connection in 3 s.
send_and_wait() {
    local fd status
    exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf '%s' "$2" >&"$fd"
    timeout 3 cat <&"$fd"
    status=$?
    exec {fd}>&-
    echo .
    return $status
}
still_up() { check "$1: server still answers PING afterwards" "PONG" "$(cli "$port" PING)"; }

start_server kv

# ---------------------------------------------------------------- same replies as Redis

# One command per line, as redis-cli reads them (quotes group words).
# "SLEEP s" pauses both servers' sequence; a TTL/PTTL reply may differ by a
# little (the two servers are asked a few milliseconds apart).
commands=$(cat <<'EOF'
FLUSHALL
DBSIZE
PING
PING "hello world"
PING a b
ECHO "two words"
ECHO
ECHO a b
GET missing
GET
GET a b
SET k1 v1
GET k1
set K1 lower
get K1
SET k1 v2 XX
GET k1
SET k1 v3 NX
GET k1
SET k2 v2 NX
SET k3 v3 XX
GET k3
SET k1 v nx
SET k1 v XX NX
SET k1 v EX
SET k1 v EX abc
SET k1 v EX 0
SET k1 v EX -5
SET k1 v PX 0
SET k1 v EX 1.5
SET k1 v EX 9223372036854775807
SET k1 v EX 10 PX 100
SET k1 v EX abc NX XX
SET k1 v KEEPTTL EX 10
SET k1 v FOO
SET k1 v EX 10 EX 100
TTL k1
SET t v EX 100
TTL t
PTTL t
SET t v2 KEEPTTL
TTL t
GET t
SET t v3
TTL t
TTL missing
PTTL missing
SET empty ""
GET empty
SET spaced "a value with spaces"
GET spaced
DEL k1 k2 missing k1
DEL missing
DEL
EXISTS k1 k2 t t missing
EXISTS
SET n 10
INCR n
DECR n
DECR n
GET n
INCR counter
DECR counter2
SET n 9223372036854775806
INCR n
INCR n
SET n -9223372036854775807
DECR n
DECR n
SET n abc
INCR n
SET n 007
INCR n
SET n -0
INCR n
SET n " 1"
INCR n
SET n +1
DECR n
SET n 1.5
INCR n
SET n 12345678901234567890
INCR n
INCR
INCR a b
DECR
SET c 5 EX 100
INCR c
TTL c
MSET a 1 b 2 c 3
MGET a b c missing
MSET a 1 b
MSET
MGET
MSET a x a y
GET a
SET a 1 EX 100
MSET a 2
TTL a
EXPIRE a abc
EXPIRE missing 10
EXPIRE a 100
TTL a
EXPIRE a 9223372036854775807
EXPIRE a 1.5
EXPIRE a
EXPIRE a 0
EXISTS a
EXPIRE b -1
EXISTS b
GET b
SET p v PX 500
SET sweep1 v PX 300
SET sweep2 v PX 300
DBSIZE
SLEEP 1.2
DBSIZE
GET p
TTL p
EXISTS sweep1 sweep2
foo
foo bar "baz qux"
FOO
CONFIG GET save
CONFIG GET appendonly
CONFIG GET no-such-parameter
CONFIG FOO
CONFIG
DBSIZE
DBSIZE extra
FLUSHALL bad
FLUSHALL ASYNC
DBSIZE
SET after flush
FLUSHALL SYNC
DBSIZE
QUIT
EOF
)

# A free loopback port for redis-server (which cannot pick one itself).
free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
        return
    fi
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 40000))
        if ! nc -z 127.0.0.1 "$port" 2>/dev/null; then echo "$port"; return; fi
    done
}

if ! command -v redis-server >/dev/null; then
    echo "SKIP: redis-server is not installed: not comparing replies with a real Redis"
else
    redis_port=$(free_port)
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --daemonize no \
        --dir "$work" >"$work/redis.log" 2>&1 &
    for _ in $(seq 100); do
        [[ $(timeout 1 redis-cli -p "$redis_port" PING 2>/dev/null) == PONG ]] && break
        sleep 0.05
    done
    if [[ $(timeout 1 redis-cli -p "$redis_port" PING 2>/dev/null) != PONG ]]; then
        fail_check "redis-server starts on port $redis_port" "PONG" "$(tail -5 "$work/redis.log")"
    else
        echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$redis_port"
        compared=0
        while IFS= read -r line; do
            if [[ $line == SLEEP* ]]; then
                sleep "${line#SLEEP }"
                continue
            fi
            expected=$(printf '%s\n' "$line" | timeout 10 redis-cli --no-raw -p "$redis_port" 2>&1)
            got=$(printf '%s\n' "$line" | timeout 10 redis-cli --no-raw -p "$port" 2>&1)
            if [[ $line =~ ^P?TTL && $expected =~ ^\(integer\)\ ([0-9]+)$ ]]; then
                e=${BASH_REMATCH[1]}
                slack=$([[ $line == PTTL* ]] && echo 2000 || echo 1)
                if [[ $got =~ ^\(integer\)\ ([0-9]+)$ ]] && ((${BASH_REMATCH[1]} >= e - slack && ${BASH_REMATCH[1]} <= e + slack)); then
                    got=$expected
                fi
            fi
            check "same reply as Redis to: $line" "$expected" "$got"
            compared=$((compared + 1))
        done <<<"$commands"
        echo "compared $compared commands with Redis"
    fi
fi

# ---------------------------------------------------------------- protocol, against kv_server

cli "$port" FLUSHALL >/dev/null

# COMMAND (DOCS) is answered with an empty array, CONFIG GET save with a pair.
check "COMMAND DOCS is an empty array" "(empty array)" "$(cli "$port" COMMAND DOCS)"
check "COMMAND is an empty array" "(empty array)" "$(cli "$port" COMMAND)"
check "CONFIG GET save" $'1) "save"\n2) ""' "$(cli "$port" CONFIG GET save)"

# Pipelining: 100 commands in one write, 100 replies in order.
request="" expected=""
for i in $(seq 100); do
    request+=$'*2\r\n$4\r\nINCR\r\n$4\r\npipe\r\n'
    expected+=":$i"$'\r\n'
done
check "100 pipelined INCRs" "$expected." "$(send "$port" "$request")"

# A longer pipeline, mixing SET and GET, that spans many reads.
request="" expected=""
for i in $(seq 5000); do
    request+="*3"$'\r\n$3\r\nSET\r\n$'"${#i}"$'\r\n'"$i"$'\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$'"${#i}"$'\r\n'"$i"$'\r\n'
    expected+=$'+OK\r\n$5\r\nvalue\r\n'
done
got=$(send "$port" "$request")
if [[ $got == "$expected." ]]; then
    pass
else
    fail_check "5000 pipelined SET+GET pairs (${#request} bytes): replies" "5000 +OK and 5000 \$5 lines" \
        "$(grep -c '^+OK' <<<"$got") +OK and $(grep -c '^\$5' <<<"$got") \$5 lines in ${#got} bytes"
fi
check "DBSIZE after the long pipeline" "(integer) 5001" "$(cli "$port" DBSIZE)"

# A command split across writes, in the headers and in a bulk string.
got=$({ printf '*3\r\n$3\r\nSET\r\n$5\r\nsp'; sleep 0.2; printf 'lit\r\n$5\r\nhel'; sleep 0.2; printf 'lo\r\n*2\r\n$3\r\nG'
        sleep 0.2; printf 'ET\r\n$5\r\nsplit\r'; sleep 0.2; printf '\n'; } | timeout 10 nc -N 127.0.0.1 "$port"; echo .)
check "a command split across writes" $'+OK\r\n$5\r\nhello\r\n.' "$got"

# Inline commands, as typed into telnet or nc.
check "inline commands" $'+PONG\r\n+OK\r\n$11\r\nhello world\r\n$3\r\naAb\r\n$2\r\nhi\r\n+PONG\r\n.' \
    "$(send "$port" $'PING\r\nSET greeting "hello world"\r\nGET greeting\r\nECHO "a\\x41b"\r\n\r\n\n  echo  \'hi\'  \nping\n')"
check "inline unknown command" $'-ERR unknown command \'nosuch\', with args beginning with: \'a\' \'b c\' \r\n.' \
    "$(send "$port" $'nosuch a "b c"\r\n')"

# A 1 MB value, set with redis-cli -x (bulk string arrives over many reads).
head -c 1000000 /dev/zero | tr '\0' 'x' >"$work/big"
check "SET a 1 MB value" "OK" "$(timeout 10 redis-cli -p "$port" -x SET big <"$work/big" 2>&1)"
check "GET a 1 MB value" "1000001" "$(timeout 10 redis-cli -p "$port" GET big | wc -c)"
check "QUIT says OK and closes" $'+OK\r\n.' "$(send_and_wait "$port" $'QUIT\r\nPING\r\n')"

# Unknown commands and wrong arity are ordinary errors: the connection stays.
check "unknown command, then the connection goes on" \
    $'-ERR unknown command \'foo\', with args beginning with: \'bar\' \r\n+PONG\r\n.' \
    "$(send "$port" $'*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n*1\r\n$4\r\nPING\r\n')"
check "wrong number of arguments" $'-ERR wrong number of arguments for \'get\' command\r\n.' \
    "$(send "$port" $'*1\r\n$3\r\nGET\r\n')"

# Malformed frames: an -ERR Protocol error reply, then the server closes that
# connection (replies to the commands before it still arrive first).
malformed() {  # malformed NAME BYTES EXPECTED_REPLY
    local got status
    got=$(send_and_wait "$port" "$2")
    status=$?
    check "$1: reply" "$3." "$got"
    if [[ $status -eq 124 ]]; then fail_check "$1: the server closes the connection" "closed" "still open after 3 s"; else pass; fi
    still_up "$1"
}
malformed "multibulk count too large (*99999999999)" $'*99999999999\r\n' \
    $'-ERR Protocol error: invalid multibulk length\r\n'
malformed "multibulk count not a number" $'*abc\r\n' $'-ERR Protocol error: invalid multibulk length\r\n'
malformed "bulk length too large (\$99999999999)" $'*2\r\n$99999999999\r\n' $'-ERR Protocol error: invalid bulk length\r\n'
malformed "bulk length over 512 MB" $'*1\r\n$536870913\r\n' $'-ERR Protocol error: invalid bulk length\r\n'
malformed "negative bulk length" $'*2\r\n$-5\r\n' $'-ERR Protocol error: invalid bulk length\r\n'
malformed "bulk header without \$" $'*2\r\nx3\r\n' $'-ERR Protocol error: expected \'$\', got \'x\'\r\n'
malformed "bulk string without CRLF, after a good command" $'*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPINGxx' \
    $'+PONG\r\n-ERR Protocol error: bulk string not followed by CRLF\r\n'
malformed "header line ending in a bare LF" $'*1\n' $'-ERR Protocol error: line not terminated by CRLF\r\n'
malformed "unbalanced quotes in an inline command" $'ECHO "open\r\n' \
    $'-ERR Protocol error: unbalanced quotes in request\r\n'
malformed "inline line over 64 KB" "$(head -c 70000 /dev/zero | tr '\0' 'a')" \
    $'-ERR Protocol error: too big inline request\r\n'
malformed "bulk header over 64 KB" $'*1\r\n$'"$(head -c 70000 /dev/zero | tr '\0' '9')" \
    $'-ERR Protocol error: too big bulk count string\r\n'

# ---------------------------------------------------------------- redis-benchmark, shutdown

bench=$(timeout 60 redis-benchmark -p "$port" -t set,get -n 2000 -c 10 -q 2>&1 | tr '\r' '\n')
status=$?
if [[ $status -eq 0 && $bench == *"SET: "*"requests per second"* && $bench == *"GET: "*"requests per second"* &&
      $bench != *WARNING* && $bench != *ERROR* ]]; then
    pass
    grep 'requests per second' <<<"$bench" | sed 's/^/  redis-benchmark: /'
else
    fail_check "redis-benchmark -t set,get -n 2000 -c 10 completes" "SET and GET results, no warnings" "$bench"
fi

# Shutdown must not wait for clients to leave: two stay connected, idle, and
# one stops half-way through a command when the signal comes.
exec {idle1}<>"/dev/tcp/127.0.0.1/$port" {idle2}<>"/dev/tcp/127.0.0.1/$port"
exec {partial}<>"/dev/tcp/127.0.0.1/$port"
printf '*2\r\n$3\r\nGET\r\n' >&"$partial"
sleep 0.3
stop_kv TERM kv
exec {idle1}>&- {idle2}>&- {partial}>&-

start_server kv-sigint
check "a second server answers" "PONG" "$(cli "$port" PING)"
exec {idle1}<>"/dev/tcp/127.0.0.1/$port"
sleep 0.2
stop_kv INT kv-sigint
exec {idle1}>&-

echo "kv_server_test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
