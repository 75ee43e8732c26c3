// tests/netpoll/net_test.cpp — goro::net round trips over TCP (IPv4, IPv6),
// Unix sockets and UDP; addresses (kept after close) and errors; half-close,
// resets, EOF; concurrent use of one connection; plain threads as clients.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <system_error>
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

// Echo every connection of ln until it is closed.
void serve_echo(net::listener& ln, fiber_group& group) {
    for (;;) {
        std::error_code ec;
        net::conn c = ln.accept(ec);
        if (ec) return;
        group.go([c = std::move(c)]() mutable {
            char buffer[4096];
            for (;;) {
                std::error_code rec;
                const std::size_t n = c.read(buffer, sizeof buffer, rec);
                if (rec || n == 0) return;
                if (c.write(buffer, n, rec), rec) return;
            }
        });
    }
}

// Sends `messages` distinct lines through an echo server at addr over
// network and checks each comes back.
void check_round_trips(const char* network, const std::string& addr, int messages) {
    net::conn c = net::dial(network, addr);
    for (int i = 0; i < messages; ++i) {
        const std::string msg = "message " + std::to_string(i) + " over " + network;
        c.write(msg);
        std::string back(msg.size(), '\0');
        std::error_code ec;
        c.read_full(back.data(), back.size(), ec);
        CHECK_MESSAGE(!ec, ec.message());
        CHECK(back == msg);
    }
}

void round_trip_over(const char* network, const std::string& listen_addr, int clients) {
    for_each_procs([&](int) {
        net::listener ln = net::listen(network, listen_addr);
        const std::string addr = ln.local_address().to_string();
        fiber_group servers;
        servers.go([&] { serve_echo(ln, servers); });
        fiber_group group;
        for (int i = 0; i < clients; ++i) group.go([&] { check_round_trips(network, addr, 50); });
        group.wait();
        ln.close();
        servers.wait();
    });
}

}  // namespace

TEST_CASE("tcp over IPv4: many clients round-trip through an echo server") {
    round_trip_over("tcp", "127.0.0.1:0", goro_test::stress(40, 200));
}

TEST_CASE("tcp over IPv6: round trips on [::1]") { round_trip_over("tcp6", "[::1]:0", 8); }

TEST_CASE("unix stream sockets: a path and the abstract namespace") {
    const std::string path = goro_test::unique_socket_path("unix");
    round_trip_over("unix", path, 8);
    CHECK(access(path.c_str(), F_OK) != 0);  // the listener removed its file at close
    round_trip_over("unix", "@goro-test-abstract-" + std::to_string(getpid()), 4);
}

TEST_CASE("udp: bound sockets with read_from/write_to, connected ones with read/write") {
    for_each_procs([](int) {
        net::packet_conn server = net::listen_packet("udp", "127.0.0.1:0");
        const net::address server_addr = server.local_address();
        CHECK(server_addr.port() != 0);
        fiber_group group;
        group.go([&] {
            char buffer[1500];
            for (int i = 0; i < 20; ++i) {
                net::address from;
                const std::size_t n = server.read_from(buffer, sizeof buffer, from);
                server.write_to(buffer, n, from);
            }
        });
        net::packet_conn client = net::dial_udp("udp", server_addr.to_string());
        CHECK(client.remote_address() == server_addr);
        for (int i = 0; i < 20; ++i) {
            const std::string msg = "datagram " + std::to_string(i);
            client.write(msg.data(), msg.size());
            char back[1500];
            const std::size_t n = client.read(back, sizeof back);
            CHECK(std::string(back, n) == msg);
        }
        group.wait();
    });
}

