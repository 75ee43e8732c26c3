#!/usr/bin/env python3
"""Clients good and bad for scripts/soak.sh, one round of each kind.

    soak_clients.py echo HOST PORT CONNECTIONS ROUNDS
        CONNECTIONS clients (from 8 threads) each send ROUNDS random
        payloads of 1 byte to 64 KiB and check every byte comes back.
    soak_clients.py abuse-echo HOST PORT COUNT
        COUNT connections that misbehave: reset with unread data, reset
        right after connect, half-close and leave, connect and say nothing.
    soak_clients.py abuse-http HOST PORT COUNT
        COUNT connections with malformed or hostile request heads (garbage,
        a NUL in a header, two Host headers, a head over 64 KiB, a request
        cut off mid-line then reset, pipelined requests read halfway); then
        one good request, which must get 200.
    soak_clients.py abuse-kv HOST PORT COUNT
        COUNT connections sending broken RESP (bad lengths, wrong types,
        oversized bulk strings, a command cut off then reset); then a SET
        and GET that must round-trip.

Prints one line of counts and exits 0 when every check held, else prints
FAIL and what went wrong and exits 1. Bounded: every socket times out after
30 seconds.
"""
import os
import random
import socket
import struct
import sys
import threading

TIMEOUT = 30


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def connect(host, port):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(s):
    # SO_LINGER with a zero timeout: close sends RST instead of FIN.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def recv_exactly(s, n):
    parts, got = [], 0
    while got < n:
        chunk = s.recv(min(n - got, 1 << 16))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (got, n))
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def echo(host, port, connections, rounds):
    errors, done = [], [0]
    lock = threading.Lock()

    def worker(indices):
        rng = random.Random(indices[0])
        for _ in indices:
            try:
                with connect(host, port) as s:
                    for _ in range(rounds):
                        payload = os.urandom(rng.choice([1, 17, 512, 4096, 65536]))
                        s.sendall(payload)
                        if recv_exactly(s, len(payload)) != payload:
                            raise ValueError("echo differs")
                with lock:
                    done[0] += 1
            except Exception as e:  # noqa: BLE001 - every failure is reported
                with lock:
                    errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(list(range(t, connections, 8)),)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        fail("echo: %d of %d connections failed, first: %s" % (len(errors), connections, errors[0]))
    print("echo: %d connections x %d round trips ok" % (done[0], rounds))


def abuse_echo(host, port, count):
    for i in range(count):
        s = connect(host, port)
        kind = i % 4
        if kind == 0:  # data in flight, then a reset
            s.sendall(b"x" * 10000)
            reset(s)
        elif kind == 1:  # reset at once
            reset(s)
        elif kind == 2:  # half-close: the echo must still come back, then EOF
            s.sendall(b"half")
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(100)
                if not chunk:
                    break
                got += chunk
            if got != b"half":
                fail("abuse-echo: half-closed client got %r" % got)
            s.close()
        else:  # connect, say nothing, leave
            s.close()
    # The server still echoes.
    with connect(host, port) as s:
        s.sendall(b"still here\n")
        if recv_exactly(s, 11) != b"still here\n":
            fail("abuse-echo: the server stopped echoing")
    print("abuse-echo: %d bad connections, server still echoes" % count)


HOSTILE_HEADS = [
    b"\x00\x01\x02garbage\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 70000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: a\r\n\r\n",
    b"GET  HTTP/1.1\r\n\r\n",
]


def read_status(s):
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n", 1)[0]


def abuse_http(host, port, count):
    answered = 0
    for i in range(count):
        s = connect(host, port)
        kind = i % (len(HOSTILE_HEADS) + 2)
        try:
            if kind < len(HOSTILE_HEADS):
                s.sendall(HOSTILE_HEADS[kind])
                status = read_status(s)
                if status is not None:
                    if not status.startswith(b"HTTP/1.1 4") and not status.startswith(b"HTTP/1.1 5"):
                        fail("abuse-http: hostile head %d answered %r" % (kind, status))
                    answered += 1
                s.close()
            elif kind == len(HOSTILE_HEADS):  # cut off mid-line, then reset
                s.sendall(b"GET /hello HTTP/1.1\r\nHo")
                reset(s)
            else:  # pipelined requests, read halfway, then reset
                s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" * 50)
                s.recv(100)
                reset(s)
        except (ConnectionResetError, BrokenPipeError):
            s.close()  # the server may close on a bad head while we still write: fine
    with connect(host, port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n")
        status = read_status(s)
        if status is None or not status.startswith(b"HTTP/1.1 200"):
            fail("abuse-http: a good request after the bad ones got %r" % status)
    print("abuse-http: %d bad connections (%d answered 4xx/5xx), good request ok" % (count, answered))


HOSTILE_RESP = [
    b"*2\r\n$3\r\nGET\r\n$-5\r\n",
    b"*1\r\n$999999999999\r\n",
    b"*-3\r\n",
    b"*3\r\n:1\r\n:2\r\n:3\r\n",
    b"$3\r\nGET\r\n",
    b"*2\r\n$3\r\nGET\r\n$1\r\nabc\r\n",
    b"\x00\x00\x00\r\n",
    b"*1\r\n$536870913\r\n",
]


def abuse_kv(host, port, count):
    for i in range(count):
        s = connect(host, port)
        kind = i % (len(HOSTILE_RESP) + 1)
        try:
            if kind < len(HOSTILE_RESP):
                s.sendall(HOSTILE_RESP[kind])
                s.settimeout(2)
                try:
                    s.recv(4096)  # an error reply, or a close: either is fine
                except socket.timeout:
                    pass  # waiting for more of a length it was promised: also fine
                s.close()
            else:
                s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
                reset(s)
        except (ConnectionResetError, BrokenPipeError):
            s.close()
    with connect(host, port) as s:
        value = os.urandom(8).hex().encode()
        s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nsoak\r\n$%d\r\n%s\r\n" % (len(value), value))
        if recv_exactly(s, 5) != b"+OK\r\n":
            fail("abuse-kv: SET after the bad connections failed")
        s.sendall(b"*2\r\n$3\r\nGET\r\n$4\r\nsoak\r\n")
        want = b"$%d\r\n%s\r\n" % (len(value), value)
        if recv_exactly(s, len(want)) != want:
            fail("abuse-kv: GET did not return what SET stored")
    print("abuse-kv: %d bad connections, SET/GET ok" % count)


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    args = [int(a) for a in sys.argv[4:]]
    if kind == "echo":
        echo(host, port, *args)
    elif kind == "abuse-echo":
        abuse_echo(host, port, *args)
    elif kind == "abuse-http":
        abuse_http(host, port, *args)
    elif kind == "abuse-kv":
        abuse_kv(host, port, *args)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
