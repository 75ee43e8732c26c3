// tests/channels/porting_forms_test.cpp — the forms docs/porting.md shows for
// capturing a context pair in a lambda, which must compile and behave alike
// under GCC and Clang 14 (which cannot capture a structured binding). Built
// by every CI build, Clang's included.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <system_error>
#include <tuple>

#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro_test::for_each_procs;

TEST_CASE("porting forms: a context pair captured by init-capture, by std::tie and from the pair") {
    for_each_procs([](int) {
        const goro::context parent = goro::background();

        // auto [ctx, cancel] = ...; then an init-capture names new variables.
        auto [ctx, cancel] = goro::with_cancel(parent);
        auto seen = goro::make_chan<std::error_code>(1);
        goro::go([ctx = ctx, seen] {
            ctx.done().recv();
            seen.send(ctx.err());
        });
        goro::go([&c = cancel] { c(); });
        CHECK(*seen.recv() == goro::context_errc::canceled);

        // Plain variables, filled by std::tie.
        goro::context ctx2;
        goro::cancel_func cancel2;
        std::tie(ctx2, cancel2) = goro::with_timeout(parent, 1ms);
        goro::go([ctx2, seen] {
            ctx2.done().recv();
            seen.send(ctx2.err());
        });
        CHECK(*seen.recv() == goro::context_errc::deadline_exceeded);
        cancel2();

        // The pair kept whole.
        auto pair = goro::with_cancel(parent);
        goro::go([ctx3 = pair.first, seen] {
            ctx3.done().recv();
            seen.send(ctx3.err());
        });
        pair.second();
        CHECK(*seen.recv() == goro::context_errc::canceled);
    });
}

TEST_CASE("porting forms: loop variables captured by value, and passed as arguments") {
    for_each_procs([](int) {
        const int n = 16;
        auto got = goro::make_chan<int>(n * 2);
        for (int i = 0; i < n; ++i) goro::go([i, got] { got.send(i); });
        for (int i = 0; i < n; ++i) goro::go([](int v, goro::send_chan<int> out) { out.send(v); }, i, got);
        long sum = 0;
        for (int k = 0; k < 2 * n; ++k) sum += *got.recv();
        CHECK(sum == 2L * (n * (n - 1) / 2));
    });
}

TEST_CASE("porting forms: std::chrono division in a finer unit") {
    using namespace std::chrono;
    CHECK(1s / 250 == 0s);  // the trap: integer seconds
    CHECK(1000ms / 250 == 4ms);
    CHECK(nanoseconds(1s) / 250 == 4ms);
    goro::run([] {
        bool threw = false;
        try {
            goro::ticker t(1s / 250);
        } catch (const goro::panic_error& e) {
            threw = std::string(e.what()) == "non-positive interval for NewTicker";
        }
        CHECK(threw);
    });
}
