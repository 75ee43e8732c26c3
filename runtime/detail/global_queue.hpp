// runtime/detail/global_queue.hpp — the scheduler's global run queue (Go's
// sched.runq): overflow from full P rings and every fiber made runnable
// by a thread that holds no P.
//
// Invariants and who guards what:
//   - Any thread may enqueue; workers dequeue. Every operation is safe to
//     call concurrently with every other.
//   - size_approx() may lag a concurrent enqueue; the idle protocol does not
//     rely on it being exact, only on an enqueue that completed before a
//     seq_cst publish being visible after it (docs/design.md, "Idle and
//     wake-up").
//
// The queue is moodycamel's lock-free ConcurrentQueue, except under
// ThreadSanitizer. moodycamel orders some of its accesses with standalone
// fences, which TSan does not model, so TSan reports races inside it that
// are not there (its implicit producers, reused by threads with a recycled
// id, are the common case). A TSan build would then either fail on them or
// need suppressions that would also hide a real race whose stack passes
// through the queue. Instead TSan builds use a mutex and a deque, whose
// happens-before edges TSan sees exactly, so what it checks is the
// scheduler's own synchronisation.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_THREAD__)
#define GORO_GLOBAL_QUEUE_LOCKED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORO_GLOBAL_QUEUE_LOCKED 1
#endif
#endif

#ifdef GORO_GLOBAL_QUEUE_LOCKED
#include <atomic>
#include <deque>
#include <mutex>
#else
#include <concurrentqueue/concurrentqueue.h>
#endif

#include "runtime/detail/fiber.hpp"

namespace goro::detail {

#ifndef GORO_GLOBAL_QUEUE_LOCKED

class global_run_queue {
public:
    void enqueue(fiber* f) { queue_.enqueue(f); }
    void enqueue_bulk(fiber* const* fibers, std::size_t count) { queue_.enqueue_bulk(fibers, count); }
    bool try_dequeue(fiber*& f) { return queue_.try_dequeue(f); }
    std::size_t try_dequeue_bulk(fiber** out, std::size_t max) { return queue_.try_dequeue_bulk(out, max); }
    std::size_t size_approx() const { return queue_.size_approx(); }

private:
    moodycamel::ConcurrentQueue<fiber*> queue_;
};

#else

class global_run_queue {
public:
    void enqueue(fiber* f) {
        std::lock_guard<std::mutex> hold(lock_);
        fibers_.push_back(f);
        size_.store(fibers_.size(), std::memory_order_seq_cst);
    }
    void enqueue_bulk(fiber* const* fibers, std::size_t count) {
        std::lock_guard<std::mutex> hold(lock_);
        fibers_.insert(fibers_.end(), fibers, fibers + count);
        size_.store(fibers_.size(), std::memory_order_seq_cst);
    }
    bool try_dequeue(fiber*& f) { return try_dequeue_bulk(&f, 1) == 1; }
    std::size_t try_dequeue_bulk(fiber** out, std::size_t max) {
        std::lock_guard<std::mutex> hold(lock_);
        std::size_t n = 0;
        while (n < max && !fibers_.empty()) {
            out[n++] = fibers_.front();
            fibers_.pop_front();
        }
        size_.store(fibers_.size(), std::memory_order_seq_cst);
        return n;
    }
    // Read without the lock, as the lock-free queue's is: callers poll it.
    std::size_t size_approx() const { return size_.load(std::memory_order_seq_cst); }

private:
    std::mutex lock_;
    std::deque<fiber*> fibers_;
    std::atomic<std::size_t> size_{0};
};

#endif

}  // namespace goro::detail
