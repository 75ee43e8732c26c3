// spawn: start n fibers that return at once (each only calls wg.done()) and
// wait for all of them; prints the wall time per fiber.
// Go counterpart: bench/go/spawn/main.go (go func(){ wg.Done() }()).
//
// Usage: bench_spawn [n]   (default n = 1,000,000; GORO_MAXPROCS sets the workers)
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  return goro::run([&] {
    goro::wait_group wg;
    const auto start = std::chrono::steady_clock::now();
    wg.add(n);
    for (int i = 0; i < n; ++i) goro::go([&wg] { wg.done(); });
    wg.wait();
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;

    std::printf("spawn %.1f ns/task\n", elapsed.count() / n);
  });
}
