// runtime/src/sema.cpp — the address-keyed semaphore (Go's sema.go).
//
// Invariants:
//   - Waiters for all addresses that hash to one bucket share its FIFO list;
//     the list, and every waiter's links while queued, are guarded by the
//     bucket's spinlock. Waiter records live on the waiting fiber's (or
//     thread's) stack and stay valid until it is readied.
//   - bucket.waiting counts queued waiters plus acquirers about to queue; it
//     lets semrelease skip the lock when nobody waits. It is incremented
//     under the lock before the final try, so a release that sees zero came
//     before that try and the try sees its count.
//   - A waiter is dequeued (under the lock) by exactly one semrelease, which
//     then readies it exactly once.

#include "runtime/detail/sema.hpp"

#include <atomic>
#include <mutex>

#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/spinlock.hpp"

namespace goro::detail {

namespace {

struct sema_waiter {
    fiber* waiter = nullptr;
    std::uint32_t* count = nullptr;
    sema_waiter* prev = nullptr;
    sema_waiter* next = nullptr;
    bool handed_off = false;  // semrelease passed its count straight to us
};

struct alignas(64) sema_bucket {
    spinlock lock;
    std::atomic<std::uint32_t> waiting{0};
    sema_waiter* head = nullptr;
    sema_waiter* tail = nullptr;

    void enqueue(sema_waiter* w, bool lifo) {
        sema_waiter* before = nullptr;  // insert before this one (null = at the tail)
        if (lifo) {
            for (sema_waiter* x = head; x; x = x->next)
                if (x->count == w->count) {
                    before = x;
                    break;
                }
        }
        w->next = before;
        w->prev = before ? before->prev : tail;
        if (w->prev)
            w->prev->next = w;
        else
            head = w;
        if (before)
            before->prev = w;
        else
            tail = w;
    }

    sema_waiter* dequeue(std::uint32_t* count) {
        for (sema_waiter* x = head; x; x = x->next) {
            if (x->count != count) continue;
            (x->prev ? x->prev->next : head) = x->next;
            (x->next ? x->next->prev : tail) = x->prev;
            x->prev = x->next = nullptr;
            return x;
        }
        return nullptr;
    }
};

constexpr std::size_t bucket_count = 251;
sema_bucket buckets[bucket_count];

sema_bucket& bucket_for(std::uint32_t* count) {
    return buckets[(reinterpret_cast<std::uintptr_t>(count) >> 3) % bucket_count];
}

bool try_acquire(std::uint32_t* count) {
    std::atomic_ref<std::uint32_t> c(*count);
    // seq_cst: pairs with semrelease's count increment and `waiting` load.
    std::uint32_t v = c.load(std::memory_order_seq_cst);
    while (v > 0)
        if (c.compare_exchange_weak(v, v - 1, std::memory_order_acquire)) return true;
    return false;
}

}  // namespace

void sema_forget_fibers() noexcept {
    for (sema_bucket& b : buckets) {
        std::lock_guard<spinlock> g(b.lock);
        for (sema_waiter* x = b.head; x;) {
            sema_waiter* next = x->next;
            if (!x->waiter->is_thread) {
                (x->prev ? x->prev->next : b.head) = x->next;
                (x->next ? x->next->prev : b.tail) = x->prev;
                b.waiting.fetch_sub(1, std::memory_order_relaxed);
            }
            x = next;
        }
    }
}

namespace {

// In a bubble (goro::synctest::run), a fiber waiting on a mutex or an
// rw_mutex is not durably blocked: counted here while it waits, so that
// virtual time does not move under it.
struct nondurable_wait {
    explicit nondurable_wait(wait_reason reason) noexcept {
        if (reason != wait_reason::mutex && reason != wait_reason::rw_mutex_read &&
            reason != wait_reason::rw_mutex_write)
            return;
        machine* m = current_machine();
        if (!m || !m->sched.bubble) return;
        counted = &m->sched.bubble_nondurable;
        counted->fetch_add(1, std::memory_order_acq_rel);
    }
    ~nondurable_wait() {
        if (counted) counted->fetch_sub(1, std::memory_order_acq_rel);
    }
    nondurable_wait(const nondurable_wait&) = delete;
    nondurable_wait& operator=(const nondurable_wait&) = delete;
    std::atomic<int>* counted = nullptr;
};

}  // namespace

void semacquire(std::uint32_t* count, bool lifo, wait_reason reason) {
    if (try_acquire(count)) return;
    sema_bucket& b = bucket_for(count);
    sema_waiter self;
    self.waiter = current_waiter();
    self.count = count;
    for (;;) {
        b.lock.lock();
        b.waiting.fetch_add(1, std::memory_order_seq_cst);
        if (try_acquire(count)) {
            b.waiting.fetch_sub(1, std::memory_order_relaxed);
            b.lock.unlock();
            return;
        }
        self.handed_off = false;
        b.enqueue(&self, lifo);
        const nondurable_wait nondurable(reason);
        park(
            reason,
            [](void* bucket) {
                static_cast<sema_bucket*>(bucket)->lock.unlock();
                return true;
            },
            &b);
        if (self.handed_off || try_acquire(count)) return;
    }
}

void semrelease(std::uint32_t* count, bool handoff) {
    std::atomic_ref<std::uint32_t>(*count).fetch_add(1, std::memory_order_seq_cst);
    sema_bucket& b = bucket_for(count);
    if (b.waiting.load(std::memory_order_seq_cst) == 0) return;
    b.lock.lock();
    if (b.waiting.load(std::memory_order_relaxed) == 0) {
        b.lock.unlock();
        return;
    }
    sema_waiter* w = b.dequeue(count);
    if (w) b.waiting.fetch_sub(1, std::memory_order_relaxed);
    b.lock.unlock();
    if (!w) return;
    bool handed = handoff && try_acquire(count);
    w->handed_off = handed;
    fiber* waiter = w->waiter;  // w may vanish once the waiter runs
    ready(waiter);
    if (handed) yield_to_readied();
}

}  // namespace goro::detail
