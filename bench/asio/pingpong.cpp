// pingpong: two coroutines, two unbuffered channels, n round trips. Prints
// ns per round trip. Go counterpart: bench/go/pingpong/main.go.
//
// Usage: asio_pingpong [n]   (default 1,000,000)
#include "asio_bench.hpp"

using namespace asio_bench;

int main(int argc, char** argv) {
    const long n = arg_n(argc, argv, 1'000'000);
    return run([n](int& status) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        channel<long> ping(ex, 0), pong(ex, 0);
        long wrong = 0;
        wait_group wg(ex);
        const auto start = std::chrono::steady_clock::now();
        wg.add(2);
        asio::co_spawn(ex, [&]() -> awaitable<void> {
            for (long i = 0; i < n; ++i) {
                co_await ping.async_send(asio::error_code{}, i, nothrow_awaitable);
                auto [ec, v] = co_await pong.async_receive(nothrow_awaitable);
                if (ec || v != i) ++wrong;
            }
            wg.done();
        }, asio::detached);
        asio::co_spawn(ex, [&]() -> awaitable<void> {
            for (long i = 0; i < n; ++i) {
                auto [ec, v] = co_await ping.async_receive(nothrow_awaitable);
                co_await pong.async_send(asio::error_code{}, v, nothrow_awaitable);
            }
            wg.done();
        }, asio::detached);
        co_await wg.wait();
        const double ns = ns_since(start);
        if (wrong != 0) {
            std::fprintf(stderr, "pingpong: %ld of %ld values came back wrong\n", wrong, n);
            status = 1;
            co_return;
        }
        std::printf("pingpong %.1f ns/roundtrip\n", ns / double(n));
    });
}
