// buffered: one producer sends 0 .. n-1 on a channel of capacity 1024 and
// closes it; one consumer ranges over it. Verifies the count and the sum;
// prints the wall time per item.
// Go counterpart: bench/go/buffered/main.go.
//
// Usage: bench_buffered [n]   (default n = 10,000,000; GORO_MAXPROCS sets the workers)
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10'000'000;
  return goro::run([&] {
    auto c = goro::make_chan<long long>(1024);
    long long count = 0, sum = 0;
    goro::wait_group wg;
    const auto start = std::chrono::steady_clock::now();
    wg.add(2);
    goro::go([&] {
      for (int i = 0; i < n; ++i) c.send(i);
      c.close();
      wg.done();
    });
    goro::go([&] {
      for (long long v : c) {
        ++count;
        sum += v;
      }
      wg.done();
    });
    wg.wait();
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;

    const long long want = static_cast<long long>(n) * (n - 1) / 2;
    if (count != n || sum != want) {
      std::fprintf(stderr, "buffered: received %lld items summing to %lld, want %d summing to %lld\n",
                   count, sum, n, want);
      return 1;
    }
    std::printf("buffered %.1f ns/item\n", elapsed.count() / n);
    return 0;
  });
}
