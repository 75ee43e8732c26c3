#!/usr/bin/env python3
"""Crowds of chat_server clients, for tests/e2e/chat_server_test.sh.

    chat_clients.py HOST PORT departures CLIENTS PARALLEL
        While an observer stays connected, CLIENTS clients, PARALLEL at a
        time, each connect, read their greeting, send "bye from K" and reset
        the connection. Every one of those lines must reach the observer.

    chat_clients.py HOST PORT joins READERS JOINERS LINES
        READERS clients join one at a time; then JOINERS more connect back
        to back (from four threads) while each reader sends LINES lines.
        Every client reads everything it is sent, so none may be
        disconnected; each reader must see every line and every arrival,
        and each joiner its greeting and the arrivals after its own.

    chat_clients.py HOST PORT slow READERS LINES
        A client that never reads joins, then READERS clients that read
        everything; the first of them sends LINES lines of 1000 bytes. The
        server must disconnect the one that does not read, and every reader
        get every line.

Prints what it checked and exits 0 if all held, or prints FAIL and what went
wrong and exits 1. Bounded: a phase that has not finished within LIMIT
seconds fails.
"""
import selectors
import socket
import struct
import sys
import threading
import time

LIMIT = 60  # seconds any one phase may take


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


class Crowd:
    """Clients that read everything they are sent, all served by one
    selector that the caller polls."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.socks, self.names, self.received = [], [], []
        self.ended = {}  # index -> how the server ended its connection

    def add(self, sock):
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, len(self.socks))
        self.socks.append(sock)
        self.names.append("%s:%d" % sock.getsockname()[:2])  # the server's name for it
        self.received.append(bytearray())

    def poll(self, timeout):
        for key, _ in self.selector.select(timeout):
            i = key.data
            try:
                data = key.fileobj.recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError as e:
                data, self.ended[i] = b"", str(e)
            if data:
                self.received[i] += data
                continue
            self.ended.setdefault(i, "closed by the server")
            self.selector.unregister(key.fileobj)

    def say(self, i, text):
        try:
            self.socks[i].sendall(text.encode() + b"\n")  # a short line: the send buffer has room
        except OSError as e:
            self.ended.setdefault(i, str(e))

    def pour(self, i, data):
        """Sends all of data from client i, reading everyone's input meanwhile."""
        deadline = time.monotonic() + LIMIT
        while data:
            try:
                data = data[self.socks[i].send(data):]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    fail("could not send within %d s" % LIMIT)
                self.poll(0.01)
            except OSError as e:
                self.ended.setdefault(i, str(e))
                return
            self.poll(0)

    def lines(self, i):
        return self.received[i].decode().split("\n")

    def poll_until(self, done, what):
        """Polls until done() holds; fails if a connection ends or time runs out."""
        deadline = time.monotonic() + LIMIT
        while not done():
            if self.ended:
                i, how = next(iter(self.ended.items()))
                fail("%d clients disconnected, e.g. %s (%s) after %d bytes, before %s"
                     % (len(self.ended), self.names[i], how, len(self.received[i]), what))
            if time.monotonic() > deadline:
                fail("no %s within %d s" % (what, LIMIT))
            self.poll(0.05)

    def close(self):
        for sock in self.socks:
            sock.close()