TEST_CASE("addresses print as Go prints them and bad ones are errors") {
    CHECK(net::address::parse("127.0.0.1:80").to_string() == "127.0.0.1:80");
    CHECK(net::address::parse("[::1]:8080").to_string() == "[::1]:8080");
    CHECK(net::address::parse("[::1]:8080").family() == AF_INET6);
    CHECK(net::address::parse("10.1.2.3:65535").port() == 65535);
    CHECK(net::address::unix_path("/tmp/x.sock").to_string() == "/tmp/x.sock");
    CHECK(net::address::unix_path("@abstract").to_string() == "@abstract");
    CHECK(net::address().to_string() == "<nil>");
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "::1:80", "[::1:80", "1.2.3.4:99999", "host:80", "1.2.3.4:-1"}) {
        std::error_code ec;
        (void)net::address::parse(bad, ec);
        CHECK_MESSAGE(ec == net::errc::invalid_address, bad);
    }
    CHECK_THROWS_AS(net::address::parse("nope"), std::system_error);
    goro::run([] {
        std::error_code ec;
        (void)net::dial("carrier-pigeon", "127.0.0.1:1", ec);
        CHECK(ec == net::errc::unknown_network);
        (void)net::listen("tcp", "127.0.0.1", ec);
        CHECK(ec == net::errc::invalid_address);
        auto found = net::resolve("tcp", "localhost:http");
        CHECK(!found.empty());
        for (const auto& a : found) CHECK(a.port() == 80);
        (void)net::resolve("tcp", "no-such-host.invalid:80", ec);
        CHECK(ec == net::errc::host_not_found);
        // A NUL cuts a C string short: "localhost\0junk" must not resolve as
        // localhost, nor a service "http\0junk" as http (found by fuzzing).
        using namespace std::string_view_literals;
        (void)net::resolve("tcp", "localhost\0junk:80"sv, ec);
        CHECK(ec == net::errc::host_not_found);
        (void)net::resolve("tcp", "localhost:http\0junk"sv, ec);
        CHECK(ec == net::errc::invalid_address);
        (void)net::address::parse("127.0.0.1\0:80"sv, ec);
        CHECK(ec == net::errc::invalid_address);
        try {
            (void)net::dial("tcp", "127.0.0.1");
            CHECK(false);
        } catch (const std::system_error& e) {
            CHECK(std::string(e.what()).find("dial tcp 127.0.0.1") == 0);
        }
        return 0;
    });
}

TEST_CASE("local and remote addresses of both ends agree; TCP_NODELAY is on") {
    goro::run([] {
        net::conn client, server;
        std::tie(client, server) = goro_test::tcp_pair();
        CHECK(client.local_address() == server.remote_address());
        CHECK(client.remote_address() == server.local_address());
        int on = 0;
        socklen_t len = sizeof on;
        getsockopt(client.native_handle(), IPPROTO_TCP, 1 /* TCP_NODELAY */, &on, &len);
        CHECK(on != 0);
        getsockopt(server.native_handle(), IPPROTO_TCP, 1, &on, &len);
        CHECK(on != 0);
        return 0;
    });
}

namespace {

// The text std::system_error gives for a closed connection's call `op`.
std::string closed_error(const char* op, const std::string& endpoints) {
    return std::string(op) + " " + endpoints + ": use of closed network connection";
}

template <class Call>
std::string what_of(Call call) {
    try {
        call();
    } catch (const std::system_error& e) {
        return e.what();
    }
    return "(no exception)";
}

}  // namespace

TEST_CASE("tcp: addresses outlive close, as in Go, and errors still name the peer") {
    goro::run([] {
        auto ln = net::listen("tcp", "127.0.0.1:0");
        const net::address listening = ln.local_address();
        net::conn client = net::dial("tcp", listening.to_string());
        net::conn server = ln.accept();
        const net::address client_side = client.local_address();
        CHECK(client.remote_address() == listening);
        CHECK(server.local_address() == listening);
        CHECK(server.remote_address() == client_side);

        client.close();
        server.close();
        ln.close();
        CHECK(client.local_address() == client_side);
        CHECK(client.remote_address() == listening);
        CHECK(server.local_address() == listening);
        CHECK(server.remote_address() == client_side);
        CHECK(ln.local_address() == listening);
        CHECK(client.remote_address().to_string() == listening.to_string());

        const std::string client_pair = client_side.to_string() + "->" + listening.to_string();
        const std::string server_pair = listening.to_string() + "->" + client_side.to_string();
        char buffer[8];
        CHECK(what_of([&] { client.read(buffer, sizeof buffer); }) == closed_error("read tcp", client_pair));
        CHECK(what_of([&] { server.write("x"); }) == closed_error("write tcp", server_pair));
        CHECK(what_of([&] { client.set_deadline(std::chrono::steady_clock::now()); }) == closed_error("set deadline tcp", client_pair));
        CHECK(what_of([&] { client.close(); }) == closed_error("close tcp", client_pair));
        CHECK(what_of([&] { ln.accept(); }) == closed_error("accept tcp", listening.to_string()));
        return 0;
    });
}

TEST_CASE("tcp: a connection reset by its peer still names the peer in its errors") {
    goro::run([] {
        net::conn client, server;
        std::tie(client, server) = goro_test::tcp_pair();
        const std::string endpoints = client.local_address().to_string() + "->" + server.local_address().to_string();
        linger hard_close{1, 0};  // close with RST: the kernel then forgets the peer
        setsockopt(server.native_handle(), SOL_SOCKET, SO_LINGER, &hard_close, sizeof hard_close);
        server.close();
        char buffer[8];
        const std::string what = what_of([&] { client.read(buffer, sizeof buffer); });
        CHECK(what.rfind("read tcp " + endpoints + ": ", 0) == 0);
        CHECK(client.remote_address() == server.local_address());
        return 0;
    });
}

