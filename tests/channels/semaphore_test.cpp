// tests/channels/semaphore_test.cpp — goro::semaphore: ports of
// golang.org/x/sync/semaphore's semaphore_test.go (each named after its
// original) and goro's own checks of the same rules, over worker counts.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro::context_errc;
using goro_test::eventually;
using goro_test::for_each_procs;
using goro_test::plain_thread;

namespace {

// Holds `weight` units `loops` times, checking that no more than the size is
// ever held at once.
void hammer_weighted(goro::semaphore& sem, std::int64_t weight, int loops, std::atomic<std::int64_t>& held,
                     std::atomic<std::int64_t>& max_held) {
    for (int i = 0; i < loops; ++i) {
        sem.acquire(goro::background(), weight);
        const std::int64_t now = held.fetch_add(weight) + weight;
        std::int64_t seen = max_held.load();
        while (now > seen && !max_held.compare_exchange_weak(seen, now)) {
        }
        if (i % 4 == 0) goro::yield();
        held.fetch_sub(weight);
        sem.release(weight);
    }
}

}  // namespace

TEST_SUITE("semaphore") {

TEST_CASE("TestWeighted") {
    for_each_procs([](int procs) {
        const int n = procs;
        const int loops = goro_test::stress(4000, 40'000) / n;
        goro::semaphore sem(n);
        std::atomic<std::int64_t> held{0}, max_held{0};
        goro::wait_group wg;
        for (int i = 0; i < n; ++i) wg.go([&, i] { hammer_weighted(sem, i, loops, held, max_held); });
        wg.wait();
        CHECK(max_held.load() <= n);
        CHECK(held.load() == 0);
        CHECK(sem.try_acquire(n));  // everything was given back
    });
}

TEST_CASE("TestWeightedPanic") {
    for_each_procs([](int) {
        goro::semaphore sem(1);
        bool threw = false;
        std::string what;
        try {
            sem.release(1);
        } catch (const goro::panic_error& e) {
            threw = true;
            what = e.what();
        }
        CHECK(threw);
        CHECK(what == "semaphore: released more than held");
        // Nothing changed: the one unit is still there to take, and only one.
        CHECK(sem.try_acquire(1));
        CHECK_FALSE(sem.try_acquire(1));
    });
}

TEST_CASE("TestWeightedTryAcquire") {
    for_each_procs([](int) {
        const goro::context ctx = goro::background();
        goro::semaphore sem(2);
        std::vector<bool> tries;
        sem.acquire(ctx, 1);
        tries.push_back(sem.try_acquire(1));
        tries.push_back(sem.try_acquire(1));
        sem.release(2);
        tries.push_back(sem.try_acquire(1));
        sem.acquire(ctx, 1);
        tries.push_back(sem.try_acquire(1));
        CHECK(tries == std::vector<bool>{true, false, true, false});
    });
}

TEST_CASE("TestWeightedAcquire") {
    for_each_procs([](int) {
        const goro::context ctx = goro::background();
        goro::semaphore sem(2);
        auto try_acquire = [&](std::int64_t n) {
            auto [tctx, cancel] = goro::with_timeout(ctx, 10ms);
            const std::error_code ec = sem.acquire(tctx, n);
            cancel();
            return !ec;
        };
        std::vector<bool> tries;
        sem.acquire(ctx, 1);
        tries.push_back(try_acquire(1));
        tries.push_back(try_acquire(1));
        sem.release(2);
        tries.push_back(try_acquire(1));
        sem.acquire(ctx, 1);
        tries.push_back(try_acquire(1));
        CHECK(tries == std::vector<bool>{true, false, true, false});
    });
}

TEST_CASE("TestWeightedDoesntBlockIfTooBig") {
    for_each_procs([](int) {
        const std::int64_t n = 2;
        goro::semaphore sem(n);
        auto [big_ctx, big_cancel] = goro::with_cancel(goro::background());
        goro::wait_group big;
        std::error_code big_err;
        big.go([&, c = big_ctx] { big_err = sem.acquire(c, n + 1); });

        goro::wait_group wg;
        std::atomic<int> failed{0};
        for (int i = n * 3; i > 0; --i)
            wg.go([&] {
                const std::error_code ec = sem.acquire(goro::background(), 1);
                if (ec) {
                    failed.fetch_add(1);
                    return;
                }
                goro::sleep_for(1ms);
                sem.release(1);
            });
        wg.wait();
        CHECK(failed.load() == 0);

        big_cancel();
        big.wait();
        CHECK(big_err == context_errc::canceled);
        CHECK(sem.try_acquire(n));  // the doomed request held nothing
    });
}

TEST_CASE("TestLargeAcquireDoesntStarve") {
    for_each_procs([](int procs) {
        const goro::context ctx = goro::background();
        const std::int64_t n = procs;
        goro::semaphore sem(n);
        std::atomic<bool> running{true};
        goro::wait_group wg;
        for (std::int64_t i = n; i > 0; --i) {
            sem.acquire(ctx, 1);
            wg.go([&] {
                while (running.load()) {
                    goro::sleep_for(1ms);
                    sem.release(1);
                    sem.acquire(ctx, 1);
                }
                sem.release(1);
            });
        }
        sem.acquire(ctx, n);
        running = false;
        sem.release(n);
        wg.wait();
        CHECK(sem.try_acquire(n));
    });
}

// A cancelled request at the head of the queue must let the ones behind it
// through.
TEST_CASE("TestAllocCancelDoesntStarve") {
    for_each_procs([](int) {
        goro::semaphore sem(10);
        // Block off a portion of the semaphore so that acquire(_, 10) can
        // eventually succeed.
        sem.acquire(goro::background(), 1);
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        goro::wait_group big;
        big.go([&, c = ctx] { (void)sem.acquire(c, 10); });
        // Wait until the acquire(_, 10) call blocks.
        while (sem.try_acquire(1)) {
            sem.release(1);
            goro::yield();
        }
        // Now grab one unit while the acquire(_, 10) call is cancelled; both
        // return, in either order.
        goro::go([c = cancel] { c(); });
        const std::error_code ec = sem.acquire(goro::background(), 1);
        CHECK_FALSE(ec);
        sem.release(1);
        big.wait();
        cancel();
    });
}

// goro's own checks.

TEST_CASE("semaphore: a large waiter at the head holds back smaller later ones (no barging)") {
    for_each_procs([](int) {
        goro::semaphore sem(3);
        sem.acquire(2);
        std::atomic<bool> large_got{false}, small_got{false};
        goro::wait_group wg;
        wg.go([&] {
            sem.acquire(3);
            large_got = true;
            sem.release(3);
        });
        // Wait until the large request is queued: try_acquire fails while
        // anyone waits, though one unit is free.
        const bool queued = eventually([&] {
            if (!sem.try_acquire(1)) return true;
            sem.release(1);
            return false;
        });
        CHECK(queued);
        wg.go([&] {
            sem.acquire(1);
            small_got = true;
            sem.release(1);
        });
        goro::sleep_for(5ms);
        CHECK_FALSE(small_got.load());  // one unit is free, but the large one is first
        CHECK_FALSE(large_got.load());
        sem.release(2);
        wg.wait();
        CHECK(large_got.load());
        CHECK(small_got.load());
    });
}

TEST_CASE("semaphore: acquire with a context that is already done succeeds when the units are free at once") {
    for_each_procs([](int) {
        goro::semaphore sem(2);
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        cancel();
        CHECK_FALSE(sem.acquire(ctx, 2));
        // Not free now: the context's error, nothing held.
        CHECK(sem.acquire(ctx, 1) == context_errc::canceled);
        sem.release(2);
        CHECK(sem.try_acquire(2));
    });
}

TEST_CASE("semaphore: a request larger than the size waits for its context and gets its error") {
    for_each_procs([](int) {
        goro::semaphore sem(2);
        auto [ctx, cancel] = goro::with_timeout(goro::background(), 5ms);
        CHECK(sem.acquire(ctx, 3) == context_errc::deadline_exceeded);
        cancel();
        CHECK(sem.try_acquire(2));
    });
}

TEST_CASE("semaphore: a cancelled waiter holds nothing and leaves the queue") {
    for_each_procs([](int) {
        goro::semaphore sem(4);
        sem.acquire(4);
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        std::error_code err;
        goro::wait_group wg;
        wg.go([&, c = ctx] { err = sem.acquire(c, 2); });
        const bool queued = eventually([&] { return !sem.try_acquire(0); });
        CHECK(queued);
        cancel();
        wg.wait();
        CHECK(err == context_errc::canceled);
        sem.release(4);
        CHECK(sem.try_acquire(4));
    });
}

TEST_CASE("semaphore: plain threads and fibers share one") {
    for_each_procs([](int) {
        goro::semaphore sem(1);
        long counter = 0;
        const int rounds = 200;
        plain_thread t([&] {
            for (int i = 0; i < rounds; ++i) {
                sem.acquire();
                ++counter;
                sem.release();
            }
        });
        goro::wait_group wg;
        for (int f = 0; f < 4; ++f)
            wg.go([&] {
                for (int i = 0; i < rounds; ++i) {
                    sem.acquire();
                    ++counter;
                    sem.release();
                }
            });
        wg.wait();
        t.join();
        CHECK(counter == 5L * rounds);
    });
}

}  // TEST_SUITE
