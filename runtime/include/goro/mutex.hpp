// goro/mutex.hpp — sync.Mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>  // std::lock_guard, std::unique_lock, std::scoped_lock work with goro::mutex

namespace goro {

// A mutual exclusion lock that parks the fiber (or blocks the plain thread)
// while it waits, never the worker. Meets Lockable, so std::lock_guard,
// std::unique_lock and std::scoped_lock work. As in Go it is not tied to the
// fiber that locked it, and it is fair in Go's way: a waiter that has waited
// more than 1 ms switches the mutex to starvation mode, where unlock hands
// ownership directly to the oldest waiter. Unlocking an unlocked mutex is a
// fatal error (`fatal error: sync: unlock of unlocked mutex`), as in Go.
class mutex {
public:
    mutex() = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;

    void lock() {
        std::int32_t unlocked = 0;
        if (state_.compare_exchange_strong(unlocked, locked_bit, std::memory_order_acquire)) return;
        lock_slow();
    }
    bool try_lock();
    void unlock() {
        std::int32_t left = state_.fetch_sub(locked_bit, std::memory_order_release) - locked_bit;
        if (left != 0) unlock_slow(left);
    }

private:
    friend class rw_mutex;
    static constexpr std::int32_t locked_bit = 1;
    void lock_slow();
    void unlock_slow(std::int32_t left);

    std::atomic<std::int32_t> state_{0};  // locked | woken | starving | waiters << 3
    std::uint32_t sema_ = 0;
};

}  // namespace goro
