// worker_pool: a fixed pool of fibers draining a shared job list guarded by a
// goro::mutex and goro::cond — the shape of many Go programs before channels.
#include <cstdio>
#include <deque>

#include <goro/goro.hpp>

int main() {
    return goro::run([] {
        goro::mutex lock;
        goro::cond jobs_ready(lock);
        std::deque<int> jobs;
        bool closed = false;
        long total = 0;
        goro::wait_group workers;

        for (int w = 0; w < 4; ++w) {
            workers.add(1);
            goro::go([&] {
                long mine = 0;
                for (;;) {
                    std::unique_lock<goro::mutex> hold(lock);
                    while (jobs.empty() && !closed) jobs_ready.wait();
                    if (jobs.empty()) break;
                    int job = jobs.front();
                    jobs.pop_front();
                    hold.unlock();
                    mine += job;
                    goro::sleep_for(std::chrono::microseconds(50));  // pretend to work
                }
                {
                    std::lock_guard<goro::mutex> hold(lock);
                    total += mine;
                }
                workers.done();
            });
        }
        for (int i = 1; i <= 1000; ++i) {
            std::lock_guard<goro::mutex> hold(lock);
            jobs.push_back(i);
            jobs_ready.signal();
        }
        {
            std::lock_guard<goro::mutex> hold(lock);
            closed = true;
            jobs_ready.broadcast();
        }
        workers.wait();
        std::printf("sum of jobs 1..1000 = %ld (expected 500500)\n", total);
        return total == 500500 ? 0 : 1;
    });
}
