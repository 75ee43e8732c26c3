// tests/runtime/fiber_local_test.cpp — goro::fiber_local: one value per fiber
// that stays with the fiber when it moves between workers, destroyed when the
// fiber exits; plain threads have their own.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>

#include "support/procs.hpp"

using goro_test::for_each_procs;

namespace {

struct counted {
    static inline std::atomic<int> alive{0};
    std::string text = "fresh";
    counted() { alive.fetch_add(1); }
    ~counted() { alive.fetch_sub(1); }
};

}  // namespace

TEST_CASE("fiber_local: every fiber sees its own value, across yields that may move it to another worker") {
    for_each_procs([](int) {
        static goro::fiber_local<long> mine;
        const int fibers = goro_test::stress(200, 2000);
        std::atomic<int> wrong{0};
        goro::wait_group wg;
        wg.add(fibers);
        for (int i = 0; i < fibers; ++i) {
            goro::go([&, i] {
                CHECK(mine.get() == 0);  // value-initialised on first use
                mine.get() = i;
                for (int round = 0; round < 20; ++round) {
                    goro::yield();
                    if (mine.get() != i) wrong.fetch_add(1);
                    mine.get() = i;
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(wrong.load() == 0);
    });
}

TEST_CASE("fiber_local: a fiber's value is destroyed when the fiber exits") {
    for_each_procs([](int) {
        static goro::fiber_local<counted> value;
        const int before = counted::alive.load();
        goro::wait_group wg;
        wg.add(10);
        goro::wait_group hold;
        hold.add(1);
        for (int i = 0; i < 10; ++i) {
            goro::go([&] {
                value->text = "used";
                wg.done();
                hold.wait();
            });
        }
        wg.wait();
        CHECK(counted::alive.load() == before + 10);
        hold.done();
        CHECK(goro_test::eventually([&] { return counted::alive.load() == before; }));
    });
}

TEST_CASE("fiber_local: a plain thread has its own value, apart from every fiber") {
    goro::run(goro::config{.procs = 2}, [] {
        static goro::fiber_local<int> slot;
        slot.get() = 1;
        int seen_by_thread = -1;
        std::thread t([&] {
            seen_by_thread = slot.get();
            slot.get() = 2;
        });
        t.join();
        CHECK(seen_by_thread == 0);
        CHECK(slot.get() == 1);
    });
}
