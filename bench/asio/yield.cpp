// yield: two coroutines each yield n times. Prints ns per switch (total /
// 2n). Go counterpart: bench/go/yield/main.go.
//
// A yield is co_await asio::post(executor, use_awaitable): the coroutine's
// continuation goes to the back of the context's queue, behind whatever is
// runnable, which is what Gosched does. (asio::defer would be the same
// here: the caller is already on a context thread.)
//
// Usage: asio_yield [n]   (default 1,000,000)
#include "asio_bench.hpp"

using namespace asio_bench;

int main(int argc, char** argv) {
    const long n = arg_n(argc, argv, 1'000'000);
    return run([n](int&) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        wait_group wg(ex);
        const auto start = std::chrono::steady_clock::now();
        wg.add(2);
        for (int t = 0; t < 2; ++t) {
            asio::co_spawn(ex, [&, ex]() -> awaitable<void> {
                for (long i = 0; i < n; ++i) co_await asio::post(ex, use_awaitable);
                wg.done();
            }, asio::detached);
        }
        co_await wg.wait();
        std::printf("yield %.1f ns/switch\n", ns_since(start) / double(2 * n));
    });
}
