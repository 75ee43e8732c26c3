// tests/netpoll/blocking_test.cpp — goro::blocking: results, exceptions,
// which thread runs the call, and that a worker keeps running other fibers
// while one waits.

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro_test::fiber_group;
using goro_test::for_each_procs;

TEST_CASE("blocking returns fn's value, moves move-only results and rethrows its exception") {
    for_each_procs([](int) {
        CHECK(goro::blocking([] { return 6 * 7; }) == 42);
        auto p = goro::blocking([] { return std::make_unique<int>(7); });
        REQUIRE(p);
        CHECK(*p == 7);
        int touched = 0;
        goro::blocking([&touched] { touched = 1; });
        CHECK(touched == 1);
        CHECK_THROWS_WITH_AS(goro::blocking([]() -> int { throw std::runtime_error("disk on fire"); }),
                             "disk on fire", std::runtime_error);
        // An lvalue callable is used in place.
        int calls = 0;
        auto count = [&calls] { return ++calls; };
        CHECK(goro::blocking(count) == 1);
        CHECK(goro::blocking(count) == 2);
    });
}

TEST_CASE("blocking runs fn on a pool thread for fibers and inline for plain threads") {
    goro::run([] {
        const auto worker_thread = std::this_thread::get_id();
        const auto pool_thread = goro::blocking([] { return std::this_thread::get_id(); });
        CHECK(pool_thread != worker_thread);
        std::thread plain([] {
            const auto self = std::this_thread::get_id();
            CHECK(goro::blocking([] { return std::this_thread::get_id(); }) == self);
        });
        while (!goro_test::eventually([&] { return true; })) {
        }
        plain.join();
        return 0;
    });
}

TEST_CASE("a fiber in a blocking call does not hold its worker") {
    for_each_procs([](int) {
        std::atomic<bool> release{false};
        std::atomic<int> progress{0};
        fiber_group group;
        group.go([&] {
            goro::blocking([&] {
                while (!release.load()) std::this_thread::sleep_for(1ms);
            });
        });
        // With one worker too, other fibers run while the call blocks.
        group.go([&] {
            for (int i = 0; i < 100; ++i) {
                progress.fetch_add(1);
                goro::yield();
            }
            release.store(true);
        });
        group.wait();
        CHECK(progress.load() == 100);
    });
}

TEST_CASE("many blocking calls at once all complete, beyond the pool's bound too") {
    for_each_procs([](int) {
        const int calls = goro_test::stress(200, 1000);
        std::atomic<int> done{0};
        fiber_group group;
        for (int i = 0; i < calls; ++i)
            group.go([&, i] {
                const int r = goro::blocking([i] {
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                    return i;
                });
                if (r == i) done.fetch_add(1);
            });
        group.wait();
        CHECK(done.load() == calls);
    });
}

TEST_CASE("blocking calls run side by side, never queued behind one another below the bound") {
    for_each_procs([](int) {
        // The first call waits for the second: run one after the other on
        // one pool thread, they would never finish.
        for (int round = 0; round < 20; ++round) {
            std::atomic<bool> second_ran{false};
            fiber_group group;
            group.go([&] {
                goro::blocking([&] {
                    while (!second_ran.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
                });
            });
            group.go([&] { goro::blocking([&] { second_ran.store(true); }); });
            group.wait();
            CHECK(second_ran.load());
        }
    });
}
