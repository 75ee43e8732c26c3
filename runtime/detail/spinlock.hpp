// runtime/detail/spinlock.hpp — a test-and-test-and-set lock for the short
// critical sections of the runtime (a semaphore bucket, a timer heap, a
// channel). Holders never park or block while holding one.
#pragma once

#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace goro::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

class spinlock {
public:
    void lock() noexcept {
        if (!locked_.exchange(true, std::memory_order_acquire)) return;
        lock_contended();
    }
    bool try_lock() noexcept {
        return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    // Exponential backoff between attempts: under contention from another
    // core, retrying at once only bounces the cache line between the two.
    __attribute__((noinline)) void lock_contended() noexcept {
        int backoff = 1;
        for (int rounds = 0;; ++rounds) {
            for (int i = 0; i < backoff; ++i) cpu_relax();
            if (!locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire))
                return;
            if (backoff < 64) {
                backoff *= 2;
            } else if (rounds > 64) {
                yield_thread();  // the holder's thread may have been descheduled
                rounds = 0;
            }
        }
    }
    static void yield_thread() noexcept;
    std::atomic<bool> locked_{false};
};

}  // namespace goro::detail
