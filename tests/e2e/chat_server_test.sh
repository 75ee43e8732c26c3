#!/usr/bin/env bash
# End-to-end test of examples/chat_server with three nc (netcat-openbsd)
# clients, each fed through a FIFO: the greeting, arrival announcements,
# messages fanned out to everyone (CRLF lines too), "has left" when a client
# hangs up and when one is killed, each client's transcript exactly, SIGTERM
# (with a client still connected) ending the server with status 0; then,
# with chat_clients.py (python3): no line lost from clients that send one and
# hang up, no reading client dropped in a burst of joins, and a client that
# does not read disconnected after --write-timeout.
#
#   tests/e2e/chat_server_test.sh build/examples/chat_server
set -euo pipefail

source "$(dirname "$0")/lib.sh"

# wait_for CLIENT LINE: until the client's transcript has that exact line.
wait_for() {
    local i
    for i in $(seq 200); do
        grep -qxF -- "$2" "$work/$1.out" && return
        sleep 0.05
    done
    fail "client $1: no line '$2' within 10 s; its transcript:
$(cat "$work/$1.out")"
}

declare -A client_fd client_pid client_address
open_fds=()

# start_client NAME: an nc connected to the server, its stdin a FIFO this
# shell writes to, its stdout $work/NAME.out. Sets client_address[NAME] from
# the server's greeting.
start_client() {
    local name=$1 fd
    mkfifo "$work/$name.in"
    (
        # Not holding the other clients' FIFOs open, so each sees EOF when
        # this shell closes its writing end.
        for fd in "${open_fds[@]}"; do eval "exec $fd>&-"; done
        exec timeout 60 nc -N "$host" "$port" <"$work/$name.in" >"$work/$name.out"
    ) &
    client_pid[$name]=$!
    exec {fd}>"$work/$name.in"
    client_fd[$name]=$fd
    open_fds+=("$fd")
    local i
    for i in $(seq 200); do
        if IFS= read -r greeting <"$work/$name.out"; then break; fi
        sleep 0.05
    done
    [[ ${greeting:-} =~ ^You\ are\ (127\.0\.0\.1:[0-9]+)$ ]] ||
        fail "client $name: expected 'You are 127.0.0.1:PORT' first, got '${greeting:-}'"
    client_address[$name]=${BASH_REMATCH[1]}
}

# say NAME TEXT: the client types a line.
say() { printf '%s\n' "$2" >&"${client_fd[$1]}"; }

# hang_up NAME: end the client's input; nc -N then half-closes, the server
# says goodbye and closes, and nc exits.
hang_up() {
    local fd=${client_fd[$1]} kept=() f
    eval "exec $fd>&-"
    for f in "${open_fds[@]}"; do [[ $f == "$fd" ]] || kept+=("$f"); done
    open_fds=("${kept[@]}")
}

# finished NAME: nc has exited by itself (not by its 60 s timeout).
finished() {
    local status=0
    wait "${client_pid[$1]}" || status=$?
    [[ $status -ne 124 ]] || fail "client $1: the server never closed its connection"
}

start_server

start_client A
a=${client_address[A]}
start_client B
b=${client_address[B]}
wait_for A "$b has arrived"
start_client C
c=${client_address[C]}
wait_for A "$c has arrived"
wait_for B "$c has arrived"
echo "ok: greetings and arrivals"

say A "hello from A"
for who in A B C; do wait_for $who "$a: hello from A"; done
say B "hi from B"
for who in A B C; do wait_for $who "$b: hi from B"; done
printf 'a CRLF line\r\n' >&"${client_fd[C]}"
for who in A B C; do wait_for $who "$c: a CRLF line"; done
echo "ok: messages reach every client"

hang_up C
wait_for A "$c has left"
wait_for B "$c has left"
finished C
echo "ok: a client that hangs up is announced as gone"

# B dies without a word: kill its nc (the child of its timeout). Disowned
# first, so bash does not report the kill.
disown "${client_pid[B]}"
pkill -KILL -P "${client_pid[B]}" nc || fail "could not kill client B's nc"
wait_for A "$b has left"
echo "ok: a killed client is announced as gone"

printf '%s\n' "You are $a" "$b has arrived" "$c has arrived" "$a: hello from A" "$b: hi from B" \
    "$c: a CRLF line" "$c has left" "$b has left" >"$work/A.expected"
printf '%s\n' "You are $b" "$c has arrived" "$a: hello from A" "$b: hi from B" "$c: a CRLF line" \
    "$c has left" >"$work/B.expected"
printf '%s\n' "You are $c" "$a: hello from A" "$b: hi from B" "$c: a CRLF line" >"$work/C.expected"
expect_same "client B's transcript" "$work/B.expected" "$work/B.out"
expect_same "client C's transcript" "$work/C.expected" "$work/C.out"
expect_same "client A's transcript" "$work/A.expected" "$work/A.out"
echo "ok: transcripts exact"

# SIGTERM with A still connected: the server closes it and exits 0.
stop_server
hang_up A
finished A
expect_same "client A's transcript after shutdown" "$work/A.expected" "$work/A.out"
echo "ok: SIGTERM closes connections and exits 0"

# Crowds, driven by chat_clients.py (python3), on a fresh server.
start_server crowd
clients=$(dirname "$0")/chat_clients.py

# 100 clients, 16 at a time, each reads its greeting, sends one line and
# resets the connection: every line reaches an observer. (Before, the
# writer's failed write closed the connection under the handler, which then
# never read the line waiting in the kernel's buffer.)
timeout 120 python3 "$clients" "$host" "$port" departures 100 16 >"$work/departures.out" ||
    fail "departures: $(cat "$work/departures.out")"
cat "$work/departures.out"

# A burst of joins among talking clients: 100 readers send 10 lines each
# while 200 more clients connect back to back. Everyone reads, so no one may
# be disconnected, and every reader gets every line and every arrival.
# (Before, a client was taken for slow as soon as 256 messages waited for
# it, which a burst did to clients with megabytes of buffer free: their
# writer fibers had hundreds of runnable fibers ahead of them.)
timeout 120 python3 "$clients" "$host" "$port" joins 100 200 10 >"$work/joins.out" ||
    fail "joins: $(cat "$work/joins.out")"
cat "$work/joins.out"
stop_server

# A client that does not read is still disconnected, once a write to it has
# waited --write-timeout, while a reader pours out 3 MB; the other readers
# get every line.
start_server slow --write-timeout 1s
timeout 120 python3 "$clients" "$host" "$port" slow 3 3000 >"$work/slow.out" || fail "slow: $(cat "$work/slow.out")"
cat "$work/slow.out"
stop_server
echo "PASS: chat_server"
