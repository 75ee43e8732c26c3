// tests/support/procs.hpp — running a test body on runtimes of several sizes,
// stress scaling, and small helpers every runtime test uses.
//
// Rules for test bodies that run inside goro::run (they run on fibers, which
// migrate between worker threads):
//   - Use CHECK, never REQUIRE: a REQUIRE that fails throws out of the fiber,
//     which is a panic and ends the whole test process.
//   - Do not use INFO or CAPTURE inside fibers: doctest keeps them in
//     thread-local lists, and a fiber that yields may resume on another
//     worker. CHECK_MESSAGE carries context without that problem, as long
//     as its expression calls no goro function: doctest opens the message
//     scope before evaluating it, and any goro call may switch (a park, or
//     a preemption at a long runner's next goro call), leaving the scope on
//     one thread's list and closing it on another's. Evaluate into a local
//     first, then CHECK_MESSAGE the local.
//   - Never assert that something finished within a time. Waits that could
//     hang on a broken runtime go through `eventually`, whose limit exists only
//     to turn a hang into a readable failure.
#pragma once

#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

namespace goro_test {

// True when GORO_LONG_TESTS=1: stress tests then run at full scale. The
// default (short) suite must finish well under a minute on two cores, also
// under ThreadSanitizer.
inline bool long_mode() {
    const char* v = std::getenv("GORO_LONG_TESTS");
    return v != nullptr && std::strcmp(v, "1") == 0;
}

// goro_test_tsan: 1 in a ThreadSanitizer build (for the few tests TSan cannot
// host at all, such as tens of thousands of live fibers).
#if defined(__SANITIZE_THREAD__)
#define goro_test_tsan 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define goro_test_tsan 1
#endif
#endif
#ifndef goro_test_tsan
#define goro_test_tsan 0
#endif

// True in a build instrumented by ThreadSanitizer or AddressSanitizer.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

// A stress count: `short_n` by default, `long_n` in long mode. A sanitized
// short run divides short_n by 20 (at least 1): under ThreadSanitizer every
// fiber is a TSan thread, and creating one costs about half a millisecond.
inline int stress(int short_n, int long_n) {
    if (long_mode()) return long_n;
    if (sanitized) return short_n / 20 > 0 ? short_n / 20 : 1;
    return short_n;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(30));

// The worker counts every scheduler-sensitive test runs with.
inline constexpr int procs_values[] = {1, 2, 4, 8};

// Calls start(cfg) once per worker count, in one doctest SUBCASE ("procs=N")
// each, so a failure names the worker count and `-sc=procs=2` selects one.
template <class Start>
void in_procs_subcases(Start start) {
    for (int procs : procs_values) {
        const std::string name = "procs=" + std::to_string(procs);
        SUBCASE(name.c_str()) {
            goro::config cfg;
            cfg.procs = procs;
            start(cfg);
        }
    }
}

// Runs `body(procs)` as the main fiber of a fresh runtime with 1, 2, 4 and 8
// workers.
template <class F>
void for_each_procs(F body) {
    in_procs_subcases([&](const goro::config& cfg) {
        const int rc = goro::run(cfg, [&] {
            body(cfg.procs);
            // A fiber that has just woken main (closing the channel main
            // ranges over, say) may still be finishing; let it, so its
            // captures are destroyed rather than abandoned with its stack
            // (which LeakSanitizer would report). Fibers a test leaves
            // blocked on purpose are abandoned after a short wait.
            eventually([] { return goro::num_fibers() <= 1; }, std::chrono::milliseconds(50));
        });
        CHECK(rc == 0);
    });
}

// The same in a bubble (goro::synctest::run): time is virtual, so durations
// are exact, and a fiber left blocked for good when body returns fails the
// test (run throws; doctest reports it). No need to wait for stragglers:
// run waits for every fiber.
template <class F>
void for_each_bubble(F body) {
    in_procs_subcases([&](const goro::config& cfg) { goro::synctest::run(cfg, [&] { body(cfg.procs); }); });
}

// goro::num_fibers() as a signed number, for comparisons without sign noise.
inline long long fibers_alive() { return static_cast<long long>(goro::num_fibers()); }

// Waits until pred() holds, yielding and then sleeping between checks; works
// on fibers and on plain threads. Returns pred()'s final value. The limit only
// turns a hang into a failure; a correct runtime never comes near it.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (int i = 0;; ++i) {
        if (pred()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return pred();
        if (i < 100) {
            goro::yield();
        } else {
            goro::sleep_for(std::chrono::microseconds(200));
        }
    }
}

// Spawns fibers and waits for all of them.
class fiber_group {
public:
    template <class F>
    void go(F f) {
        wg_.add(1);
        goro::go([this, f = std::move(f)]() mutable {
            f();
            wg_.done();
        });
    }
    void wait() { wg_.wait(); }

private:
    goro::wait_group wg_;
};

// A std::thread that a fiber may join without blocking its worker for long:
// join() first parks on a wait_group that the thread completes as its last
// step, and only then joins the (finishing) OS thread. Joining a plain thread
// that still needs a fiber to make progress would otherwise deadlock a
// one-worker runtime.
class plain_thread {
public:
    template <class F>
    explicit plain_thread(F f) {
        finished_.add(1);
        thread_ = std::thread([this, f = std::move(f)]() mutable {
            f();
            finished_.done();
        });
    }
    plain_thread(const plain_thread&) = delete;
    plain_thread& operator=(const plain_thread&) = delete;
    ~plain_thread() {
        if (thread_.joinable()) join();
    }

    void join() {
        finished_.wait();
        thread_.join();
    }

private:
    goro::wait_group finished_;
    std::thread thread_;
};

}  // namespace goro_test
