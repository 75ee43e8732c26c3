// timers: n coroutines each wait 1 ms on an asio::steady_timer; wait for
// all. Prints ns per task. Go counterpart: bench/go/timers/main.go.
//
// Usage: asio_timers [n]   (default 100,000)
#include "asio_bench.hpp"

using namespace asio_bench;

int main(int argc, char** argv) {
    const long n = arg_n(argc, argv, 100'000);
    return run([n](int&) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        wait_group wg(ex);
        const auto start = std::chrono::steady_clock::now();
        wg.add(n);
        for (long i = 0; i < n; ++i) {
            asio::co_spawn(ex, [&wg, ex]() -> awaitable<void> {
                asio::steady_timer t(ex, std::chrono::milliseconds(1));
                co_await t.async_wait(nothrow_awaitable);
                wg.done();
            }, asio::detached);
        }
        co_await wg.wait();
        std::printf("timers %.1f ns/task\n", ns_since(start) / double(n));
    });
}
