// channels/src/semaphore.cpp — goro::semaphore, after x/sync's Weighted: a
// mutex-guarded count and a FIFO of waiters, each with its own channel that
// release closes once it has assigned the waiter its units.
#include <goro/panic.hpp>
#include <goro/select.hpp>
#include <goro/semaphore.hpp>

#include <mutex>

namespace goro {

std::error_code semaphore::acquire(const context& ctx, std::int64_t k) {
    const chan<std::monostate> done = ctx.done();
    std::unique_lock lock(mu_);
    if (size_ - cur_ >= k && waiters_.empty()) {
        cur_ += k;
        return {};
    }
    if (k > size_) {
        // Doomed: wait for the context alone, so that no request behind this
        // one is held back by it.
        lock.unlock();
        done.recv();
        return ctx.err();
    }
    const chan<std::monostate> ready = make_chan<std::monostate>();
    const auto it = waiters_.insert(waiters_.end(), waiter{k, ready});
    lock.unlock();

    if (select(recv(done), recv(ready)) == 1) return {};

    lock.lock();
    bool assigned = false;
    ready.try_recv(&assigned);
    if (assigned) {
        // release assigned the units after the context ended: give them back.
        cur_ -= k;
        notify_waiters();
    } else {
        const bool front = it == waiters_.begin();
        waiters_.erase(it);
        // The head left: the next ones may fit in what is free now.
        if (front && size_ > cur_) notify_waiters();
    }
    return ctx.err();
}

bool semaphore::try_acquire(std::int64_t k) {
    std::lock_guard lock(mu_);
    const bool ok = size_ - cur_ >= k && waiters_.empty();
    if (ok) cur_ += k;
    return ok;
}

void semaphore::release(std::int64_t k) {
    std::lock_guard lock(mu_);
    if (cur_ - k < 0) throw panic_error("semaphore: released more than held");
    cur_ -= k;
    notify_waiters();
}

void semaphore::notify_waiters() {
    while (!waiters_.empty()) {
        waiter& w = waiters_.front();
        // Not enough for the head: stop, even if a later one would fit, so
        // that a large request is not starved by a stream of small ones.
        if (size_ - cur_ < w.k) break;
        cur_ += w.k;
        w.ready.close();
        waiters_.pop_front();
    }
}

}  // namespace goro
