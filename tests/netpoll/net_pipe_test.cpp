// tests/netpoll/net_pipe_test.cpp — goro::net::pipe (Go's net.Pipe): the
// conformance cases Go runs on it (nettest.TestConn: basic I/O, ping-pong,
// racy reads and writes, past/present/future deadlines, close unblocking,
// concurrent methods) in spirit, plus io::copy between a TCP conn and a pipe.
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include <doctest/doctest.h>

#include "netpoll/net_support.hpp"
#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro_test::eventually;
using goro_test::fiber_group;
using goro_test::for_each_procs;
using goro_test::plain_thread;

namespace net = goro::net;

namespace {

// Lambdas capture these (Clang 14 cannot capture structured bindings).
struct conn_pair {
    net::conn a;
    net::conn b;
};
conn_pair make_pipe() {
    auto [a, b] = net::pipe();
    return {std::move(a), std::move(b)};
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 13 + i / 97) % 26);
    return s;
}

static_assert(goro::io::reader<net::conn> && goro::io::writer<net::conn> && goro::io::closer<net::conn>);

net::time_point past() { return std::chrono::steady_clock::now() - 1h; }

}  // namespace

TEST_SUITE("net pipe") {

TEST_CASE("net::pipe: full duplex (BasicIO, PingPong)") {
    for_each_procs([](int) {
        auto [a, b] = net::pipe();
        CHECK(a);
        CHECK(b);
        conn_pair p{std::move(a), std::move(b)};
        const std::string to_b = pattern(50'000), to_a = pattern(30'000) + "!";
        std::string got_b, got_a;
        fiber_group g;
        g.go([&] {
            p.a.write(to_b);
            p.a.shutdown();  // b reads EOF; a still reads
        });
        g.go([&] { got_b = goro::io::read_all(p.b); });
        g.go([&] {
            p.b.write(to_a);
            p.b.shutdown(net::shutdown_how::write);
        });
        got_a = goro::io::read_all(p.a);
        g.wait();
        CHECK(got_b == to_b);
        CHECK(got_a == to_a);

        // Ping-pong: each side answers what the other sent, plus one.
        conn_pair q = make_pipe();
        const int rounds = goro_test::stress(1000, 10'000);
        g.go([&] {
            for (std::uint32_t v; q.b.read_full(&v, sizeof v) == sizeof v;) {
                ++v;
                q.b.write(&v, sizeof v);
                if (v >= static_cast<std::uint32_t>(rounds)) break;
            }
        });
        std::uint32_t v = 0;
        bool in_step = true;
        while (v < static_cast<std::uint32_t>(rounds)) {
            const std::uint32_t sent = v;
            q.a.write(&v, sizeof v);
            q.a.read_full(&v, sizeof v);
            if (v != sent + 1) in_step = false;
        }
        g.wait();
        CHECK(in_step);
    });
}

TEST_CASE("net::pipe: addresses are \"pipe\", before and after close") {
    auto [a, b] = net::pipe();
    CHECK(a.local_address().to_string() == "pipe");
    CHECK(a.remote_address().to_string() == "pipe");
    CHECK(b.local_address() == net::address::pipe());
    CHECK(a.local_address().family() == AF_UNSPEC);
    CHECK(a.local_address().ip().empty());
    CHECK(!(net::address::pipe() == net::address{}));
    CHECK(a.native_handle() == -1);
    a.set_no_delay(true);  // nothing to do, no error
    a.close();
    CHECK(a.local_address().to_string() == "pipe");
    CHECK(b.remote_address().to_string() == "pipe");
}

TEST_CASE("net::pipe: close: errc::closed here, EOF and closed_pipe at the peer") {
    for_each_procs([](int) {
        conn_pair p = make_pipe();
        // A read blocked on a when a closes fails with errc::closed (CloseTimeout).
        std::error_code blocked_ec;
        fiber_group g;
        g.go([&] {
            char buf[8];
            p.a.read(buf, sizeof buf, blocked_ec);
        });
        goro::yield();
        p.a.close();
        g.wait();
        CHECK(blocked_ec == net::errc::closed);

        char buf[8];
        std::error_code ec;
        CHECK(p.a.read(buf, sizeof buf, ec) == 0);
        CHECK(ec == net::errc::closed);
        CHECK(p.a.write(std::string_view("x"), ec) == 0);
        CHECK(ec == net::errc::closed);
        p.a.close(ec);
        CHECK(ec == net::errc::closed);  // as a socket closed twice
        p.a.set_deadline(past(), ec);
        CHECK(ec == net::errc::closed);

        CHECK(p.b.read(buf, sizeof buf, ec) == 0);
        CHECK(!ec);  // EOF
        CHECK(p.b.write(std::string_view("x"), ec) == 0);
        CHECK(ec == goro::io::errc::closed_pipe);
        CHECK(ec == std::errc::broken_pipe);
        std::string what;
        try {
            p.b.write(std::string_view("x"));
        } catch (const std::system_error& e) {
            what = e.what();
        }
        CHECK(what.rfind("write pipe: ", 0) == 0);
    });
}

TEST_CASE("net::pipe: shutdown(read) ends our reads and fails the peer's writes") {
    for_each_procs([](int) {
        conn_pair p = make_pipe();
        std::error_code blocked_ec;
        std::size_t taken = 99;
        fiber_group g;
        g.go([&] { taken = p.b.write(std::string(10, 'r'), blocked_ec); });
        char buf[4];
        CHECK(p.a.read(buf, sizeof buf) == 4);
        p.a.shutdown(net::shutdown_how::read);
        g.wait();
        CHECK(taken == 4);
        CHECK(blocked_ec == goro::io::errc::closed_pipe);
        std::error_code ec;
        CHECK(p.a.read(buf, sizeof buf, ec) == 0);
        CHECK(!ec);  // EOF
        // The other direction still works.
        g.go([&] {
            char c = 0;
            p.b.read(&c, 1);
            CHECK(c == 'k');
        });
        CHECK(p.a.write(std::string_view("k"), ec) == 1);
        CHECK(!ec);
        g.wait();
        p.a.shutdown(net::shutdown_how::write);
        CHECK(p.a.write(std::string_view("k"), ec) == 0);
        CHECK(ec == std::errc::broken_pipe);
    });
}

TEST_CASE("net::pipe: a blocked write fails when the peer closes, with what it wrote") {
    for_each_procs([](int) {
        conn_pair p = make_pipe();
        std::error_code ec;
        std::size_t n = 99;
        fiber_group g;
        g.go([&] { n = p.a.write(std::string(500, 'w'), ec); });
        char buf[100];
        CHECK(p.b.read_full(buf, sizeof buf) == 100);
        p.b.close();
        g.wait();
        CHECK(n == 100);
        CHECK(ec == goro::io::errc::closed_pipe);
    });
}

TEST_CASE("net::pipe: a deadline in the past fails calls at once, a cleared one lets them work (PastTimeout)") {
    for_each_procs([](int) {
        conn_pair p = make_pipe();
        p.a.set_deadline(past());
        char buf[8];
        std::error_code ec;
        CHECK(p.a.read(buf, sizeof buf, ec) == 0);
        CHECK(ec == net::errc::timeout);
        CHECK(ec == std::errc::timed_out);
        CHECK(p.a.write(std::string_view("x"), ec) == 0);
        CHECK(ec == net::errc::timeout);
        std::string what;
        try {
            p.a.read(buf, sizeof buf);
        } catch (const std::system_error& e) {
            what = e.what();
        }
        CHECK(what.rfind("read pipe: ", 0) == 0);

        p.a.set_deadline({});
        fiber_group g;
        g.go([&] { p.b.write(std::string_view("ok")); });
        CHECK(p.a.read(buf, sizeof buf, ec) == 2);
        CHECK(!ec);
        g.wait();
        // Only the direction set: a write deadline leaves reads alone.
        p.a.set_write_deadline(past());
        g.go([&] { p.b.write(std::string_view("ok")); });
        CHECK(p.a.read(buf, sizeof buf, ec) == 2);
        CHECK(!ec);
        g.wait();
        CHECK(p.a.write(std::string_view("x"), ec) == 0);
        CHECK(ec == net::errc::timeout);
    });
}

TEST_CASE("net::pipe: a deadline set while a call is blocked wakes it (PresentTimeout)") {
    for_each_procs([](int) {
        conn_pair p = make_pipe();
        std::error_code read_ec, write_ec;
        fiber_group g;
        g.go([&] {
            char buf[8];
            p.a.read(buf, sizeof buf, read_ec);
        });
        g.go([&] { p.b.write(std::string(64, 'q'), write_ec); });  // a reads nothing
        goro::yield();
        // A far deadline first: the blocked calls keep waiting on it...
        p.a.set_read_deadline(std::chrono::steady_clock::now() + 1h);
        p.b.set_write_deadline(std::chrono::steady_clock::now() + 1h);
        // ...and moving it into the past wakes them.
        p.a.set_read_deadline(past());
        p.b.set_write_deadline(past());
        g.wait();
        // The reader timed out, or (if the writer got in first) took bytes
        // and the writer timed out: either way the writer did.
        CHECK(write_ec == net::errc::timeout);
        CHECK((read_ec == net::errc::timeout || !read_ec));
    });
}

TEST_CASE("net::pipe: a future deadline passes and times the call out (FutureTimeout)") {
    // On virtual time (a pipe's waits are durable): exactly at the deadline.
    goro_test::for_each_bubble([](int) {
        conn_pair p = make_pipe();
        const auto t0 = goro::now();
        p.a.set_read_deadline(goro::now() + 20ms);
        char buf[8];
        std::error_code ec;
        CHECK(p.a.read(buf, sizeof buf, ec) == 0);
        CHECK(ec == net::errc::timeout);
        CHECK(goro::now() - t0 == 20ms);
        // A write that a slow reader takes part of, then times out: it
        // reports what was taken.
        p.b.set_write_deadline(goro::now() + 20ms);
        std::error_code wec;
        std::size_t n = 0;
        fiber_group g;
        g.go([&] { n = p.b.write(std::string(100, 'z'), wec); });
        p.a.set_read_deadline({});
        CHECK(p.a.read(buf, 5, ec) == 5);
        g.wait();
        CHECK(wec == net::errc::timeout);
        CHECK(n == 5);
    });
}

TEST_CASE("net::pipe: reads and writes racing with deadline changes (RacyRead, RacyWrite, ConcurrentMethods)") {
    for_each_procs([](int) {
        conn_pair p = make_pipe();
        const int n = goro_test::stress(200, 2000);
        std::atomic<bool> stop{false};
        fiber_group g;
        std::atomic<int> unexpected{0};
        g.go([&] {  // a writer that keeps offering
            const std::string data(64, 'd');
            while (!stop.load()) {
                std::error_code ec;
                p.a.write(data, ec);
                if (ec && ec != net::errc::timeout && ec != goro::io::errc::closed_pipe && ec != net::errc::closed)
                    ++unexpected;
                if (ec == goro::io::errc::closed_pipe || ec == net::errc::closed) return;
                if (ec) goro::yield();  // past its deadline: let the others run
            }
        });
        for (int r = 0; r < 4; ++r) {
            g.go([&] {
                char buf[16];
                for (int i = 0; i < n; ++i) {
                    std::error_code ec;
                    p.b.read(buf, sizeof buf, ec);
                    if (ec && ec != net::errc::timeout && ec != net::errc::closed) ++unexpected;
                    if (ec == net::errc::closed) return;
                }
            });
        }
        g.go([&] {
            for (int i = 0; i < n; ++i) {
                std::error_code ec;
                p.b.set_read_deadline(i % 2 ? past() : std::chrono::steady_clock::now() + 1ms, ec);
                p.a.set_write_deadline(i % 3 ? net::time_point{} : past(), ec);
                (void)p.b.local_address();
                goro::yield();
            }
            p.b.set_read_deadline({});
            p.a.set_write_deadline({});
        });
        // Let the readers finish their rounds, then close both ends.
        eventually([&] { return goro::num_fibers() <= 2; });  // main and the writer
        stop = true;
        p.b.close();
        p.a.close();
        g.wait();
        CHECK(unexpected.load() == 0);
    });
}

TEST_CASE("net::pipe: read_full's short reads are EOF and unexpected EOF") {
    for_each_procs([](int) {
        conn_pair p = make_pipe();
        fiber_group g;
        g.go([&] {
            p.a.write(std::string_view("abc"));
            p.a.close();
        });
        char buf[8];
        std::error_code ec;
        CHECK(p.b.read_full(buf, sizeof buf, ec) == 3);
        CHECK(ec == net::errc::unexpected_eof);
        CHECK(p.b.read_full(buf, sizeof buf, ec) == 0);
        CHECK(ec == net::errc::eof);
        g.wait();
    });
}

TEST_CASE("net::pipe: concurrent writers keep each write whole") {
    for_each_procs([](int) {
        conn_pair p = make_pipe();
        const int writers = 5;
        const std::size_t block = 4000;
        const int rounds = goro_test::stress(10, 100);
        std::atomic<int> left{writers};
        fiber_group g;
        for (int i = 0; i < writers; ++i) {
            g.go([&, i] {
                const std::string mine(block, static_cast<char>('A' + i));
                for (int k = 0; k < rounds; ++k) p.a.write(mine);
                if (--left == 0) p.a.shutdown();
            });
        }
        const std::string got = goro::io::read_all(p.b);
        g.wait();
        CHECK(got.size() == block * writers * static_cast<std::size_t>(rounds));
        bool whole = true;
        for (std::size_t at = 0; at + block <= got.size(); at += block)
            if (got.find_first_not_of(got[at], at) < at + block) whole = false;
        CHECK(whole);
    });
}

TEST_CASE("net::pipe: a plain thread on one end") {
    for_each_procs([](int) {
        conn_pair p = make_pipe();
        const std::string data = pattern(40'000);
        plain_thread t([&] {
            p.a.write(data);
            p.a.close();
        });
        const std::string got = goro::io::read_all(p.b);
        t.join();
        CHECK(got == data);
    });
}

TEST_CASE("io::copy between a TCP conn and a net::pipe, both ways") {
    for_each_procs([](int) {
        auto [client, server] = goro_test::tcp_pair();
        conn_pair tcp{std::move(client), std::move(server)};
        conn_pair p = make_pipe();
        const std::string up = pattern(200'000), down = pattern(150'000) + "end";
        std::int64_t copied_up = -1, copied_down = -1;
        std::error_code up_ec, down_ec;
        std::string got_up, got_down;
        fiber_group g;
        // TCP -> pipe: what the client sends reaches the pipe's far end.
        g.go([&] {
            copied_up = goro::io::copy(p.a, tcp.b, up_ec);
            p.a.shutdown();
        });
        g.go([&] { got_up = goro::io::read_all(p.b); });
        // pipe -> TCP: what the pipe's far end sends reaches the client.
        g.go([&] {
            copied_down = goro::io::copy(tcp.b, p.a, down_ec);
            tcp.b.shutdown();
        });
        g.go([&] {
            p.b.write(down);
            p.b.shutdown();
        });
        g.go([&] { got_down = goro::io::read_all(tcp.a); });
        tcp.a.write(up);
        tcp.a.shutdown();
        g.wait();
        CHECK(!up_ec);
        CHECK(!down_ec);
        CHECK(copied_up == static_cast<std::int64_t>(up.size()));
        CHECK(copied_down == static_cast<std::int64_t>(down.size()));
        CHECK(got_up == up);
        CHECK(got_down == down);
    });
}

TEST_CASE("net::pipe: the example of docs/api.md (an echo handler without sockets)") {
    for_each_procs([](int) {
        auto [client, server] = net::pipe();
        goro::go([server = std::move(server)]() mutable { goro::io::copy(server, server); });
        client.set_deadline(goro::now() + std::chrono::seconds(5));
        client.write(std::string_view("ping"));
        char reply[4];
        client.read_full(reply, sizeof reply);
        CHECK(std::string(reply, sizeof reply) == "ping");
        client.close();  // the echo fiber's read sees EOF and it ends
    });
}

}  // TEST_SUITE


TEST_CASE("net::pipe outside goro::run: a future deadline is refused with an error, a past one works") {
    auto ends = goro::net::pipe();
    std::error_code ec;
    ends.first.set_deadline(goro::now() + std::chrono::seconds(5), ec);
    CHECK(ec == std::errc::operation_not_permitted);
    ends.first.set_read_deadline(goro::now() - std::chrono::seconds(1), ec);
    CHECK(!ec);
    char c;
    (void)ends.first.read(&c, 1, ec);
    CHECK(ec == goro::net::errc::timeout);
    ends.first.set_deadline(goro::time_point{}, ec);  // cleared
    CHECK(!ec);
}
