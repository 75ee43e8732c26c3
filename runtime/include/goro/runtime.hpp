// goro/runtime.hpp — starting the runtime, spawning fibers, yielding and
// sleeping: Go's `func main`, `go f(x)`, runtime.Gosched, time.Sleep,
// runtime.NumGoroutine and runtime.GOMAXPROCS.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <new>
#include <type_traits>
#include <utility>
#if __has_include(<source_location>)
#include <source_location>
#endif

namespace goro {

// Where a fiber was spawned, captured by a default argument as
// std::source_location::current() would be. Always this class, never an
// alias of std::source_location: the type is part of the library's symbols
// (run_main, prepare_fiber), so every compiler and standard library that a
// program may be built with must see the same one, and Clang 14 with
// libstdc++ 12 has no std::source_location. __builtin_FILE, __builtin_FUNCTION
// and __builtin_LINE exist in both GCC and Clang.
class source_location {
public:
    constexpr source_location() noexcept = default;
#if defined(__cpp_lib_source_location)
    // A std::source_location converts, where the standard library has one.
    constexpr source_location(const std::source_location& s) noexcept
        : file_(s.file_name()), function_(s.function_name()), line_(s.line()), column_(s.column()) {}
#endif

    // The column is 0: GCC 12 has no __builtin_COLUMN.
    static constexpr source_location current(const char* file = __builtin_FILE(),
                                             const char* function = __builtin_FUNCTION(),
                                             std::uint_least32_t line = __builtin_LINE()) noexcept {
        source_location here;
        here.file_ = file;
        here.function_ = function;
        here.line_ = line;
        return here;
    }
    constexpr const char* file_name() const noexcept { return file_; }
    constexpr const char* function_name() const noexcept { return function_; }
    constexpr std::uint_least32_t line() const noexcept { return line_; }
    constexpr std::uint_least32_t column() const noexcept { return column_; }

private:
    const char* file_ = "";
    const char* function_ = "";
    std::uint_least32_t line_ = 0;
    std::uint_least32_t column_ = 0;
};

// Runtime configuration for goro::run. Zero means "the default".
struct config {
    int procs = 0;               // worker threads; 0 = GORO_MAXPROCS or the number of CPUs
    std::size_t stack_size = 0;  // bytes of stack per fiber; 0 = 128 KiB (docs/design.md)
};

// Per-fiber options for goro::go(goro::spawn_options{...}, f, args...).
struct spawn_options {
    std::size_t stack_size = 0;  // 0 = the runtime's configured size
    const char* name = nullptr;  // shown in fiber dumps; must outlive the fiber (a literal)
};

using time_point = std::chrono::steady_clock::time_point;

// Go's time.Now(): the steady clock (a goro call: a long runner may yield).
time_point now() noexcept;

namespace detail {

struct fiber;

// A fiber allocated but not yet started: the callable is constructed by the
// caller into `storage`, which lies inside the fiber's own stack.
struct prepared_fiber {
    fiber* f;
    void* storage;
};

prepared_fiber prepare_fiber(const spawn_options& options, std::size_t size, std::size_t align,
                             const goro::source_location& site);
void discard_fiber(fiber* f) noexcept;  // the callable's constructor threw
void start_fiber(fiber* f, void (*run_and_destroy)(void*)) noexcept;

int run_main(const config& cfg, int (*invoke_main)(void*), void* main_callable, const goro::source_location& site);
void sleep_until_steady(std::int64_t deadline_ns);
void sleep_for_ns(std::int64_t ns);

// d in nanoseconds, saturated to the int64 range: "sleep for hours::max()"
// means forever, not a duration_cast overflow into the past.
template <class Rep, class Period>
std::int64_t saturating_ns(const std::chrono::duration<Rep, Period>& d) {
    const long double ns = std::chrono::duration<long double, std::nano>(d).count();
    if (ns != ns) return 0;  // NaN
    if (ns >= 9.2e18L) return INT64_MAX;
    if (ns <= -9.2e18L) return INT64_MIN;
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

std::int64_t steady_now_ns() noexcept;

// The steady-clock deadline d_ns from now, saturated: never in the past for
// a positive d_ns, INT64_MAX ("never") where now + d_ns would overflow.
inline std::int64_t deadline_after(std::int64_t d_ns) {
    const std::int64_t now = steady_now_ns();
    if (d_ns <= 0) return now;
    return d_ns > INT64_MAX - now ? INT64_MAX : now + d_ns;
}

template <class T>
void run_and_destroy(void* p) {
    T* task = static_cast<T*>(p);
    struct destroy_on_exit {
        T* task;
        ~destroy_on_exit() { task->~T(); }
    } guard{task};
    (*task)();
}

template <class Task>
void spawn_task(const spawn_options& options, const goro::source_location& site, Task&& task) {
    using T = std::decay_t<Task>;
    prepared_fiber p = prepare_fiber(options, sizeof(T), alignof(T), site);
    try {
        ::new (p.storage) T(std::forward<Task>(task));
    } catch (...) {
        discard_fiber(p.f);
        throw;
    }
    start_fiber(p.f, &run_and_destroy<T>);
}

// INVOKE(decay-copy(f), decay-copy(args)...) as std::thread does.
template <class F, class... Args>
auto bind_task(F&& f, Args&&... args) {
    return [fn = std::decay_t<F>(std::forward<F>(f)),
            ... bound = std::decay_t<Args>(std::forward<Args>(args))]() mutable {
        std::invoke(std::move(fn), std::move(bound)...);
    };
}

template <class F>
concept not_spawn_options = !std::is_same_v<std::remove_cvref_t<F>, spawn_options>;

}  // namespace detail

// goro::run(main): start the workers, run `main` as the first fiber and return
// its result (0 when it returns void) once it returns. Fibers still alive then
// are abandoned, as in Go. run may be called again after it returns, but not
// from inside a fiber and not while another run is active.
template <class F>
int run(const config& cfg, F main, goro::source_location site = goro::source_location::current()) {
    return detail::run_main(
        cfg,
        [](void* p) -> int {
            F& fn = *static_cast<F*>(p);
            if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
                fn();
                return 0;
            } else {
                return static_cast<int>(fn());
            }
        },
        &main, site);
}

template <class F>
int run(F main, goro::source_location site = goro::source_location::current()) {
    return run(config{}, std::move(main), site);
}

// goro::go(f, args...): start a fiber running f(args...). The callable and
// its arguments are decay-copied, as by std::thread. The caller's source
// location is recorded as the fiber's spawn site (shown by panics and dumps).
// Callable from fibers and, while run is active, from plain threads.
//
// The overloads below exist because a default source_location argument
// cannot follow a deduced parameter pack; they cover up to eight arguments.
#define GORO_SPAWN_SITE goro::source_location site = goro::source_location::current()
template <detail::not_spawn_options F>
void go(F&& f, GORO_SPAWN_SITE) {
    detail::spawn_task({}, site, detail::bind_task(std::forward<F>(f)));
}
template <detail::not_spawn_options F, class A1>
void go(F&& f, A1&& a1, GORO_SPAWN_SITE) {
    detail::spawn_task({}, site, detail::bind_task(std::forward<F>(f), std::forward<A1>(a1)));
}
template <detail::not_spawn_options F, class A1, class A2>
void go(F&& f, A1&& a1, A2&& a2, GORO_SPAWN_SITE) {
    detail::spawn_task({}, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2)));
}
template <detail::not_spawn_options F, class A1, class A2, class A3>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, GORO_SPAWN_SITE) {
    detail::spawn_task({}, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                                         std::forward<A3>(a3)));
}
template <detail::not_spawn_options F, class A1, class A2, class A3, class A4>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, GORO_SPAWN_SITE) {
    detail::spawn_task({}, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                                         std::forward<A3>(a3), std::forward<A4>(a4)));
}
template <detail::not_spawn_options F, class A1, class A2, class A3, class A4, class A5>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, GORO_SPAWN_SITE) {
    detail::spawn_task({}, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                                         std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5)));
}
template <detail::not_spawn_options F, class A1, class A2, class A3, class A4, class A5, class A6>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, GORO_SPAWN_SITE) {
    detail::spawn_task({}, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                                         std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5),
                                         std::forward<A6>(a6)));
}
template <detail::not_spawn_options F, class A1, class A2, class A3, class A4, class A5, class A6, class A7>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7, GORO_SPAWN_SITE) {
    detail::spawn_task({}, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                                         std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5),
                                         std::forward<A6>(a6), std::forward<A7>(a7)));
}
template <detail::not_spawn_options F, class A1, class A2, class A3, class A4, class A5, class A6, class A7,
          class A8>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7, A8&& a8, GORO_SPAWN_SITE) {
    detail::spawn_task({}, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                                         std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5),
                                         std::forward<A6>(a6), std::forward<A7>(a7), std::forward<A8>(a8)));
}

