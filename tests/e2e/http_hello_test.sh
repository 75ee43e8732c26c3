#!/usr/bin/env bash
# End-to-end test of examples/http_hello (goro::http), driven by real
# clients: curl (HTTP/1.0, HTTP/1.1, keep-alive, a chunked upload, 100-continue),
# Python's http.client (keep-alive, HEAD, POST fixed and chunked), raw
# pipelining, wrk, hostile heads as a hardened server answers them, and a
# graceful shutdown that answers the request in flight.
#
#   tests/e2e/http_hello_test.sh build/examples/http_hello
set -euo pipefail

source "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
python=/usr/bin/python3

start_server
url=http://$address/

# curl, HTTP/1.1: status, headers, body.
code=$(curl -sS --max-time 10 -D "$work/headers" -o "$work/body" -w '%{http_code}' "$url") || fail "curl GET failed"
[[ $code == 200 ]] || fail "curl GET: status $code"
printf 'Hello, World!' >"$work/expected_body"
expect_same "curl GET body" "$work/expected_body" "$work/body"
grep -qix $'content-type: text/plain\r' "$work/headers" || fail "curl GET: no Content-Type: text/plain in $(cat "$work/headers")"
grep -qix $'content-length: 13\r' "$work/headers" || fail "curl GET: no Content-Length: 13 in $(cat "$work/headers")"
echo "ok: curl GET"

# curl, HTTP/1.0: answered as 1.0 asks, the connection closed after it.
curl -sS --http1.0 --max-time 10 -D "$work/headers10" -o "$work/body" "$url" || fail "curl --http1.0 failed"
expect_same "curl --http1.0 body" "$work/expected_body" "$work/body"
head -1 "$work/headers10" | grep -q '^HTTP/1\.[01] 200' || fail "curl --http1.0: $(head -1 "$work/headers10")"
echo "ok: curl HTTP/1.0"

# Keep-alive: three URLs in one curl run share one connection.
curl -sv --http1.1 --max-time 10 -o /dev/null -o /dev/null -o /dev/null "$url" "${url}a" "${url}b" 2>"$work/curl.log" ||
    fail "curl (three URLs) failed"
connects=$(grep -c '^\* Connected to' "$work/curl.log" || true)
[[ $connects -eq 1 ]] && grep -q 'Re-using existing connection' "$work/curl.log" ||
    fail "keep-alive: $connects connects: $(grep '^\*' "$work/curl.log")"
echo "ok: curl keeps the connection alive"

# Uploads: chunked, and a large one curl sends with Expect: 100-continue.
head -c 300000 /dev/urandom >"$work/upload"
curl -sS --max-time 20 -H 'Transfer-Encoding: chunked' --data-binary @"$work/upload" -o "$work/echoed" "${url}echo" ||
    fail "chunked upload failed"
expect_same "chunked upload echoed" "$work/upload" "$work/echoed"
curl -sSv --max-time 20 -H 'Expect: 100-continue' --data-binary @"$work/upload" -o "$work/echoed" "${url}echo" \
    2>"$work/curl100.log" || fail "100-continue upload failed"
grep -q '< HTTP/1.1 100 Continue' "$work/curl100.log" || fail "100-continue: no interim answer: $(grep '^<' "$work/curl100.log")"
expect_same "100-continue upload echoed" "$work/upload" "$work/echoed"
echo "ok: chunked upload and 100-continue, echoed byte for byte"

# Python's http.client and raw pipelining.
"$python" "$here/http_clients.py" keepalive "$host" "$port" 200 || fail "http.client keep-alive"
"$python" "$here/http_clients.py" methods "$host" "$port" || fail "http.client methods"
"$python" "$here/http_clients.py" pipeline "$host" "$port" 50 || fail "pipelining"

# Hostile heads: each answered as a hardened server does, and closed.
status_of() {  # status_of NAME REQUEST_FORMAT: the status code of the one answer
    printf -- "$2" | timeout 10 nc "$host" "$port" >"$work/raw" || true
    head -1 "$work/raw" | cut -d' ' -f2
}
expect_status() {  # expect_status NAME CODE REQUEST_FORMAT
    local got
    got=$(status_of "$1" "$3")
    [[ $got == "$2" ]] || fail "$1: expected $2, got '$got': $(head -c 300 "$work/raw" | cat -A)"
}
expect_status "HTTP/1.1 without Host" 400 'GET / HTTP/1.1\r\n\r\n'
expect_status "two Host headers" 400 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
expect_status "Content-Length with Transfer-Encoding" 400 \
    'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
expect_status "conflicting Content-Lengths" 400 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello'
expect_status "a bare CR in a field" 400 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n'
expect_status "garbage for a request line" 400 'HELLO THERE\r\n\r\n'
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$url") || fail "curl after hostile heads"
[[ $code == 200 ]] || fail "after hostile heads: status $code"
echo "ok: hostile heads get 400 and the server carries on"

# wrk: a short run, every answer a 200, no socket errors.
timeout 30 wrk -t1 -c20 -d1s "$url" >"$work/wrk.out" 2>&1 || fail "wrk failed: $(cat "$work/wrk.out")"
grep -q 'Requests/sec' "$work/wrk.out" || fail "wrk: no summary: $(cat "$work/wrk.out")"
if grep -q 'Non-2xx\|Socket errors' "$work/wrk.out"; then fail "wrk saw errors: $(cat "$work/wrk.out")"; fi
echo "ok: wrk: $(grep 'Requests/sec' "$work/wrk.out" | tr -s ' '), no errors"

stop_server
echo "ok: SIGTERM ends it with status 0"

# Graceful shutdown: the request in flight when SIGTERM comes is answered.
start_server in-flight
"$python" "$here/http_clients.py" in-flight "$host" "$port" "$server_pid" || fail "shutdown with a request in flight"
status=0
wait "$server_pid" || status=$?
server_pid=
[[ $status -eq 0 ]] || fail "after a graceful shutdown: exit status $status"
echo "ok: the server exits 0 after answering it"
echo "PASS: http_hello"
