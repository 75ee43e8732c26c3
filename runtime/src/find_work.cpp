// runtime/src/find_work.cpp — how an M finds the next fiber to run (Go's
// findrunnable), and how it gives its P up and sleeps when there is none.
//
// Order of the search, with a P: every 61st time the global queue (so it
// cannot starve); the P's own timers; the local queue; the global queue;
// the network, without blocking; other Ps' expired timers; stealing half of
// another P's queue (spinning, bounded to half the busy Ps); then the P
// goes on the idle list and the M sleeps.
//
// Giving the P up publishes it idle first and re-checks every queue after,
// so a concurrent make_runnable + wake_idle cannot be missed (the Dekker
// pattern; docs/design.md, "Idle and wake-up").
//
// Locks: scheduler::lock for the idle lists and the waiter roles; never held
// across a poll, a futex sleep or user code.

#include <algorithm>
#include <mutex>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/futex.hpp"
#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/trace.hpp"

namespace goro::detail {

void leave_idle_list_locked(scheduler& s, machine* m) noexcept;

namespace {

// The netpoller, once the first socket exists (it serves every run).
std::atomic<io_poller*> the_io_poller{nullptr};

constexpr std::uint32_t global_queue_check_interval = 61;
constexpr std::uint32_t runnext_streak_limit = 61;
constexpr int steal_rounds = 4;
constexpr std::int64_t spin_budget_ns = 20'000;  // a futex wake costs 33–63 µs here
constexpr std::int64_t deadlock_recheck_ns = 50'000'000;
constexpr std::int64_t tsan_idle_slice_ns = 50'000'000;
// A busy M polls for I/O itself when nobody has for this long.
constexpr std::int64_t busy_poll_interval_ns = 1'000'000;

std::uint64_t next_random(std::uint64_t& s) noexcept {
    // xorshift64*: cheap victim selection.
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
}

// The clock is read at most once per pass of find_runnable, and only when
// some timer is pending: a vDSO clock read costs 20-50 ns here.
std::int64_t pass_now(machine& m) {
    if (m.pass_now_ns < 0) m.pass_now_ns = steady_now_ns();
    return m.pass_now_ns;
}

fiber* found(machine& m, fiber* f) {
    if (m.spinning) {
        m.coarse_now_ns = coarse_clock_ns();  // it may have idled a while
        // The last spinner to find work wakes another, since there may be more.
        m.spinning = false;
        if (m.sched.spinning_count.fetch_sub(1, std::memory_order_seq_cst) == 1) wake_idle();
    }
    return f;
}

void stop_spinning(machine& m) {
    if (!m.spinning) return;
    m.spinning = false;
    m.sched.spinning_count.fetch_sub(1, std::memory_order_seq_cst);
}

void run_own_timers(machine& m) {
    processor& p = *m.p;
    if (p.timers.earliest_ns.load(std::memory_order_relaxed) == INT64_MAX) return;
    p.timers.run_expired(pass_now(m), false);
}

// Timers of a busy P must not wait for its M to get round to them.
int run_expired_timers_everywhere(machine& m) {
    int fired = 0;
    for (auto& v : m.sched.processors) {
        if (v->timers.earliest_ns.load(std::memory_order_acquire) == INT64_MAX) continue;
        fired += v->timers.run_expired(pass_now(m), v.get() != m.p);
    }
    return fired;
}

fiber* take_from_global(machine& m) {
    scheduler& s = m.sched;
    if (s.global_queue.size_approx() == 0) return nullptr;
    // Take a fair share into the local queue, as Go's globrunqget does.
    std::size_t want = s.global_queue.size_approx() / static_cast<std::size_t>(s.procs) + 1;
    want = std::min<std::size_t>(want, run_queue::capacity / 2);
    fiber* batch[run_queue::capacity / 2];
    std::size_t n = s.global_queue.try_dequeue_bulk(batch, want);
    if (n == 0) return nullptr;
    for (std::size_t i = 1; i < n; ++i) runq_put(*m.p, batch[i], false);
    return batch[0];
}

fiber* steal_work(machine& m) {
    scheduler& s = m.sched;
    const int n = s.procs;
    if (n == 1) return nullptr;
    for (int round = 0; round < steal_rounds; ++round) {
        const bool last_round = round == steal_rounds - 1;
        int start = static_cast<int>(next_random(m.random_state) % static_cast<std::uint64_t>(n));
        for (int i = 0; i < n; ++i) {
            processor& victim = *s.processors[static_cast<std::size_t>((start + i) % n)];
            if (&victim == m.p) continue;
            if (s.stopping.load(std::memory_order_relaxed)) return nullptr;
            // Timers of a busy P must not wait for it: run them here.
            if (victim.timers.earliest_ns.load(std::memory_order_relaxed) != INT64_MAX &&
                victim.timers.run_expired(steady_now_ns(), true) > 0) {
                if (fiber* f = m.p->runq.pop()) return f;
            }
            if (fiber* f = m.p->runq.steal_from(victim.runq, last_round)) {
                processor::count(m.p->steals);
                if (trace_on()) [[unlikely]] trace_steal(f, victim.index);
                return f;
            }
        }
    }
    return nullptr;
}

// Fibers the poller readied, still `waiting`: make them runnable on p's
// queue (the ring, not runnext: they are independent of one another), or on
// the global queue without a P, and let idle Ps' Ms take them.
void queue_ready_batch(scheduler& s, processor* p, fiber** batch, int n) {
    if (n <= 0) return;
    if (trace_on()) [[unlikely]]
        for (int i = 0; i < n; ++i) trace_ready(batch[i]);
    for (int i = 0; i < n; ++i) batch[i]->state.store(fiber_state::runnable, std::memory_order_release);
    if (p) {
        processor::count(p->poll_wakeups, static_cast<std::uint64_t>(n));
        for (int i = 0; i < n; ++i) runq_put(*p, batch[i], false);
    } else {
        s.poll_wakeups_without_p.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
        s.global_pushes_without_p.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
        s.global_queue.enqueue_bulk(batch, static_cast<std::size_t>(n));
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);  // Dekker with go_idle
    wake_idle();
}

// Ask the poller, without blocking, for fibers whose I/O is ready, when
// some fiber waits on I/O and no M is blocked in the poller (it would get
// the events first). Queues them all, or with take_one returns the first to
// run at once.
fiber* poll_io_without_blocking(machine& m, bool take_one) {
    scheduler& s = m.sched;
    io_poller* poller = current_io_poller();
    if (!poller || !poller->has_waiters() || s.poll_blocked.load(std::memory_order_relaxed)) return nullptr;
    fiber* batch[io_poller::max_batch];
    const std::int64_t traced_since = trace_on() ? trace_clock() : 0;
    const int n = poller->poll(0, batch);
    s.last_poll_ns.store(m.coarse_now_ns, std::memory_order_relaxed);
    if (n == 0) return nullptr;
    // A poll that found nothing is not worth a slice in the trace.
    if (traced_since != 0) [[unlikely]] trace_aux_begin("netpoll", traced_since, 0);
    if (!take_one) {
        queue_ready_batch(s, m.p, batch, n);
        if (traced_since != 0) [[unlikely]] trace_aux_end(static_cast<std::uint64_t>(n));
        return nullptr;
    }
    queue_ready_batch(s, m.p, batch + 1, n - 1);
    if (traced_since != 0) [[unlikely]] {
        trace_ready(batch[0]);
        trace_aux_end(static_cast<std::uint64_t>(n));
    }
    batch[0]->state.store(fiber_state::runnable, std::memory_order_release);
    return batch[0];
}

// Spin briefly for work to appear before paying for a futex sleep.
fiber* spin_for_work(machine& m) {
    scheduler& s = m.sched;
    const std::int64_t until = monotonic_now_ns() + spin_budget_ns;
    do {
        for (int i = 0; i < 256; ++i) cpu_relax();
        if (s.stopping.load(std::memory_order_relaxed)) return nullptr;
        if (any_work_visible(s)) {
            m.pass_now_ns = -1;
            run_own_timers(m);
            if (fiber* f = m.p->runq.pop()) return f;
            if (fiber* f = take_from_global(m)) return f;
            if (fiber* f = steal_work(m)) return f;
        }
        // Ready sockets are work too: a spinner that only watched the
        // queues would leave them for the next poll.
        if (fiber* f = poll_io_without_blocking(m, true)) return f;
    } while (monotonic_now_ns() < until);
    return nullptr;
}

// After sleeping: take the P a waker handed us (and its spinning count),
// or, woken by our own deadline or the poller, an idle P if there is one.
void take_p_after_sleep_locked(machine& m) {
    scheduler& s = m.sched;
    leave_idle_list_locked(s, &m);
    m.wakeup.store(0, std::memory_order_relaxed);
    if (m.next_p) {
        m.p = m.next_p;
        m.spinning = m.next_spinning;
        m.next_p = nullptr;
        m.next_spinning = false;
        return;
    }
    if (m.next_spinning) {  // woken to spin, but the P went elsewhere: not counted twice
        m.next_spinning = false;
        s.spinning_count.fetch_sub(1, std::memory_order_seq_cst);
    }
    if (!s.stopping.load(std::memory_order_relaxed)) m.p = pidle_get_locked(s, &m);
}

// Block in the poller as the idle M that watches the sockets, until I/O,
// the earliest timer or a waker. Called on the idle list; leaves it.
void block_in_poller(machine& m, io_poller* poller, std::int64_t deadline) {
    scheduler& s = m.sched;
    fiber* batch[io_poller::max_batch];
    int n = 0;
    const std::int64_t traced_since = trace_on() ? trace_clock() : 0;
    if (m.wakeup.load(std::memory_order_seq_cst) == 0) n = poller->poll(deadline, batch);
    {
        std::lock_guard<std::mutex> g(s.lock);
        s.poll_waiter = nullptr;
        s.poll_blocked.store(false, std::memory_order_relaxed);
        m.sleeping_in_poll.store(false, std::memory_order_relaxed);
        take_p_after_sleep_locked(m);
    }
    m.coarse_now_ns = coarse_clock_ns();
    s.last_poll_ns.store(m.coarse_now_ns, std::memory_order_relaxed);
    if (traced_since != 0) [[unlikely]] trace_aux_begin("netpoll wait", traced_since, 0);
    queue_ready_batch(s, m.p, batch, n);
    if (traced_since != 0) [[unlikely]] trace_aux_end(static_cast<std::uint64_t>(n));
}

// Under lock: put m on the idle M list, ready to be handed a P.
void list_idle_locked(scheduler& s, machine& m) {
    m.wakeup.store(0, std::memory_order_relaxed);
    m.in_idle_list = true;
    s.idle_ms.push_back(&m);
}

// Sleep as an idle M (holding no P) until a waker hands us a P, our timer
// deadline passes, or the poller has events. With `listed`, m is on the idle
// M list already (go_idle put it there with its P, so a waker that takes
// the P finds an M to run it). May return still without a P (the caller
// loops).
void idle_sleep(machine& m, bool listed) {
    scheduler& s = m.sched;
    std::int64_t deadline = earliest_timer(s);
    const bool timers_pending = deadline != INT64_MAX;
    io_poller* poller = current_io_poller();
    const bool io_waiting = poller && poller->has_waiters();
    bool poll_here = false;
    bool all_idle = false;
    {
        std::lock_guard<std::mutex> g(s.lock);
        if (s.stopping.load(std::memory_order_acquire)) {
            leave_idle_list_locked(s, &m);
            return;
        }
        if (!listed) {
            list_idle_locked(s, m);
        } else if (!m.in_idle_list) {
            take_p_after_sleep_locked(m);  // a waker handed us a P meanwhile
            return;
        }
        all_idle = s.idle_count.load(std::memory_order_relaxed) == s.procs;
        if (io_waiting && !s.poll_waiter) {
            // Watch the sockets ourselves: nobody else does.
            s.poll_waiter = &m;
            s.poll_blocked.store(true, std::memory_order_relaxed);
            m.sleeping_in_poll.store(true, std::memory_order_seq_cst);
            poll_here = true;
        }
        // A deadline matters only while some P is idle: with every P held,
        // their Ms run the timers (and sleeping until an expired deadline
        // with no P to take would spin). In a bubble no M sleeps until a
        // timer: time moves only when check_bubble moves it.
        if (s.idle_count.load(std::memory_order_relaxed) == 0 || s.bubble) deadline = INT64_MAX;
        if (deadline != INT64_MAX) {
            if (deadline < s.timer_waiter_deadline.load(std::memory_order_relaxed)) {
                s.timer_waiter = &m;
                s.timer_waiter_deadline.store(deadline, std::memory_order_release);
            } else if (!poll_here) {
                deadline = -1;  // another idle M sleeps until then
            }
        } else {
            deadline = -1;
        }
    }
    if (poll_here) {
        block_in_poller(m, poller, deadline < 0 ? INT64_MAX : deadline);
        return;
    }
    if (s.bubble) {
        if (all_idle && check_bubble(m)) {  // time moved, or work showed up
            std::lock_guard<std::mutex> g(s.lock);
            take_p_after_sleep_locked(m);
            return;
        }
    } else if (all_idle && !timers_pending && !io_waiting) {
        // Nothing inside the runtime will ever wake us.
        bool recheck = false;
        if (check_deadlock(m, &recheck)) {  // work showed up
            std::lock_guard<std::mutex> g(s.lock);
            take_p_after_sleep_locked(m);
            return;
        }
        // Something outside might act (a plain thread): look again later.
        if (recheck) deadline = monotonic_now_ns() + deadlock_recheck_ns;
    }
    if (running_under_tsan()) {
        // TSan runs a signal handler only when the receiving thread is in
        // (or next enters) a call it intercepts, and the futex system call
        // is not one: an M asleep here would hold a SIGTERM meant for
        // signal_notify indefinitely. Wake now and then.
        const std::int64_t slice = monotonic_now_ns() + tsan_idle_slice_ns;
        if (deadline < 0 || deadline > slice) deadline = slice;
    }
    while (m.wakeup.load(std::memory_order_acquire) == 0) {
        futex_wait(m.wakeup, 0, deadline);
        if (deadline >= 0 && monotonic_now_ns() >= deadline) break;
    }
    std::lock_guard<std::mutex> g(s.lock);
    take_p_after_sleep_locked(m);
}

// Give the P up and sleep. Returns with m.p set when there is work again
// (or null: the caller loops).
void go_idle(machine& m) {
    scheduler& s = m.sched;
    s.stacks.trim_some();
    {
        // The P and this M go idle together, so a waker that takes the P
        // finds this M to run it rather than starting a new thread.
        std::lock_guard<std::mutex> g(s.lock);
        if (s.stopping.load(std::memory_order_acquire)) return;
        pidle_put_locked(s, m.p);
        m.p = nullptr;
        list_idle_locked(s, m);
    }
    stop_spinning(m);
    // Published idle (and not spinning): now look once more everywhere.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (any_work_visible(s)) {
        std::lock_guard<std::mutex> g(s.lock);
        take_p_after_sleep_locked(m);  // the P a waker handed us, or an idle one
        if (m.p) return;
        // Whoever took the Ps will find the work; sleep listed anew.
        list_idle_locked(s, m);
    }
    idle_sleep(m, true);
}

}  // namespace

