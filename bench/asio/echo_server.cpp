// echo_server: a TCP echo server, a coroutine per connection with a plain
// read/write loop, as bench/go/echo_server does (Go counterpart; goro's is
// examples/echo_server). Loaded by bench/net.sh.
//
// Usage: asio_echo_server [--listen HOST:PORT]   (default 127.0.0.1:0)
//
// Prints the bound address as the first line of stdout; exits 0 on SIGTERM
// or SIGINT. BENCH_WORKERS sets the threads running the io_context.
#include "server.hpp"

using namespace asio_bench;

namespace {

awaitable<void> echo(asio::ip::tcp::socket c) {
    char buf[4096];
    for (;;) {
        auto [ec, n] = co_await c.async_read_some(asio::buffer(buf), nothrow_awaitable);
        if (ec) co_return;  // EOF or reset: the client is gone
        auto [wec, written] = co_await asio::async_write(c, asio::buffer(buf, n), nothrow_awaitable);
        if (wec) co_return;
    }
}

}  // namespace

int main(int argc, char** argv) { return serve_until_signal("asio_echo_server", argc, argv, echo); }
