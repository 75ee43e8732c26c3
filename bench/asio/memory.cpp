// memory: n coroutines each parked on a receive from one shared unbuffered
// channel; prints the resident-set growth per coroutine and, on a second
// line, the page-table growth, both from /proc/self/status: the baseline
// before spawning, the reading once every coroutine has signalled it is
// about to park, plus a 100 ms settle. Then the channel is closed, which
// fails every receive, and every coroutine joined. What a parked coroutine
// costs is its frame (the lambda's and co_spawn's), its pending receive
// operation and the handler Asio allocates for it.
// Go counterpart: bench/go/memory/main.go; goro's: bench/goro/memory.cpp.
//
// Usage: asio_memory [n]   (default 100,000)
#include "asio_bench.hpp"

using namespace asio_bench;

int main(int argc, char** argv) {
    const long n = arg_n(argc, argv, 100'000);
    return run([n](int&) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        const long long rss_before = status_bytes("VmRSS");
        const long long pte_before = status_bytes("VmPTE");
        channel<int> release(ex, 0);
        wait_group ready(ex), finished(ex);
        ready.add(n);
        finished.add(n);
        for (long i = 0; i < n; ++i) {
            asio::co_spawn(ex, [&]() -> awaitable<void> {
                ready.done();
                co_await release.async_receive(nothrow_awaitable);  // fails when it is closed
                finished.done();
            }, asio::detached);
        }
        co_await ready.wait();
        asio::steady_timer settle(ex, std::chrono::milliseconds(100));  // let the last ones park
        co_await settle.async_wait(nothrow_awaitable);
        const long long rss_after = status_bytes("VmRSS");
        const long long pte_after = status_bytes("VmPTE");
        std::printf("memory %.1f bytes/task\n", double(rss_after - rss_before) / double(n));
        std::printf("memory_pte %.1f bytes/task\n", double(pte_after - pte_before) / double(n));
        release.close();
        co_await finished.wait();
    });
}
