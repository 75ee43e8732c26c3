// memory: n fibers each parked on a receive from one shared unbuffered
// channel; prints the resident-set growth per fiber and, on a second line,
// the page-table growth per fiber, both from /proc/self/status: the baseline
// before spawning, the reading once every fiber has signalled it is about to
// block, plus a 100 ms settle. Then the channel is closed and every fiber
// joined. Each fiber has a 16 KiB stack (fiber_bench.hpp).
// Go counterpart: bench/go/memory/main.go; goro's: bench/goro/memory.cpp.
//
// Usage: fiber_memory [n]   (default 100,000)
#include "fiber_bench.hpp"

int main(int argc, char** argv) {
    const long n = fiber_bench::arg_n(argc, argv, 100'000);
    return fiber_bench::run([&] {
        const long long rss_before = fiber_bench::status_bytes("VmRSS");
        const long long pte_before = fiber_bench::status_bytes("VmPTE");
        boost::fibers::unbuffered_channel<int> release;
        fiber_bench::wait_group ready, finished;
        ready.add(n);
        finished.add(n);
        for (long i = 0; i < n; ++i) {
            fiber_bench::go([&] {
                ready.done();
                int ignored;
                release.pop(ignored);  // returns channel_op_status::closed at the end
                finished.done();
            });
        }
        ready.wait();
        boost::this_fiber::sleep_for(std::chrono::milliseconds(100));  // let the last ones park
        const long long rss_after = fiber_bench::status_bytes("VmRSS");
        const long long pte_after = fiber_bench::status_bytes("VmPTE");
        std::printf("memory %.1f bytes/task\n", double(rss_after - rss_before) / double(n));
        std::printf("memory_pte %.1f bytes/task\n", double(pte_after - pte_before) / double(n));
        release.close();
        finished.wait();
        return 0;
    });
}
