// mpmc: 4 producers send 0 .. n-1 between them (producer p sends its share
// p*n/4 .. (p+1)*n/4 - 1) on one channel of capacity 1024; 4 consumers range
// over it. Once the producers are done the main fiber closes the channel and
// waits for the consumers. Verifies the total count and sum; prints the wall
// time per item.
// Go counterpart: bench/go/mpmc/main.go.
//
// Usage: bench_mpmc [n]   (default n = 10,000,000; GORO_MAXPROCS sets the workers)
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

constexpr int producers = 4, consumers = 4;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10'000'000;
  return goro::run([&] {
    auto c = goro::make_chan<long long>(1024);
    struct tally {
      long long count = 0, sum = 0;
    };
    tally tallies[consumers];
    goro::wait_group produced, consumed;
    const auto start = std::chrono::steady_clock::now();
    produced.add(producers);
    consumed.add(consumers);
    for (int p = 0; p < producers; ++p) {
      goro::go([&, p] {
        const long long lo = static_cast<long long>(n) * p / producers;
        const long long hi = static_cast<long long>(n) * (p + 1) / producers;
        for (long long i = lo; i < hi; ++i) c.send(i);
        produced.done();
      });
    }
    for (int k = 0; k < consumers; ++k) {
      goro::go([&, k] {
        long long count = 0, sum = 0;
        for (long long v : c) {
          ++count;
          sum += v;
        }
        tallies[k] = {count, sum};
        consumed.done();
      });
    }
    produced.wait();
    c.close();
    consumed.wait();
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;

    long long count = 0, sum = 0;
    for (const tally& t : tallies) {
      count += t.count;
      sum += t.sum;
    }
    const long long want = static_cast<long long>(n) * (n - 1) / 2;
    if (count != n || sum != want) {
      std::fprintf(stderr, "mpmc: received %lld items summing to %lld, want %d summing to %lld\n",
                   count, sum, n, want);
      return 1;
    }
    std::printf("mpmc %.1f ns/item\n", elapsed.count() / n);
    return 0;
  });
}
