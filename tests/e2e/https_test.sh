#!/usr/bin/env bash
# End-to-end test of HTTPS in goro::http (tests/e2e/http_server.cpp with
# --tls-cert and --tls-key), driven by curl --cacert with a test CA this
# script makes: GET with the certificate verified for localhost, ALPN
# http/1.1, HTTP/1.1 keep-alive over one TLS connection, a POST, curl
# refusing the server without the CA, plain HTTP to the HTTPS port answered
# 400, and SIGTERM ending the server with status 0.
#
#   tests/e2e/https_test.sh build/tests/http_server
set -euo pipefail

source "$(dirname "$0")/lib.sh"

# A CA, and a server certificate it signs for localhost and 127.0.0.1.
(
    cd "$work"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=goro e2e CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 -extfile server.ext \
        -out server.pem
) >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; fail "openssl could not make the certificates"; }

start_server server --tls-cert "$work/server.pem" --tls-key "$work/server.key"
url=https://localhost:$port
tls=(--cacert "$work/ca.pem" --max-time 10)

# GET, verified; ALPN settles on http/1.1.
curl -sS -v "${tls[@]}" -o "$work/get" "$url/" 2>"$work/get.log" || fail "curl GET / failed: $(cat "$work/get.log")"
[[ $(cat "$work/get") == "Hello, World!" ]] || fail "GET /: got '$(cat "$work/get")'"
grep -q 'ALPN: server accepted http/1.1' "$work/get.log" || fail "ALPN: http/1.1 was not accepted"
grep -q 'SSL certificate verify ok' "$work/get.log" || fail "curl did not verify the certificate"
echo "ok: GET over TLS, verified, ALPN http/1.1"

# HTTP/1.1 keep-alive: two URLs in one curl run share one TLS connection.
curl -sS -v --http1.1 "${tls[@]}" -o /dev/null -o /dev/null "$url/" "$url/items/2" 2>"$work/keep.log" ||
    fail "curl (two URLs) failed"
connects=$(grep -c '^\* Connected to' "$work/keep.log" || true)
handshakes=$(grep -c 'SSL connection using' "$work/keep.log" || true)
grep -q 'Re-using existing connection' "$work/keep.log" && [[ $connects -eq 1 && $handshakes -eq 1 ]] ||
    fail "keep-alive: expected one connect, one handshake and a reuse; got $connects connect(s), $handshakes handshake(s)"
echo "ok: HTTP/1.1 keep-alive over one TLS connection"

# A POST, large enough to take many records.
head -c 300000 /dev/urandom >"$work/upload"
expected_sum=$(od -An -v -tu1 "$work/upload" | awk '{ for (i = 1; i <= NF; i++) s = (s + $i) % 4294967296 } END { print s }')
got=$(curl -sS "${tls[@]}" --data-binary @"$work/upload" "$url/upload") || fail "POST /upload failed"
[[ $got == "300000 bytes, sum $expected_sum" ]] || fail "POST /upload: got '$got', expected 300000 bytes, sum $expected_sum"
echo "ok: a POST over TLS"

# Without the CA, curl refuses the server; the server logs the handshake
# error and goes on serving.
if curl -sS --max-time 10 -o /dev/null "$url/" 2>"$work/refused.log"; then
    fail "curl accepted a certificate from an unknown CA"
fi
grep -qi 'certificate' "$work/refused.log" || fail "curl's refusal does not mention the certificate: $(cat "$work/refused.log")"
# Plain HTTP to the HTTPS port: a plain-HTTP 400.
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://localhost:$port/") || true
[[ $code == 400 ]] || fail "plain HTTP to the HTTPS port: expected 400, got '$code'"
body=$(curl -sS "${tls[@]}" "$url/items/7") || fail "GET after bad clients failed"
[[ $body == "item 7" ]] || fail "GET /items/7 after bad clients: got '$body'"
grep -q 'TLS handshake error' "$server_err" || fail "the server did not log the failed handshakes"
echo "ok: a client without the CA and a plain-HTTP client fail; the server goes on"

stop_server TERM
echo "ok: SIGTERM shuts down with status 0"
