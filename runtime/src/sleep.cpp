// runtime/src/sleep.cpp — the clocks, sleeping, and the timer calls that
// the layers above use (timer channels, contexts, socket deadlines).
//
// Two clocks: goro's (steady_now_ns), which timers, sleeps, deadlines and
// goro::now read, and the machine's (monotonic_now_ns), which the runtime's
// own bookkeeping reads (spin budgets, sysmon, futex deadlines). They are
// the same clock except inside goro::synctest::run, where goro's is virtual.
//
// Invariants: a timer goes on the heap of the P that the adding thread
// holds; a thread holding none (a plain thread, an M whose P was taken)
// uses P0's heap. Heaps are locked (runtime/detail/timer.hpp), so adding to
// a P one does not hold is safe; which heap only decides whose M fires it
// first (any M runs another P's expired timers when it looks for work).

#include <time.h>

#include <atomic>
#include <cerrno>
#include <optional>

#include <goro/runtime.hpp>

#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"

namespace goro::detail {

void preemption_point() noexcept;

namespace {

// The virtual clock of goro::synctest::run: on for the length of such a run
// (one at a time: runs never overlap), moved only by advance_virtual_clock,
// which the deadlock check calls under scheduler::lock once every fiber is
// durably blocked. Every M reads it after taking a P under that lock, so
// the release/acquire pair is all the ordering it needs.
std::atomic<bool> virtual_clock_on{false};
std::atomic<std::int64_t> virtual_now_ns{0};

}  // namespace

std::int64_t monotonic_now_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// goro's clock: the one every timer, sleep and deadline reads.
std::int64_t steady_now_ns() noexcept {
    if (virtual_clock_on.load(std::memory_order_relaxed)) [[unlikely]]
        return virtual_now_ns.load(std::memory_order_acquire);
    return monotonic_now_ns();
}

void start_virtual_clock(std::int64_t start_ns) noexcept {
    virtual_now_ns.store(start_ns, std::memory_order_release);
    virtual_clock_on.store(true, std::memory_order_seq_cst);
}

void stop_virtual_clock() noexcept { virtual_clock_on.store(false, std::memory_order_seq_cst); }

void advance_virtual_clock(std::int64_t to_ns) noexcept {
    if (to_ns > virtual_now_ns.load(std::memory_order_relaxed)) virtual_now_ns.store(to_ns, std::memory_order_release);
}

// Cheap (about 5 ns) and 4 ms coarse: enough for "how long has it waited".
std::int64_t coarse_clock_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {

struct sleep_timer : timer_node {
    fiber* sleeper = nullptr;
};

void wake_sleeper(timer_node* t) { ready(static_cast<sleep_timer*>(t)->sleeper); }

timer_heap& heap_for(scheduler& s, processor* p) noexcept { return p ? p->timers : s.processors[0]->timers; }

}  // namespace

timer_heap* add_timer(timer_node* t, std::uint64_t* run_id) {
    const std::int64_t when = t->when_ns;  // t may fire and change once added
    runtime_entry entry;
    std::optional<plain_thread_scope> scope;
    scheduler* s = nullptr;
    if (entry.m) {
        s = &entry.m->sched;
    } else {
        scope.emplace();
        s = scope->sched;
        if (!s) return nullptr;
    }
    *run_id = s->run_id;
    timer_heap& heap = heap_for(*s, entry.p);
    heap.add(t);
    timer_added(*s, when);
    return &heap;
}

bool remove_timer(timer_node* t, timer_heap* heap, std::uint64_t run_id) {
    if (!heap) return false;
    runtime_entry entry;
    std::optional<plain_thread_scope> scope;
    scheduler* s = entry.m ? &entry.m->sched : (scope.emplace(), scope->sched);
    // A heap of an older runtime is gone with it.
    if (!s || s->run_id != run_id) return false;
    return heap->remove(t);
}

void sleep_until_steady(std::int64_t deadline_ns) {
    fiber* self = current_fiber();
    if (!self) {
        // A plain thread sleeps in real time. The deadline is on goro's
        // clock, which a virtual clock may run: sleep what is left of it.
        const std::int64_t left = deadline_ns - steady_now_ns();
        if (left > 0) {
            const std::int64_t until = monotonic_now_ns() + left;
            timespec ts{static_cast<time_t>(until / 1'000'000'000), static_cast<long>(until % 1'000'000'000)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
            }
        }
        return;
    }
    // As Go's time.Sleep: a deadline already past returns at once, with
    // no trip through the scheduler (a goro call all the same).
    if (deadline_ns <= steady_now_ns()) {
        preemption_point();
        return;
    }
    sleep_timer t;
    t.when_ns = deadline_ns;
    t.fire = &wake_sleeper;
    t.sleeper = self;
    park(
        wait_reason::sleep,
        [](void* arg) {
            auto* timer = static_cast<sleep_timer*>(arg);
            const std::int64_t when = timer->when_ns;  // timer may fire and vanish once added
            machine* m = current_machine();  // on its scheduler stack: inside the runtime
            heap_for(m->sched, m->p).add(timer);
            timer_added(m->sched, when);
            return true;
        },
        &t);
}

void sleep_for_ns(std::int64_t ns) { sleep_until_steady(deadline_after(ns)); }

}  // namespace goro::detail

namespace goro {

time_point now() noexcept {
    detail::preemption_point();
    return time_point(std::chrono::nanoseconds(detail::steady_now_ns()));
}

}  // namespace goro
