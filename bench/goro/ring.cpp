// ring: 1000 fibers in a ring of unbuffered channels, fiber i receiving on
// ring[i] and sending on ring[(i+1) % 1000]. The main fiber injects a token
// holding n into ring[0]; each fiber that receives t > 0 passes t - 1 on, so
// the token makes n hops, and the fiber that receives 0 reports its index on
// `done` (it must be n % 1000). Only the passing is timed; the fibers are
// spawned before and shut down after (closing the channels round the ring).
// Prints the wall time per hop.
// Go counterpart: bench/go/ring/main.go.
//
// Usage: bench_ring [n]   (default n = 1,000,000; GORO_MAXPROCS sets the workers)
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

constexpr int tasks = 1000;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  return goro::run([&] {
    std::vector<goro::chan<int>> ring(tasks);
    for (auto& c : ring) c = goro::make_chan<int>();
    auto done = goro::make_chan<int>();
    goro::wait_group wg;
    wg.add(tasks);
    for (int i = 0; i < tasks; ++i) {
      goro::go([&, i] {
        goro::chan<int>& in = ring[i];
        goro::chan<int>& out = ring[(i + 1) % tasks];
        for (int t : in) {
          if (t == 0)
            done.send(i);
          else
            out.send(t - 1);
        }
        if (i + 1 < tasks) out.close();  // the main fiber closes ring[0]
        wg.done();
      });
    }
    const auto start = std::chrono::steady_clock::now();
    ring[0].send(n);
    const int last = *done.recv();
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;
    ring[0].close();
    wg.wait();

    if (last != n % tasks) {
      std::fprintf(stderr, "ring: the token ran out at fiber %d, want %d\n", last, n % tasks);
      return 1;
    }
    std::printf("ring %.1f ns/hop\n", elapsed.count() / n);
    return 0;
  });
}
