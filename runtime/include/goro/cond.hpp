// goro/cond.hpp — sync.Cond.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace goro {

// A condition variable bound to a lock (Go's c.L): goro::mutex, goro::rw_mutex
// (its writer side) or any Lockable. wait() unlocks the lock, parks until
// signal() or broadcast(), and locks it again before returning; as in Go, the
// caller re-checks its condition in a loop. Wake-ups are FIFO by arrival.
class cond {
public:
    template <class Lockable>
    explicit cond(Lockable& lock)
        : lock_(std::addressof(lock)),
          lock_fn_([](void* l) { static_cast<Lockable*>(l)->lock(); }),
          unlock_fn_([](void* l) { static_cast<Lockable*>(l)->unlock(); }) {}
    cond(const cond&) = delete;
    cond& operator=(const cond&) = delete;

    void wait();
    void signal();
    void broadcast();

private:
    // The notify list (Go's notifyList): tickets are handed out by wait and
    // consumed in order by signal and broadcast.
    struct notify_list {
        std::atomic<std::uint32_t> wait_ticket{0};    // next ticket to hand out
        std::atomic<std::uint32_t> notify_ticket{0};  // next ticket to wake
        std::atomic<bool> locked{false};              // guards the list below
        void* head = nullptr;
        void* tail = nullptr;
        void lock() noexcept;
        void unlock() noexcept;
    };

    void* lock_;
    void (*lock_fn_)(void*);
    void (*unlock_fn_)(void*);
    notify_list notify_;
};

}  // namespace goro
