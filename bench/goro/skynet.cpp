// skynet: a 10-ary tree of fibers down to n leaves. Each leaf sends its
// ordinal to its parent's unbuffered channel; each parent receives its 10
// children's values from that one channel and sends their sum up. Verifies
// the root's sum is n(n-1)/2 (499,999,500,000 for n = 1,000,000) and prints
// the wall time of the whole tree (spawns included).
// Go counterpart: bench/go/skynet/main.go.
//
// Usage: bench_skynet [n]   (n a power of 10, default n = 1,000,000; GORO_MAXPROCS sets the workers)
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

constexpr long long fanout = 10;

// Sends the sum of the leaf ordinals num .. num + size - 1 on `parent`.
static void skynet(goro::chan<long long> parent, long long num, long long size) {
  if (size == 1) {
    parent.send(num);
    return;
  }
  auto children = goro::make_chan<long long>();
  const long long child_size = size / fanout;
  for (long long i = 0; i < fanout; ++i) goro::go(skynet, children, num + i * child_size, child_size);
  long long sum = 0;
  for (long long i = 0; i < fanout; ++i) sum += *children.recv();
  parent.send(sum);
}

int main(int argc, char** argv) {
  const long long n = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  long long leaves = 1;
  while (leaves < n) leaves *= fanout;
  if (n < 1 || leaves != n) {
    std::fprintf(stderr, "skynet: n must be a power of 10, not %lld\n", n);
    return 2;
  }
  return goro::run([&] {
    auto root = goro::make_chan<long long>();
    const auto start = std::chrono::steady_clock::now();
    goro::go(skynet, root, 0LL, n);
    const long long sum = *root.recv();
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - start;

    if (sum != n * (n - 1) / 2) {
      std::fprintf(stderr, "skynet: sum is %lld, want %lld\n", sum, n * (n - 1) / 2);
      return 1;
    }
    std::printf("skynet %.1f ms\n", elapsed.count());
    return 0;
  });
}
