// buffered: one producer, one consumer, a channel of capacity 1024. Prints
// ns per item. Go counterpart: bench/go/buffered/main.go.
//
// Boost.Fiber's buffered_channel takes a power-of-two capacity and keeps one
// slot empty: buffered_channel(1024) holds 1023 items, the nearest it comes
// to Go's make(chan int, 1024).
//
// Usage: fiber_buffered [n]   (default 10,000,000)
#include "fiber_bench.hpp"

int main(int argc, char** argv) {
    const long n = fiber_bench::arg_n(argc, argv, 10'000'000);
    return fiber_bench::run([&] {
        boost::fibers::buffered_channel<long> c(1024);
        long count = 0;
        long long sum = 0;
        fiber_bench::wait_group wg;
        const auto start = std::chrono::steady_clock::now();
        wg.add(2);
        fiber_bench::go([&] {
            for (long i = 0; i < n; ++i) c.push(i);
            c.close();
            wg.done();
        });
        fiber_bench::go([&] {
            for (long v : c) {
                ++count;
                sum += v;
            }
            wg.done();
        });
        wg.wait();
        const double ns = fiber_bench::ns_since(start);
        const long long want = static_cast<long long>(n) * (n - 1) / 2;
        if (count != n || sum != want) {
            std::fprintf(stderr, "buffered: received %ld items summing to %lld, want %ld summing to %lld\n", count,
                         sum, n, want);
            return 1;
        }
        std::printf("buffered %.1f ns/item\n", ns / double(n));
        return 0;
    });
}
