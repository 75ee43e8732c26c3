// server.hpp: what the example servers (echo_server, http_raw, chat_server,
// kv_server, and on goro::http http_hello, metrics_server, rest_service) share, so that each of them holds only what makes
// it different: how it talks to one client.
//
// The skeleton is Go's
//
//     ln, _ := net.Listen("tcp", addr)
//     for { conn, err := ln.Accept(); ...; go handle(conn) }
//
// plus a clean shutdown: SIGINT or SIGTERM closes the listener and every open
// connection, waits for the connection fibers, and the process exits 0.
//
//   example::server_main(name, default_listen, argc, argv, handle)
//       the whole of main: flags, goro::run, serve_until_signal
//   example::serve_until_signal(name, listen_address, handle)
//       inside a fiber: listen, accept, handle(conn) in a fiber of its own
//       for each client; returns the exit status once a signal has stopped it
//   example::serve_http_until_signal(name, listen_address, server)
//       the same for a goro::http::server: serve until a signal, then Go's
//       graceful Shutdown
//   example::parse_flags(argc, argv, listen_address [, durations])
//       [--listen HOST:PORT] and a server's own duration flags
//       ([--read-header-timeout 10s]); false (after a usage message) on
//       anything else
//
// A server that needs fibers of its own beside the connections (the chat
// broadcaster, the kv sweeper) writes its main with goro::run, starts them,
// calls serve_until_signal and stops them when it returns.
//
// The first line of stdout is the bound address ("127.0.0.1:40123"), so
// whoever started the server with port 0 learns which port it got.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>

#include <goro/goro.hpp>

namespace example {

// A duration in Go's notation, one number and a unit: "500ms", "10s", "2m".
// False if text is not one.
inline bool parse_duration(std::string_view text, std::chrono::nanoseconds& out) {
    std::size_t digits = 0;
    std::int64_t n = 0;
    while (digits < text.size() && digits < 12 && text[digits] >= '0' && text[digits] <= '9')
        n = n * 10 + (text[digits++] - '0');
    const std::string_view unit = text.substr(digits);
    if (digits == 0) return false;
    if (unit == "ms") out = std::chrono::milliseconds(n);
    else if (unit == "s") out = std::chrono::seconds(n);
    else if (unit == "m") out = std::chrono::minutes(n);
    else return false;
    return true;
}

// A server's own flag that takes a duration: --NAME DURATION or
// --NAME=DURATION sets *value (which holds the default until then).
struct duration_flag {
    std::string_view name;  // without the dashes: "read-header-timeout"
    std::chrono::nanoseconds* value;
};

// [--listen HOST:PORT] or [--listen=HOST:PORT], and the duration flags;
// listen_address comes in holding the default. False, after a usage message
// on stderr, for any other argument or a bad duration: the caller should
// exit with status 2.
inline bool parse_flags(int argc, char** argv, std::string& listen_address,
                        std::initializer_list<duration_flag> durations = {}) {
    // The usage message, with the defaults, before any flag changes them.
    std::string usage = std::string("usage: ") + argv[0] + " [--listen HOST:PORT]";
    for (const duration_flag& flag : durations) usage += " [--" + std::string(flag.name) + " DURATION]";
    usage += "\n  --listen: default " + listen_address + "; port 0 picks a free port\n";
    for (const duration_flag& flag : durations) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*flag.value).count();
        usage += "  --" + std::string(flag.name) + ": default " +
                 (ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms") +
                 " (DURATION: 500ms, 10s, 2m)\n";
    }

