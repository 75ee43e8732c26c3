// goro/semaphore.hpp — golang.org/x/sync/semaphore's Weighted: a weighted
// semaphore whose waiters are served in FIFO order.
//
//   goro::semaphore sem(4);                    // at most 4 units held at once
//   if (auto ec = sem.acquire(ctx, 2)) return ec;   // the context's error
//   ...
//   sem.release(2);
#pragma once

#include <cstdint>
#include <list>
#include <system_error>
#include <variant>

#include <goro/chan.hpp>
#include <goro/context.hpp>
#include <goro/mutex.hpp>

namespace goro {

// Go's semaphore.Weighted. Waiters are served first come, first served: a
// large request at the head of the queue holds back smaller ones behind it
// even when they would fit (no barging), so large requests never starve.
// Parks fibers and blocks plain threads, in any mix.
class semaphore {
public:
    // semaphore.NewWeighted(n): n units in all.
    explicit semaphore(std::int64_t n) : size_(n) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;

    // Acquire(context.Background(), k): blocks until k units are held. More
    // than the semaphore's size blocks forever, as in Go.
    void acquire(std::int64_t k = 1) { (void)acquire(background(), k); }

    // Acquire(ctx, k): {} once k units are held, or ctx.err() if ctx is done
    // first, in which case nothing is held. If ctx is already done, this
    // still succeeds when the units are free at once and nobody waits. A
    // request for more than the size waits only for ctx, without holding
    // back the requests behind it.
    std::error_code acquire(const context& ctx, std::int64_t k = 1);

    // TryAcquire(k): takes k units without blocking, or returns false and
    // takes nothing (also when others are waiting).
    bool try_acquire(std::int64_t k = 1);

    // Release(k): gives back k units and wakes the waiters that now fit, in
    // order. Releasing more than is held throws
    // goro::panic_error("semaphore: released more than held") and changes
    // nothing.
    void release(std::int64_t k = 1);

private:
    struct waiter {
        std::int64_t k;
        chan<std::monostate> ready;  // closed once the units are assigned
    };
    void notify_waiters();  // with mu_ held

    const std::int64_t size_;
    std::int64_t cur_ = 0;
    mutex mu_;
    std::list<waiter> waiters_;
};

}  // namespace goro
