#!/usr/bin/env bash
# End-to-end test of examples/http_raw, driven by curl, nc (netcat-openbsd)
# and wrk: answers byte for byte, keep-alive (HTTP/1.1 by default, HTTP/1.0 on
# request), pipelining, HEAD, request bodies, 400/501 for malformed requests
# with the connection closed, a short wrk run without errors, SIGTERM (with a
# keep-alive connection open) ending the server with status 0, and, on a
# server capped at 64 descriptors, slow request heads (slowloris, driven by
# slow_header_clients.py) cut off by --read-header-timeout while curl is
# served.
#
#   tests/e2e/http_raw_test.sh build/examples/http_raw
set -euo pipefail

source "$(dirname "$0")/lib.sh"

# The answers, as printf formats.
hello='HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!'
hello_close='HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!'
hello_keep_alive='HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!'
head_answer='HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n'
head_close='HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\n'
bad_request='HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Request\n'
not_implemented='HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nNot Implemented\n'

# exchange NAME REQUEST_FILE EXPECTED_FORMAT: sends the request in one write
# (nc reads its stdin in 16 KiB pieces), and expects exactly that answer and
# the server to close the connection (nc ends by itself only then).
exchange() {
    local status=0
    timeout 10 nc "$host" "$port" <"$2" >"$work/got" || status=$?
    [[ $status -ne 124 ]] || fail "$1: the server did not close the connection within 10 s"
    printf -- "$3" >"$work/expected"
    expect_same "$1" "$work/expected" "$work/got"
}

# exchange_text NAME REQUEST_FORMAT EXPECTED_FORMAT
exchange_text() {
    printf -- "$2" >"$work/request"
    exchange "$1" "$work/request" "$3"
}

start_server
url=http://$address/

# curl: status, headers and body.
code=$(curl -sS --max-time 10 -D "$work/headers" -o "$work/body" -w '%{http_code}' "$url") || fail "curl GET failed"
[[ $code == 200 ]] || fail "curl GET: expected status 200, got $code"
printf 'Hello, World!' >"$work/expected_body"
expect_same "curl GET body" "$work/expected_body" "$work/body"
grep -qix $'content-type: text/plain\r' "$work/headers" || fail "curl GET: no 'Content-Type: text/plain' in: $(cat "$work/headers")"
grep -qix $'content-length: 13\r' "$work/headers" || fail "curl GET: no 'Content-Length: 13' in: $(cat "$work/headers")"
echo "ok: curl GET"

# Keep-alive: two URLs in one curl run share one connection.
curl -sv --http1.1 --max-time 10 -o /dev/null -o /dev/null "$url" "${url}again" 2>"$work/curl.log" || fail "curl (two URLs) failed"
connects=$(grep -c '^\* Connected to' "$work/curl.log" || true)
grep -q 'Re-using existing connection' "$work/curl.log" && [[ $connects -eq 1 ]] ||
    fail "keep-alive: expected one connect and 'Re-using existing connection', got $connects connect(s):
$(grep '^\*' "$work/curl.log")"
echo "ok: HTTP/1.1 keep-alive (curl reuses the connection)"

# HTTP/1.0: answered with Connection: close, and closed.
exchange_text "HTTP/1.0 request" 'GET / HTTP/1.0\r\n\r\n' "$hello_close"
# HTTP/1.0 with keep-alive: the connection stays open for a second request.
exchange_text "HTTP/1.0 keep-alive" \
    'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
    "$hello_keep_alive$hello_close"
echo "ok: HTTP/1.0 (closes, or keeps alive on request)"

# Pipelining: three requests in one write, answered in order (the HEAD in the
# middle shows the order).
exchange_text "pipelined GET, HEAD, GET" \
    'GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
    "$hello$head_answer$hello_close"
echo "ok: pipelining"

# HEAD: the headers of a GET, no body.
exchange_text "HEAD" 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$head_close"
curl -sS --max-time 10 -I "$url" >"$work/head.curl" || fail "curl -I failed"
grep -q '^HTTP/1.1 200 OK' "$work/head.curl" || fail "curl -I: expected 200, got: $(cat "$work/head.curl")"
echo "ok: HEAD"

# Request bodies are read and dropped: the request after one is parsed right.
exchange_text "POST with a body, then GET" \
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello=worldGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
    "$hello$hello_close"
head -c 2097152 /dev/urandom >"$work/upload"  # big enough for curl to send Expect: 100-continue
got=$(curl -sS --max-time 20 --data-binary @"$work/upload" "$url") || fail "curl POST of 2 MiB failed"
[[ $got == "Hello, World!" ]] || fail "curl POST of 2 MiB: expected 'Hello, World!', got '$got'"
echo "ok: request bodies"

# Malformed requests: 400 (501 for chunked bodies), and the connection closed.
exchange_text "garbage line" 'garbage\r\n\r\n' "$bad_request"
exchange_text "request line without version" 'GET /\r\n\r\n' "$bad_request"
exchange_text "unknown version" 'GET / HTTP/2.0\r\n\r\n' "$bad_request"
exchange_text "header without colon" 'GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n' "$bad_request"
exchange_text "space before colon" 'GET / HTTP/1.1\r\nHost : x\r\n\r\n' "$bad_request"
exchange_text "bad Content-Length" 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n' "$bad_request"
exchange_text "chunked body" 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' "$not_implemented"
{
    printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Big: '
    head -c 20480 /dev/zero | tr '\0' a
    printf '\r\n\r\n'
} >"$work/big_header"
exchange "20 KB header" "$work/big_header" "$bad_request"
# Host: required on HTTP/1.1, at most one, a host[:port] (RFC 9112 §3.2);
# HTTP/1.0 may leave it out, and an empty one is allowed.
exchange_text "HTTP/1.1 without Host" 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n' "$bad_request"
exchange_text "two Host headers" 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' "$bad_request"
exchange_text "Host that is no host" 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n' "$bad_request"
exchange_text "HTTP/1.0 without Host" 'GET / HTTP/1.0\r\n\r\n' "$hello_close"
exchange_text "empty Host, host:port, [v6]:port" \
    'GET / HTTP/1.1\r\nHost:\r\n\r\nGET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\nGET / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n' \
    "$hello$hello$hello_close"