    // argv[i] is --NAME VALUE or --NAME=VALUE: the value (i moves past it).
    auto value_of = [&](std::string_view name, int& i) -> std::optional<std::string_view> {
        const std::string_view arg = argv[i];
        if (!arg.starts_with("--") || !arg.substr(2).starts_with(name)) return std::nullopt;
        const std::string_view rest = arg.substr(2 + name.size());
        if (rest.starts_with("=")) return rest.substr(1);
        if (rest.empty() && i + 1 < argc) return argv[++i];
        return std::nullopt;
    };
    for (int i = 1; i < argc; ++i) {
        bool ok = false;
        if (auto address = value_of("listen", i)) {
            listen_address = *address;
            ok = true;
        } else {
            for (const duration_flag& flag : durations) {
                if (auto text = value_of(flag.name, i)) {
                    ok = parse_duration(*text, *flag.value);
                    break;
                }
            }
        }
        if (!ok) {
            std::fputs(usage.c_str(), stderr);
            return false;
        }
    }
    return true;
}

// The open client connections, so that shutdown can close them: closing a
// conn wakes the fiber blocked on it. A connection's fiber adds its conn when
// it starts and removes it before destroying it, both under the lock, so
// close_all never touches a dead conn.
class conn_registry {
public:
    // False once shutdown has begun: the caller should just drop the conn.
    bool add(goro::net::conn* c) {
        std::lock_guard<goro::mutex> hold(lock_);
        if (closing_) return false;
        conns_.insert(c);
        return true;
    }
    void remove(goro::net::conn* c) {
        std::lock_guard<goro::mutex> hold(lock_);
        conns_.erase(c);
    }
    void close_all() {
        std::lock_guard<goro::mutex> hold(lock_);
        closing_ = true;
        for (goro::net::conn* c : conns_) {
            std::error_code ignored;  // already closed by its handler: fine
            c->close(ignored);
        }
    }

private:
    goro::mutex lock_;
    std::unordered_set<goro::net::conn*> conns_;
    bool closing_ = false;
};

// Listens on listen_address and prints the bound address as the first line
// of stdout (whoever started the server is waiting for it); nullopt, after
// "NAME: listen ADDRESS: why" on stderr, if it cannot.
inline std::optional<goro::net::listener> listen_announced(const char* name, const std::string& listen_address) {
    std::error_code ec;
    goro::net::listener listener = goro::net::listen("tcp", listen_address, ec);
    if (ec) {
        std::fprintf(stderr, "%s: listen %s: %s\n", name, listen_address.c_str(), ec.message().c_str());
        return std::nullopt;
    }
    std::printf("%s\n", listener.local_address().to_string().c_str());
    std::fflush(stdout);
    return listener;
}

// Listens on listen_address and runs handle(conn) (conn is a
// goro::net::conn&) in a new fiber for each client, until SIGINT or SIGTERM.
// Then closes every connection still open, which makes its handler's
// blocked read or write fail, waits for the handlers to return and returns
// 0. Returns 1 if it cannot listen. Call it from a fiber; name prefixes the
// messages on stderr.
template <class Handler>
int serve_until_signal(const char* name, const std::string& listen_address, Handler handle) {
    using namespace std::chrono_literals;
    std::error_code ec;
    std::optional<goro::net::listener> listening = listen_announced(name, listen_address);
    if (!listening) return 1;
    goro::net::listener listener = std::move(*listening);

    // A signal closes the listener, which ends the accept loop below.
    // SIGUSR1 only prints how many fibers are alive ("NAME: fibers N" on
    // stderr), which scripts/soak.sh samples.
    auto signals = goro::make_chan<int>(1);
    auto status = goro::make_chan<int>(1);
    goro::signal_notify(signals, {SIGINT, SIGTERM});
    goro::signal_notify(status, {SIGUSR1});
    goro::wait_group watcher;  // the listener must outlive the fiber that closes it
    watcher.add(1);
    goro::go([&] {
        int signal = 0;
        while (goro::select(goro::recv(status, signal), goro::recv(signals, signal)) == 0) {
            std::fprintf(stderr, "%s: fibers %zu\n", name, goro::num_fibers());
            std::fflush(stderr);
        }
        std::fprintf(stderr, "%s: signal %d, shutting down\n", name, signal);
        std::error_code ignored;
        listener.close(ignored);
        watcher.done();
    });

    conn_registry live;
    goro::wait_group handlers;
    for (;;) {
        goro::net::conn c = listener.accept(ec);
        if (ec == goro::net::errc::closed) break;
        if (ec) {  // rare: accept already retries aborted connections and backs off on EMFILE
            std::fprintf(stderr, "%s: accept: %s\n", name, ec.message().c_str());
            goro::sleep_for(5ms);
            continue;
        }
        handlers.add(1);
        goro::go([&live, &handlers, &handle, c = std::move(c)]() mutable {
            if (live.add(&c)) {
                handle(c);
                live.remove(&c);
            }
            c = goro::net::conn();  // close the socket now: nothing may outlive handlers.wait()
            handlers.done();
        });
    }
    watcher.wait();
    live.close_all();
    handlers.wait();
    return 0;
}