def departures(host, port, clients, parallel):
    observer = Crowd()
    observer.add(socket.create_connection((host, port), timeout=LIMIT))
    observer.poll_until(lambda: observer.received[0].startswith(b"You are "), "the observer's greeting")
    names = [None] * clients
    errors = []

    def one_client(k):
        with socket.create_connection((host, port), timeout=LIMIT) as s:
            name = "%s:%d" % s.getsockname()[:2]
            greeting = b"You are %s\n" % name.encode()
            got = b""
            while len(got) < len(greeting):  # the greeting, and not a byte more
                more = s.recv(len(greeting) - len(got))
                if not more:
                    raise RuntimeError("client %d: the server closed before its greeting" % k)
                got += more
            if got != greeting:
                raise RuntimeError("client %d: greeting %r" % (k, got))
            names[k] = name
            s.sendall(b"bye from %d\n" % k)
            # An abortive close (a reset), as a client that exits with input
            # unread does: the server's next write fails at once, while the
            # line still waits, acknowledged, in the server's receive buffer.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def worker(first):
        try:
            for k in range(first, clients, parallel):
                one_client(k)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(str(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(parallel)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        observer.poll(0.05)  # keep reading meanwhile
    if errors:
        fail("clients failed: " + "; ".join(errors[:5]))

    # Each line comes before its sender's departure, so once every one has
    # left, every line should be there.
    left = {n + " has left" for n in names}
    observer.poll_until(lambda: left <= set(observer.lines(0)), "departure of all %d clients" % clients)
    seen = set(observer.lines(0))
    missing = [k for k in range(clients) if "%s: bye from %d" % (names[k], k) not in seen]
    if missing:
        fail("%d of %d last lines never arrived (clients %s)"
             % (len(missing), clients, ", ".join(map(str, missing[:20]))))
    observer.close()
    print("ok: all %d clients' last lines arrived before their departures" % clients)


def joins(host, port, readers, joiners, lines):
    # The readers join one at a time (the first sees each arrive), so each
    # sees the arrival of all those after it.
    crowd = Crowd()
    for i in range(readers):
        crowd.add(socket.create_connection((host, port), timeout=LIMIT))
        if i == 0:
            crowd.poll_until(lambda: crowd.received[0].startswith(b"You are "), "greeting")
        else:
            arrival = (crowd.names[i] + " has arrived\n").encode()
            crowd.poll_until(lambda: arrival in crowd.received[0], "arrival of reader %d" % i)

    # Four threads connect the joiners back to back while the readers talk.
    # The joiners read once all are connected; until then what they are
    # sent waits in their receive buffers, which hold far more.
    joined = []

    def connect(n):
        for _ in range(n):
            joined.append(socket.create_connection((host, port), timeout=LIMIT))

    threads = [threading.Thread(target=connect, args=(joiners // 4 + (t < joiners % 4),)) for t in range(4)]
    for t in threads:
        t.start()
    for n in range(lines):
        for i in range(readers):
            crowd.say(i, "line %d from %s" % (n, crowd.names[i]))
        crowd.poll(0)
    for t in threads:
        t.join(LIMIT)
    if len(joined) != joiners:
        fail("only %d of %d joiners connected" % (len(joined), joiners))
    for sock in joined:
        crowd.add(sock)

    # Every reader must see every reader's lines and every joiner's arrival.
    expected = {"%s: line %d from %s" % (crowd.names[i], n, crowd.names[i]) for i in range(readers)
                for n in range(lines)}
    expected |= {name + " has arrived" for name in crowd.names[readers:]}

    def readers_done():
        return all(expected <= set(crowd.lines(i)) for i in range(readers))

    crowd.poll_until(readers_done, "all %d lines and arrivals at every reader" % len(expected))

    # And every joiner its greeting, then the arrival of each joiner that the
    # server took in after it (the first reader saw in which order).
    order = [line[:-len(" has arrived")] for line in crowd.lines(0) if line.endswith(" has arrived")]

    def joiner_done(i):
        got = crowd.lines(i)
        later = order[order.index(crowd.names[i]) + 1:]
        return got[0] == "You are " + crowd.names[i] and set(n + " has arrived" for n in later) <= set(got)

    crowd.poll_until(lambda: all(joiner_done(i) for i in range(readers, readers + joiners)),
                     "every joiner's greeting and later arrivals")
    crowd.close()
    print("ok: %d readers (%d lines each) and %d joiners, all reading, none disconnected"
          % (readers, readers * lines, joiners))


def slow(host, port, readers, lines):
    # The first reader is in once it hears itself; then the slow client
    # (which never reads, and has a small receive buffer) and the other
    # readers are in once the first sees them arrive.
    crowd = Crowd()
    crowd.add(socket.create_connection((host, port), timeout=LIMIT))
    crowd.say(0, "hello")
    crowd.poll_until(lambda: crowd.names[0] + ": hello" in crowd.lines(0), "the first reader's own line")
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    silent.connect((host, port))
    silent_name = "%s:%d" % silent.getsockname()[:2]
    crowd.poll_until(lambda: silent_name + " has arrived" in crowd.lines(0), "the slow client's arrival")
    for i in range(1, readers):
        crowd.add(socket.create_connection((host, port), timeout=LIMIT))
        crowd.poll_until(lambda: crowd.names[i] + " has arrived" in crowd.lines(0), "arrival of reader %d" % i)

    # The first reader pours out lines of 1000 bytes, far more than the
    # slow client's socket buffers hold.
    text = b"".join(b"%06d %s\n" % (n, b"x" * 992) for n in range(lines))
    crowd.pour(0, text)
    expected = ["%s: %06d %s" % (crowd.names[0], n, "x" * 992) for n in range(lines)]

    def everything(i):
        got = set(crowd.lines(i))
        return silent_name + " has left" in got and all(line in got for line in expected)

    crowd.poll_until(lambda: all(everything(i) for i in range(readers)),
                     "all %d lines and the slow client's departure at every reader" % lines)
    # The server has closed the slow client's connection: after what its
    # buffer held, the end.
    silent.settimeout(LIMIT)
    try:
        while silent.recv(1 << 16):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        fail("the slow client's connection was still open %d s after it was announced gone" % LIMIT)
    crowd.close()
    silent.close()
    print("ok: a client that does not read was disconnected; %d readers got all %d lines" % (readers, lines))


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    args = [int(a) for a in sys.argv[4:]]
    if mode == "departures" and len(args) == 2:
        departures(host, port, *args)
    elif mode == "joins" and len(args) == 3:
        joins(host, port, *args)
    elif mode == "slow" and len(args) == 2:
        slow(host, port, *args)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
