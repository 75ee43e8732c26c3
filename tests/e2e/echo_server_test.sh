#!/usr/bin/env bash
# End-to-end test of examples/echo_server, driven by nc (netcat-openbsd):
# lines and a 1 MiB binary payload round-trip exactly, 20 concurrent clients
# each get their own bytes back, a client that resets its connection does not
# disturb another, and SIGTERM (with a client still connected) ends the
# server with status 0.
#
#   tests/e2e/echo_server_test.sh build/examples/echo_server
set -euo pipefail

source "$(dirname "$0")/lib.sh"

start_server

# 1. A few lines.
printf 'one\ntwo\nthree\n' >"$work/lines.expected"
timeout 10 nc -N "$host" "$port" <"$work/lines.expected" >"$work/lines.got" || fail "nc (lines) failed or timed out"
expect_same "lines" "$work/lines.expected" "$work/lines.got"
echo "ok: lines round-trip"

# 2. 1 MiB of random bytes.
head -c 1048576 /dev/urandom >"$work/blob.in"
timeout 30 nc -N "$host" "$port" <"$work/blob.in" >"$work/blob.out" || fail "nc (1 MiB) failed or timed out"
expected_sum=$(sha256sum <"$work/blob.in" | cut -d' ' -f1)
got_sum=$(sha256sum <"$work/blob.out" | cut -d' ' -f1)
[[ $expected_sum == "$got_sum" ]] ||
    fail "1 MiB payload: expected sha256 $expected_sum ($(stat -c %s "$work/blob.in") bytes), got $got_sum ($(stat -c %s "$work/blob.out") bytes)"
echo "ok: 1 MiB binary payload byte-identical"

# 3. 20 clients at once, each with its own text.
client_pids=()
for i in $(seq 20); do
    seq -f "client $i line %g" 2000 >"$work/client$i.in"
    timeout 30 nc -N "$host" "$port" <"$work/client$i.in" >"$work/client$i.out" &
    client_pids+=($!)
done
for i in $(seq 20); do
    wait "${client_pids[$((i - 1))]}" || fail "concurrent client $i: nc failed or timed out"
done
for i in $(seq 20); do
    expect_same "concurrent client $i" "$work/client$i.in" "$work/client$i.out"
done
echo "ok: 20 concurrent clients"

# 4. A client that resets its connection does not disturb another. The
# steady client keeps one connection open, fed from a FIFO.
mkfifo "$work/steady.fifo"
timeout 30 nc -N "$host" "$port" <"$work/steady.fifo" >"$work/steady.out" &
steady_pid=$!
exec 3>"$work/steady.fifo"
echo before >&3
for i in $(seq 100); do
    grep -qx before "$work/steady.out" && break
    sleep 0.05
done
# The abrupt client: write, let the echo land unread in the receive queue,
# then close — closing a socket with unread data sends a reset, not a FIN.
exec 4<>"/dev/tcp/$host/$port"
printf 'abrupt\n' >&4
sleep 0.2
exec 4>&-
# And one killed mid-stream (plain nc, no timeout wrapper, so the kill hits
# nc itself; 3>&- keeps it from holding the steady client's FIFO open).
nc "$host" "$port" </dev/zero >/dev/null 3>&- &
killed_pid=$!
sleep 0.2
kill -KILL "$killed_pid"
wait "$killed_pid" 2>/dev/null || true
echo after >&3
exec 3>&-
wait "$steady_pid" || fail "steady client: nc failed or timed out"
printf 'before\nafter\n' >"$work/steady.expected"
expect_same "steady client beside a reset one" "$work/steady.expected" "$work/steady.out"
printf 'still here\n' >"$work/again.expected"
timeout 10 nc -N "$host" "$port" <"$work/again.expected" >"$work/again.got" || fail "nc after reset failed"
expect_same "client after the reset" "$work/again.expected" "$work/again.got"
echo "ok: a reset client does not disturb the others"

# 5. SIGTERM with a client still connected (held open by this shell): the
# server must close it, or its handler would never finish and the server
# would not exit; the client then reads EOF.
exec 5<>"/dev/tcp/$host/$port"
echo ping >&5
IFS= read -r -t 10 reply <&5 || fail "idle client: no echo"
[[ $reply == ping ]] || fail "idle client: expected 'ping', got '$reply'"
stop_server
status=0
IFS= read -r -t 10 reply <&5 || status=$?
[[ $status -eq 1 ]] || fail "idle client after shutdown: expected EOF (read status 1), got status $status"
exec 5<&-
echo "ok: SIGTERM closes connections and exits 0"
echo "PASS: echo_server"
