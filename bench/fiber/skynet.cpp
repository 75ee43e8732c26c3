// skynet: a 10-ary tree of fibers down to n leaves; each leaf sends its
// ordinal, each parent sums its 10 children from one unbuffered channel and
// sends the sum up. Prints the wall time; the sum must be n(n-1)/2.
// Go counterpart: bench/go/skynet/main.go.
//
// Usage: fiber_skynet [n]   (a power of 10; default 1,000,000)
#include "fiber_bench.hpp"

namespace {

constexpr long fanout = 10;
using channel = boost::fibers::unbuffered_channel<long long>;

void skynet(channel& parent, long long num, long size) {
    if (size == 1) {
        parent.push(num);
        return;
    }
    channel children;
    const long child_size = size / fanout;
    for (long i = 0; i < fanout; ++i)
        fiber_bench::go([&children, num, i, child_size] { skynet(children, num + i * child_size, child_size); });
    long long sum = 0;
    for (long i = 0; i < fanout; ++i) sum += children.value_pop();
    parent.push(sum);
}

}  // namespace

int main(int argc, char** argv) {
    const long n = fiber_bench::arg_n(argc, argv, 1'000'000);
    long leaves = 1;
    while (leaves < n) leaves *= fanout;
    if (n < 1 || leaves != n) {
        std::fprintf(stderr, "skynet: n must be a power of 10, not %ld\n", n);
        return 2;
    }
    return fiber_bench::run([&] {
        channel root;
        const auto start = std::chrono::steady_clock::now();
        fiber_bench::go([&] { skynet(root, 0, n); });
        const long long sum = root.value_pop();
        const double ns = fiber_bench::ns_since(start);
        const long long want = static_cast<long long>(n) * (n - 1) / 2;
        if (sum != want) {
            std::fprintf(stderr, "skynet: sum is %lld, want %lld\n", sum, want);
            return 1;
        }
        std::printf("skynet %.1f ms\n", ns / 1e6);
        return 0;
    });
}