// goro::go(options, f, args...): the same with per-fiber options (stack
// size, name), for up to four arguments.
template <class F>
void go(const spawn_options& options, F&& f, GORO_SPAWN_SITE) {
    detail::spawn_task(options, site, detail::bind_task(std::forward<F>(f)));
}
template <class F, class A1>
void go(const spawn_options& options, F&& f, A1&& a1, GORO_SPAWN_SITE) {
    detail::spawn_task(options, site, detail::bind_task(std::forward<F>(f), std::forward<A1>(a1)));
}
template <class F, class A1, class A2>
void go(const spawn_options& options, F&& f, A1&& a1, A2&& a2, GORO_SPAWN_SITE) {
    detail::spawn_task(options, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2)));
}
template <class F, class A1, class A2, class A3>
void go(const spawn_options& options, F&& f, A1&& a1, A2&& a2, A3&& a3, GORO_SPAWN_SITE) {
    detail::spawn_task(options, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                                         std::forward<A3>(a3)));
}
template <class F, class A1, class A2, class A3, class A4>
void go(const spawn_options& options, F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, GORO_SPAWN_SITE) {
    detail::spawn_task(options, site,
                       detail::bind_task(std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2),
                                         std::forward<A3>(a3), std::forward<A4>(a4)));
}
#undef GORO_SPAWN_SITE

// runtime.Gosched: let other fibers run. On a plain thread, yields the thread.
void yield();

// time.Sleep. On a plain thread, sleeps the thread. A duration <= 0 returns at once.
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
    const std::int64_t ns = detail::saturating_ns(d);
    if (ns > 0) detail::sleep_for_ns(ns);
}

template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& tp) {
    if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
        detail::sleep_until_steady(detail::saturating_ns(tp.time_since_epoch()));
    } else {
        sleep_for(tp - Clock::now());
    }
}

// runtime.NumGoroutine: fibers alive, the main fiber included (0 outside run).
std::size_t num_fibers() noexcept;

// runtime.GOMAXPROCS(0): worker threads of the running runtime, or the count
// the next run would start with.
int procs() noexcept;

// The current fiber's id (1 is the main fiber); 0 on a plain thread.
std::uint64_t fiber_id() noexcept;

// Every fiber's id, state, wait reason, time waited and spawn site, as the
// deadlock report and SIGQUIT print them.
void dump_fibers(std::ostream& out);

}  // namespace goro
