// tests/channels/errgroup_test.cpp — goro::errgroup, after
// golang.org/x/sync/errgroup (Go, TryGo, SetLimit, Wait, WithContext), over
// worker counts.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <variant>

#include "support/procs.hpp"

using goro::context_errc;
using goro_test::eventually;
using goro_test::for_each_procs;

namespace {

// Records the highest value a counter reaches.
void note_max(std::atomic<int>& max, int now) {
    int seen = max.load();
    while (now > seen && !max.compare_exchange_weak(seen, now)) {
    }
}

}  // namespace

TEST_SUITE("errgroup") {

TEST_CASE("errgroup: wait with no failure returns once every function has returned") {
    for_each_procs([](int) {
        goro::errgroup g;
        const int n = goro_test::stress(200, 2000);
        std::atomic<int> done{0};
        for (int i = 0; i < n; ++i)
            g.go([&, i] {
                if (i % 2 == 0) goro::yield();
                done.fetch_add(1);
            });
        bool threw = false;
        try {
            g.wait();
        } catch (...) {
            threw = true;
        }
        CHECK_FALSE(threw);
        CHECK(done.load() == n);
        // The background: no context of its own.
        CHECK(g.context() == goro::background());
    });
}

TEST_CASE("errgroup: wait cancels the group's context even when nothing failed") {
    for_each_procs([](int) {
        goro::errgroup g(goro::background());
        CHECK_FALSE(g.context().err());
        g.go([] {});
        g.wait();
        CHECK(g.context().err() == context_errc::canceled);
    });
}

TEST_CASE("errgroup: set_limit bounds how many functions run at once") {
    for_each_procs([](int) {
        goro::errgroup g;
        const int limit = 3;
        g.set_limit(limit);
        std::atomic<int> running{0}, max_running{0}, finished{0};
        const int n = 40;
        for (int i = 0; i < n; ++i)
            g.go([&] {
                note_max(max_running, running.fetch_add(1) + 1);
                for (int k = 0; k < 5; ++k) goro::yield();
                running.fetch_sub(1);
                finished.fetch_add(1);
            });
        g.wait();
        CHECK(finished.load() == n);
        CHECK(max_running.load() <= limit);
        CHECK(max_running.load() >= 1);
    });
}

TEST_CASE("errgroup: try_go returns false at the limit and runs nothing, true again once there is room") {
    for_each_procs([](int) {
        goro::errgroup g;
        g.set_limit(2);
        auto release = goro::make_chan<std::monostate>();
        std::atomic<int> ran{0};
        auto blocker = [&] {
            release.recv();
            ran.fetch_add(1);
        };
        CHECK(g.try_go(blocker));
        CHECK(g.try_go(blocker));
        bool extra_ran = false;
        CHECK_FALSE(g.try_go([&] { extra_ran = true; }));
        // Changing the limit while functions are active is Go's panic.
        bool threw = false;
        try {
            g.set_limit(5);
        } catch (const goro::panic_error&) {
            threw = true;
        }
        CHECK(threw);
        release.close();
        g.wait();
        CHECK(ran.load() == 2);
        CHECK_FALSE(extra_ran);
        CHECK(g.try_go([] {}));
        g.wait();
        // Nothing active: the limit may change.
        g.set_limit(-1);
        for (int i = 0; i < 10; ++i) CHECK(g.try_go([] {}));
        g.wait();
    });
}

TEST_CASE("errgroup: the first failure cancels the context at once, and the others see it") {
    for_each_procs([](int) {
        goro::errgroup g(goro::background());
        const goro::context ctx = g.context();
        const int others = 5;
        std::atomic<int> saw_cancel{0};
        for (int i = 0; i < others; ++i)
            g.go([&, ctx] {
                ctx.done().recv();  // only the failure below can end this
                if (ctx.err() == context_errc::canceled) saw_cancel.fetch_add(1);
            });
        g.go([] { throw std::runtime_error("first"); });
        std::string what;
        try {
            g.wait();
        } catch (const std::runtime_error& e) {
            what = e.what();
        }
        CHECK(what == "first");
        CHECK(saw_cancel.load() == others);
    });
}

TEST_CASE("errgroup: wait rethrows the first exception, not a later one") {
    for_each_procs([](int) {
        goro::errgroup g(goro::background());
        const goro::context ctx = g.context();
        g.go([] { throw std::runtime_error("first"); });
        for (int i = 0; i < 4; ++i)
            g.go([ctx] {
                ctx.done().recv();  // after the first failure
                throw std::logic_error("later");
            });
        std::string what;
        bool runtime = false;
        try {
            g.wait();
        } catch (const std::runtime_error& e) {
            runtime = true;
            what = e.what();
        } catch (const std::exception& e) {
            what = e.what();
        }
        CHECK(runtime);
        CHECK(what == "first");
        // Wait keeps reporting it.
        bool again = false;
        try {
            g.wait();
        } catch (const std::runtime_error&) {
            again = true;
        }
        CHECK(again);
    });
}

TEST_CASE("errgroup: a group's context derives from its parent") {
    for_each_procs([](int) {
        auto [parent, cancel] = goro::with_cancel(goro::background());
        goro::errgroup g(parent);
        std::error_code seen;
        g.go([&, ctx = g.context()] {
            ctx.done().recv();
            seen = ctx.err();
        });
        cancel();
        g.wait();
        CHECK(seen == context_errc::canceled);
    });
}

}  // TEST_SUITE
