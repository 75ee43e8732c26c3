// goro/once.hpp — sync.Once.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include <goro/mutex.hpp>

namespace goro {

// call(f) runs f the first time it is called on this once; every other call
// waits until that first f has returned. As in Go, a first f that throws still
// counts as done: the exception reaches its caller and f never runs again.
class once {
public:
    once() = default;
    once(const once&) = delete;
    once& operator=(const once&) = delete;

    template <class F>
    void call(F&& f) {
        if (done_.load(std::memory_order_acquire) != 0) return;
        call_slow(std::forward<F>(f));
    }

private:
    template <class F>
    void call_slow(F&& f) {
        mutex_.lock();
        struct finish {
            once* self;
            ~finish() {
                if (self->done_.load(std::memory_order_relaxed) == 0)
                    self->done_.store(1, std::memory_order_release);
                self->mutex_.unlock();
            }
        } guard{this};
        if (done_.load(std::memory_order_relaxed) == 0) std::forward<F>(f)();
    }

    std::atomic<std::uint32_t> done_{0};
    mutex mutex_;
};

}  // namespace goro
