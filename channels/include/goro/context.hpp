// goro/context.hpp — Go's context package: cancellation, deadlines and
// request-scoped values that flow down a tree of contexts.
//
//   auto [ctx, cancel] = goro::with_timeout(goro::background(), 100ms);
//   switch (goro::select(goro::recv(results, r), goro::recv(ctx.done()))) {
//     case 0: ...;                                   // got a result in time
//     case 1: std::cout << ctx.err().message();      // "context deadline exceeded"
//   }
//   cancel();  // always, as in Go: releases the timer and the parent's link
//
// Cancelling a context closes its done() channel, sets err() and cause(),
// and cancels every context derived from it; a child never outlives its
// parent's cancellation. A context is a cheap, thread-safe handle: copy it
// freely.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <variant>

#include <goro/chan.hpp>
#include <goro/runtime.hpp>

namespace goro {

// context.Canceled and context.DeadlineExceeded.
enum class context_errc { canceled = 1, deadline_exceeded = 2 };

const std::error_category& context_category() noexcept;

inline std::error_code make_error_code(context_errc e) noexcept {
    return {static_cast<int>(e), context_category()};
}

}  // namespace goro

template <>
struct std::is_error_code_enum<goro::context_errc> : std::true_type {};

namespace goro {

namespace detail {
struct context_node;
}

class cancel_func;
class cancel_cause_func;
class after_func_stop;

// A key for with_value / value: keys compare by identity, so a package-level
// `const goro::context_key<std::string> user_key;` cannot collide with anyone
// else's key, as Go's unexported key types do not.
template <class T>
class context_key {
public:
    context_key() = default;
    context_key(const context_key&) = delete;
    context_key& operator=(const context_key&) = delete;
};

class context {
public:
    // The background context: never cancelled, no deadline, no values.
    context();

    // A channel closed when this context is cancelled; nil (never ready) for
    // a context that can never be cancelled (the background, or one made by
    // without_cancel), as Go's Done() returns nil.
    chan<std::monostate> done() const;

    // Empty until done() is closed; then context_errc::canceled or
    // context_errc::deadline_exceeded.
    std::error_code err() const;

    // The earliest deadline on the way to the root, if any.
    std::optional<time_point> deadline() const;

    // The value bound to key by this context or an ancestor, or null.
    template <class T>
    const T* value(const context_key<T>& key) const {
        return static_cast<const T*>(find_value(&key));
    }

    friend bool operator==(const context& a, const context& b) noexcept { return a.node_ == b.node_; }

private:
    friend class cancel_func;
    friend context todo();
    friend std::pair<context, cancel_func> with_cancel(const context& parent);
    friend std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent);
    friend std::pair<context, cancel_func> with_deadline_cause(const context& parent, time_point deadline,
                                                               std::exception_ptr cause);
    friend context without_cancel(const context& parent);
    friend std::exception_ptr cause(const context& ctx);
    friend after_func_stop after_func(const context& ctx, std::function<void()> f);
    template <class T, class V>
    friend context with_value(const context& parent, const context_key<T>& key, V&& value);

    explicit context(std::shared_ptr<detail::context_node> node) noexcept : node_(std::move(node)) {}
    const void* find_value(const void* key) const;
    static context make_value(const context& parent, const void* key, std::shared_ptr<const void> value);

    std::shared_ptr<detail::context_node> node_;
};

// context.CancelFunc: cancels its context (and the contexts derived from it)
// with context_errc::canceled. Calling it again does nothing. Safe from any
// fiber or thread.
class cancel_func {
public:
    cancel_func() = default;
    void operator()() const;

private:
    friend std::pair<context, cancel_func> with_cancel(const context& parent);
    friend std::pair<context, cancel_func> with_deadline_cause(const context& parent, time_point deadline,
                                                               std::exception_ptr cause);
    explicit cancel_func(std::shared_ptr<detail::context_node> node) noexcept : node_(std::move(node)) {}
    std::shared_ptr<detail::context_node> node_;
};

// context.CancelCauseFunc: cancels like cancel_func, and records why:
// cancel(std::make_exception_ptr(e)) makes goro::cause(ctx) return e. A null
// cause is a plain cancel. Only the first cancellation counts, whether by
// this function, by the parent or by a deadline. Safe from any fiber or
// thread.
class cancel_cause_func {
public:
    cancel_cause_func() = default;
    void operator()(std::exception_ptr cause) const;

private:
    friend std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent);
    explicit cancel_cause_func(std::shared_ptr<detail::context_node> node) noexcept : node_(std::move(node)) {}
    std::shared_ptr<detail::context_node> node_;
};

