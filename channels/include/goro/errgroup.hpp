// goro/errgroup.hpp — golang.org/x/sync/errgroup: run functions on fibers,
// wait for all of them, and get the first failure.
//
//   goro::errgroup g(ctx);                 // errgroup.WithContext(ctx)
//   for (auto& url : urls)
//       g.go([&g, url] { fetch(g.context(), url); });   // a failure throws
//   g.wait();                              // rethrows the first exception
#pragma once

#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <variant>

#include <goro/chan.hpp>
#include <goro/context.hpp>
#include <goro/mutex.hpp>
#include <goro/panic.hpp>
#include <goro/runtime.hpp>
#include <goro/wait_group.hpp>

namespace goro {

// Go's errgroup.Group. A function fails by throwing; the first exception any
// of them throws is kept (the others are dropped), cancels context() at
// once, and is rethrown by wait().
class errgroup {
public:
    // A group without a context of its own: context() is the background.
    errgroup() = default;

    // errgroup.WithContext(parent): context() is derived from parent and is
    // cancelled by the first failure or when wait() returns, whichever comes
    // first.
    explicit errgroup(const goro::context& parent) {
        auto [ctx, cancel] = with_cancel(parent);
        ctx_ = std::move(ctx);
        cancel_ = std::move(cancel);
    }

    errgroup(const errgroup&) = delete;
    errgroup& operator=(const errgroup&) = delete;

    const goro::context& context() const noexcept { return ctx_; }

    // SetLimit(n): at most n functions run at once; a negative n removes the
    // limit. Changing the limit while functions started under one are still
    // active throws goro::panic_error, as Go panics.
    void set_limit(int n) {
        if (n < 0) {
            sem_ = {};
            return;
        }
        if (sem_ && sem_.len() != 0)
            throw panic_error("errgroup: modify limit while " + std::to_string(sem_.len()) +
                              " goroutines in the group are still active");
        sem_ = make_chan<std::monostate>(static_cast<std::size_t>(n));
    }

    // Go(f): runs f() on a new fiber, first blocking while the limit is
    // reached. The caller's location is the fiber's spawn site.
    template <class F>
    void go(F f, goro::source_location site = goro::source_location::current()) {
        if (sem_) sem_.send(std::monostate{});
        start(std::move(f), site);
    }

    // TryGo(f): as go, but returns false and runs nothing when the limit is
    // reached.
    template <class F>
    bool try_go(F f, goro::source_location site = goro::source_location::current()) {
        if (sem_ && !sem_.try_send(std::monostate{})) return false;
        start(std::move(f), site);
        return true;
    }

    // Wait(): blocks until every function has returned, cancels context(),
    // then rethrows the first exception a function threw, if any.
    void wait() {
        wg_.wait();
        cancel_();
        std::exception_ptr first;
        {
            std::lock_guard lock(mu_);
            first = first_;
        }
        if (first) std::rethrow_exception(first);
    }

private:
    template <class F>
    void start(F f, const goro::source_location& site) {
        wg_.add(1);
        try {
            detail::spawn_task({}, site, [this, fn = std::move(f)]() mutable {
                try {
                    fn();
                } catch (...) {
                    fail(std::current_exception());
                }
                finished();
            });
        } catch (...) {
            finished();
            throw;
        }
    }

    void fail(std::exception_ptr e) {
        {
            std::lock_guard lock(mu_);
            if (first_) return;
            first_ = std::move(e);
        }
        cancel_();
    }

    void finished() {
        if (sem_) sem_.recv();
        wg_.done();
    }

    goro::context ctx_;
    cancel_func cancel_;  // does nothing for a group without a context
    chan<std::monostate> sem_;  // nil: no limit
    wait_group wg_;
    mutex mu_;
    std::exception_ptr first_;
};

}  // namespace goro