void install_io_poller(io_poller* poller) noexcept { the_io_poller.store(poller, std::memory_order_release); }

io_poller* current_io_poller() noexcept { return the_io_poller.load(std::memory_order_acquire); }

void note_io_park() noexcept {
    machine* m = current_machine();
    if (!m || m->sched.poll_blocked.load(std::memory_order_relaxed)) return;
    if (m->sched.idle_count.load(std::memory_order_relaxed) == 0) return;
    wake_idle();  // the woken spinner finds nothing, gives its P up and polls
}

bool any_work_visible(scheduler& s) noexcept {
    if (s.global_queue.size_approx() != 0) return true;
    std::int64_t now = -1;
    for (auto& p : s.processors) {
        if (!p->runq.empty()) return true;
        std::int64_t when = p->timers.earliest_ns.load(std::memory_order_acquire);
        if (when != INT64_MAX) {
            if (now < 0) now = steady_now_ns();
            if (when <= now) return true;
        }
    }
    return false;
}

std::int64_t earliest_timer(scheduler& s) noexcept {
    std::int64_t earliest = INT64_MAX;
    for (auto& p : s.processors) earliest = std::min(earliest, p->timers.earliest_ns.load(std::memory_order_acquire));
    return earliest;
}

fiber* find_runnable(machine& m) {
    scheduler& s = m.sched;
    for (;;) {
        if (s.stopping.load(std::memory_order_acquire)) {
            stop_spinning(m);
            return nullptr;
        }
        if (!m.p) {
            idle_sleep(m, false);
            m.coarse_now_ns = coarse_clock_ns();
            continue;
        }
        processor& p = *m.p;
        m.pass_now_ns = -1;
        run_own_timers(m);
        if (++p.schedule_tick % global_queue_check_interval == 0) {
            m.coarse_now_ns = coarse_clock_ns();
            if (m.coarse_now_ns - s.last_poll_ns.load(std::memory_order_relaxed) >= busy_poll_interval_ns)
                poll_io_without_blocking(m, false);
            fiber* f = nullptr;
            if (s.global_queue.try_dequeue(f)) return found(m, f);
        }
        // A pair of fibers handing off through runnext would keep it
        // forever; after a streak of runnext picks the ring goes first.
        bool from_runnext = false;
        if (fiber* f = p.runq.pop(p.runnext_streak >= runnext_streak_limit, &from_runnext)) {
            p.runnext_streak = from_runnext ? p.runnext_streak + 1 : 0;
            return found(m, f);
        }
        if (fiber* f = take_from_global(m)) return found(m, f);
        if (fiber* f = poll_io_without_blocking(m, true)) return found(m, f);

        if (run_expired_timers_everywhere(m) > 0) continue;

        const int busy = s.procs - s.idle_count.load(std::memory_order_relaxed);
        if (m.spinning || 2 * s.spinning_count.load(std::memory_order_relaxed) < busy) {
            if (!m.spinning) {
                m.spinning = true;
                processor::count(p.spins);
                s.spinning_count.fetch_add(1, std::memory_order_seq_cst);
            }
            if (fiber* f = steal_work(m)) return found(m, f);
            if (fiber* f = spin_for_work(m)) return found(m, f);
        }
        go_idle(m);
        m.coarse_now_ns = coarse_clock_ns();
    }
}

}  // namespace goro::detail
