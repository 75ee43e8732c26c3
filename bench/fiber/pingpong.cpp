// pingpong: two fibers, two unbuffered channels, n round trips. Prints ns
// per round trip. Go counterpart: bench/go/pingpong/main.go.
//
// Usage: fiber_pingpong [n]   (default 1,000,000)
#include "fiber_bench.hpp"

int main(int argc, char** argv) {
    const long n = fiber_bench::arg_n(argc, argv, 1'000'000);
    return fiber_bench::run([&] {
        boost::fibers::unbuffered_channel<long> ping, pong;
        long wrong = 0;
        fiber_bench::wait_group wg;
        const auto start = std::chrono::steady_clock::now();
        wg.add(2);
        fiber_bench::go([&] {
            for (long i = 0; i < n; ++i) {
                ping.push(i);
                if (pong.value_pop() != i) ++wrong;
            }
            wg.done();
        });
        fiber_bench::go([&] {
            for (long i = 0; i < n; ++i) pong.push(ping.value_pop());
            wg.done();
        });
        wg.wait();
        const double ns = fiber_bench::ns_since(start);
        if (wrong != 0) {
            std::fprintf(stderr, "pingpong: %ld of %ld values came back wrong\n", wrong, n);
            return 1;
        }
        std::printf("pingpong %.1f ns/roundtrip\n", ns / double(n));
        return 0;
    });
}
