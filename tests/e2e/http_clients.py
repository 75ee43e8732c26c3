"""Python clients for tests/e2e/http_hello_test.sh: the standard library's
http.client, which many real programs use, and raw sockets for what no
client library sends on purpose.

    http_clients.py keepalive HOST PORT N   N requests on one http.client connection
    http_clients.py methods HOST PORT       GET, HEAD, POST /echo (fixed and chunked), 404-free "/" paths
    http_clients.py pipeline HOST PORT N    N requests written at once; N answers, in order
    http_clients.py in-flight HOST PORT PID a request half sent when PID gets SIGTERM is still answered

Each prints "ok: ..." and exits 0, or prints what went wrong and exits 1.
"""
import http.client
import os
import signal
import socket
import sys
import time


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def read_answer(f):
    """One HTTP/1.1 answer with a Content-Length from a socket file: (status line, headers, body)."""
    status = f.readline()
    if not status:
        return None
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = f.read(int(headers.get("content-length", "0")))
    return status.decode("latin-1").rstrip("\r\n"), headers, body


def keepalive(host, port, n):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.connect()
    first_socket = conn.sock
    for i in range(n):
        conn.request("GET", "/?i=%d" % i)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200 or body != b"Hello, World!":
            fail("request %d: %d %r" % (i, resp.status, body))
        if conn.sock is not first_socket:
            fail("request %d went on a new connection: keep-alive broken" % i)
    conn.close()
    print("ok: %d requests on one http.client connection" % n)


def methods(host, port):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("HEAD", "/")
    resp = conn.getresponse()
    if resp.status != 200 or resp.read() != b"" or resp.getheader("Content-Length") != "13":
        fail("HEAD /: %d, Content-Length %s" % (resp.status, resp.getheader("Content-Length")))
    payload = bytes(range(256)) * 1000
    conn.request("POST", "/echo", body=payload, headers={"Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    got = resp.read()
    if resp.status != 200 or got != payload:
        fail("POST /echo with Content-Length: %d, %d bytes back of %d" % (resp.status, len(got), len(payload)))

    def pieces():
        for i in range(50):
            yield b"piece %02d;" % i

    conn.request("POST", "/echo", body=pieces(), encode_chunked=True)
    resp = conn.getresponse()
    got = resp.read()
    want = b"".join(pieces())
    if resp.status != 200 or got != want:
        fail("POST /echo chunked: %d, %r" % (resp.status, got[:80]))
    conn.request("GET", "/some/other/path")
    resp = conn.getresponse()
    if resp.status != 200 or resp.read() != b"Hello, World!":
        fail("GET /some/other/path: %d" % resp.status)
    conn.close()
    print("ok: http.client HEAD, POST with Content-Length and chunked, GET below /")


def pipeline(host, port, n):
    s = socket.create_connection((host, port), timeout=10)
    requests = b"".join(b"GET /p%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(n - 1))
    requests += b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nlast"
    s.sendall(requests)
    f = s.makefile("rb")
    for i in range(n):
        answer = read_answer(f)
        if answer is None:
            fail("pipelining: the connection ended after %d of %d answers" % (i, n))
        status, headers, body = answer
        want = b"last" if i == n - 1 else b"Hello, World!"
        if status != "HTTP/1.1 200 OK" or body != want:
            fail("pipelined answer %d: %s %r" % (i, status, body))
    if f.read(1) != b"":
        fail("pipelining: bytes after the last answer, or the connection left open after Connection: close")
    s.close()
    print("ok: %d pipelined requests answered in order, then closed" % n)


def in_flight(host, port, pid):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf-")
    time.sleep(0.3)  # the server is in the handler, reading the body
    os.kill(pid, signal.SIGTERM)
    time.sleep(0.3)  # the shutdown has begun: new connections are refused
    try:
        socket.create_connection((host, port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    s.sendall(b"done!")
    answer = read_answer(s.makefile("rb"))
    if answer is None:
        fail("the request in flight at SIGTERM got no answer")
    status, headers, body = answer
    if status != "HTTP/1.1 200 OK" or body != b"half-done!":
        fail("the request in flight at SIGTERM: %s %r" % (status, body))
    if headers.get("connection", "").lower() != "close":
        fail("the last answer before shutdown should say Connection: close, headers %r" % headers)
    if not refused:
        fail("a new connection was accepted after SIGTERM")
    print("ok: a request in flight at SIGTERM is answered whole; new connections are refused")


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "keepalive":
        keepalive(host, port, int(sys.argv[4]))
    elif mode == "methods":
        methods(host, port)
    elif mode == "pipeline":
        pipeline(host, port, int(sys.argv[4]))
    elif mode == "in-flight":
        in_flight(host, port, int(sys.argv[4]))
    else:
        fail("unknown mode " + mode)


if __name__ == "__main__":
    main()
