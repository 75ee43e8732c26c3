// yield: two fibers each yield n times. Prints ns per switch (total / 2n).
// Go counterpart: bench/go/yield/main.go.
//
// Usage: fiber_yield [n]   (default 1,000,000)
#include "fiber_bench.hpp"

int main(int argc, char** argv) {
    const long n = fiber_bench::arg_n(argc, argv, 1'000'000);
    return fiber_bench::run([&] {
        fiber_bench::wait_group wg;
        const auto start = std::chrono::steady_clock::now();
        wg.add(2);
        for (int t = 0; t < 2; ++t) {
            fiber_bench::go([&] {
                for (long i = 0; i < n; ++i) boost::this_fiber::yield();
                wg.done();
            });
        }
        wg.wait();
        std::printf("yield %.1f ns/switch\n", fiber_bench::ns_since(start) / double(2 * n));
        return 0;
    });
}
