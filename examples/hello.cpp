// hello: the smallest goro program. Ten fibers say hello; main waits for all
// of them with a wait_group, as a Go program would with sync.WaitGroup.
#include <cstdio>

#include <goro/goro.hpp>

int main() {
    return goro::run([] {
        goro::wait_group wg;
        goro::mutex print_lock;
        for (int i = 0; i < 10; ++i) {
            wg.add(1);
            goro::go([&wg, &print_lock](int n) {
                {
                    std::lock_guard<goro::mutex> hold(print_lock);
                    std::printf("hello from fiber %d (id %llu)\n", n,
                                static_cast<unsigned long long>(goro::fiber_id()));
                }
                wg.done();
            }, i);
        }
        wg.wait();
        std::printf("%zu fiber(s) left, %d worker thread(s)\n", goro::num_fibers(), goro::procs());
    });
}
