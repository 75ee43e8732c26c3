// select: 4 producers each send their share of 0 .. n-1 on their own
// unbuffered channel; one consumer receives n values with a 4-way select
// written with Asio's awaitable operators: r0 || r1 || r2 || r3 over the four
// async_receive operations. Verifies the sum and the count per channel.
// Go counterpart: bench/go/select/main.go.
//
// This program shows why the comparison lists select as n/a for Asio
// rather than timing it. `a || b` runs both operations as a parallel group,
// takes the first to finish and cancels the others, but an operation that
// had already completed by then keeps its result, which `||` discards: the
// value a losing receive took is lost. Go's select commits exactly one
// case. The verification below catches the lost values; the consumer stops
// when the producers have finished. bench/compare.py does not run it.
//
// Usage: asio_select [n]   (default 4,000,000)
#include "asio_bench.hpp"

#include <asio/experimental/awaitable_operators.hpp>

#include <variant>

using namespace asio_bench;
using namespace asio::experimental::awaitable_operators;

int main(int argc, char** argv) {
    constexpr int producers = 4;
    const long n = arg_n(argc, argv, 4'000'000);
    return run([n](int& status) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        channel<long> c0(ex, 0), c1(ex, 0), c2(ex, 0), c3(ex, 0);
        channel<long>* cs[producers] = {&c0, &c1, &c2, &c3};
        wait_group produced(ex);
        produced.add(producers);
        const auto start = std::chrono::steady_clock::now();
        for (int p = 0; p < producers; ++p) {
            asio::co_spawn(ex, [&, p]() -> awaitable<void> {
                const long lo = n * p / producers, hi = n * (p + 1) / producers;
                for (long i = lo; i < hi; ++i) co_await cs[p]->async_send(asio::error_code{}, i, nothrow_awaitable);
                produced.done();
            }, asio::detached);
        }
        // The consumer stops when it has n values or when every producer is
        // done and nothing more can come. That news can be lost in a select
        // too, so it is repeated every millisecond until the consumer ends.
        channel<int> producers_done(ex, 1);
        std::atomic<bool> consumer_ended{false};
        wait_group ticker_ended(ex);
        ticker_ended.add(1);
        asio::co_spawn(ex, [&, ex]() -> awaitable<void> {
            co_await produced.wait();
            asio::steady_timer tick(ex);
            while (!consumer_ended.load()) {
                producers_done.try_send(asio::error_code{}, 0);
                tick.expires_after(std::chrono::milliseconds(1));
                co_await tick.async_wait(nothrow_awaitable);
            }
            ticker_ended.done();
        }, asio::detached);
        // The consumer runs on a strand: a parallel group's cancellation
        // state is not safe to touch from two threads at once.
        long long sum = 0;
        long counts[producers] = {};
        wait_group consumed(ex);
        consumed.add(1);
        asio::co_spawn(asio::make_strand(ex), [&]() -> awaitable<void> {
            long received = 0;
            while (received < n) {
                auto got = co_await (c0.async_receive(use_awaitable) || c1.async_receive(use_awaitable) ||
                                     c2.async_receive(use_awaitable) || c3.async_receive(use_awaitable) ||
                                     producers_done.async_receive(use_awaitable));
                if (got.index() == 4) break;  // every producer has finished: the rest was lost
                std::visit([&](auto v) { sum += v; }, got);
                ++counts[got.index()];
                ++received;
            }
            consumer_ended.store(true);
            consumed.done();
        }, asio::detached);
        co_await consumed.wait();
        co_await ticker_ended.wait();
        const double ns = ns_since(start);
        const long long want = static_cast<long long>(n) * (n - 1) / 2;
        bool ok = sum == want;
        for (int p = 0; p < producers; ++p) ok = ok && counts[p] == n * (p + 1) / producers - n * p / producers;
        if (!ok) {
            std::fprintf(stderr, "select: received %ld+%ld+%ld+%ld values summing to %lld, want %ld summing to %lld\n",
                         counts[0], counts[1], counts[2], counts[3], sum, n, want);
            status = 1;
            co_return;
        }
        std::printf("select %.1f ns/op\n", ns / double(n));
    });
}
