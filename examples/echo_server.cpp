// echo_server: a TCP echo server, one fiber per connection — Go's
// `go handle(conn)` on goro's netpoller. Every byte a client sends comes back.
// The goro side of the echo benchmark (bench/go/echo_server).
//
//   echo_server [--listen HOST:PORT]     default 127.0.0.1:7000; port 0 picks a free port
//   nc 127.0.0.1 7000                    type lines; each comes back; ^D ends
//
// The first line of stdout is the bound address. SIGINT or SIGTERM closes the
// listener and every open connection, waits for their fibers, and exits 0.
// That part, shared by the example servers, is in server.hpp; this file is
// what one connection's fiber does.
#include <cstddef>
#include <system_error>

#include <goro/goro.hpp>

#include "server.hpp"  // the listen / accept / shut-down skeleton the example servers share

namespace {

// Serves one client: whatever it reads, it writes back.
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

}  // namespace

int main(int argc, char** argv) {
    return example::server_main("echo_server", "127.0.0.1:7000", argc, argv, echo);
}
