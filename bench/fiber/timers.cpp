// timers: n fibers each sleep 1 ms; wait for all. Prints ns per fiber.
// Go counterpart: bench/go/timers/main.go.
//
// Usage: fiber_timers [n]   (default 100,000)
#include "fiber_bench.hpp"

int main(int argc, char** argv) {
    const long n = fiber_bench::arg_n(argc, argv, 100'000);
    return fiber_bench::run([&] {
        fiber_bench::wait_group wg;
        const auto start = std::chrono::steady_clock::now();
        wg.add(n);
        for (long i = 0; i < n; ++i) {
            fiber_bench::go([&] {
                boost::this_fiber::sleep_for(std::chrono::milliseconds(1));
                wg.done();
            });
        }
        wg.wait();
        std::printf("timers %.1f ns/task\n", fiber_bench::ns_since(start) / double(n));
        return 0;
    });
}
