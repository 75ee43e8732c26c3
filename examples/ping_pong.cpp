// ping_pong: two named fibers pass a ball back and forth over two
// unbuffered channels, the smallest picture of a hand-off. Traced, it shows
// every stretch ending in a channel park and a wake-up arrow to the
// partner (docs/tracing.md):
//
//     GORO_TRACE=pingpong.json ./ping_pong 20
//
// Usage: ping_pong [rounds]   (default 1000)
#include <cstdio>
#include <cstdlib>

#include <goro/goro.hpp>

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 1000;
    return goro::run([rounds] {
        auto to_pong = goro::make_chan<int>();
        auto to_ping = goro::make_chan<int>();
        goro::wait_group done;
        done.add(2);
        goro::go(goro::spawn_options{.stack_size = 0, .name = "ping"}, [&] {
            for (int i = 0; i < rounds; ++i) {
                to_pong.send(i);
                to_ping.recv();
            }
            done.done();
        });
        goro::go(goro::spawn_options{.stack_size = 0, .name = "pong"}, [&] {
            for (int i = 0; i < rounds; ++i) to_ping.send(*to_pong.recv() + 1);
            done.done();
        });
        done.wait();
        std::printf("%d rounds\n", rounds);
    });
}