TEST_CASE("unix: addresses outlive close, and errors still name the socket path") {
    goro::run([] {
        const std::string path = goro_test::unique_socket_path("addresses");
        auto ln = net::listen("unix", path);
        net::conn client = net::dial("unix", path);
        net::conn server = ln.accept();
        client.close();
        server.close();
        ln.close();
        CHECK(ln.local_address().to_string() == path);
        CHECK(client.remote_address() == net::address::unix_path(path));
        CHECK(client.remote_address().family() == AF_UNIX);
        CHECK(client.local_address().family() == AF_UNIX);  // unnamed, as Go's client end
        CHECK(server.local_address() == net::address::unix_path(path));
        CHECK(server.remote_address().family() == AF_UNIX);
        char buffer[8];
        CHECK(what_of([&] { client.read(buffer, sizeof buffer); }) == closed_error("read unix", "->" + path));
        CHECK(what_of([&] { server.write("x"); }) == closed_error("write unix", path + "->"));
        CHECK(what_of([&] { ln.accept(); }) == closed_error("accept unix", path));
        return 0;
    });
}

TEST_CASE("udp: a packet_conn's addresses outlive close") {
    goro::run([] {
        net::packet_conn server = net::listen_packet("udp", "127.0.0.1:0");
        const net::address bound = server.local_address();
        net::packet_conn client = net::dial_udp("udp", bound.to_string());
        const net::address client_side = client.local_address();
        CHECK(client_side.port() != 0);
        client.close();
        server.close();
        CHECK(server.local_address() == bound);
        CHECK(server.remote_address().family() == AF_UNSPEC);  // not connected
        CHECK(client.local_address() == client_side);
        CHECK(client.remote_address() == bound);
        CHECK(what_of([&] { client.write("x", 1); }) ==
              closed_error("write udp", client_side.to_string() + "->" + bound.to_string()));
        return 0;
    });
}

TEST_CASE("a refused connection is an error, not a hang") {
    goro::run([] {
        net::address free_addr;
        {
            auto ln = net::listen("tcp", "127.0.0.1:0");
            free_addr = ln.local_address();
        }  // closed: nobody listens there now
        std::error_code ec;
        net::conn c = net::dial("tcp", free_addr.to_string(), ec);
        CHECK(ec == std::errc::connection_refused);
        CHECK(!c);
        return 0;
    });
}

TEST_CASE("EOF is a read of 0 bytes; read_full tells EOF from unexpected EOF") {
    for_each_procs([](int) {
        {
            net::conn client, server;
            std::tie(client, server) = goro_test::tcp_pair();
            client.write("abc");
            client.close();
            char buffer[8];
            std::error_code ec;
            CHECK(server.read_full(buffer, 3, ec) == 3);
            CHECK(!ec);
            CHECK(server.read(buffer, sizeof buffer, ec) == 0);
            CHECK(!ec);
            CHECK(server.read_full(buffer, 1, ec) == 0);
            CHECK(ec == net::errc::eof);
        }
        {
            net::conn client, server;
            std::tie(client, server) = goro_test::tcp_pair();
            client.write("ab");
            client.close();
            char buffer[8];
            std::error_code ec;
            CHECK(server.read_full(buffer, 4, ec) == 2);
            CHECK(ec == net::errc::unexpected_eof);
            CHECK_THROWS_AS(server.read_full(buffer, 4), std::system_error);
        }
    });
}

TEST_CASE("shutdown(write) half-closes: the peer sees EOF and can still answer") {
    for_each_procs([](int) {
        net::conn client, server;
        std::tie(client, server) = goro_test::tcp_pair();
        fiber_group group;
        group.go([&server] {
            std::string all;
            char buffer[256];
            while (std::size_t n = server.read(buffer, sizeof buffer)) all.append(buffer, n);
            server.write("got " + std::to_string(all.size()));
            server.close();
        });
        client.write(std::string(1000, 'x'));
        client.shutdown(net::shutdown_how::write);
        char reply[64];
        std::size_t total = 0;
        while (std::size_t n = client.read(reply + total, sizeof reply - total)) total += n;
        CHECK(std::string(reply, total) == "got 1000");
        group.wait();
    });
}

