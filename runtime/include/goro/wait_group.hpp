// goro/wait_group.hpp — sync.WaitGroup.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include <goro/runtime.hpp>

namespace goro {

// Waits for a collection of fibers (or threads) to finish. add(n) before
// starting them, done() as each finishes, wait() until the counter is zero.
// A counter that would go negative throws goro::panic_error
// ("sync: negative WaitGroup counter") and is left unchanged.
//
// It is cache-line aligned: done() from many workers hammers its state word,
// which must not share a line with the waiter's other locals.
class alignas(64) wait_group {
public:
    wait_group() = default;
    wait_group(const wait_group&) = delete;
    wait_group& operator=(const wait_group&) = delete;

    void add(std::int64_t delta);
    void done() { add(-1); }
    void wait();

    // Go 1.25's WaitGroup.Go: add(1), then run f() on a new fiber that calls
    // done() when f returns (also when f throws, though that exception then
    // ends the program as a panic does). f is decay-copied, as by goro::go,
    // and the caller's location is the fiber's spawn site. If the fiber
    // cannot be started, the add is undone and the exception propagates.
    template <class F>
    void go(F&& f, goro::source_location site = goro::source_location::current()) {
        add(1);
        try {
            detail::spawn_task({}, site, [this, task = detail::bind_task(std::forward<F>(f))]() mutable {
                struct done_on_exit {
                    wait_group* wg;
                    ~done_on_exit() { wg->done(); }
                } guard{this};
                task();
            });
        } catch (...) {
            done();
            throw;
        }
    }

private:
    // High 32 bits: the counter; low 32 bits: the number of waiters.
    std::atomic<std::uint64_t> state_{0};
    std::uint32_t sema_ = 0;
};

}  // namespace goro
