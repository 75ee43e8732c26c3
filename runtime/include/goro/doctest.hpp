// goro/doctest.hpp — doctest test cases whose body runs in a bubble
// (goro::synctest::run): virtual time, the deadlock and leak checks.
//
//   #include <goro/doctest.hpp>
//
//   GORO_TEST_CASE("a token bucket refills one token a second") {
//       limiter l(1, 1s);
//       CHECK(l.try_take());
//       goro::sleep_for(1s);             // virtual: takes no time
//       CHECK(l.try_take());
//   }
//
// The body is the bubble's main fiber. CHECK and friends work in any fiber
// of the bubble and report against the test case. A REQUIRE that fails, or
// any exception escaping a fiber, ends the bubble and fails the test case
// with it; so does a deadlock or a fiber left blocked for good when the body
// returns (goro::panic_error, "deadlock: ...", with the fiber dump). As in
// every goro test, keep INFO and CAPTURE out of fibers: doctest keeps them
// per thread, and fibers move between threads.
//
// GORO_TEST_CASE_PROCS(procs, "name") runs the bubble on `procs` workers
// (the default is goro's: GORO_MAXPROCS or the number of CPUs).
//
// This header needs doctest (Debian: doctest-dev); include it after
// defining DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN where a test binary wants
// doctest's main, as with <doctest/doctest.h>.
#pragma once

#include <doctest/doctest.h>

#include <goro/synctest.hpp>

namespace goro::doctest_support {

inline void run_test_body(int procs, void (*body)()) {
    goro::config cfg;
    cfg.procs = procs;
    goro::synctest::run(cfg, body);
}

}  // namespace goro::doctest_support

#define GORO_DETAIL_TEST_CASE(body, procs, ...)                                     \
    static void body();                                                             \
    TEST_CASE(__VA_ARGS__) { ::goro::doctest_support::run_test_body((procs), &body); } \
    static void body()

#define GORO_TEST_CASE_PROCS(procs, ...) \
    GORO_DETAIL_TEST_CASE(DOCTEST_ANONYMOUS(GORO_TEST_BODY_), procs, __VA_ARGS__)
#define GORO_TEST_CASE(...) GORO_TEST_CASE_PROCS(0, __VA_ARGS__)