TEST_CASE("a reset connection surfaces ECONNRESET; writing to it is EPIPE, never SIGPIPE") {
    for_each_procs([](int) {
        net::conn client, server;
        std::tie(client, server) = goro_test::tcp_pair();
        linger hard_close{1, 0};  // close with RST
        setsockopt(server.native_handle(), SOL_SOCKET, SO_LINGER, &hard_close, sizeof hard_close);
        server.close();
        char buffer[16];
        std::error_code ec;
        (void)client.read(buffer, sizeof buffer, ec);
        CHECK(ec == std::errc::connection_reset);
        // Further writes fail cleanly (EPIPE), and the process lives on.
        const std::string big(1 << 16, 'y');
        for (int i = 0; i < 4 && !ec; ++i) client.write(big, ec);
        ec.clear();
        client.write(big, ec);
        CHECK((ec == std::errc::broken_pipe || ec == std::errc::connection_reset));
    });
}

TEST_CASE("several fibers may write one connection at once; writes never interleave") {
    for_each_procs([](int) {
        net::conn client, server;
        std::tie(client, server) = goro_test::tcp_pair();
        const int writers = 8;
        const int per_writer = goro_test::stress(400, 4000);
        constexpr std::size_t record = 512;
        fiber_group group;
        for (int w = 0; w < writers; ++w)
            group.go([&, w] {
                std::string msg(record, static_cast<char>('a' + w));
                for (int i = 0; i < per_writer; ++i) client.write(msg);
            });
        std::vector<int> counts(writers, 0);
        std::string buffer(record, '\0');
        for (int i = 0; i < writers * per_writer; ++i) {
            server.read_full(buffer.data(), record);
            const char c = buffer[0];
            CHECK(std::all_of(buffer.begin(), buffer.end(), [c](char x) { return x == c; }));
            if (c >= 'a' && c < 'a' + writers) ++counts[static_cast<std::size_t>(c - 'a')];
        }
        for (int w = 0; w < writers; ++w) CHECK(counts[static_cast<std::size_t>(w)] == per_writer);
        group.wait();
    });
}

TEST_CASE("large transfers arrive intact in both directions at once") {
    for_each_procs([](int) {
        net::conn client, server;
        std::tie(client, server) = goro_test::tcp_pair();
        const std::size_t size = 4 << 20;
        std::string payload(size, '\0');
        for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 7 + (i >> 13));
        fiber_group group;
        group.go([&] { client.write(payload); });
        group.go([&] { server.write(payload); });
        std::string at_server(size, '\0'), at_client(size, '\0');
        group.go([&] { client.read_full(at_client.data(), size); });
        server.read_full(at_server.data(), size);
        group.wait();
        CHECK(at_server == payload);
        CHECK(at_client == payload);
    });
}

TEST_CASE("plain threads dial and talk to fiber servers, with deadlines") {
    for_each_procs([](int) {
        net::listener ln = net::listen("tcp", "127.0.0.1:0");
        const std::string addr = ln.local_address().to_string();
        fiber_group servers;
        servers.go([&] { serve_echo(ln, servers); });
        std::string received;
        std::error_code deadline_error;
        std::atomic<bool> finished{false};
        std::thread client([&] {
            net::conn c = net::dial("tcp", addr);
            c.write("from a thread");
            char buffer[32];
            const std::size_t n = c.read_full(buffer, 13);
            received.assign(buffer, n);
            c.set_read_deadline(std::chrono::steady_clock::now() + 30ms);
            (void)c.read(buffer, sizeof buffer, deadline_error);
            finished.store(true);
        });
        // Keep this worker free for the echo fibers until the thread is done.
        while (!goro_test::eventually([&] { return finished.load(); }, 10ms)) {
        }
        client.join();
        CHECK(received == "from a thread");
        CHECK(deadline_error == net::errc::timeout);
        ln.close();
        servers.wait();
    });
}

