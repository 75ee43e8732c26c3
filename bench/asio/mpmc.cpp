// mpmc: 4 producers and 4 consumers on one channel of capacity 1024. Prints
// ns per item. Go counterpart: bench/go/mpmc/main.go.
//
// Go closes the channel once the producers are done and the consumers drain
// it. Asio's close() drops buffered values (see buffered.cpp), so the main
// coroutine sends one end-of-stream value (-1) per consumer instead.
//
// Usage: asio_mpmc [n]   (default 10,000,000)
#include "asio_bench.hpp"

using namespace asio_bench;

int main(int argc, char** argv) {
    constexpr int producers = 4, consumers = 4;
    const long n = arg_n(argc, argv, 10'000'000);
    return run([n](int& status) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        channel<long> c(ex, 1024);
        struct tally {
            long count = 0;
            long long sum = 0;
        };
        tally tallies[consumers];
        wait_group produced(ex), consumed(ex);
        const auto start = std::chrono::steady_clock::now();
        produced.add(producers);
        consumed.add(consumers);
        for (int p = 0; p < producers; ++p) {
            asio::co_spawn(ex, [&, p]() -> awaitable<void> {
                const long lo = n * p / producers, hi = n * (p + 1) / producers;
                for (long i = lo; i < hi; ++i) co_await c.async_send(asio::error_code{}, i, nothrow_awaitable);
                produced.done();
            }, asio::detached);
        }
        for (int k = 0; k < consumers; ++k) {
            asio::co_spawn(ex, [&, k]() -> awaitable<void> {
                tally t;
                for (;;) {
                    auto [ec, v] = co_await c.async_receive(nothrow_awaitable);
                    if (ec || v < 0) break;  // the end
                    ++t.count;
                    t.sum += v;
                }
                tallies[k] = t;
                consumed.done();
            }, asio::detached);
        }
        co_await produced.wait();
        for (int k = 0; k < consumers; ++k) co_await c.async_send(asio::error_code{}, -1, nothrow_awaitable);
        co_await consumed.wait();
        const double ns = ns_since(start);
        long count = 0;
        long long sum = 0;
        for (const tally& t : tallies) {
            count += t.count;
            sum += t.sum;
        }
        const long long want = static_cast<long long>(n) * (n - 1) / 2;
        if (count != n || sum != want) {
            std::fprintf(stderr, "mpmc: received %ld items summing to %lld, want %ld summing to %lld\n", count, sum,
                         n, want);
            status = 1;
            co_return;
        }
        std::printf("mpmc %.1f ns/item\n", ns / double(n));
    });
}
