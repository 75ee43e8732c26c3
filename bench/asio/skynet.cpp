// skynet: a 10-ary tree of coroutines down to n leaves; each leaf sends its
// ordinal, each parent sums its 10 children from one unbuffered channel and
// sends the sum up. Prints the wall time; the sum must be n(n-1)/2.
// Go counterpart: bench/go/skynet/main.go.
//
// Usage: asio_skynet [n]   (a power of 10; default 1,000,000)
#include "asio_bench.hpp"

#include <memory>

using namespace asio_bench;

namespace {

constexpr long fanout = 10;

// A parent's channel is shared with its children: a child's send may still
// be inside the channel's implementation when the parent, woken by it, has
// taken its tenth value and returned.
using shared_channel = std::shared_ptr<channel<long long>>;

awaitable<void> skynet(shared_channel parent, long long num, long size) {
    if (size == 1) {
        co_await parent->async_send(asio::error_code{}, num, nothrow_awaitable);
        co_return;
    }
    auto ex = co_await asio::this_coro::executor;
    auto children = std::make_shared<channel<long long>>(ex, 0);
    const long child_size = size / fanout;
    for (long i = 0; i < fanout; ++i)
        asio::co_spawn(ex, skynet(children, num + i * child_size, child_size), asio::detached);
    long long sum = 0;
    for (long i = 0; i < fanout; ++i) {
        auto [ec, v] = co_await children->async_receive(nothrow_awaitable);
        sum += v;
    }
    co_await parent->async_send(asio::error_code{}, sum, nothrow_awaitable);
}

}  // namespace

int main(int argc, char** argv) {
    const long n = arg_n(argc, argv, 1'000'000);
    long leaves = 1;
    while (leaves < n) leaves *= fanout;
    if (n < 1 || leaves != n) {
        std::fprintf(stderr, "skynet: n must be a power of 10, not %ld\n", n);
        return 2;
    }
    return run([n](int& status) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto root = std::make_shared<channel<long long>>(ex, 0);
        const auto start = std::chrono::steady_clock::now();
        asio::co_spawn(ex, skynet(root, 0, n), asio::detached);
        auto [ec, sum] = co_await root->async_receive(nothrow_awaitable);
        const double ns = ns_since(start);
        const long long want = static_cast<long long>(n) * (n - 1) / 2;
        if (ec || sum != want) {
            std::fprintf(stderr, "skynet: sum is %lld, want %lld\n", sum, want);
            status = 1;
            co_return;
        }
        std::printf("skynet %.1f ms\n", ns / 1e6);
    });
}
