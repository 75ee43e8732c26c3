// channels/src/time.cpp — timer channels and AfterFunc timers on the
// runtime's timer heaps (Go's time.NewTimer, NewTicker, After, Tick,
// AfterFunc, with Go 1.23's synchronous-channel semantics).
//
// Ownership:
//   - A channel timer's state is owned jointly by its channel (which holds
//     one reference for as long as the channel lives) and by the goro::timer
//     or goro::ticker object, if any. The heap holds no reference: when the
//     channel's last reference goes, timer_channel_released takes the timer
//     out of its heap, so an unreferenced timer costs nothing (Go 1.23).
//   - An AfterFunc timer has no channel; while it is in a heap the heap owns
//     one reference, which its firing hands to the fiber that runs f.
//
// Locks, in the only order they are taken:
//   timer_state::lock  →  the timer heap's lock  →  the channel's lock.
// timer_state::lock serializes stop, reset and the channel's death. The fire
// callbacks run under the heap's lock and take only the channel's lock (a
// non-blocking send), so they never wait for timer_state::lock. Because a
// fire runs under the heap's lock, once remove_timer returns no fire of that
// timer is running or will run: stop then drains the one-slot buffer, and no
// value from before the stop can be received after it.

#include <atomic>
#include <mutex>

#include <goro/time.hpp>

#include "channels/detail/hchan.hpp"
#include "runtime/detail/fatal.hpp"
#include "runtime/detail/spinlock.hpp"
#include "runtime/detail/timer.hpp"

namespace goro::detail {

struct timer_state : timer_node {
    spinlock lock;
    std::atomic<int> refs{1};
    // Guarded by lock.
    timer_heap* heap = nullptr;  // the heap it was last added to
    std::uint64_t run_id = 0;    // the runtime that heap belongs to
    // Set before the timer is first armed. c is cleared (under lock, after
    // the timer is out of its heap) when the channel dies; fires read it
    // under the heap's lock, which orders them with that clearing.
    hchan* c = nullptr;
    std::function<void()> func;  // AfterFunc timers
};

namespace {

// Fire of a channel timer: offer the due time without blocking; a full
// buffer (a ticker whose receiver is slow) drops it.
void send_time(timer_node* node) {
    auto* t = static_cast<timer_state*>(node);
    if (!t->c) return;
    time_point due{std::chrono::nanoseconds(node->when_ns)};
    chan_offer(t->c, &due);
}

// Fire of an AfterFunc timer: run func on a fiber of its own; the heap's
// reference goes to that fiber.
void start_func(timer_node* node) {
    auto* t = static_cast<timer_state*>(node);
    try {
        goro::go(spawn_options{.stack_size = 0, .name = "after_func"}, [t] {
            struct release_on_exit {
                timer_state* t;
                ~release_on_exit() { timer_release(t); }
            } guard{t};
            t->func();
        });
    } catch (...) {
        GORO_FATAL("runtime: could not start the fiber of an after_func timer");
    }
}

// Arms t (lock held). An AfterFunc timer gives the heap a reference.
void arm_locked(timer_state* t) {
    if (t->func) t->refs.fetch_add(1, std::memory_order_relaxed);
    t->heap = add_timer(t, &t->run_id);
    if (!t->heap) {
        if (t->func) t->refs.fetch_sub(1, std::memory_order_relaxed);
        throw panic_error("goro: timers need a running runtime (call inside goro::run)");
    }
}

// Disarms t (lock held): true if it was in its heap.
bool disarm_locked(timer_state* t) {
    const bool removed = remove_timer(t, t->heap, t->run_id);
    t->heap = nullptr;
    if (removed && t->func) t->refs.fetch_sub(1, std::memory_order_relaxed);  // the caller holds another
    return removed;
}

// Stop under lock: disarm, and discard a value fired but not yet received
// (it counts as not yet fired, as in Go 1.23).
bool stop_locked(timer_state* t) {
    bool pending = disarm_locked(t);
    if (t->c && chan_drain(t->c) > 0) pending = true;
    return pending;
}

}  // namespace

void timer_retain(timer_state* t) noexcept { t->refs.fetch_add(1, std::memory_order_relaxed); }

void timer_release(timer_state* t) noexcept {
    if (t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete t;
}

hchan* timer_channel_make(std::int64_t when_ns, std::int64_t period_ns, timer_state** state) {
    auto* t = new timer_state;
    t->refs.store(2, std::memory_order_relaxed);  // the channel's and the caller's
    t->when_ns = when_ns;
    t->period_ns = period_ns;
    t->fire = &send_time;
    hchan* c = nullptr;
    try {
        c = chan_make(&element_ops_for<time_point>, 1);
    } catch (...) {
        delete t;
        throw;
    }
    c->timer = t;
    t->c = c;
    try {
        std::lock_guard<spinlock> g(t->lock);
        arm_locked(t);
    } catch (...) {
        t->c = nullptr;
        c->timer = nullptr;
        chan_release(c);
        delete t;
        throw;
    }
    *state = t;
    return c;
}

timer_state* func_timer_make(std::int64_t when_ns, std::function<void()> f) {
    auto* t = new timer_state;
    t->when_ns = when_ns;
    t->fire = &start_func;
    t->func = std::move(f);
    try {
        std::lock_guard<spinlock> g(t->lock);
        arm_locked(t);
    } catch (...) {
        delete t;
        throw;
    }
    return t;
}

bool timer_stop(timer_state* t) {
    std::lock_guard<spinlock> g(t->lock);
    return stop_locked(t);
}

bool timer_reset(timer_state* t, std::int64_t when_ns, std::int64_t period_ns) {
    std::lock_guard<spinlock> g(t->lock);
    const bool pending = stop_locked(t);
    if (!t->c && !t->func) return pending;  // its channel is gone: nobody could receive
    t->when_ns = when_ns;
    t->period_ns = period_ns;
    arm_locked(t);
    return pending;
}

// The channel of a timer lost its last reference (chan.cpp).
void timer_channel_released(hchan* c) noexcept {
    timer_state* t = c->timer;
    {
        std::lock_guard<spinlock> g(t->lock);
        disarm_locked(t);
        t->c = nullptr;
    }
    timer_release(t);
}

}  // namespace goro::detail
