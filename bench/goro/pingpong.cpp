// pingpong: two fibers and two unbuffered channels; the pinger sends i on
// `ping`, the ponger receives it and sends it back on `pong`, n round trips.
// Verifies every value comes back; prints the wall time per round trip.
// Go counterpart: bench/go/pingpong/main.go.
//
// Usage: bench_pingpong [n]   (default n = 1,000,000; GORO_MAXPROCS sets the workers)
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  return goro::run([&] {
    auto ping = goro::make_chan<int>();
    auto pong = goro::make_chan<int>();
    int wrong = 0;
    goro::wait_group wg;
    const auto start = std::chrono::steady_clock::now();
    wg.add(2);
    goro::go([&] {
      for (int i = 0; i < n; ++i) {
        ping.send(i);
        if (*pong.recv() != i) ++wrong;
      }
      wg.done();
    });
    goro::go([&] {
      for (int i = 0; i < n; ++i) pong.send(*ping.recv());
      wg.done();
    });
    wg.wait();
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;

    if (wrong != 0) {
      std::fprintf(stderr, "pingpong: %d of %d values came back wrong\n", wrong, n);
      return 1;
    }
    std::printf("pingpong %.1f ns/roundtrip\n", elapsed.count() / n);
    return 0;
  });
}
