// buffered: one producer, one consumer, a channel of capacity 1024. Prints
// ns per item. Go counterpart: bench/go/buffered/main.go.
//
// Go's producer closes the channel and the consumer drains it. Asio's
// close() drops the values still buffered (the consumer's receives fail at
// once), so the end of the stream is a value instead: -1.
//
// Usage: asio_buffered [n]   (default 10,000,000)
#include "asio_bench.hpp"

using namespace asio_bench;

int main(int argc, char** argv) {
    const long n = arg_n(argc, argv, 10'000'000);
    return run([n](int& status) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        channel<long> c(ex, 1024);
        long count = 0;
        long long sum = 0;
        wait_group wg(ex);
        const auto start = std::chrono::steady_clock::now();
        wg.add(2);
        asio::co_spawn(ex, [&]() -> awaitable<void> {
            for (long i = 0; i < n; ++i) co_await c.async_send(asio::error_code{}, i, nothrow_awaitable);
            co_await c.async_send(asio::error_code{}, -1, nothrow_awaitable);
            wg.done();
        }, asio::detached);
        asio::co_spawn(ex, [&]() -> awaitable<void> {
            for (;;) {
                auto [ec, v] = co_await c.async_receive(nothrow_awaitable);
                if (ec || v < 0) break;  // the end
                ++count;
                sum += v;
            }
            wg.done();
        }, asio::detached);
        co_await wg.wait();
        const double ns = ns_since(start);
        const long long want = static_cast<long long>(n) * (n - 1) / 2;
        if (count != n || sum != want) {
            std::fprintf(stderr, "buffered: received %ld items summing to %lld, want %ld summing to %lld\n", count,
                         sum, n, want);
            status = 1;
            co_return;
        }
        std::printf("buffered %.1f ns/item\n", ns / double(n));
    });
}
