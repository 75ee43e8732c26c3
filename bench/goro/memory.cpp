// memory: n fibers each parked on a receive from one shared channel; prints
// the growth of the resident set (VmRSS) per fiber, and on a second line the
// growth of the page tables (VmPTE) per fiber: every fiber stack is its own
// mapping, whose page-table pages RSS does not count. Both are read from
// /proc/self/status: the baseline before spawning, the second reading once
// every fiber has signalled it is about to block, plus a 100 ms settle. Then
// the channel is closed and every fiber is joined.
// Go counterpart: bench/go/memory/main.go.
//
// Usage: bench_memory [n]   (run with n = 100,000 and 1,000,000; default 100,000)
#include <goro/goro.hpp>

#include "../bench_common.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>

using bench::status_bytes;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100'000;
  return goro::run([&] {
    const long long rss_before = status_bytes("VmRSS");
    const long long pte_before = status_bytes("VmPTE");

    struct empty {};  // Go's struct{}
    auto release = goro::make_chan<empty>();
    goro::wait_group ready, finished;
    ready.add(n);
    finished.add(n);
    for (int i = 0; i < n; ++i) {
      goro::go([&] {
        ready.done();
        release.recv();
        finished.done();
      });
    }
    ready.wait();
    goro::sleep_for(std::chrono::milliseconds(100));  // let the last ones park
    const long long rss_after = status_bytes("VmRSS");
    const long long pte_after = status_bytes("VmPTE");

    std::printf("memory %.1f bytes/task\n", double(rss_after - rss_before) / n);
    std::printf("memory_pte %.1f bytes/task\n", double(pte_after - pte_before) / n);

    release.close();
    finished.wait();
  });
}
