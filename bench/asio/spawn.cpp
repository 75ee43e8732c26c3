// spawn: n coroutines that return at once; wait for all. Prints ns per task.
// Go counterpart: bench/go/spawn/main.go.
//
// Usage: asio_spawn [n]   (default 1,000,000; BENCH_WORKERS sets the threads)
#include "asio_bench.hpp"

using namespace asio_bench;

int main(int argc, char** argv) {
    const long n = arg_n(argc, argv, 1'000'000);
    return run([n](int&) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        wait_group wg(ex);
        const auto start = std::chrono::steady_clock::now();
        wg.add(n);
        for (long i = 0; i < n; ++i) {
            asio::co_spawn(ex, [&wg]() -> awaitable<void> {
                wg.done();
                co_return;
            }, asio::detached);
        }
        co_await wg.wait();
        std::printf("spawn %.1f ns/task\n", ns_since(start) / double(n));
    });
}
