// runtime/src/synctest.cpp — goro::synctest::wait and the end of a bubble's
// main fiber (the rest of a bubble lives where the rest of the runtime
// does: its clock in sleep.cpp, its look in deadlock.cpp, its start and
// end in run.cpp).
//
// Invariants (scheduler::lock guards the bubble_* fields):
//   - At most one fiber is in synctest::wait: bubble_wait_claimed is set
//     under the lock before it parks and cleared by that fiber once it runs
//     again; bubble_waiter names it only while it is parked, and whoever
//     takes it from there (check_bubble) readies it, once.
//   - bubble_drainer is main, parked after its function returned, until
//     check_bubble sees it alone and readies it.

#include <mutex>

#include <goro/panic.hpp>
#include <goro/synctest.hpp>

#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"

namespace goro::detail {

namespace {

// Parks the caller in `slot` (under the lock, on the scheduler stack) unless
// main is alone already (drain) — then returns false and the fiber goes on.
struct bubble_park {
    scheduler* s;
    fiber* self;
    fiber** slot;
    bool only_if_others;
};

bool commit_bubble_park(void* arg) {
    auto* p = static_cast<bubble_park*>(arg);
    std::lock_guard<std::mutex> g(p->s->lock);
    if (p->only_if_others && goro::num_fibers() <= 1) return false;
    *p->slot = p->self;
    return true;
}

}  // namespace

bool in_bubble() noexcept {
    scheduler* s = active_scheduler();
    return s && s->bubble;
}

void bubble_wait() {
    machine* m = current_machine();
    fiber* self = current_fiber();
    if (!m || !self || !m->sched.bubble)
        throw goro::panic_error("goro::synctest::wait: called outside a fiber of goro::synctest::run");
    scheduler& s = m->sched;
    {
        std::lock_guard<std::mutex> g(s.lock);
        if (s.bubble_wait_claimed)
            throw goro::panic_error("goro::synctest::wait: another fiber of the bubble is waiting already");
        s.bubble_wait_claimed = true;
    }
    bubble_park p{&s, self, &s.bubble_waiter, false};
    park(wait_reason::synctest_wait, &commit_bubble_park, &p);
    std::lock_guard<std::mutex> g(s.lock);
    s.bubble_wait_claimed = false;
}

void drain_bubble(scheduler& s) {
    fiber* self = current_fiber();
    bubble_park p{&s, self, &s.bubble_drainer, true};
    park(wait_reason::synctest_run, &commit_bubble_park, &p);
}

}  // namespace goro::detail
