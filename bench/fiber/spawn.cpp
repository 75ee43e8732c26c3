// spawn: n fibers that return at once; wait for all. Prints ns per fiber.
// Go counterpart: bench/go/spawn/main.go.
//
// Usage: fiber_spawn [n]   (default 1,000,000; BENCH_WORKERS sets the threads)
#include "fiber_bench.hpp"

int main(int argc, char** argv) {
    const long n = fiber_bench::arg_n(argc, argv, 1'000'000);
    return fiber_bench::run([&] {
        fiber_bench::wait_group wg;
        const auto start = std::chrono::steady_clock::now();
        wg.add(n);
        for (long i = 0; i < n; ++i) fiber_bench::go([&] { wg.done(); });
        wg.wait();
        std::printf("spawn %.1f ns/task\n", fiber_bench::ns_since(start) / double(n));
        return 0;
    });
}
