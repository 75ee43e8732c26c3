// mpmc: 4 producers and 4 consumers on one channel of capacity 1024 (1023
// items: see buffered.cpp). Prints ns per item.
// Go counterpart: bench/go/mpmc/main.go.
//
// Usage: fiber_mpmc [n]   (default 10,000,000)
#include "fiber_bench.hpp"

int main(int argc, char** argv) {
    constexpr int producers = 4, consumers = 4;
    const long n = fiber_bench::arg_n(argc, argv, 10'000'000);
    return fiber_bench::run([&] {
        boost::fibers::buffered_channel<long> c(1024);
        struct tally {
            long count = 0;
            long long sum = 0;
        };
        tally tallies[consumers];
        fiber_bench::wait_group produced, consumed;
        const auto start = std::chrono::steady_clock::now();
        produced.add(producers);
        consumed.add(consumers);
        for (int p = 0; p < producers; ++p) {
            fiber_bench::go([&, p] {
                const long lo = n * p / producers, hi = n * (p + 1) / producers;
                for (long i = lo; i < hi; ++i) c.push(i);
                produced.done();
            });
        }
        for (int k = 0; k < consumers; ++k) {
            fiber_bench::go([&, k] {
                tally t;
                for (long v : c) {
                    ++t.count;
                    t.sum += v;
                }
                tallies[k] = t;
                consumed.done();
            });
        }
        produced.wait();
        c.close();
        consumed.wait();
        const double ns = fiber_bench::ns_since(start);
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
            return 1;
        }
        std::printf("mpmc %.1f ns/item\n", ns / double(n));
        return 0;
    });
}
