// tests/channels/singleflight_test.cpp — goro::singleflight, after
// golang.org/x/sync/singleflight's Group.Do, over worker counts.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/dump.hpp"
#include "support/procs.hpp"

using goro_test::eventually;
using goro_test::for_each_procs;
using goro_test::plain_thread;

namespace {

// How many fibers are parked on a wait_group (the callers that joined a
// running call wait on its wait_group).
int parked_on_wait_group() {
    std::ostringstream out;
    goro::dump_fibers(out);
    int n = 0;
    for (const auto& e : goro_test::parse_dump(out.str()))
        if (goro_test::contains(e.reason, "wait_group")) ++n;
    return n;
}

}  // namespace

TEST_SUITE("singleflight") {

TEST_CASE("singleflight: overlapping calls with one key run fn once and all get its value") {
    for_each_procs([](int) {
        goro::singleflight<std::string, int> g;
        const int n = 10;
        std::atomic<int> runs{0}, waiting{0};
        auto release = goro::make_chan<int>();
        auto fn = [&] {
            runs.fetch_add(1);
            // Hold the call open until every caller has joined it.
            release.recv();
            return 42;
        };
        std::vector<int> got(n, 0);
        goro::wait_group wg;
        for (int i = 0; i < n; ++i)
            wg.go([&, i] {
                waiting.fetch_add(1);
                got[i] = g.call("key", fn);
            });
        // One caller runs fn, parked on release; the others wait for it.
        const bool all_in =
            eventually([&] { return waiting.load() == n && runs.load() == 1 && parked_on_wait_group() == n - 1; });
        CHECK(all_in);
        release.send(1);
        wg.wait();
        CHECK(runs.load() == 1);
        for (int v : got) CHECK(v == 42);
    });
}

TEST_CASE("singleflight: the exception fn throws reaches every caller that shared the call") {
    for_each_procs([](int) {
        goro::singleflight<int, std::string> g;
        const int n = 8;
        std::atomic<int> runs{0}, threw{0}, joined{0};
        auto release = goro::make_chan<int>();
        goro::wait_group wg;
        for (int i = 0; i < n; ++i)
            wg.go([&] {
                joined.fetch_add(1);
                try {
                    (void)g.call(7, [&]() -> std::string {
                        runs.fetch_add(1);
                        release.recv();
                        throw std::runtime_error("boom");
                    });
                } catch (const std::runtime_error& e) {
                    if (std::string(e.what()) == "boom") threw.fetch_add(1);
                }
            });
        const bool in =
            eventually([&] { return joined.load() == n && runs.load() == 1 && parked_on_wait_group() == n - 1; });
        CHECK(in);
        release.send(1);
        wg.wait();
        CHECK(runs.load() == 1);
        CHECK(threw.load() == n);
    });
}

TEST_CASE("singleflight: calls with distinct keys run independently") {
    for_each_procs([](int) {
        goro::singleflight<int, int> g;
        auto release_a = goro::make_chan<int>();
        std::atomic<bool> a_started{false};
        int a = 0, b = 0;
        goro::wait_group wg;
        wg.go([&] {
            a = g.call(1, [&] {
                a_started = true;
                release_a.recv();
                return 10;
            });
        });
        const bool started = eventually([&] { return a_started.load(); });
        CHECK(started);
        // Key 2 does not wait for key 1's call, which is still running.
        b = g.call(2, [] { return 20; });
        CHECK(b == 20);
        release_a.send(1);
        wg.wait();
        CHECK(a == 10);
    });
}

TEST_CASE("singleflight: a call after the previous one finished runs fn again") {
    for_each_procs([](int) {
        goro::singleflight<std::string, int> g;
        int runs = 0;
        CHECK(g.call("k", [&] { return ++runs; }) == 1);
        CHECK(g.call("k", [&] { return ++runs; }) == 2);
        bool threw = false;
        try {
            (void)g.call("k", [&]() -> int { throw std::logic_error("once"); });
        } catch (const std::logic_error&) {
            threw = true;
        }
        CHECK(threw);
        // A failed call is forgotten too.
        CHECK(g.call("k", [&] { return ++runs; }) == 3);
    });
}

TEST_CASE("singleflight: a plain thread shares a fiber's call") {
    for_each_procs([](int) {
        goro::singleflight<int, int> g;
        std::atomic<int> runs{0};
        std::atomic<bool> started{false};
        auto release = goro::make_chan<int>();
        int from_fiber = 0, from_thread = 0;
        goro::wait_group wg;
        wg.go([&] {
            from_fiber = g.call(1, [&] {
                runs.fetch_add(1);
                started = true;
                release.recv();
                return 5;
            });
        });
        const bool in = eventually([&] { return started.load(); });
        CHECK(in);
        plain_thread t([&] { from_thread = g.call(1, [&] { runs.fetch_add(1); return 6; }); });
        for (int k = 0; k < 100; ++k) goro::yield();
        release.send(1);
        wg.wait();
        t.join();
        CHECK(from_fiber == 5);
        // The thread either joined the call or came after it finished.
        CHECK((from_thread == 5 || from_thread == 6));
        CHECK(runs.load() == (from_thread == 5 ? 1 : 2));
    });
}

}  // TEST_SUITE