TEST_CASE("dial with a context: cancelled, past its deadline, or fine") {
    for_each_procs([](int) {
        auto ln = net::listen("tcp", "127.0.0.1:0");
        const std::string addr = ln.local_address().to_string();
        std::error_code ec;
        {
            auto [ctx, cancel] = goro::with_cancel(goro::background());
            cancel();
            net::conn c = net::dial(ctx, "tcp", addr, ec);
            CHECK(ec == net::errc::canceled);
            CHECK(ec == std::errc::operation_canceled);
            CHECK(!c);
        }
        {
            auto [ctx, cancel] = goro::with_deadline(goro::background(), std::chrono::steady_clock::now() - 1s);
            net::conn c = net::dial(ctx, "tcp", addr, ec);
            CHECK(ec == net::errc::timeout);
            cancel();
        }
        {
            auto [ctx, cancel] = goro::with_timeout(goro::background(), 10s);
            net::conn c = net::dial(ctx, "tcp", addr, ec);
            CHECK(!ec);
            CHECK(static_cast<bool>(c));
            net::conn s = ln.accept();
            c.write("via ctx");
            char buffer[7];
            s.read_full(buffer, 7);
            CHECK(std::string(buffer, 7) == "via ctx");
            cancel();  // after the dial: the connection is unaffected
            c.write("!");
            CHECK(s.read(buffer, 1) == 1);
        }
        {
            net::conn c = net::dial_timeout("tcp", addr, 5s, ec);
            CHECK(!ec);
            CHECK(static_cast<bool>(c));
        }
    });
}

namespace {
int int_option(int fd, int level, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    getsockopt(fd, level, name, &value, &len);
    return value;
}
}  // namespace

TEST_CASE("socket options: Go's keep-alive defaults, keep-alive, linger and buffer sizes") {
    goro::run([] {
        auto ends = goro_test::tcp_pair();
        net::conn& dialled = ends.first;
        net::conn& accepted = ends.second;
        // Go turns keep-alive on for accepted and dialled TCP conns, 15 s.
        for (net::conn* c : {&dialled, &accepted}) {
            CHECK(int_option(c->native_handle(), SOL_SOCKET, SO_KEEPALIVE) == 1);
            CHECK(int_option(c->native_handle(), IPPROTO_TCP, TCP_KEEPIDLE) == 15);
            CHECK(int_option(c->native_handle(), IPPROTO_TCP, TCP_KEEPINTVL) == 15);
        }
        dialled.set_keep_alive(false);
        CHECK(int_option(dialled.native_handle(), SOL_SOCKET, SO_KEEPALIVE) == 0);
        dialled.set_keep_alive(true);
        dialled.set_keep_alive_period(90s);
        CHECK(int_option(dialled.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE) == 90);
        dialled.set_keep_alive_period(1500ms);  // rounded up to whole seconds, as Go does
        CHECK(int_option(dialled.native_handle(), IPPROTO_TCP, TCP_KEEPINTVL) == 2);

        dialled.set_read_buffer(8192);
        CHECK(int_option(dialled.native_handle(), SOL_SOCKET, SO_RCVBUF) >= 8192);  // Linux doubles it
        dialled.set_write_buffer(16384);
        CHECK(int_option(dialled.native_handle(), SOL_SOCKET, SO_SNDBUF) >= 16384);

        // Linger 0: close discards and resets, so the peer's read fails
        // with ECONNRESET rather than seeing EOF.
        dialled.set_linger(0);
        linger l{};
        socklen_t len = sizeof l;
        getsockopt(dialled.native_handle(), SOL_SOCKET, SO_LINGER, &l, &len);
        CHECK(l.l_onoff == 1);
        CHECK(l.l_linger == 0);
        dialled.write("unread by nobody");
        dialled.close();
        char buf[64];
        std::error_code ec;
        while (accepted.read(buf, sizeof buf, ec) != 0) {
        }
        CHECK(ec == std::errc::connection_reset);

        // On a closed conn: errc::closed, and the throwing form names the op.
        dialled.set_keep_alive(true, ec);
        CHECK(ec == net::errc::closed);
        try {
            dialled.set_linger(5);
            CHECK(false);
        } catch (const std::system_error& e) {
            CHECK(std::string(e.what()).rfind("set linger tcp 127.0.0.1:", 0) == 0);
        }
    });
}

TEST_CASE("socket options on a Unix socket and a net::pipe: keep-alive and linger do nothing, buffers apply to Unix") {
    goro::run([] {
        const std::string path = goro_test::unique_socket_path("options");
        auto ln = net::listen("unix", path);
        net::conn client = net::dial("unix", path);
        net::conn server = ln.accept();
        std::error_code ec;
        client.set_keep_alive(true, ec);
        CHECK(!ec);
        client.set_linger(0, ec);
        CHECK(!ec);
        client.set_read_buffer(8192, ec);
        CHECK(!ec);
        CHECK(int_option(client.native_handle(), SOL_SOCKET, SO_RCVBUF) >= 8192);

        auto pipe_ends = net::pipe();
        pipe_ends.first.set_keep_alive(true, ec);
        CHECK(!ec);
        pipe_ends.first.set_linger(0, ec);
        CHECK(!ec);
        pipe_ends.first.set_write_buffer(1 << 20, ec);
        CHECK(!ec);
    });
}
