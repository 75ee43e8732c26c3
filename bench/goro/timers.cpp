// timers: n fibers each sleep 1 ms; wait for all; prints the wall time per
// fiber (spawn + timer + wake-up, amortised).
// Go counterpart: bench/go/timers/main.go (time.Sleep(time.Millisecond)).
//
// Usage: bench_timers [n]   (default n = 100,000; GORO_MAXPROCS sets the workers)
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100'000;
  return goro::run([&] {
    goro::wait_group wg;
    const auto start = std::chrono::steady_clock::now();
    wg.add(n);
    for (int i = 0; i < n; ++i) {
      goro::go([&wg] {
        goro::sleep_for(std::chrono::milliseconds(1));
        wg.done();
      });
    }
    wg.wait();
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;

    std::printf("timers %.1f ns/task\n", elapsed.count() / n);
  });
}