// The signal handling serve_until_signal does, for a goro::http::server:
// listens, prints the bound address, serves until SIGINT or SIGTERM, then
// shuts the server down as Go's Server.Shutdown does (no new connections,
// idle ones closed, requests in flight answered) and closes whatever is still
// open after shutdown_grace. SIGUSR1 prints the live fibers, as above.
// Returns 0 after a signal, 1 if it cannot listen or accept. Call it from a
// fiber.
inline int serve_http_until_signal(const char* name, const std::string& listen_address, goro::http::server& srv,
                                   std::chrono::nanoseconds shutdown_grace = std::chrono::seconds(10)) {
    std::error_code ec;
    std::optional<goro::net::listener> listening = listen_announced(name, listen_address);
    if (!listening) return 1;
    goro::net::listener listener = std::move(*listening);

    auto signals = goro::make_chan<int>(1);
    auto status = goro::make_chan<int>(1);
    goro::signal_notify(signals, {SIGINT, SIGTERM});
    goro::signal_notify(status, {SIGUSR1});
    auto served = goro::make_chan<int>();  // closed when serve has returned
    goro::wait_group watcher;
    watcher.add(1);
    goro::go([&] {
        int signal = 0;
        for (;;) {
            const std::size_t which = goro::select(goro::recv(status, signal), goro::recv(signals, signal),
                                                   goro::recv(served));
            if (which == 0) {
                std::fprintf(stderr, "%s: fibers %zu\n", name, goro::num_fibers());
                std::fflush(stderr);
                continue;
            }
            if (which == 2) break;  // serve failed on its own: nothing to stop
            std::fprintf(stderr, "%s: signal %d, shutting down\n", name, signal);
            auto [ctx, cancel] = goro::with_timeout(goro::background(), shutdown_grace);
            std::error_code late;
            srv.shutdown(ctx, late);
            cancel();
            if (late) {
                std::fprintf(stderr, "%s: shutdown: %s; closing what is left\n", name, late.message().c_str());
                srv.close();
            }
            break;
        }
        watcher.done();
    });

    srv.serve(std::move(listener), ec);
    served.close();
    watcher.wait();
    goro::signal_stop(signals);
    goro::signal_stop(status);
    if (ec && ec != goro::http::errc::server_closed) {
        std::fprintf(stderr, "%s: serve: %s\n", name, ec.message().c_str());
        return 1;
    }
    return 0;
}

// The whole main of a server whose connections need nothing else running:
//
//     int main(int argc, char** argv) {
//         return example::server_main("echo_server", "127.0.0.1:7000", argc, argv, echo);
//     }
//
// Exit status: 0 after a signal, 1 if it cannot listen, 2 for bad flags.
template <class Handler>
int server_main(const char* name, std::string_view default_listen, int argc, char** argv, Handler handle) {
    std::string listen_address(default_listen);
    if (!parse_flags(argc, argv, listen_address)) return 2;
    return goro::run([&] { return serve_until_signal(name, listen_address, handle); });
}

}  // namespace example