# A bare CR, a NUL or another control character in a header value (RFC 9110
# §5.5, RFC 9112 §2.2); a tab and bytes from 0x80 are fine.
exchange_text "bare CR in a value" 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n' "$bad_request"
exchange_text "bare CR ending a value" 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\r\n\r\n' "$bad_request"
exchange_text "NUL in a value" 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n' "$bad_request"
exchange_text "NUL in Host" 'GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n' "$bad_request"
exchange_text "ESC in a value" 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\033b\r\n\r\n' "$bad_request"
exchange_text "tab and obs-text in a value" 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\tb \351\r\nConnection: close\r\n\r\n' \
    "$hello_close"
# A good request, then a bad one in the same write: the first is answered.
exchange_text "good then bad" 'GET / HTTP/1.1\r\nHost: x\r\n\r\nBAD\r\n\r\n' "$hello$bad_request"
got=$(curl -sS --max-time 10 "$url") || fail "curl after malformed requests failed"
[[ $got == "Hello, World!" ]] || fail "curl after malformed requests: expected 'Hello, World!', got '$got'"
echo "ok: malformed requests get 400/501 and are closed; the server carries on"

# A short load: no errors, every answer 2xx.
wrk -t1 -c10 -d1s "$url" >"$work/wrk.out" 2>&1 || fail "wrk failed: $(cat "$work/wrk.out")"
if grep -qE 'Non-2xx|Socket errors' "$work/wrk.out"; then
    fail "wrk reported errors:
$(cat "$work/wrk.out")"
fi
requests=$(sed -n 's/^ *\([0-9]\+\) requests in.*/\1/p' "$work/wrk.out")
[[ ${requests:-0} -gt 0 ]] || fail "wrk: no requests completed:
$(cat "$work/wrk.out")"
echo "ok: wrk -t1 -c10 -d1s: $requests requests, no errors"

# SIGTERM with an idle keep-alive connection open: the server closes it and
# exits 0; the client then reads EOF.
exec 5<>"/dev/tcp/$host/$port"
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&5
IFS= read -r -t 10 status_line <&5 || fail "keep-alive client: no answer"
[[ $status_line == $'HTTP/1.1 200 OK\r' ]] || fail "keep-alive client: expected 'HTTP/1.1 200 OK', got '$status_line'"
stop_server
# The rest of the answer, then EOF.
timeout 10 cat <&5 >/dev/null || fail "keep-alive client: the connection was not closed at shutdown"
exec 5<&-
echo "ok: SIGTERM closes connections and exits 0"

# Slowloris under a descriptor cap: 100 clients trickle a request head that
# never ends, a byte every 0.2 s, into a server allowed 64 descriptors, so
# most of them wait in the listen backlog. Each is cut off once its head has
# taken --read-header-timeout (1 s) from when the server took the connection
# in, however steadily it trickles; that frees descriptors, and a normal
# request sent meanwhile is served. (Before the timeout, each byte moved the
# idle deadline, and the first 60 or so held the server until they stopped.)
command -v prlimit >/dev/null || fail "prlimit (util-linux) is needed"
server_wrapper=(prlimit --nofile=64:64)
start_server capped --read-header-timeout 1s
server_wrapper=()
timeout 60 python3 "$(dirname "$0")/slow_header_clients.py" "$host" "$port" 100 30 "$work/slow.ready" \
    >"$work/slow.out" &
slow_pid=$!
for i in $(seq 200); do
    [[ -e $work/slow.ready ]] && break
    sleep 0.05
done
[[ -e $work/slow.ready ]] || fail "the slow clients did not connect within 10 s"
# The slow clients go on for 30 s: without the timeout, curl gives up first.
got=$(curl -sS --max-time 20 "http://$address/") || fail "curl while 100 slow clients hold a capped server: no answer"
[[ $got == "Hello, World!" ]] || fail "curl while slow clients hold a capped server: expected 'Hello, World!', got '$got'"
wait "$slow_pid" || fail "the slow clients failed: $(cat "$work/slow.out")"
[[ $(cat "$work/slow.out") == "closed 100 of 100" ]] ||
    fail "slow clients: expected the server to close all 100, got: $(cat "$work/slow.out")"
echo "ok: slow request heads are cut off after --read-header-timeout; curl is served under a 64-descriptor cap"

# The header timeout is for a head, not for the wait between requests: a
# keep-alive connection idle for longer than it still gets its next answer.
exec 5<>"/dev/tcp/$host/$port"
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&5
sleep 1.5
printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&5
timeout 10 cat <&5 >"$work/idle.got" || fail "idle keep-alive client: the connection was not closed after the second answer"
exec 5<&-
printf -- "$hello$hello_close" >"$work/idle.expected"
expect_same "idle keep-alive client" "$work/idle.expected" "$work/idle.got"
echo "ok: a keep-alive connection idle for longer than the header timeout is still served"
stop_server
echo "PASS: http_raw"
