// runtime/src/sync.cpp — goro::mutex, rw_mutex, wait_group and cond, with
// Go's algorithms (sync/mutex.go, rwmutex.go, waitgroup.go and the runtime's
// notifyList), on top of the address-keyed semaphore.
//
// mutex state word: bit 0 locked, bit 1 woken (a waiter was woken and is
// competing, so unlock need not wake another), bit 2 starving (ownership is
// handed directly to the front waiter), bits 3.. the number of waiters.
// Normal mode lets a running fiber barge ahead of woken waiters, which is
// fast; a waiter that has waited over 1 ms switches the mutex to starvation
// mode, where new arrivals queue at the tail and unlock hands over, which is
// fair. The last waiter, or one that waited under 1 ms, switches it back.

#include <atomic>
#include <climits>
#include <mutex>

#include <goro/cond.hpp>
#include <goro/mutex.hpp>
#include <goro/panic.hpp>
#include <goro/rw_mutex.hpp>
#include <goro/runtime.hpp>
#include <goro/wait_group.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/sema.hpp"
#include "runtime/detail/spinlock.hpp"

namespace goro {

namespace {

constexpr std::int32_t mutex_locked = 1;
constexpr std::int32_t mutex_woken = 2;
constexpr std::int32_t mutex_starving = 4;
constexpr int mutex_waiter_shift = 3;
constexpr std::int64_t starvation_threshold_ns = 1'000'000;
constexpr int active_spin_rounds = 4;
constexpr int spin_pauses = 30;

// Spin only while it can pay off: a few rounds, with another worker running
// the lock holder, and nothing else waiting to run here.
bool can_spin(int iteration) {
    if (iteration >= active_spin_rounds) return false;
    detail::runtime_entry entry;
    if (!entry.m) return true;  // a plain thread
    if (!entry.p) return false;  // its P was taken: give the thread back soon
    detail::scheduler& s = entry.m->sched;
    if (s.procs <= 1) return false;
    if (s.procs <= s.idle_count.load(std::memory_order_relaxed) + s.spinning_count.load(std::memory_order_relaxed) + 1)
        return false;
    return entry.p->runq.empty();
}

}  // namespace

// ------------------------------------------------------------------ mutex

bool mutex::try_lock() {
    detail::preemption_point();
    std::int32_t old = state_.load(std::memory_order_relaxed);
    for (;;) {
        if (old & (mutex_locked | mutex_starving)) return false;
        if (state_.compare_exchange_weak(old, old | mutex_locked, std::memory_order_acquire)) return true;
    }
}

void mutex::lock_slow() {
    detail::preemption_point();
    std::int64_t wait_start = 0;
    bool starving = false;
    bool awoke = false;
    int iteration = 0;
    std::int32_t old = state_.load(std::memory_order_relaxed);
    for (;;) {
        // Spin while locked in normal mode, telling unlock not to wake others.
        if ((old & (mutex_locked | mutex_starving)) == mutex_locked && can_spin(iteration)) {
            if (!awoke && (old & mutex_woken) == 0 && (old >> mutex_waiter_shift) != 0 &&
                state_.compare_exchange_strong(old, old | mutex_woken, std::memory_order_relaxed))
                awoke = true;
            for (int i = 0; i < spin_pauses; ++i) detail::cpu_relax();
            ++iteration;
            old = state_.load(std::memory_order_relaxed);
            continue;
        }
        std::int32_t next = old;
        if ((old & mutex_starving) == 0) next |= mutex_locked;  // never barge in starvation mode
        if (old & (mutex_locked | mutex_starving)) next += 1 << mutex_waiter_shift;
        if (starving && (old & mutex_locked)) next |= mutex_starving;
        if (awoke) {
            if ((next & mutex_woken) == 0) detail::fatal_exit("sync: inconsistent mutex state");
            next &= ~mutex_woken;
        }
        if (!state_.compare_exchange_weak(old, next, std::memory_order_acquire, std::memory_order_relaxed)) continue;
        if ((old & (mutex_locked | mutex_starving)) == 0) return;  // locked it

        const bool queue_front = wait_start != 0;
        if (wait_start == 0) wait_start = detail::monotonic_now_ns();
        detail::semacquire(&sema_, queue_front, detail::wait_reason::mutex);
        starving = starving || detail::monotonic_now_ns() - wait_start > starvation_threshold_ns;
        old = state_.load(std::memory_order_relaxed);
        if (old & mutex_starving) {
            // Ownership was handed to us; the state still says unlocked with us waiting.
            if ((old & (mutex_locked | mutex_woken)) != 0 || (old >> mutex_waiter_shift) == 0)
                detail::fatal_exit("sync: inconsistent mutex state");
            std::int32_t delta = mutex_locked - (1 << mutex_waiter_shift);
            if (!starving || (old >> mutex_waiter_shift) == 1) delta -= mutex_starving;  // leave starvation mode
            state_.fetch_add(delta, std::memory_order_acquire);
            return;
        }
        awoke = true;
        iteration = 0;
    }
}

void mutex::unlock_slow(std::int32_t left) {
    if (((left + mutex_locked) & mutex_locked) == 0) detail::fatal_exit("sync: unlock of unlocked mutex");
    if ((left & mutex_starving) == 0) {
        std::int32_t old = left;
        for (;;) {
            // Nobody to wake, or someone already woke, spins or holds the lock.
            if ((old >> mutex_waiter_shift) == 0 || (old & (mutex_locked | mutex_woken | mutex_starving)) != 0)
                return;
            std::int32_t next = (old - (1 << mutex_waiter_shift)) | mutex_woken;
            if (state_.compare_exchange_weak(old, next, std::memory_order_release, std::memory_order_relaxed)) {
                detail::semrelease(&sema_, false);
                return;
            }
        }
    }
    // Starvation mode: hand ownership to the front waiter and let it run.
    detail::semrelease(&sema_, true);
}

// --------------------------------------------------------------- rw_mutex

namespace {
constexpr std::int32_t max_readers = 1 << 30;
}

void rw_mutex::lock_shared() {
    detail::preemption_point();
    if (reader_count_.fetch_add(1, std::memory_order_acquire) + 1 < 0) {
        // A writer is pending: wait for it.
        detail::semacquire(&reader_sema_, false, detail::wait_reason::rw_mutex_read);
    }
}

bool rw_mutex::try_lock_shared() {
    detail::preemption_point();
    std::int32_t c = reader_count_.load(std::memory_order_relaxed);
    for (;;) {
        if (c < 0) return false;
        if (reader_count_.compare_exchange_weak(c, c + 1, std::memory_order_acquire)) return true;
    }
}

void rw_mutex::unlock_shared() {
    std::int32_t r = reader_count_.fetch_sub(1, std::memory_order_release) - 1;
    if (r >= 0) return;
    if (r + 1 == 0 || r + 1 == -max_readers) detail::fatal_exit("sync: RUnlock of unlocked RWMutex");
    // A writer is pending; the last departing reader lets it in.
    if (reader_wait_.fetch_sub(1, std::memory_order_acq_rel) - 1 == 0) detail::semrelease(&writer_sema_, false);
}

void rw_mutex::lock() {
    detail::preemption_point();
    writer_.lock();  // first resolve competition with other writers
    // Announce the pending writer to readers, then wait for active ones.
    std::int32_t r = reader_count_.fetch_sub(max_readers, std::memory_order_acq_rel);
    if (r != 0 && reader_wait_.fetch_add(r, std::memory_order_acq_rel) + r != 0)
        detail::semacquire(&writer_sema_, false, detail::wait_reason::rw_mutex_write);
}

bool rw_mutex::try_lock() {
    detail::preemption_point();
    if (!writer_.try_lock()) return false;
    std::int32_t none = 0;
    if (!reader_count_.compare_exchange_strong(none, -max_readers, std::memory_order_acquire)) {
        writer_.unlock();
        return false;
    }
    return true;
}

void rw_mutex::unlock() {
    std::int32_t r = reader_count_.fetch_add(max_readers, std::memory_order_release) + max_readers;
    if (r >= max_readers) detail::fatal_exit("sync: Unlock of unlocked RWMutex");
    for (std::int32_t i = 0; i < r; ++i) detail::semrelease(&reader_sema_, false);  // readers that queued behind us
    writer_.unlock();
}

// ------------------------------------------------------------- wait_group

void wait_group::add(std::int64_t delta) {
    detail::preemption_point();
    std::uint64_t state = state_.load(std::memory_order_relaxed);
    std::int64_t counter;
    std::uint32_t waiters;
    std::uint64_t next;
    for (;;) {
        counter = static_cast<std::int32_t>(state >> 32) + delta;
        waiters = static_cast<std::uint32_t>(state);
        if (counter < 0) throw panic_error("sync: negative WaitGroup counter");
        if (counter > INT32_MAX) throw panic_error("sync: WaitGroup counter overflow");
        if (waiters != 0 && delta > 0 && counter == delta)
            throw panic_error("sync: WaitGroup misuse: Add called concurrently with Wait");
        next = (static_cast<std::uint64_t>(counter) << 32) | waiters;
        if (state_.compare_exchange_weak(state, next, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
    }
    if (counter > 0 || waiters == 0) return;
    // Counter reached zero with waiters: nobody may change the state now
    // (an add or wait meanwhile is misuse). Reset it and wake them all.
    if (state_.load(std::memory_order_relaxed) != next)
        throw panic_error("sync: WaitGroup misuse: Add called concurrently with Wait");
    state_.store(0, std::memory_order_release);  // a wait() that sees 0 sees the work before done()
    for (; waiters > 0; --waiters) detail::semrelease(&sema_, false);
}

void wait_group::wait() {
    detail::preemption_point();
    std::uint64_t state = state_.load(std::memory_order_acquire);
    for (;;) {
        if ((state >> 32) == 0) return;
        if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel)) {
            detail::semacquire(&sema_, false, detail::wait_reason::wait_group);
            if (state_.load(std::memory_order_acquire) != 0)
                throw panic_error("sync: WaitGroup is reused before previous Wait has returned");
            return;
        }
    }
}

// ------------------------------------------------------------------- cond

namespace {

struct notify_waiter {
    std::uint32_t ticket;
    detail::fiber* waiter;
    notify_waiter* next = nullptr;
};

bool ticket_before(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }

}  // namespace

void cond::notify_list::lock() noexcept {
    while (locked.exchange(true, std::memory_order_acquire))
        while (locked.load(std::memory_order_relaxed)) detail::cpu_relax();
}

void cond::notify_list::unlock() noexcept { locked.store(false, std::memory_order_release); }

void cond::wait() {
    detail::preemption_point();
    const std::uint32_t ticket = notify_.wait_ticket.fetch_add(1, std::memory_order_acq_rel);
    unlock_fn_(lock_);
    notify_.lock();
    if (ticket_before(ticket, notify_.notify_ticket.load(std::memory_order_relaxed))) {
        notify_.unlock();  // signalled between taking the ticket and here
    } else {
        notify_waiter self{ticket, detail::current_waiter()};
        if (notify_.tail)
            static_cast<notify_waiter*>(notify_.tail)->next = &self;
        else
            notify_.head = &self;
        notify_.tail = &self;
        detail::park(
            detail::wait_reason::cond,
            [](void* list) {
                static_cast<notify_list*>(list)->unlock();
                return true;
            },
            &notify_);
    }
    lock_fn_(lock_);
}

void cond::signal() {
    detail::preemption_point();
    if (notify_.wait_ticket.load(std::memory_order_acquire) == notify_.notify_ticket.load(std::memory_order_acquire))
        return;  // nobody waiting: the fast path Go takes too
    notify_.lock();
    const std::uint32_t t = notify_.notify_ticket.load(std::memory_order_relaxed);
    if (t == notify_.wait_ticket.load(std::memory_order_acquire)) {
        notify_.unlock();
        return;
    }
    notify_.notify_ticket.store(t + 1, std::memory_order_release);
    // The holder of ticket t may not have queued yet; then it sees the
    // advanced notify_ticket and does not park.
    notify_waiter* prev = nullptr;
    for (auto* w = static_cast<notify_waiter*>(notify_.head); w; prev = w, w = w->next) {
        if (w->ticket != t) continue;
        if (prev)
            prev->next = w->next;
        else
            notify_.head = w->next;
        if (notify_.tail == w) notify_.tail = prev;
        detail::fiber* waiter = w->waiter;
        notify_.unlock();
        detail::ready(waiter);
        return;
    }
    notify_.unlock();
}

void cond::broadcast() {
    detail::preemption_point();
    if (notify_.wait_ticket.load(std::memory_order_acquire) == notify_.notify_ticket.load(std::memory_order_acquire))
        return;
    notify_.lock();
    notify_.notify_ticket.store(notify_.wait_ticket.load(std::memory_order_acquire), std::memory_order_release);
    auto* w = static_cast<notify_waiter*>(notify_.head);
    notify_.head = notify_.tail = nullptr;
    notify_.unlock();
    while (w) {
        notify_waiter* next = w->next;  // w vanishes once its waiter runs
        detail::ready(w->waiter);
        w = next;
    }
}

}  // namespace goro
