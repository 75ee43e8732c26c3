// tests/channels/synctest_test.cpp — goro::synctest: virtual time, wait,
// the deadlock and leak checks, and ports of Go's own synctest tests
// (src/internal/synctest/synctest_test.go, named after their originals).
//
// Every duration checked here is exact: inside a bubble the clock moves
// only when every fiber is durably blocked, straight to the next timer.
// The few real waits (a plain thread that lets a non-durable wait sit for a
// while before it ends it) only give a broken runtime room to show itself;
// nothing depends on how long they take.
#include <goro/goro.hpp>

#include <doctest/doctest.h>
#include <goro/doctest.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro::time_point;
using goro_test::for_each_bubble;

namespace {

// The bubble's first instant: 2000-01-01 00:00 UTC, as Go's.
const time_point bubble_start{std::chrono::seconds(946'684'800)};

// What a bubble's run threw, as text ("" when it returned).
template <class F>
std::string bubble_failure(F body, int procs = 2) {
    try {
        goro::config cfg;
        cfg.procs = procs;
        goro::synctest::run(cfg, std::move(body));
    } catch (const goro::panic_error& e) {
        return e.what();
    }
    return "";
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

// ------------------------------------------------------------------- clock

TEST_CASE("synctest: the clock starts at 2000-01-01 00:00 UTC and a sleep of hours takes no time") {
    for_each_bubble([](int) {
        CHECK(goro::now() == bubble_start);
        const auto real_before = std::chrono::steady_clock::now();
        goro::sleep_for(5h);
        CHECK(goro::now() == bubble_start + 5h);
        goro::sleep_until(goro::now() + 90min);
        CHECK(goro::now() == bubble_start + 6h + 30min);
        goro::sleep_for(-1s);  // a past deadline returns at once, the clock unmoved
        CHECK(goro::now() == bubble_start + 6h + 30min);
        // Nothing here slept in real time for hours (the check has a margin
        // of days: it only tells a virtual clock from a real one).
        CHECK(std::chrono::steady_clock::now() - real_before < 24h);
    });
}

TEST_CASE("synctest: the clock stands still while any fiber runs") {
    for_each_bubble([](int) {
        const auto t0 = goro::now();
        volatile unsigned sink = 0;
        for (int i = 0; i < 200000; ++i) sink = sink + static_cast<unsigned>(i);
        goro::yield();
        CHECK(goro::now() == t0);
    });
}

TEST_CASE("synctest: sleepers wake in deadline order, each at its exact instant") {
    for_each_bubble([](int) {
        constexpr int n = 50;
        std::vector<time_point> woke(n);
        std::vector<int> order;
        goro::mutex order_lock;
        goro::wait_group wg;
        for (int i = n - 1; i >= 0; --i) {
            wg.add(1);
            goro::go([&, i] {
                goro::sleep_for(std::chrono::seconds(i + 1));
                woke[static_cast<std::size_t>(i)] = goro::now();
                {
                    std::lock_guard<goro::mutex> g(order_lock);
                    order.push_back(i);
                }
                wg.done();
            });
        }
        wg.wait();
        int wrong = 0;
        for (int i = 0; i < n; ++i)
            if (woke[static_cast<std::size_t>(i)] != bubble_start + std::chrono::seconds(i + 1)) ++wrong;
        CHECK(wrong == 0);
        std::vector<int> sorted(order);
        std::sort(sorted.begin(), sorted.end());
        CHECK(order == sorted);
        CHECK(goro::now() == bubble_start + std::chrono::seconds(n));
    });
}

TEST_CASE("synctest: the same program gives the same times at every worker count") {
    std::vector<std::vector<std::pair<int, long long>>> runs;
    for (int procs : goro_test::procs_values) {
        std::vector<std::pair<int, long long>> events;
        goro::mutex lock;
        goro::config cfg;
        cfg.procs = procs;
        goro::synctest::run(cfg, [&] {
            goro::chan<int> ping = goro::make_chan<int>(), pong = goro::make_chan<int>();
            auto note = [&](int who) {
                std::lock_guard<goro::mutex> g(lock);
                events.emplace_back(who, (goro::now() - bubble_start) / 1ms);
            };
            goro::go([&] {
                for (int i = 0; i < 5; ++i) {
                    ping.recv();
                    goro::sleep_for(7ms);
                    note(1);
                    pong.send(i);
                }
            });
            for (int i = 0; i < 5; ++i) {
                goro::sleep_for(3ms);
                note(0);
                ping.send(i);
                pong.recv();
            }
        });
        runs.push_back(std::move(events));
    }
    for (std::size_t i = 1; i < runs.size(); ++i) CHECK(runs[i] == runs[0]);
    REQUIRE(runs[0].size() == 10);
    CHECK(runs[0].back() == std::make_pair(1, 50LL));
}

// ----------------------------------------------------- timers and tickers

TEST_CASE("synctest: timers, after, after_func and reset fire at their exact instants") {
    for_each_bubble([](int) {
        goro::timer t(10s);
        CHECK(t.c.recv() == bubble_start + 10s);
        CHECK(goro::now() == bubble_start + 10s);

        CHECK(goro::after(3s).recv() == bubble_start + 13s);

        goro::timer r(1h);
        goro::sleep_for(1s);
        CHECK(r.reset(2s));  // it was pending
        CHECK(r.c.recv() == bubble_start + 16s);

        goro::chan<time_point> ran = goro::make_chan<time_point>(1);
        auto f = goro::after_func(4s, [ran] { ran.send(goro::now()); });
        CHECK(ran.recv() == bubble_start + 20s);

        goro::timer stopped(1s);
        CHECK(stopped.stop());
        goro::sleep_for(5s);
        time_point v{};
        CHECK(goro::select(goro::recv(stopped.c, v), goro::default_case()) == 1);
        CHECK(goro::now() == bubble_start + 25s);
    });
}

TEST_CASE("synctest: a ticker ticks every period; a slow receiver finds one tick kept and the rest dropped") {
    for_each_bubble([](int) {
        goro::ticker tk(1s);
        for (int i = 1; i <= 3; ++i) CHECK(tk.c.recv() == bubble_start + std::chrono::seconds(i));
        // Asleep through the ticks due at 4 s, 5 s and 6 s (and half a period
        // more): the first of them waits for us, the others are dropped, and
        // the ticks go on at whole periods.
        goro::sleep_for(3500ms);
        CHECK(tk.c.recv() == bubble_start + 4s);
        CHECK(tk.c.recv() == bubble_start + 7s);
        CHECK(goro::now() == bubble_start + 7s);
        tk.reset(10s);
        CHECK(tk.c.recv() == bubble_start + 17s);
        tk.stop();
        goro::sleep_for(1min);
        time_point v{};
        CHECK(goro::select(goro::recv(tk.c, v), goro::default_case()) == 1);
    });
}

TEST_CASE("synctest: select with a timeout takes the timeout at its exact instant") {
    for_each_bubble([](int) {
        goro::chan<int> never = goro::make_chan<int>();
        int v = 0;
        const int which = goro::select(goro::recv(never, v), goro::recv(goro::after(250ms)));
        CHECK(which == 1);
        CHECK(goro::now() == bubble_start + 250ms);
    });
}

// ---------------------------------------------------------------- contexts

TEST_CASE("synctest: context deadlines and timeouts end at their exact instants") {
    for_each_bubble([](int) {
        auto [ctx, cancel] = goro::with_timeout(goro::background(), 90s);
        CHECK(ctx.deadline().value() == bubble_start + 90s);
        ctx.done().recv();
        CHECK(goro::now() == bubble_start + 90s);
        CHECK(ctx.err() == goro::context_errc::deadline_exceeded);
        cancel();

        auto [d, cancel_d] = goro::with_deadline(goro::background(), goro::now() + 10s);
        auto [child, cancel_child] = goro::with_timeout(d, 1h);  // the parent's deadline comes first
        child.done().recv();
        CHECK(goro::now() == bubble_start + 100s);
        cancel_child();
        cancel_d();
    });
}

// -------------------------------------------------------------------- wait

TEST_CASE("synctest: wait returns once the others are durably blocked, without moving the clock") {
    for_each_bubble([](int) {
        goro::chan<int> c = goro::make_chan<int>();
        goro::mutex m;
        goro::cond cv(m);
        goro::wait_group wg_blocked;
        std::atomic<int> reached{0};
        bool cond_ready = false;
        wg_blocked.add(1);
        goro::go([&] {
            reached.fetch_add(1);
            (void)c.recv();  // a channel receive
        });
        goro::go([&] {
            reached.fetch_add(1);
            int v = 0;
            (void)goro::select(goro::recv(c, v), goro::recv(goro::after(1h)));  // a select on a timer
        });
        goro::go([&] {
            reached.fetch_add(1);
            goro::sleep_for(30min);  // a sleep
        });
        goro::go([&] {
            std::lock_guard<goro::mutex> g(m);
            reached.fetch_add(1);
            while (!cond_ready) cv.wait();  // a cond
        });
        goro::go([&] {
            reached.fetch_add(1);
            wg_blocked.wait();  // a wait_group
        });
        goro::synctest::wait();
        CHECK(reached.load() == 5);
        CHECK(goro::now() == bubble_start);
        // Unblock them all (both receivers of c are waiting: each send
        // finds one), then wait again.
        c.send(1);
        c.send(2);
        {
            std::lock_guard<goro::mutex> g(m);
            cond_ready = true;
        }
        cv.broadcast();
        wg_blocked.done();
        goro::synctest::wait();
        CHECK(goro::now() == bubble_start);
        // The sleeper is left: it ends as time moves.
        goro::sleep_for(2h);
        CHECK(goro::num_fibers() == 1);
    });
}

TEST_CASE("synctest: a fiber waiting on a mutex is not durably blocked: wait and the clock wait for it") {
    for_each_bubble([](int) {
        goro::mutex m;
        std::atomic<bool> locker_got{false}, waiter_returned{false}, waiter_early{false};
        std::atomic<long long> clock_seen_ns{-1};
        m.lock();
        goro::go([&] {
            m.lock();  // blocks: main holds it
            locker_got = true;
            m.unlock();
        });
        goro::go([&] {
            goro::synctest::wait();
            if (!locker_got.load()) waiter_early = true;
            waiter_returned = true;
        });
        // A plain thread, outside the bubble, lets the blocked lock sit,
        // looks, and then unlocks for main (Go allows that too).
        std::thread outside([&] {
            std::this_thread::sleep_for(50ms);
            clock_seen_ns = (goro::now() - bubble_start).count();
            if (waiter_returned.load()) waiter_early = true;
            m.unlock();
        });
        goro::sleep_for(1s);  // durable; but the locker is not, so time waits
        CHECK(goro::now() == bubble_start + 1s);
        outside.join();
        CHECK(clock_seen_ns.load() == 0);
        CHECK(locker_got.load());
        CHECK(!waiter_early.load());
        CHECK(waiter_returned.load());
    });
}

TEST_CASE("synctest: a call in goro::blocking is not durably blocked") {
    for_each_bubble([](int) {
        std::atomic<bool> done{false};
        goro::go([&] {
            goro::blocking([&] {
                std::this_thread::sleep_for(30ms);  // real time, outside the bubble
                done = true;
            });
        });
        goro::synctest::wait();
        CHECK(done.load());
        CHECK(goro::now() == bubble_start);
    });
}

TEST_CASE("synctest: wait outside a bubble, or in two fibers at once, throws panic_error") {
    goro::run([] {
        std::string what;
        try {
            goro::synctest::wait();
        } catch (const goro::panic_error& e) {
            what = e.what();
        }
        CHECK(what.find("outside") != std::string::npos);
    });
    for_each_bubble([](int) {
        // Whichever of the two calls comes second, while the first is still
        // waiting, is refused: exactly one refusal in every interleaving (a
        // first wait cannot return while the other fiber still runs).
        goro::chan<int> c = goro::make_chan<int>();
        std::atomic<int> refused{0};
        auto try_wait = [&refused] {
            try {
                goro::synctest::wait();
            } catch (const goro::panic_error& e) {
                if (std::string(e.what()).find("waiting already") != std::string::npos) refused.fetch_add(1);
            }
        };
        goro::go([&] { (void)c.recv(); });
        goro::go(try_wait);
        try_wait();
        goro::sleep_for(1s);  // durably blocked: a fiber still waiting returns
        CHECK(refused.load() == 1);
        c.send(1);
    });
}

// ------------------------------------------------------- deadlock and leak

TEST_CASE("synctest: every fiber durably blocked with no timer is a deadlock, thrown with the dump") {
    for (int procs : goro_test::procs_values) {
        const std::string what = bubble_failure(
            [] {
                goro::chan<int> c = goro::make_chan<int>();
                goro::go([&] { c.send(1); c.send(2); });
                (void)c.recv();
                (void)goro::make_chan<int>().recv();  // nobody will ever send
            },
            procs);
        CHECK_MESSAGE(starts_with(what, "deadlock: all fibers in the bubble are durably blocked"), what);
        CHECK_MESSAGE(what.find("chan receive") != std::string::npos, what);
        CHECK_MESSAGE(what.find("chan send") != std::string::npos, what);
    }
}

TEST_CASE("synctest: f returning while fibers stay blocked for good is a leak, thrown as a deadlock") {
    for (int procs : goro_test::procs_values) {
        const std::string what = bubble_failure(
            [] {
                goro::chan<int> c = goro::make_chan<int>();
                goro::go([c] { (void)c.recv(); });
            },
            procs);
        CHECK_MESSAGE(starts_with(what, "deadlock: main bubble fiber has exited but blocked fibers remain"), what);
        CHECK_MESSAGE(what.find("chan receive") != std::string::npos, what);
    }
}

TEST_CASE("synctest: run waits for fibers still sleeping when f returns, the clock moving for them") {
    for_each_bubble([](int) {});  // an empty bubble (Go's TestRunEmpty)
    for (int procs : goro_test::procs_values) {
        std::atomic<long long> woke_at{-1};
        goro::config cfg;
        cfg.procs = procs;
        goro::synctest::run(cfg, [&] {
            goro::go([&] {
                goro::sleep_for(3h);
                woke_at = (goro::now() - bubble_start) / 1h;
            });
        });
        CHECK(woke_at.load() == 3);
    }
}

TEST_CASE("synctest: an exception escaping any fiber of the bubble is rethrown by run") {
    for (int procs : goro_test::procs_values) {
        goro::config cfg;
        cfg.procs = procs;
        std::string what;
        try {
            goro::synctest::run(cfg, [] {
                goro::go([] {
                    goro::sleep_for(1s);
                    throw std::runtime_error("boom in a fiber");
                });
                goro::sleep_for(1h);
            });
        } catch (const std::runtime_error& e) {
            what = e.what();
        }
        CHECK(what == "boom in a fiber");
        try {
            goro::synctest::run(cfg, [] { throw std::invalid_argument("boom in main"); });
        } catch (const std::invalid_argument& e) {
            what = e.what();
        }
        CHECK(what == "boom in main");
    }
}

TEST_CASE("synctest: a bubble after a normal run, and a normal run after a bubble, each keep their clock") {
    auto real_clock_near = [] {
        const auto d = goro::now() - std::chrono::steady_clock::now();
        return d < 1h && d > -1h;
    };
    bool real_first = false, virtual_mid = false, real_last = false;
    goro::run([&] { real_first = real_clock_near(); });
    goro::synctest::run([&] { virtual_mid = goro::now() == bubble_start; });
    goro::run([&] {
        real_last = real_clock_near();
        goro::sleep_for(1ms);  // a real timer works again
    });
    CHECK(real_first);
    CHECK(virtual_mid);
    CHECK(real_last);
    CHECK(!goro::synctest::in_bubble());
}

TEST_CASE("synctest: run from inside a fiber, or beside another run, throws panic_error") {
    std::string what;
    goro::synctest::run([&] {
        try {
            goro::synctest::run([] {});
        } catch (const goro::panic_error& e) {
            what = e.what();
        }
    });
    CHECK(what.find("goro::synctest::run") != std::string::npos);
}

// ------------------------------------------- ports of Go's synctest tests

TEST_CASE("synctest.TestNow") {
    for_each_bubble([](int) {
        const auto start = goro::now();
        CHECK(start == bubble_start);
        goro::sleep_for(1s);
        CHECK(goro::now() - start == 1s);
        // Time does not move while fibers run.
        goro::go([] {});
        goro::yield();
        CHECK(goro::now() - start == 1s);
    });
}

TEST_CASE("synctest.TestSimpleWait") {
    for_each_bubble([](int) { goro::synctest::wait(); });
}

TEST_CASE("synctest.TestGoroutineWait") {
    for_each_bubble([](int) {
        goro::go([] {});
        goro::synctest::wait();
    });
}

TEST_CASE("synctest.TestWait") {
    // Go's: a chain of fibers handing a value on; wait returns only once
    // every one of them has blocked again.
    for_each_bubble([](int) {
        goro::chan<int> done = goro::make_chan<int>();
        constexpr int count = 100;
        std::atomic<int> progress{0};
        goro::chan<int> first = goro::make_chan<int>();
        goro::chan<int> in = first;
        for (int i = 0; i < count; ++i) {
            goro::chan<int> out = goro::make_chan<int>();
            goro::go([in, out, &progress] {
                const int v = in.recv().value();
                progress.fetch_add(1);
                out.send(v + 1);
            });
            in = out;
        }
        goro::go([in, done] { done.send(in.recv().value()); });
        first.send(0);
        goro::synctest::wait();
        CHECK(progress.load() == count);
        CHECK(done.recv() == count);
    });
}

TEST_CASE("synctest.TestTimerReadBeforeDeadline") {
    for_each_bubble([](int) {
        const auto start = goro::now();
        goro::timer t(1s);
        const auto v = t.c.recv();
        CHECK(goro::now() - start == 1s);
        CHECK(v == start + 1s);
    });
}

TEST_CASE("synctest.TestTimerReadAfterDeadline") {
    for_each_bubble([](int) {
        const auto start = goro::now();
        goro::timer t(1s);
        goro::sleep_for(2s);
        CHECK(t.c.recv() == start + 1s);
    });
}

TEST_CASE("synctest.TestTimerReset") {
    for_each_bubble([](int) {
        const auto start = goro::now();
        goro::timer t(1s);
        CHECK(t.c.recv() == start + 1s);
        t.reset(1s);
        CHECK(t.c.recv() == start + 2s);
        // The timer fires while the fiber sleeps; reset discards the value.
        t.reset(3s);
        goro::sleep_for(1s);
        t.reset(3s);
        CHECK(t.c.recv() == start + 6s);
    });
}

TEST_CASE("synctest.TestTimeAfter") {
    for_each_bubble([](int) {
        const auto start = goro::now();
        goro::chan<time_point> c = goro::after(1s);
        goro::sleep_for(2s);
        CHECK(c.recv() == start + 1s);
        CHECK(goro::now() == start + 2s);
    });
}

TEST_CASE("synctest.TestDeadlockRoot") {
    const std::string what = bubble_failure([] { (void)goro::make_chan<int>().recv(); });
    CHECK_MESSAGE(starts_with(what, "deadlock:"), what);
}

TEST_CASE("synctest.TestDeadlockChild") {
    const std::string what = bubble_failure([] { goro::go([] { (void)goro::make_chan<int>().recv(); }); });
    CHECK_MESSAGE(starts_with(what, "deadlock:"), what);
}

TEST_CASE("synctest.TestDeadlockTicker") {
    // A fiber blocked on a ticker is not deadlocked: time moves for it, as
    // long as somebody reads the ticks; blocked on a stopped one, it is.
    for_each_bubble([](int) {
        goro::ticker tk(1s);
        for (int i = 0; i < 3; ++i) (void)tk.c.recv();
        tk.stop();
    });
    const std::string what = bubble_failure([] {
        goro::ticker tk(1s);
        tk.stop();
        (void)tk.c.recv();
    });
    CHECK_MESSAGE(starts_with(what, "deadlock:"), what);
}

TEST_CASE("synctest.TestCond") {
    for_each_bubble([](int) {
        goro::mutex m;
        goro::cond cv(m);
        bool ready = false;
        goro::go([&] {
            goro::sleep_for(1s);
            std::lock_guard<goro::mutex> g(m);
            ready = true;
            cv.signal();
        });
        std::lock_guard<goro::mutex> g(m);
        while (!ready) cv.wait();
        CHECK(goro::now() == bubble_start + 1s);
    });
}

TEST_CASE("synctest.TestWaitGroup") {
    for_each_bubble([](int) {
        goro::wait_group wg;
        wg.add(1);
        const auto start = goro::now();
        goro::go([&] {
            goro::sleep_for(1s);
            wg.done();
        });
        wg.wait();
        CHECK(goro::now() - start == 1s);
    });
}

TEST_CASE("synctest.TestHappensBefore") {
    // Go's: what a fiber did before it blocked is visible to wait's caller.
    for_each_bubble([](int) {
        int v = 0;  // no atomics: wait's return orders it
        goro::chan<int> c = goro::make_chan<int>();
        goro::go([&] {
            v = 1;
            (void)c.recv();
            v = 2;
        });
        goro::synctest::wait();
        CHECK(v == 1);
        c.send(0);
        goro::synctest::wait();
        CHECK(v == 2);
    });
}

// ------------------------------------------------ <goro/doctest.hpp> itself

GORO_TEST_CASE("doctest: a GORO_TEST_CASE body runs in a bubble") {
    CHECK(goro::synctest::in_bubble());
    CHECK(goro::now() == bubble_start);
    goro::sleep_for(24h);
    CHECK(goro::now() == bubble_start + 24h);
}

GORO_TEST_CASE_PROCS(1, "doctest: GORO_TEST_CASE_PROCS sets the worker count") { CHECK(goro::procs() == 1); }

// The next two must fail, and doctest's should_fail turns that into a pass:
// they show that a CHECK or a REQUIRE failing in a spawned fiber is reported
// against the test case (their "ERROR" lines in the log are expected).
GORO_TEST_CASE("doctest: a CHECK failing in a spawned fiber fails the test case (expected to fail)" *
               doctest::should_fail()) {
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
        goro::sleep_for(1s);
        CHECK(goro::now() == bubble_start);  // false: 1 s has passed
        wg.done();
    });
    wg.wait();
}

GORO_TEST_CASE("doctest: a REQUIRE failing in a spawned fiber ends the bubble and fails the test case (expected to fail)" *
               doctest::should_fail()) {
    goro::go([] { REQUIRE(goro::num_fibers() == 0); });  // false: this fiber is alive
    goro::sleep_for(1h);
}
