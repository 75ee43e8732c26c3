// idle: a program that does nothing for a while, to show with /usr/bin/time
// that an idle runtime costs no CPU (bench/idle_cpu.sh).
//   bench_idle [seconds] [idle|blocked|ticker]
//     idle     main sleeps; nothing else exists
//     blocked  besides, one fiber sits in a raw read(2) that never returns
//              (its thread blocked for good; sysmon takes its P and then
//              sleeps, since every P is idle)
//     ticker   besides, a fiber receives from a 100 ms ticker (some work, rarely)
#include <goro/goro.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 2;
  const char* mode = argc > 2 ? argv[2] : "idle";
  int fds[2];
  if (::pipe(fds) != 0) return 1;
  return goro::run([&] {
    if (std::strcmp(mode, "blocked") == 0) {
      goro::go([&] {
        char c;
        (void)::read(fds[0], &c, 1);  // never written: blocks for good
      });
    } else if (std::strcmp(mode, "ticker") == 0) {
      goro::go([] {
        goro::ticker t(std::chrono::milliseconds(100));
        for (;;) t.c.recv();
      });
    }
    goro::sleep_for(std::chrono::seconds(seconds));
    std::printf("idle %s %d s\n", mode, seconds);
    std::fflush(stdout);
    _exit(0);  // the blocked fiber's thread is never joined, as in Go
  });
}
