#!/usr/bin/env bash
# End-to-end test of goro::http (tests/e2e/http_server.cpp), driven by curl:
# GET with routing, HTTP/1.0 (closing, and kept alive on request), HTTP/1.1
# keep-alive (curl reuses the connection), a chunked upload, a large upload
# that curl sends with Expect: 100-continue, a streamed chunked answer, 404
# and 405, and SIGTERM (with a keep-alive connection open) ending the server
# with status 0.
#
#   tests/e2e/http_server_test.sh build/tests/http_server
set -euo pipefail

source "$(dirname "$0")/lib.sh"

start_server
url=http://$address

# GET, and a wildcard route.
body=$(curl -sS --max-time 10 "$url/") || fail "curl GET / failed"
[[ $body == "Hello, World!" ]] || fail "GET /: got '$body'"
body=$(curl -sS --max-time 10 "$url/items/42") || fail "curl GET /items/42 failed"
[[ $body == "item 42" ]] || fail "GET /items/42: got '$body'"
echo "ok: GET and a wildcard route"

# HTTP/1.0: the server closes after the answer, and says HTTP/1.0.
curl -sS -0 --max-time 10 -D "$work/h10" -o /dev/null "$url/" || fail "curl -0 failed"
head -n 1 "$work/h10" | grep -q '^HTTP/1.0 200 OK' || fail "HTTP/1.0: status line $(head -n 1 "$work/h10")"
grep -qi '^connection: keep-alive' "$work/h10" && fail "HTTP/1.0 without keep-alive was kept alive"
curl -sv -0 -H 'Connection: keep-alive' --max-time 10 -o /dev/null -o /dev/null "$url/" "$url/items/1" \
    2>"$work/curl10.log" || fail "curl -0 keep-alive failed"
grep -q 'Re-using existing connection' "$work/curl10.log" || fail "HTTP/1.0 keep-alive: the connection was not reused"
echo "ok: HTTP/1.0, closing and kept alive"

# HTTP/1.1 keep-alive: two URLs in one curl run share one connection.
curl -sv --http1.1 --max-time 10 -o /dev/null -o /dev/null "$url/" "$url/items/2" 2>"$work/curl.log" ||
    fail "curl (two URLs) failed"
connects=$(grep -c '^\* Connected to' "$work/curl.log" || true)
grep -q 'Re-using existing connection' "$work/curl.log" && [[ $connects -eq 1 ]] ||
    fail "keep-alive: expected one connect and a reuse, got $connects connect(s)"
echo "ok: HTTP/1.1 keep-alive"

# Uploads: chunked, and a large one with Expect: 100-continue.
head -c 300000 /dev/urandom >"$work/upload"
expected_sum=$(od -An -v -tu1 "$work/upload" | awk '{ for (i = 1; i <= NF; i++) s = (s + $i) % 4294967296 } END { print s }')
got=$(curl -sS --max-time 20 -H 'Transfer-Encoding: chunked' --data-binary @"$work/upload" "$url/upload") ||
    fail "chunked upload failed"
[[ $got == "300000 bytes, sum $expected_sum" ]] || fail "chunked upload: got '$got', expected 300000 bytes, sum $expected_sum"
head -c 2000000 /dev/zero >"$work/big"
curl -sv --max-time 20 -H 'Expect: 100-continue' --data-binary @"$work/big" "$url/upload" \
    >"$work/big.out" 2>"$work/big.log" || fail "large upload failed"
[[ $(cat "$work/big.out") == "2000000 bytes, sum 0" ]] || fail "large upload: got '$(cat "$work/big.out")'"
grep -q '100 Continue' "$work/big.log" || fail "large upload: no 100 Continue from the server"
echo "ok: chunked upload, and 100-continue"

# A streamed answer.
curl -sS --max-time 10 -D "$work/hs" -o "$work/stream" "$url/stream" || fail "GET /stream failed"
grep -qi '^transfer-encoding: chunked' "$work/hs" || fail "GET /stream: not chunked"
printf 'part 0\npart 1\npart 2\n' >"$work/stream_expected"
expect_same "GET /stream" "$work/stream_expected" "$work/stream"
echo "ok: a streamed chunked answer"

# 404, and 405 with Allow.
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$url/nowhere/else") || fail "curl 404 failed"
[[ $code == 404 ]] || fail "expected 404, got $code"
code=$(curl -sS --max-time 10 -X DELETE -D "$work/h405" -o /dev/null -w '%{http_code}' "$url/items/3") ||
    fail "curl 405 failed"
[[ $code == 405 ]] || fail "expected 405, got $code"
grep -qi $'^allow: GET, HEAD\r' "$work/h405" || fail "405 without 'Allow: GET, HEAD'"
echo "ok: 404 and 405"

# SIGTERM with an idle keep-alive connection open: shutdown closes it, exit 0.
exec 3<>"/dev/tcp/$host/$port"
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&3
stop_server TERM
exec 3<&-
echo "ok: SIGTERM shuts down with status 0"
