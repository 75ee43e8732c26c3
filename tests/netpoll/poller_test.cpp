// tests/netpoll/poller_test.cpp — the netpoller: readiness is never lost,
// deadlines (Go's net.Conn semantics), close wakes every waiter, the worker
// blocked in epoll wakes for timers and for work from plain threads, and
// thousands of connections at once.

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <string>
#include <tuple>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "netpoll/net_support.hpp"
#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro_test::fiber_group;
using goro_test::for_each_procs;

namespace net = goro::net;

namespace {

auto now() { return std::chrono::steady_clock::now(); }

}  // namespace

TEST_CASE("readiness is never lost: ping-pong pairs with random yields between calls") {
    for_each_procs([](int) {
        const int pairs = goro_test::stress(20, 100);
        const int rounds = goro_test::stress(500, 5000);
        fiber_group group;
        std::atomic<int> mismatches{0};
        for (int p = 0; p < pairs; ++p) {
            net::conn a, b;
            std::tie(a, b) = goro_test::tcp_pair();
            auto shared_a = std::make_shared<net::conn>(std::move(a));
            auto shared_b = std::make_shared<net::conn>(std::move(b));
            group.go([shared_a, rounds, p, &mismatches] {
                std::minstd_rand rng(static_cast<unsigned>(p));
                for (int i = 0; i < rounds; ++i) {
                    const std::uint32_t out = static_cast<std::uint32_t>(i);
                    shared_a->write(&out, sizeof out);
                    if (rng() % 4 == 0) goro::yield();
                    std::uint32_t in = 0;
                    shared_a->read_full(&in, sizeof in);
                    if (in != out + 1) mismatches.fetch_add(1);
                }
            });
            group.go([shared_b, rounds, p, &mismatches] {
                std::minstd_rand rng(static_cast<unsigned>(p) + 1000);
                for (int i = 0; i < rounds; ++i) {
                    std::uint32_t in = 0;
                    shared_b->read_full(&in, sizeof in);
                    if (in != static_cast<std::uint32_t>(i)) mismatches.fetch_add(1);
                    if (rng() % 4 == 0) goro::yield();
                    const std::uint32_t out = in + 1;
                    shared_b->write(&out, sizeof out);
                }
            });
        }
        group.wait();
        CHECK(mismatches.load() == 0);
    });
}

TEST_CASE("a fiber parked on a read wakes for bytes written by a plain thread while every worker idles") {
    for_each_procs([](int) {
        net::conn reader, writer;
        std::tie(reader, writer) = goro_test::tcp_pair();
        const int raw = writer.native_handle();
        std::thread t([raw] {
            std::this_thread::sleep_for(20ms);  // every worker goes idle meanwhile
            (void)!::write(raw, "x", 1);
        });
        char c = 0;
        CHECK(reader.read(&c, 1) == 1);
        CHECK(c == 'x');
        // The thread has written: joining cannot block long.
        t.join();
    });
}

TEST_CASE("timers still fire while a worker blocks in epoll for a reader") {
    for_each_procs([](int) {
        net::conn a, b;
        std::tie(a, b) = goro_test::tcp_pair();
        fiber_group group;
        std::atomic<bool> read_done{false};
        group.go([&] {
            char c;
            std::error_code ec;
            (void)a.read(&c, 1, ec);
            read_done.store(true);
        });
        const auto start = now();
        goro::sleep_for(30ms);
        CHECK(now() - start >= 30ms);
        CHECK(!read_done.load());
        b.write("z");
        group.wait();
        CHECK(read_done.load());
    });
}

TEST_CASE("a read deadline times out, and moving it makes reads work again") {
    for_each_procs([](int) {
        net::conn a, b;
        std::tie(a, b) = goro_test::tcp_pair();
        char buffer[16];
        std::error_code ec;
        a.set_read_deadline(now() + 20ms);
        const auto start = now();
        CHECK(a.read(buffer, sizeof buffer, ec) == 0);
        CHECK(ec == net::errc::timeout);
        CHECK(ec == std::errc::timed_out);
        CHECK(ec.message() == "i/o timeout");
        CHECK(now() - start >= 20ms);
        // Still past: fails at once, even with data waiting (as Go).
        b.write("hi");
        CHECK(a.read(buffer, sizeof buffer, ec) == 0);
        CHECK(ec == net::errc::timeout);
        // Moved into the future: the waiting data is read.
        a.set_read_deadline(now() + 10s);
        CHECK(a.read(buffer, sizeof buffer, ec) == 2);
        CHECK(!ec);
        // Cleared: no deadline at all.
        a.set_read_deadline({});
        b.write("again");
        CHECK(a.read(buffer, sizeof buffer, ec) == 5);
        // A deadline does not affect the other direction.
        a.set_read_deadline(now() - 1s);
        a.write("w", ec);
        CHECK(!ec);
        try {
            (void)a.read(buffer, sizeof buffer);
            CHECK(false);
        } catch (const std::system_error& e) {
            CHECK(std::string(e.what()).find("read tcp ") == 0);
            CHECK(std::string(e.what()).find("i/o timeout") != std::string::npos);
        }
    });
}

