// yield: two fibers each call goro::yield() n times; prints the wall time per
// switch, total / 2n.
// Go counterpart: bench/go/yield/main.go (runtime.Gosched()).
//
// Usage: bench_yield [n]   (default n = 1,000,000; GORO_MAXPROCS sets the workers)
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  return goro::run([&] {
    goro::wait_group wg;
    const auto start = std::chrono::steady_clock::now();
    wg.add(2);
    for (int t = 0; t < 2; ++t) {
      goro::go([&] {
        for (int i = 0; i < n; ++i) goro::yield();
        wg.done();
      });
    }
    wg.wait();
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;

    std::printf("yield %.1f ns/switch\n", elapsed.count() / (2.0 * n));
  });
}
