// goro/synctest.hpp — tests on virtual time: Go's testing/synctest.
//
// goro::synctest::run(f) is goro::run on a virtual clock. goro::now(),
// sleep_for and sleep_until, timers, tickers, after, after_func, context
// deadlines and socket deadlines all read it. It starts at a fixed instant
// (2000-01-01 00:00 UTC, as Go's) and moves only when every fiber is durably
// blocked: then it jumps straight to the earliest pending timer. A test that
// sleeps an hour finishes at once, and every duration it measures is exact.
//
// Durably blocked: parked on a channel operation or select, a sleep, a
// timer channel, a cond, a wait_group, or synctest::wait. Not durably
// blocked, so time waits for them in real time: a mutex or rw_mutex (as in
// Go), a socket, goro::blocking, a blocking_scope. Plain threads are outside
// the bubble: the clock does not wait for them, and what they do to its
// fibers is not under its control. Deadlines must come from goro::now()
// (std::chrono::steady_clock::now() is the machine's clock, not the bubble's).
//
// run returns once f has returned and every other fiber has ended. It
// throws goro::panic_error whose what() begins "deadlock:" (then the fiber
// dump) when every fiber is durably blocked with no timer pending, or when
// f has returned and the fibers left are blocked so for good (a leak). An
// exception that escapes any fiber of the bubble ends the run and is
// rethrown by run as it was thrown; fibers still alive then are abandoned.
#pragma once

#include <type_traits>
#include <utility>

#include <goro/runtime.hpp>

namespace goro {

namespace detail {
int run_bubble(const config& cfg, int (*invoke_main)(void*), void* main_callable, const goro::source_location& site);
void bubble_wait();
bool in_bubble() noexcept;
}  // namespace detail

namespace synctest {

// Runs f as the main fiber of a runtime on a virtual clock (see above).
template <class F>
void run(const config& cfg, F f, goro::source_location site = goro::source_location::current()) {
    detail::run_bubble(
        cfg,
        [](void* p) -> int {
            (*static_cast<F*>(p))();
            return 0;
        },
        &f, site);
}

template <class F>
void run(F f, goro::source_location site = goro::source_location::current()) {
    synctest::run(config{}, std::move(f), site);
}

// Go's synctest.Wait: blocks until every other fiber of the bubble is
// durably blocked (or has ended); the clock does not move meanwhile. One
// fiber at a time: a second concurrent caller gets goro::panic_error, and
// so does a call outside a bubble.
inline void wait() { detail::bubble_wait(); }

// True in a fiber (or plain thread) while a goro::synctest::run is running.
inline bool in_bubble() noexcept { return detail::in_bubble(); }

}  // namespace synctest
}  // namespace goro
