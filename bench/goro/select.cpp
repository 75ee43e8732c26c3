// select: 4 producers each send their share of 0 .. n-1 (producer p sends
// p*n/4 .. (p+1)*n/4 - 1) on their own unbuffered channel; one consumer
// receives all n values with a 4-case goro::select. Verifies the sum and how
// many values came through each case; prints the wall time per select.
// Go counterpart: bench/go/select/main.go.
//
// Usage: bench_select [n]   (default n = 4,000,000; GORO_MAXPROCS sets the workers)
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

constexpr int producers = 4;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 4'000'000;
  return goro::run([&] {
    goro::chan<long long> cs[producers];
    for (auto& c : cs) c = goro::make_chan<long long>();
    long long sum = 0, counts[producers] = {};
    goro::wait_group wg;
    const auto start = std::chrono::steady_clock::now();
    wg.add(producers + 1);
    for (int p = 0; p < producers; ++p) {
      goro::go([&, p] {
        const long long lo = static_cast<long long>(n) * p / producers;
        const long long hi = static_cast<long long>(n) * (p + 1) / producers;
        for (long long i = lo; i < hi; ++i) cs[p].send(i);
        wg.done();
      });
    }
    goro::go([&] {
      long long v = 0;
      for (int i = 0; i < n; ++i) {
        const int k = goro::select(goro::recv(cs[0], v), goro::recv(cs[1], v),
                                   goro::recv(cs[2], v), goro::recv(cs[3], v));
        sum += v;
        ++counts[k];
      }
      wg.done();
    });
    wg.wait();
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;

    const long long want = static_cast<long long>(n) * (n - 1) / 2;
    bool ok = sum == want;
    for (int p = 0; p < producers; ++p) {
      const long long share = static_cast<long long>(n) * (p + 1) / producers -
                              static_cast<long long>(n) * p / producers;
      ok = ok && counts[p] == share;
    }
    if (!ok) {
      std::fprintf(stderr, "select: received %lld+%lld+%lld+%lld values summing to %lld, want %d summing to %lld\n",
                   counts[0], counts[1], counts[2], counts[3], sum, n, want);
      return 1;
    }
    std::printf("select %.1f ns/op\n", elapsed.count() / n);
    return 0;
  });
}