TEST_CASE("changing the deadline of a blocked read: earlier wakes it, later keeps it waiting") {
    for_each_procs([](int) {
        net::conn a, b;
        std::tie(a, b) = goro_test::tcp_pair();
        std::error_code ec;
        std::atomic<bool> returned{false};
        fiber_group group;
        a.set_read_deadline(now() + 1h);
        group.go([&] {
            char c;
            (void)a.read(&c, 1, ec);
            returned.store(true);
        });
        goro::sleep_for(10ms);
        a.set_read_deadline(now() + 20ms);  // shorter: the waiter wakes at that time
        group.wait();
        CHECK(returned.load());
        CHECK(ec == net::errc::timeout);

        returned.store(false);
        ec.clear();
        a.set_read_deadline(now() + 20ms);
        group.go([&] {
            char c;
            (void)a.read(&c, 1, ec);
            returned.store(true);
        });
        a.set_read_deadline(now() + 1h);  // longer: no timeout at 20 ms
        goro::sleep_for(60ms);
        CHECK(!returned.load());
        b.write("k");
        group.wait();
        CHECK(!ec);
        // A deadline set in the past wakes a blocked reader at once.
        group.go([&] {
            char c;
            (void)a.read(&c, 1, ec);
        });
        goro::sleep_for(5ms);
        a.set_deadline(now() - 1ms);
        group.wait();
        CHECK(ec == net::errc::timeout);
    });
}

TEST_CASE("write deadlines: a writer blocked on a full buffer times out") {
    for_each_procs([](int) {
        net::conn a, b;
        std::tie(a, b) = goro_test::tcp_pair();
        int small = 4096;
        setsockopt(a.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        setsockopt(b.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        a.set_write_deadline(now() + 30ms);
        const std::string chunk(1 << 16, 'q');
        std::error_code ec;
        std::size_t total = 0;
        for (int i = 0; i < 1000 && !ec; ++i) total += a.write(chunk, ec);
        CHECK(ec == net::errc::timeout);
        CHECK(total > 0);  // some bytes went out before the buffer filled
    });
}

TEST_CASE("accept honours the listener's deadline") {
    for_each_procs([](int) {
        auto ln = net::listen("tcp", "127.0.0.1:0");
        ln.set_deadline(now() + 20ms);
        std::error_code ec;
        net::conn c = ln.accept(ec);
        CHECK(ec == net::errc::timeout);
        CHECK(!c);
        ln.set_deadline({});
        goro::go([addr = ln.local_address().to_string()] { (void)net::dial("tcp", addr); });
        c = ln.accept(ec);
        CHECK(!ec);
        CHECK(static_cast<bool>(c));
    });
}

TEST_CASE("close wakes every fiber blocked on the socket with 'use of closed network connection'") {
    for_each_procs([](int) {
        net::conn a, b;
        std::tie(a, b) = goro_test::tcp_pair();
        int small = 4096;
        setsockopt(a.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        setsockopt(b.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        auto ln = net::listen("tcp", "127.0.0.1:0");
        std::error_code read_error, write_error, accept_error, second_read_error;
        fiber_group group;
        group.go([&] {
            char c;
            (void)a.read(&c, 1, read_error);
        });
        group.go([&] {  // queued behind the first reader on the read lock
            char c;
            (void)a.read(&c, 1, second_read_error);
        });
        group.go([&] {
            const std::string chunk(1 << 16, 'w');
            while (!write_error) a.write(chunk, write_error);
        });
        group.go([&] { (void)ln.accept(accept_error); });
        goro::sleep_for(20ms);  // let them all block
        a.close();
        ln.close();
        group.wait();
        CHECK(read_error == net::errc::closed);
        CHECK(second_read_error == net::errc::closed);
        CHECK(write_error == net::errc::closed);
        CHECK(accept_error == net::errc::closed);
        CHECK(read_error.message() == "use of closed network connection");
        // Every later call fails the same way, and closing twice is an error.
        char c;
        std::error_code ec;
        (void)a.read(&c, 1, ec);
        CHECK(ec == net::errc::closed);
        a.close(ec);
        CHECK(ec == net::errc::closed);
        CHECK(a.native_handle() == -1);
        CHECK_THROWS_AS(a.write("x"), std::system_error);
    });
}

TEST_CASE("thousands of concurrent connections on loopback") {
    const int connections = goro_test::stress(2000, 8000);
    const rlim_t have = goro_test::raise_fd_limit(static_cast<rlim_t>(connections) * 2 + 256);
    const int n = std::min<int>(connections, static_cast<int>((have - 256) / 2));
    for_each_procs([n](int) {
        auto ln = net::listen("tcp", "127.0.0.1:0");
        const std::string addr = ln.local_address().to_string();
        fiber_group servers;
        servers.go([&] {
            for (int i = 0; i < n; ++i) {
                net::conn c = ln.accept();
                servers.go([c = std::move(c)]() mutable {
                    std::uint32_t v;
                    c.read_full(&v, sizeof v);
                    ++v;
                    c.write(&v, sizeof v);
                    char end;
                    (void)c.read(&end, 1);  // hold the connection until the client closes
                });
            }
        });
        std::atomic<int> ok{0};
        std::atomic<int> connected{0};
        goro::chan<int> all_connected = goro::make_chan<int>();
        fiber_group clients;
        for (int i = 0; i < n; ++i)
            clients.go([&, i] {
                net::conn c = net::dial("tcp", addr);
                // Every connection is open at once before any finishes.
                if (connected.fetch_add(1) + 1 == n) all_connected.close();
                (void)all_connected.recv();
                std::uint32_t v = static_cast<std::uint32_t>(i);
                c.write(&v, sizeof v);
                c.read_full(&v, sizeof v);
                if (v == static_cast<std::uint32_t>(i) + 1) ok.fetch_add(1);
            });
        clients.wait();
        servers.wait();
        CHECK(ok.load() == n);
    });
}
