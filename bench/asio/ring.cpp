// ring: 1000 coroutines in a ring of unbuffered channels; a token counting
// down from n is passed n hops. Prints ns per hop.
// Go counterpart: bench/go/ring/main.go.
//
// Usage: asio_ring [n]   (default 1,000,000)
#include "asio_bench.hpp"

#include <memory>

using namespace asio_bench;

int main(int argc, char** argv) {
    constexpr int tasks = 1000;
    const long n = arg_n(argc, argv, 1'000'000);
    return run([n](int& status) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        std::vector<std::unique_ptr<channel<long>>> ring;
        for (int i = 0; i < tasks; ++i) ring.push_back(std::make_unique<channel<long>>(ex, 0));
        channel<long> done(ex, 0);
        wait_group wg(ex);
        wg.add(tasks);
        for (int i = 0; i < tasks; ++i) {
            asio::co_spawn(ex, [&, i]() -> awaitable<void> {
                channel<long>& in = *ring[i];
                channel<long>& out = *ring[(i + 1) % tasks];
                for (;;) {
                    auto [ec, t] = co_await in.async_receive(nothrow_awaitable);
                    if (ec) break;  // closed
                    if (t == 0)
                        co_await done.async_send(asio::error_code{}, i, nothrow_awaitable);
                    else
                        co_await out.async_send(asio::error_code{}, t - 1, nothrow_awaitable);
                }
                if (i + 1 < tasks) out.close();  // the main coroutine closes ring[0]
                wg.done();
            }, asio::detached);
        }
        const auto start = std::chrono::steady_clock::now();
        co_await ring[0]->async_send(asio::error_code{}, n, nothrow_awaitable);
        auto [ec, last] = co_await done.async_receive(nothrow_awaitable);
        const double ns = ns_since(start);
        ring[0]->close();
        co_await wg.wait();
        if (ec || last != n % tasks) {
            std::fprintf(stderr, "ring: the token ran out at coroutine %ld, want %ld\n", last, n % tasks);
            status = 1;
            co_return;
        }
        std::printf("ring %.1f ns/hop\n", ns / double(n));
    });
}
