// goro/blocking.hpp — blocking calls that do not stall other fibers:
// goro::blocking_scope (Go's entersyscall/exitsyscall) and goro::blocking(fn)
// (a call moved to a pool thread).
//
//     {
//         goro::blocking_scope guard;   // this fiber may now block its thread
//         n = ::read(fd, buf, size);    // other fibers of its P move on at once
//     }
//
// A blocking_scope gives the fiber's P (scheduling context) up for its
// lifetime, as Go's entersyscallblock does: the P passes at once to another
// thread if fibers are queued on it, else to the idle list (one pass
// through the scheduler's lock, and a thread wake-up when there is work to
// hand over). The call itself
// runs right here, on the fiber's own thread and stack (no thread hop, its
// thread_locals and errno as usual). When the scope ends the fiber takes
// its P back, or another idle one, or waits its turn on the global queue.
// Take the guard around the blocking call only: a goro call inside the
// scope that parks or yields is safe, but ends the release at that switch. Without a guard, sysmon still notices a fiber
// that blocks its thread and moves the other fibers on, after 20 µs to
// 10 ms; the guard makes that immediate and cheap.
//
// goro::blocking(fn) runs fn on a thread of an elastic, bounded pool while
// the calling fiber parks; it returns what fn returns or rethrows what fn
// threw. Use it for anything that blocks its thread and is not a goro
// primitive: file I/O on disks, getaddrinfo, a C library that sleeps or
// waits on its own locks. Sockets from goro::net do not need it.
//
// fn runs on another thread: it must not call goro primitives that assume a
// fiber (it may use channels and sync types, as any plain thread may), and
// thread_local values it sees are the pool thread's. Called from a plain
// thread (not a fiber), fn simply runs on the caller's thread.
//
// The pool grows on demand up to GORO_MAX_BLOCKING_THREADS threads (default
// 64) and threads that stay idle for ten seconds exit. Calls beyond the
// bound queue in order. A fiber in a blocking call counts as wakeable for
// the deadlock detector.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace goro {

namespace detail {

// A unit of work for the pool. run() is called once, on a pool thread.
struct blocking_job {
    virtual void run() noexcept = 0;

protected:
    ~blocking_job() = default;
};

// Runs job on the pool and parks the calling fiber until it has run; on a
// plain thread runs it inline.
void run_blocking(blocking_job& job);

template <class F, class R>
struct blocking_call final : blocking_job {
    explicit blocking_call(F& f) : fn(f) {}
    void run() noexcept override {
        try {
            if constexpr (std::is_void_v<R>)
                std::forward<F>(fn)();
            else
                result.emplace(std::forward<F>(fn)());
        } catch (...) {
            error = std::current_exception();
        }
    }
    F& fn;
    std::conditional_t<std::is_void_v<R>, char, std::optional<R>> result{};
    std::exception_ptr error;
};

void* enter_blocking() noexcept;
void exit_blocking(void* token) noexcept;

}  // namespace detail

// Go's entersyscall/exitsyscall as an RAII guard; see the top of this file.
// On a plain thread it does nothing.
class blocking_scope {
public:
    blocking_scope() noexcept : token_(detail::enter_blocking()) {}
    ~blocking_scope() { detail::exit_blocking(token_); }
    blocking_scope(const blocking_scope&) = delete;
    blocking_scope& operator=(const blocking_scope&) = delete;

private:
    void* token_;
};

template <class F>
std::invoke_result_t<F> blocking(F&& fn) {
    using R = std::invoke_result_t<F>;
    static_assert(!std::is_reference_v<R>, "goro::blocking: return a value, not a reference");
    detail::blocking_call<F, R> call(fn);
    detail::run_blocking(call);
    if (call.error) std::rethrow_exception(call.error);
    if constexpr (!std::is_void_v<R>) return std::move(*call.result);
}

}  // namespace goro
