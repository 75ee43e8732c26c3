// runtime/src/idle.cpp — the idle set: idle Ps, idle Ms, and handing a P
// to an M (Go's pidleget/pidleput, startm, wakep and handoffp).
//
// Invariants (scheduler::lock guards all of it):
//   - A P is on idle_ps exactly when p->in_idle_list; then its status is
//     idle and it has no owner. idle_count == idle_ps.size() at every
//     release of the lock (checked in debug builds).
//   - An M is on idle_ms exactly when m->in_idle_list. A waker that takes
//     it off sets next_p (maybe null: woken to stop) before waking it.
//   - The timer waiter and the poll waiter are idle Ms (on idle_ms) or null.
//   - spinning_count counts Ms that hold a P and look for work. wake_idle
//     counts the M it starts before it takes the lock (the CAS from 0 is
//     what limits it to one spinner per wake), so a woken M may find
//     next_spinning set and must drop the count if it stops spinning.

#include <algorithm>
#include <cassert>
#include <mutex>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/futex.hpp"
#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/scheduler.hpp"

namespace goro::detail {

io_poller* current_io_poller() noexcept;

namespace {

void check_idle_count(scheduler& s) noexcept {
#ifndef NDEBUG
    if (static_cast<int>(s.idle_ps.size()) != s.idle_count.load(std::memory_order_relaxed))
        GORO_FATAL("runtime: idle_count does not match the idle P list");
#else
    (void)s;
#endif
}

void remove_idle_machine_locked(scheduler& s, machine* m) noexcept {
    auto it = std::find(s.idle_ms.begin(), s.idle_ms.end(), m);
    if (it == s.idle_ms.end()) GORO_FATAL("runtime: idle M missing from the idle list");
    s.idle_ms.erase(it);
    m->in_idle_list = false;
    if (s.timer_waiter == m) {
        s.timer_waiter = nullptr;
        s.timer_waiter_deadline.store(INT64_MAX, std::memory_order_release);
    }
}

}  // namespace

void wake_machine(machine* m) noexcept {
    m->wakeup.store(1, std::memory_order_seq_cst);
    if (m->sleeping_in_poll.load(std::memory_order_seq_cst)) {
        if (io_poller* p = current_io_poller()) p->interrupt();
        return;
    }
    futex_wake(m->wakeup, 1);
}

processor* pidle_get_locked(scheduler& s, machine* m) noexcept {
    if (s.idle_ps.empty()) return nullptr;
    processor* p = s.idle_ps.back();
    s.idle_ps.pop_back();
    p->in_idle_list = false;
    s.idle_count.fetch_sub(1, std::memory_order_seq_cst);
    p->status.store(p_status::running, std::memory_order_release);
    p->owner.store(m, std::memory_order_release);
    check_idle_count(s);
    if (s.sysmon_sleeping) {
        // sysmon sleeps outright while every P is idle; one is busy now.
        s.sysmon_sleeping = false;
        s.sysmon_wakeup.fetch_add(1, std::memory_order_release);
        futex_wake(s.sysmon_wakeup, 1);
    }
    return p;
}

void pidle_put_locked(scheduler& s, processor* p) noexcept {
    p->owner.store(nullptr, std::memory_order_relaxed);
    p->status.store(p_status::idle, std::memory_order_release);
    p->in_idle_list = true;
    s.idle_ps.push_back(p);
    s.idle_count.fetch_add(1, std::memory_order_seq_cst);
    check_idle_count(s);
}

// Under lock: the M that will run p (already told so), to be woken by the
// caller once it has dropped the lock; null when a new M was created.
static machine* start_machine_locked_deferred(scheduler& s, processor* p, bool spinning) {
    p->status.store(p_status::running, std::memory_order_release);
    machine* m = nullptr;
    if (!s.idle_ms.empty()) {
        // The most recently idle M (warmest cache), but not the one blocked
        // in the poller if another can come: it keeps watching the sockets.
        auto it = s.idle_ms.end() - 1;
        if (*it == s.poll_waiter && s.idle_ms.size() > 1) --it;
        m = *it;
        remove_idle_machine_locked(s, m);
        m->next_p = p;
        m->next_spinning = spinning;
        p->owner.store(m, std::memory_order_release);
        return m;
    }
    new_machine_locked(s, p, spinning);
    return nullptr;
}

void start_machine_locked(scheduler& s, processor* p, bool spinning) noexcept {
    if (machine* m = start_machine_locked_deferred(s, p, spinning)) wake_machine(m);
}

void wake_idle() noexcept {
    scheduler* s = active_scheduler();
    if (!s) return;
    if (s->idle_count.load(std::memory_order_seq_cst) == 0) return;
    int none = 0;
    if (s->spinning_count.load(std::memory_order_seq_cst) != 0 ||
        !s->spinning_count.compare_exchange_strong(none, 1, std::memory_order_seq_cst))
        return;
    machine* m = nullptr;
    bool started = false;
    {
        std::lock_guard<std::mutex> g(s->lock);
        if (!s->stopping.load(std::memory_order_relaxed)) {
            if (processor* p = pidle_get_locked(*s, nullptr)) {
                m = start_machine_locked_deferred(*s, p, true);
                started = true;
            }
        }
    }
    if (!started) {
        s->spinning_count.fetch_sub(1, std::memory_order_seq_cst);
        return;
    }
    if (m) wake_machine(m);
}

machine* hand_off_p_locked(scheduler& s, processor* p, std::int64_t* timer_when) noexcept {
    *timer_when = INT64_MAX;
    const std::int64_t earliest = p->timers.earliest_ns.load(std::memory_order_acquire);
    if (s.stopping.load(std::memory_order_relaxed)) {
        pidle_put_locked(s, p);
        return nullptr;
    }
    if (!p->runq.empty() || s.global_queue.size_approx() != 0 ||
        (earliest != INT64_MAX && earliest <= steady_now_ns())) {
        // It has work: an M runs it now.
        return start_machine_locked_deferred(s, p, false);
    }
    int none = 0;
    if (s.idle_count.load(std::memory_order_relaxed) == 0 &&
        s.spinning_count.compare_exchange_strong(none, 1, std::memory_order_seq_cst)) {
        // Nobody else looks for work: let this P's new M.
        return start_machine_locked_deferred(s, p, true);
    }
    pidle_put_locked(s, p);
    *timer_when = earliest;
    return nullptr;
}

void hand_off_p(scheduler& s, processor* p) noexcept {
    machine* m = nullptr;
    std::int64_t timer_when = INT64_MAX;
    {
        std::lock_guard<std::mutex> g(s.lock);
        m = hand_off_p_locked(s, p, &timer_when);
    }
    if (m) wake_machine(m);
    if (timer_when != INT64_MAX) timer_added(s, timer_when);
}

void timer_added(scheduler& s, std::int64_t when) noexcept {
    // In a bubble a future timer wakes nobody: the clock reaches it only
    // when every fiber is durably blocked, and check_bubble then runs it.
    if (s.bubble && when > steady_now_ns()) return;
    // Dekker with an M giving up its P: our heap store, then the idle state.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (s.idle_count.load(std::memory_order_seq_cst) == 0) return;  // every P is held; its M runs its timers
    if (when < s.timer_waiter_deadline.load(std::memory_order_acquire)) {
        machine* waiter = nullptr;
        {
            std::lock_guard<std::mutex> g(s.lock);
            waiter = s.timer_waiter;
            if (waiter && waiter->in_idle_list && !s.stopping.load(std::memory_order_relaxed)) {
                processor* p = pidle_get_locked(s, waiter);
                if (p) {
                    remove_idle_machine_locked(s, waiter);
                    waiter->next_p = p;
                    waiter->next_spinning = false;
                } else {
                    waiter = nullptr;
                }
            } else {
                waiter = nullptr;
            }
        }
        if (waiter) {
            wake_machine(waiter);
            return;
        }
    }
    if (s.timer_waiter_deadline.load(std::memory_order_acquire) == INT64_MAX) wake_idle();
}

// Under lock, for find_work.cpp: take m off the idle list after it woke by
// itself (deadline, poll); a no-op when a waker already did.
void leave_idle_list_locked(scheduler& s, machine* m) noexcept {
    if (m->in_idle_list) remove_idle_machine_locked(s, m);
}

}  // namespace goro::detail
