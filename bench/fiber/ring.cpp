// ring: 1000 fibers in a ring of unbuffered channels; a token counting down
// from n is passed n hops. Prints ns per hop.
// Go counterpart: bench/go/ring/main.go.
//
// Usage: fiber_ring [n]   (default 1,000,000)
#include "fiber_bench.hpp"

#include <memory>

int main(int argc, char** argv) {
    constexpr int tasks = 1000;
    const long n = fiber_bench::arg_n(argc, argv, 1'000'000);
    return fiber_bench::run([&] {
        using channel = boost::fibers::unbuffered_channel<long>;
        std::vector<std::unique_ptr<channel>> ring;
        for (int i = 0; i < tasks; ++i) ring.push_back(std::make_unique<channel>());
        channel done;
        fiber_bench::wait_group wg;
        wg.add(tasks);
        for (int i = 0; i < tasks; ++i) {
            fiber_bench::go([&, i] {
                channel& in = *ring[i];
                channel& out = *ring[(i + 1) % tasks];
                for (long t : in) {
                    if (t == 0)
                        done.push(i);
                    else
                        out.push(t - 1);
                }
                if (i + 1 < tasks) out.close();  // the main fiber closes ring[0]
                wg.done();
            });
        }
        const auto start = std::chrono::steady_clock::now();
        ring[0]->push(n);
        const long last = done.value_pop();
        const double ns = fiber_bench::ns_since(start);
        ring[0]->close();
        wg.wait();
        if (last != n % tasks) {
            std::fprintf(stderr, "ring: the token ran out at fiber %ld, want %ld\n", last, n % tasks);
            return 1;
        }
        std::printf("ring %.1f ns/hop\n", ns / double(n));
        return 0;
    });
}
