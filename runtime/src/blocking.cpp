// netpoll/src/blocking.cpp — the blocking-call pool behind goro::blocking.
//
// Invariants (pool_state::lock guards every field):
//   - A job enters `queue` only from a park commit, on the caller's M's
//     scheduler stack: by then the fiber is parked, so the pool thread that
//     finishes the job may ready it at once (the park protocol).
//   - `threads` counts pool threads alive, `idle` those waiting for a job;
//     a job queued when no thread is idle starts one unless `threads` is at
//     the bound. Threads idle for idle_exit exit.
//   - A job records the run it was made in. A job whose run has ended is
//     not started; one whose run ends while it runs does not ready its
//     (abandoned) fiber, and every stack of that run stays mapped, since
//     the call may use memory on any of them (runtime/src/stack.cpp).
//   - Pool threads are the runtime's own: the deadlock detector does not
//     count them as user threads, and each fiber in a blocking call counts
//     as a wake-up source until its call returns.

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <deque>
#include <mutex>
#include <thread>

#include <goro/blocking.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/faults.hpp"
#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/trace.hpp"

namespace goro::detail {

namespace {

constexpr int default_max_threads = 64;
constexpr auto idle_exit = std::chrono::seconds(10);

struct pending_call {
    blocking_job* job;
    fiber* waiter;
    std::uint64_t run_id;
};

int max_threads() noexcept {
    if (const char* env = std::getenv("GORO_MAX_BLOCKING_THREADS")) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && n > 0 && n <= 10000) return static_cast<int>(n);
    }
    return default_max_threads;
}

struct pool_state {
    std::mutex lock;
    std::condition_variable work_ready;
    std::deque<pending_call> queue;
    int threads = 0;
    int idle = 0;
    const int bound = max_threads();
};

pool_state& pool() {
    static pool_state* const state = new pool_state;  // lives for the process: threads outlive runs
    return *state;
}

void finish(const pending_call& call) noexcept {
    {
        // A call whose run has ended is not started: its fiber is abandoned.
        plain_thread_scope scope;
        if (!scope.sched || scope.sched->run_id != call.run_id) {
            note_wakeup_source(-1);
            return;
        }
    }
    // The trace shows the call as a slice of this pool thread's, from which
    // the fiber's wake-up starts.
    const bool traced = trace_on();
    if (traced) [[unlikely]]
        trace_aux_begin("blocking call", trace_clock(), call.waiter->id.load(std::memory_order_relaxed));
    call.job->run();
    // Hold the scheduler for the hand-off; a different (or no) run means the
    // fiber was abandoned when its run returned.
    plain_thread_scope scope;
    if (scope.sched && scope.sched->run_id == call.run_id) ready(call.waiter);
    if (traced) [[unlikely]] trace_aux_end(0);
    note_wakeup_source(-1);
}

void pool_thread() noexcept {
    pthread_setname_np(pthread_self(), "goro-blocking");
    pool_state& p = pool();
    std::unique_lock<std::mutex> g(p.lock);
    for (;;) {
        while (p.queue.empty()) {
            ++p.idle;
            const bool woken = p.work_ready.wait_for(g, idle_exit, [&] { return !p.queue.empty(); });
            --p.idle;
            if (!woken) {
                --p.threads;
                note_runtime_thread(-1);
                return;
            }
        }
        const pending_call call = p.queue.front();
        p.queue.pop_front();
        g.unlock();
        finish(call);
        g.lock();
    }
}

// Park commit: the fiber is off its stack, so its job may now run.
bool enqueue_call(void* arg) {
    auto* call = static_cast<pending_call*>(arg);
    pool_state& p = pool();
    std::lock_guard<std::mutex> g(p.lock);
    p.queue.push_back(*call);
    // An idle thread for every queued call, or start one: calls must not
    // wait behind one another while the pool is under its bound.
    if (static_cast<int>(p.queue.size()) <= p.idle) {
        p.work_ready.notify_one();
        return true;
    }
    if (p.threads < p.bound) {
        try {
            note_runtime_thread(1);
            inject_thread_create_fault();
            std::thread(pool_thread).detach();
            ++p.threads;
        } catch (const std::system_error& e) {
            note_runtime_thread(-1);
            // Out of threads: the job waits for a running pool thread, or,
            // with none at all, can never run: as Go's newosproc, fatal.
            if (p.threads == 0) {
                char msg[256];
                std::snprintf(msg, sizeof msg,
                              "runtime: cannot start a thread for goro::blocking (%s; max user processes, "
                              "ulimit -u?)",
                              std::strerror(e.code().value()));
                fatal_exit(msg);
            }
        }
    }
    return true;
}

}  // namespace

int blocking_pool_threads() noexcept {
    pool_state& p = pool();
    std::lock_guard<std::mutex> g(p.lock);
    return p.threads;
}

void run_blocking(blocking_job& job) {
    fiber* self = current_fiber();
    if (!self) {
        job.run();
        return;
    }
    scheduler* s = active_scheduler();
    pending_call call{&job, self, s ? s->run_id : 0};
    note_wakeup_source(1);
    park(wait_reason::blocking_call, &enqueue_call, &call);
}

}  // namespace goro::detail
