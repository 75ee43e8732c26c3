// goro/time.hpp — timer channels: Go's time.After, time.Tick, time.NewTimer,
// time.NewTicker and time.AfterFunc, with Go 1.23's semantics:
//
//   - after stop() or reset() returns, no value sent before it is received
//     from c (a fired value that nobody received yet is discarded, and stop()
//     then reports that it stopped the timer);
//   - a ticker keeps at most one tick for a slow receiver and drops the rest;
//   - a timer or ticker that nothing references any more (its object and every
//     copy of its channel are gone) is removed from the runtime at once, even
//     if it was never stopped: goro::after() in a select costs nothing once
//     the select has returned.
//
// As in Go 1.23, len() and cap() of a timer channel are 0. The value
// received is the time the timer was due. These calls need a running runtime
// (inside goro::run, from a fiber or a plain thread); they throw
// goro::panic_error otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include <goro/chan.hpp>
#include <goro/runtime.hpp>

namespace goro {

namespace detail {

struct timer_state;

// A new channel timer due at when_ns (steady clock), repeating every period_ns
// when that is positive. Returns the channel (one reference, adopted by the
// caller) and the timer's state, of which the caller owns one reference.
hchan* timer_channel_make(std::int64_t when_ns, std::int64_t period_ns, timer_state** state);
// A timer that runs f on a new fiber at when_ns.
timer_state* func_timer_make(std::int64_t when_ns, std::function<void()> f);
bool timer_stop(timer_state* t);
bool timer_reset(timer_state* t, std::int64_t when_ns, std::int64_t period_ns);
void timer_retain(timer_state* t) noexcept;
void timer_release(timer_state* t) noexcept;

template <class Rep, class Period>
std::int64_t duration_ns(std::chrono::duration<Rep, Period> d) {
    return saturating_ns(d);
}

}  // namespace detail

// time.NewTimer(d): delivers the time on c once d has passed. A non-positive d
// fires at once. stop() and reset() may be called from any fiber or thread.
class timer {
public:
    template <class Rep, class Period>
    explicit timer(std::chrono::duration<Rep, Period> d) {
        state_ = nullptr;
        c = detail::adopt_chan<time_point>(
            detail::timer_channel_make(detail::deadline_after(detail::duration_ns(d)), 0, &state_));
    }
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;
    timer(timer&& o) noexcept : c(std::move(o.c)), state_(std::exchange(o.state_, nullptr)) {}
    timer& operator=(timer&& o) noexcept {
        if (this != &o) {
            if (state_) detail::timer_release(state_);
            c = std::move(o.c);
            state_ = std::exchange(o.state_, nullptr);
        }
        return *this;
    }
    ~timer() {
        if (state_) detail::timer_release(state_);
    }

    chan<time_point> c;  // nil for a timer made by goro::after_func

    // Prevents the timer from firing. True if this call stopped it; false if
    // it had already fired (and its value was received) or been stopped.
    bool stop() { return state_ && detail::timer_stop(state_); }

    // Rearms the timer to fire d from now. Returns what stop() would have.
    template <class Rep, class Period>
    bool reset(std::chrono::duration<Rep, Period> d) {
        return state_ && detail::timer_reset(state_, detail::deadline_after(detail::duration_ns(d)), 0);
    }

private:
    struct adopt_state_tag {};
    timer(adopt_state_tag, detail::timer_state* s) noexcept : state_(s) {}
    detail::timer_state* state_ = nullptr;

    template <class Rep, class Period>
    friend timer after_func(std::chrono::duration<Rep, Period> d, std::function<void()> f);
};

// time.AfterFunc(d, f): runs f on a new fiber once d has passed. The returned
// timer's c is nil; stop() keeps f from running (true if it did).
template <class Rep, class Period>
timer after_func(std::chrono::duration<Rep, Period> d, std::function<void()> f) {
    return timer(timer::adopt_state_tag{},
                 detail::func_timer_make(detail::deadline_after(detail::duration_ns(d)), std::move(f)));
}

// time.NewTicker(d): delivers the time on c every d. d must be positive
// (goro::panic_error "non-positive interval for NewTicker" otherwise).
class ticker {
public:
    template <class Rep, class Period>
    explicit ticker(std::chrono::duration<Rep, Period> d) {
        const std::int64_t period = detail::duration_ns(d);
        if (period <= 0) throw panic_error("non-positive interval for NewTicker");
        c = detail::adopt_chan<time_point>(
            detail::timer_channel_make(detail::deadline_after(period), period, &state_));
    }
    ticker(const ticker&) = delete;
    ticker& operator=(const ticker&) = delete;
    ticker(ticker&& o) noexcept : c(std::move(o.c)), state_(std::exchange(o.state_, nullptr)) {}
    ticker& operator=(ticker&& o) noexcept {
        if (this != &o) {
            if (state_) detail::timer_release(state_);
            c = std::move(o.c);
            state_ = std::exchange(o.state_, nullptr);
        }
        return *this;
    }
    ~ticker() {
        if (state_) detail::timer_release(state_);
    }

    chan<time_point> c;

    // Turns the ticker off; no tick sent before the call is received after it.
    void stop() {
        if (state_) detail::timer_stop(state_);
    }
    // Stops the ticker and restarts it with period d (positive).
    template <class Rep, class Period>
    void reset(std::chrono::duration<Rep, Period> d) {
        const std::int64_t period = detail::duration_ns(d);
        if (period <= 0) throw panic_error("non-positive interval for Ticker.Reset");
        if (state_) detail::timer_reset(state_, detail::deadline_after(period), period);
    }

private:
    detail::timer_state* state_ = nullptr;
};

// time.After(d): a channel that receives the time once, d from now.
template <class Rep, class Period>
chan<time_point> after(std::chrono::duration<Rep, Period> d) {
    detail::timer_state* state = nullptr;
    auto c = detail::adopt_chan<time_point>(
        detail::timer_channel_make(detail::deadline_after(detail::duration_ns(d)), 0, &state));
    detail::timer_release(state);  // the channel alone keeps the timer
    return c;
}

// time.Tick(d): a channel that receives the time every d; nil for d <= 0, as in Go.
template <class Rep, class Period>
chan<time_point> tick(std::chrono::duration<Rep, Period> d) {
    const std::int64_t period = detail::duration_ns(d);
    if (period <= 0) return {};
    detail::timer_state* state = nullptr;
    auto c = detail::adopt_chan<time_point>(
        detail::timer_channel_make(detail::deadline_after(period), period, &state));
    detail::timer_release(state);
    return c;
}

}  // namespace goro
