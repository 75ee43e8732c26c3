// echo_server: a TCP echo server, one fiber per connection — Go's
// `go handle(conn)` on goro's netpoller. Every byte a client sends comes back.
// The goro side of the echo benchmark (bench/go/echo_server).
//
//   echo_server [--listen HOST:PORT]     default 127.0.0.1:7000; port 0 picks a free port
//   nc 127.0.0.1 7000                    type lines; each comes back; ^D ends
//
// The first line of stdout is the bound address. SIGINT or SIGTERM closes the
// listener and every open connection, waits for their fibers, and exits 0.
#include <csignal>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

namespace {

// The open client connections, so that shutdown can close them: closing a
// conn wakes the fiber blocked reading it. A handler adds its conn when it
// starts and removes it before destroying it, both under the lock, so
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

void echo(goro::net::conn& c) {
    char buffer[16 * 1024];
    for (;;) {
        std::error_code ec;
        const std::size_t n = c.read(buffer, sizeof buffer, ec);
        if (ec || n == 0) return;  // EOF, reset, or closed by shutdown
        c.write(buffer, n, ec);
        if (ec) return;
    }
}

bool parse_flags(int argc, char** argv, std::string& listen_address) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--listen" && i + 1 < argc) {
            listen_address = argv[++i];
        } else if (arg.starts_with("--listen=")) {
            listen_address = arg.substr(9);
        } else {
            std::fprintf(stderr, "usage: %s [--listen HOST:PORT]\n", argv[0]);
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen_address = "127.0.0.1:7000";
    if (!parse_flags(argc, argv, listen_address)) return 2;

    return goro::run([&]() -> int {
        std::error_code ec;
        goro::net::listener listener = goro::net::listen("tcp", listen_address, ec);
        if (ec) {
            std::fprintf(stderr, "echo_server: listen %s: %s\n", listen_address.c_str(), ec.message().c_str());
            return 1;
        }
        std::printf("%s\n", listener.local_address().to_string().c_str());
        std::fflush(stdout);  // whoever started us is waiting for this line

        // A signal closes the listener, which ends the accept loop below.
        auto signals = goro::make_chan<int>(1);
        goro::signal_notify(signals, {SIGINT, SIGTERM});
        goro::go([&] {
            signals.recv();
            std::error_code ignored;
            listener.close(ignored);
        });

        conn_registry live;
        goro::wait_group handlers;
        for (;;) {
            goro::net::conn c = listener.accept(ec);
            if (ec == goro::net::errc::closed) break;
            if (ec) {  // rare: accept already retries aborted connections and backs off on EMFILE
                std::fprintf(stderr, "echo_server: accept: %s\n", ec.message().c_str());
                goro::sleep_for(5ms);
                continue;
            }
            handlers.add(1);
            goro::go([&live, &handlers, c = std::move(c)]() mutable {
                if (live.add(&c)) {
                    echo(c);
                    live.remove(&c);
                }
                c = goro::net::conn();  // close the socket now: nothing may outlive handlers.wait()
                handlers.done();
            });
        }
        live.close_all();
        handlers.wait();
        return 0;
    });
}
