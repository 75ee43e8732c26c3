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
#include <thread>

#include "runtime/detail/fatal.hpp"
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

void note_wakeup_source(int delta) noexcept { external_wakeup_sources.fetch_add(delta, std::memory_order_acq_rel); }
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

}  // namespace goro::detail
