// handoff: how long the fibers queued behind one that blocks its thread wait.
// At one P, a fiber takes a timestamp and blocks in a raw read(2) on a pipe;
// the fiber queued behind it, once sysmon has handed the P to another thread,
// takes a second timestamp and writes the byte that releases the reader.
// Prints the median of n such hand-offs (and, with `scope`, the same with the
// read inside a goro::blocking_scope, which releases the P at once).
// Go counterpart: bench/go/handoff/main.go (syscall.Read, which sysmon
// retakes the same way).
//
// Usage: bench_handoff [n] [scope]   (default n = 200)
#include <goro/goro.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 200;
  const bool scope = argc > 2 && std::strcmp(argv[2], "scope") == 0;
  std::vector<double> waits;
  const int rc = goro::run(goro::config{.procs = 1}, [&] {
    int fds[2];
    if (::pipe(fds) != 0) std::abort();
    for (int i = 0; i < n; ++i) {
      std::atomic<std::int64_t> blocked_at{0};
      goro::wait_group wg;
      wg.add(2);
      goro::go([&] {
        char c;
        blocked_at = std::chrono::steady_clock::now().time_since_epoch().count();
        if (scope) {
          goro::blocking_scope guard;
          if (::read(fds[0], &c, 1) != 1) std::abort();
        } else {
          if (::read(fds[0], &c, 1) != 1) std::abort();
        }
        wg.done();
      });
      goro::go([&] {
        while (blocked_at.load() == 0) goro::yield();  // let the reader block first
        const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
        waits.push_back(static_cast<double>(now - blocked_at.load()) / 1e3);
        if (::write(fds[1], "x", 1) != 1) std::abort();
        wg.done();
      });
      wg.wait();
    }
    ::close(fds[0]);
    ::close(fds[1]);
  });
  std::sort(waits.begin(), waits.end());
  std::printf("handoff%s %.1f us\n", scope ? "_scope" : "", waits[waits.size() / 2]);
  return rc;
}
