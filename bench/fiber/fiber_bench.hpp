// fiber_bench.hpp: what the Boost.Fiber versions of the bench workloads
// share: the scheduler set-up, spawning, a wait group and /proc readings.
//
// Boost.Fiber is set up as its documentation recommends for throughput on
// several threads: the work_stealing algorithm on every thread, without
// suspending idle threads (work_stealing(n, false), its default: an idle
// thread spins on its queues instead of sleeping on a condition variable).
// BENCH_WORKERS threads (default 2) take part: the main thread, which runs
// the workload's main fiber, plus BENCH_WORKERS - 1 helpers that park their
// own main fiber until the workload ends. Fibers are detached and launched
// with launch::post, so any thread may steal them.
//
// Every fiber gets a 16 KiB fixedsize_stack (malloc'd, no guard page), the
// size bench/README.md quotes for Boost.Fiber. pooled_fixedsize_stack is not
// used: its pool has no lock, and a stolen fiber's stack is freed on another
// thread than the one that allocated it.
#pragma once

#include <boost/fiber/all.hpp>

#include "../bench_common.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace fiber_bench {

using bench::arg_n;
using bench::ns_since;
using bench::status_bytes;
using bench::workers;

constexpr std::size_t stack_bytes = 16 * 1024;

// Starts a detached fiber that any thread may run.
template <class Fn>
void go(Fn&& fn) {
    boost::fibers::fiber(boost::fibers::launch::post, std::allocator_arg,
                         boost::fibers::fixedsize_stack(stack_bytes), std::forward<Fn>(fn))
        .detach();
}

// Go's sync.WaitGroup: add before the fibers start, done from each, wait once.
class wait_group {
public:
    void add(long n) { count_.fetch_add(n, std::memory_order_relaxed); }
    void done() {
        if (count_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        std::lock_guard<boost::fibers::mutex> hold(lock_);
        zero_ = true;
        cond_.notify_all();
    }
    void wait() {
        std::unique_lock<boost::fibers::mutex> hold(lock_);
        cond_.wait(hold, [&] { return zero_; });
    }

private:
    std::atomic<long> count_{0};
    boost::fibers::mutex lock_;
    boost::fibers::condition_variable cond_;
    bool zero_ = false;
};

// Runs body() in a fiber on the main thread with BENCH_WORKERS threads
// stealing work, then stops the helper threads. Returns body's status.
template <class Body>
int run(Body body) {
    const int n = workers();
    boost::fibers::mutex stop_lock;
    boost::fibers::condition_variable stop_cond;
    bool stop = false;
    std::vector<std::thread> helpers;
    for (int i = 1; i < n; ++i) {
        helpers.emplace_back([&] {
            boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(n);
            std::unique_lock<boost::fibers::mutex> hold(stop_lock);
            stop_cond.wait(hold, [&] { return stop; });
        });
    }
    // The constructor waits until all n threads have registered.
    boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(n);
    const int status = body();
    {
        std::lock_guard<boost::fibers::mutex> hold(stop_lock);
        stop = true;
    }
    stop_cond.notify_all();
    for (auto& t : helpers) t.join();
    return status;
}

}  // namespace fiber_bench