// What goro::after_func returns (Go's stop func() bool): true if this call
// kept f from being run; false if f has started already (ctx was done) or
// the registration was stopped before. Stopping drops f and the link to
// ctx. Safe from any fiber or thread.
class after_func_stop {
public:
    after_func_stop() = default;
    bool operator()() const;

private:
    friend after_func_stop after_func(const context& ctx, std::function<void()> f);
    explicit after_func_stop(std::shared_ptr<detail::context_node> node) noexcept : node_(std::move(node)) {}
    std::shared_ptr<detail::context_node> node_;
};

// context.Background() and context.TODO().
context background();
context todo();

// context.WithCancel(parent).
std::pair<context, cancel_func> with_cancel(const context& parent);

// context.WithCancelCause(parent): with_cancel whose cancel takes a cause.
std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent);

// context.Cause(ctx): null while ctx is not done (and always for a context
// that can never be cancelled). Once it is done: the cause its canceller
// gave (a cancel_cause_func's argument, or with_deadline_cause's cause when
// the deadline fired; a context cancelled by its parent reports the
// parent's cause), otherwise a std::system_error holding ctx.err(), as Go's
// Cause returns Err() when no cause was set.
std::exception_ptr cause(const context& ctx);

// context.WithDeadline(parent, d): also cancelled, with deadline_exceeded,
// at d (at once if d has passed, or at the parent's deadline if earlier).
std::pair<context, cancel_func> with_deadline(const context& parent, time_point deadline);

// context.WithDeadlineCause(parent, d, cause): with_deadline whose deadline,
// when it fires, also sets cause(ctx) to `cause` (err() is still
// deadline_exceeded). The returned cancel_func sets no cause.
std::pair<context, cancel_func> with_deadline_cause(const context& parent, time_point deadline,
                                                    std::exception_ptr cause);

namespace detail {
template <class Rep, class Period>
time_point context_deadline_after(std::chrono::duration<Rep, Period> d) {
    const time_point now{std::chrono::nanoseconds(steady_now_ns())};  // goro's clock: virtual in a bubble
    const std::int64_t wait = saturating_ns(d);
    const std::int64_t room = saturating_ns(time_point::max() - now);
    return wait >= room ? time_point::max() : now + std::chrono::nanoseconds(wait);
}
}  // namespace detail

// context.WithTimeout(parent, d) = with_deadline(parent, now + d).
template <class Rep, class Period>
std::pair<context, cancel_func> with_timeout(const context& parent, std::chrono::duration<Rep, Period> d) {
    return with_deadline(parent, detail::context_deadline_after(d));
}

// context.WithTimeoutCause(parent, d, cause) = with_deadline_cause(parent, now + d, cause).
template <class Rep, class Period>
std::pair<context, cancel_func> with_timeout_cause(const context& parent, std::chrono::duration<Rep, Period> d,
                                                   std::exception_ptr cause) {
    return with_deadline_cause(parent, detail::context_deadline_after(d), std::move(cause));
}

// context.WithoutCancel(parent): parent's values, but never cancelled when
// parent is: no deadline, err() always empty, cause() always null, and
// done() the nil channel (never ready), as Go's Done() returns nil.
// Contexts derived from it are cancelled only by their own cancel or
// deadline.
context without_cancel(const context& parent);

// context.AfterFunc(ctx, f): runs f on a new fiber (named "after_func")
// once ctx is done, at once if it is done already; at most once. f and what
// it captures are kept until then, until stop() is called, or until every
// handle on a never-cancelled ctx is gone (an f that captures ctx is one).
// An exception escaping f is a panic, as for any fiber. Starting f needs a
// running runtime: a cancel from outside goro::run throws goro::panic_error
// when it would start one. A ctx that can never be cancelled never runs f.
after_func_stop after_func(const context& ctx, std::function<void()> f);

// context.WithValue(parent, key, value).
template <class T, class V>
context with_value(const context& parent, const context_key<T>& key, V&& value) {
    return context::make_value(parent, &key, std::make_shared<const T>(std::forward<V>(value)));
}

}  // namespace goro
