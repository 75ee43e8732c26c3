// runtime/src/deadlock.cpp — deadlock accounting and Go's "all goroutines
// are asleep" check.
//
// A deadlock is reported when every P is idle, no timer is pending, and
// nothing outside the fibers can wake one: no fiber waits on I/O, no call
// is in flight in goro::blocking, no M runs a fiber without a P (sysmon
// took it while the fiber blocked its thread: that fiber is running, never
// asleep), and every thread of the process that is not the runtime's own
// is parked in a goro primitive (a running plain thread may still send,
// unlock or spawn). docs/design.md, "Deadlock detection".
//
// Invariants: the counters below are process-wide (a call abandoned by an
// earlier run still counts); each is changed by whoever starts or ends the
// state it counts, with acq_rel, and read with acquire.

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include <goro/panic.hpp>
#include <goro/runtime.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/futex.hpp"
#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/scheduler.hpp"

namespace goro::detail {

io_poller* current_io_poller() noexcept;

namespace {

// Plain threads parked in goro primitives (all runs).
std::atomic<int> parked_threads{0};
// Wake-up sources registered by other layers (I/O waiters, blocking calls).
std::atomic<int> external_wakeup_sources{0};
// Threads the runtime owns (Ms, sysmon, run's waiting thread, the blocking
// pool's): not user threads that could act.
std::atomic<int> runtime_threads{0};

int count_process_threads() {
    int n = 0;
    if (DIR* d = opendir("/proc/self/task")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') ++n;
        closedir(d);
    }
    return n;
}

// Threads that belong to no one who could act on a goro primitive: the
// sanitizer runtimes' own background threads (TSan has one).
constexpr int sanitizer_threads() { return running_under_tsan() ? 1 : 0; }

}  // namespace

void note_wakeup_source(int delta) noexcept {
    const int before = external_wakeup_sources.fetch_add(delta, std::memory_order_acq_rel);
    // The last source gone: a bubble's last look may have seen it (and
    // slept) after the fiber it readied had already blocked again. Have an
    // M look again.
    if (before + delta == 0 && delta < 0) {
        plain_thread_scope scope;
        if (scope.sched && scope.sched->bubble) wake_idle();
    }
}
void note_runtime_thread(int delta) noexcept { runtime_threads.fetch_add(delta, std::memory_order_acq_rel); }
void note_thread_parked() noexcept { parked_threads.fetch_add(1, std::memory_order_acq_rel); }
void note_thread_unparked() noexcept { parked_threads.fetch_sub(1, std::memory_order_acq_rel); }

namespace {

enum class verdict { work, maybe_later, deadlock };

verdict look_for_deadlock(machine& m, bool* recheck);

}  // namespace

bool check_deadlock(machine& m, bool* recheck) {
    // Two looks, a few milliseconds apart: a fiber passed between two
    // queues by an M that has just let its P go must not pass for asleep.
    // A real deadlock is reported a few milliseconds later, that is all.
    for (int look = 0;; ++look) {
        switch (look_for_deadlock(m, recheck)) {
        case verdict::work: return true;
        case verdict::maybe_later: return false;
        case verdict::deadlock: break;
        }
        if (look == 1) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    claim_fatal_report();
    write_stderr("fatal error: all fibers are asleep - deadlock!\n\n");
    dump_all_fibers_to_fd(2);
    std::fflush(nullptr);
    _exit(2);
}

namespace {

verdict look_for_deadlock(machine& m, bool* recheck) {
    scheduler& s = m.sched;
    *recheck = false;
    if (any_work_visible(s)) return verdict::work;
    if (external_wakeup_sources.load(std::memory_order_acquire) != 0) return verdict::maybe_later;
    if (io_poller* p = current_io_poller(); p && p->has_waiters()) return verdict::maybe_later;
    // A fiber blocking its thread will come back (its M then finds the
    // work, or goes idle and checks again).
    if (s.running_without_p.load(std::memory_order_acquire) != 0) return verdict::maybe_later;
    int others = count_process_threads() - sanitizer_threads() - runtime_threads.load(std::memory_order_acquire);
    if (others > parked_threads.load(std::memory_order_acquire)) {
        *recheck = true;  // nobody tells us when a plain thread exits
        return verdict::maybe_later;
    }
    // Re-check under the lock that everyone is still idle.
    {
        std::lock_guard<std::mutex> g(s.lock);
        if (s.idle_count.load(std::memory_order_seq_cst) != s.procs || !m.in_idle_list ||
            s.stopping.load(std::memory_order_acquire) || s.running_without_p.load(std::memory_order_acquire) != 0)
            return verdict::maybe_later;
        // An M blocked in the poller may hold fibers it has just taken off
        // their wait slots (invisible in every count until it queues them).
        // Make it come out and look again; it checks later.
        if (s.poll_waiter) {
            if (io_poller* p = current_io_poller()) p->interrupt();
            return verdict::maybe_later;
        }
        // Still under the lock, with every P idle: no M can be between
        // taking a timer off its heap and queueing the fiber it readies
        // (timers run only on an M that holds a P, and Ps are taken under
        // this lock), so a timer or a fiber cannot hide from this look.
        if (any_work_visible(s) || earliest_timer(s) != INT64_MAX) return verdict::work;
    }
    return verdict::deadlock;
}

}  // namespace

// ------------------------------------------------------------------ bubbles
//
// Inside goro::synctest::run the same look decides when virtual time moves.
// A fiber is durably blocked when only another fiber of the run can wake it:
// parked on a channel, a select, a sleep or a timer, a cond, a wait_group
// or synctest::wait. Not durably blocked: waiting on a mutex or rw_mutex
// (as in Go: a critical section is short and its holder may be about to
// leave it, so time must not jump under it), on a socket, in goro::blocking
// or in a blocking_scope (the world outside acts in real time). Plain
// threads are outside the bubble and are not waited for.

void fail_bubble(scheduler& s, std::exception_ptr failure) noexcept {
    {
        std::lock_guard<std::mutex> g(s.lock);
        if (!s.bubble_failure) s.bubble_failure = std::move(failure);
    }
    // As main's return does: run's thread tears down and rethrows.
    stop_all(s);
    s.main_done.store(1, std::memory_order_release);
    futex_wake(s.main_done, 1);
}

bool check_bubble(machine& m) {
    scheduler& s = m.sched;
    if (any_work_visible(s)) return true;
    // Something outside the bubble will ready a fiber: wait for it in real
    // time (a call in goro::blocking, a socket, a fiber blocking its thread,
    // a mutex whose holder runs or is itself about to be readied).
    if (external_wakeup_sources.load(std::memory_order_acquire) != 0) return false;
    if (io_poller* p = current_io_poller(); p && p->has_waiters()) return false;
    if (s.running_without_p.load(std::memory_order_acquire) != 0) return false;
    if (s.bubble_nondurable.load(std::memory_order_acquire) != 0) return false;
    fiber* to_ready = nullptr;
    bool leak = false;  // the deadlock is main done, the rest blocked for good
    {
        std::lock_guard<std::mutex> g(s.lock);
        if (s.idle_count.load(std::memory_order_seq_cst) != s.procs || !m.in_idle_list ||
            s.stopping.load(std::memory_order_acquire) || s.running_without_p.load(std::memory_order_acquire) != 0 ||
            s.bubble_nondurable.load(std::memory_order_acquire) != 0)
            return false;
        if (s.poll_waiter) {
            if (io_poller* p = current_io_poller()) p->interrupt();
            return false;
        }
        // As in the deadlock check: with every P idle under this lock, no
        // timer is half-run and no fiber is between queues.
        if (any_work_visible(s)) return true;
        const std::int64_t earliest = earliest_timer(s);
        if (s.bubble_waiter) {
            // synctest::wait returns before time moves.
            to_ready = std::exchange(s.bubble_waiter, nullptr);
        } else if (s.bubble_drainer && goro::num_fibers() <= 1) {
            to_ready = std::exchange(s.bubble_drainer, nullptr);
        }
        if (to_ready) {
            // Readied here, under the lock (ready() itself would take it to
            // wake an M): once the lock is dropped the fiber is visible work,
            // so another M's look cannot find "all blocked, no waiter".
            if (to_ready->state.load(std::memory_order_acquire) != fiber_state::waiting)
                GORO_FATAL("runtime: synctest waiter readied while not waiting");
            to_ready->state.store(fiber_state::runnable, std::memory_order_release);
            s.global_queue.enqueue(to_ready);
        } else if (earliest != INT64_MAX) {
            // The jump: the earliest timer is due now. The caller takes a P
            // and fires it (and every other timer due at the same instant).
            advance_virtual_clock(earliest);
            return true;
        } else {
            leak = s.bubble_drainer != nullptr;
        }
    }
    if (to_ready) {
        std::atomic_thread_fence(std::memory_order_seq_cst);  // Dekker with go_idle, as enqueue_global
        wake_idle();  // an M (maybe this one) takes a P and runs it
        return false;
    }
    std::ostringstream text;
    if (leak)
        text << "deadlock: main bubble fiber has exited but blocked fibers remain\n\n";
    else
        text << "deadlock: all fibers in the bubble are durably blocked\n\n";
    goro::dump_fibers(text);
    fail_bubble(s, std::make_exception_ptr(goro::panic_error(text.str())));
    return false;
}

}  // namespace goro::detail
