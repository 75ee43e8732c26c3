#!/usr/bin/env python3
"""Slowloris clients for tests/e2e/http_raw_test.sh.

    slow_header_clients.py HOST PORT CLIENTS SECONDS READY_FILE

Opens CLIENTS connections to an HTTP server, sends each the start of a
request head, then one more header byte on each every 0.2 s, never finishing
the head, for at most SECONDS. Creates READY_FILE once all are connected.
Ends as soon as the server has closed every one of them, and prints how
many it closed: "closed N of CLIENTS".
"""
import os
import selectors
import socket
import sys
import time


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    host, port, clients, seconds, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    end = time.monotonic() + seconds

    # Connecting completes in the kernel (the listen backlog), even for
    # connections the server cannot accept yet for lack of descriptors.
    selector = selectors.DefaultSelector()
    for _ in range(clients):
        s = socket.create_connection((host, port), timeout=seconds)
        s.setblocking(False)
        s.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        selector.register(s, selectors.EVENT_READ)
    open(ready, "w").close()

    closed = 0
    next_byte = time.monotonic()
    while closed < clients and time.monotonic() < end:
        # One more byte of the never-ending header on each open connection.
        if time.monotonic() >= next_byte:
            for key in list(selector.get_map().values()):
                try:
                    key.fileobj.send(b"a")
                except OSError:  # reset: it is closed; the read below sees it too
                    pass
            next_byte += 0.2
        for key, _ in selector.select(0.05):
            try:
                data = key.fileobj.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # EOF or reset: the server closed it
                selector.unregister(key.fileobj)
                key.fileobj.close()
                closed += 1
    print("closed %d of %d" % (closed, clients), flush=True)
    os._exit(0)  # the remaining sockets close with the process


if __name__ == "__main__":
    main()
