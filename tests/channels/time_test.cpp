// tests/channels/time_test.cpp — goro::after, tick, timer, ticker and
// after_func: ports of Go's time package tests (src/time/sleep_test.go and
// tick_test.go, with Go 1.23's synchronous timer channels) and goro's own
// checks of the same semantics.
//
// Timing rules. A timer never fires early, and the value it delivers is the
// time it was due, so the checks are lower bounds ("elapsed >= d", "the value
// received is >= the moment the timer was armed + d") and orderings; nothing
// is ever required to happen within a time. Blocking receives go through
// recv_guarded, whose limit only turns a hang into a failure. Where a Go test
// depends on the machine being fast (TestAfterStop, TestAfterQueuing), only
// that part is retried with longer durations, as Go does; every semantic
// check is made on every attempt.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/procs.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using goro::time_point;
using goro_test::eventually;
using goro_test::for_each_procs;
using goro_test::plain_thread;
using goro_test::stress;
using steady = std::chrono::steady_clock;

namespace {

using tchan = goro::chan<time_point>;

constexpr const char* deadlock_line = "fatal error: all fibers are asleep - deadlock!";

// The limit of every blocking wait: it only turns a hang into a failure.
constexpr auto hang_guard = 30s;

// v := <-c, giving up (nullopt) only after hang_guard.
std::optional<time_point> recv_guarded(const tchan& c) {
    time_point v{};
    if (goro::select(goro::recv(c, v), goro::recv(goro::after(hang_guard))) == 0) return v;
    return std::nullopt;
}

// select { case v := <-c: return v; default: return nullopt }
std::optional<time_point> poll(const tchan& c) {
    time_point v{};
    if (goro::select(goro::recv(c, v), goro::default_case()) == 0) return v;
    return std::nullopt;
}

std::uint64_t clock_seed() { return static_cast<std::uint64_t>(steady::now().time_since_epoch().count()); }

std::string seed_text(std::uint64_t seed) { return "seed=" + std::to_string(seed); }

// A short busy stretch of random length, to move a stop() or reset() across
// the moment its timer fires.
void jitter(std::mt19937_64& rnd) {
    const unsigned n = static_cast<unsigned>(rnd() % 64);
    if (n < 16) return;
    if (n < 32) {
        goro::yield();
        return;
    }
    volatile unsigned sink = 0;
    for (unsigned i = 0; i < n * 8; ++i) sink = sink + i;
}

// stop() of either kind of timer; a ticker's stop() returns nothing.
template <class Tick>
void stop_expecting(Tick& tick, bool expected, const char* what) {
    if constexpr (std::is_same_v<Tick, goro::timer>) {
        CHECK_MESSAGE(tick.stop() == expected, what);
    } else {
        (void)expected;
        (void)what;
        tick.stop();
    }
}

template <class Tick, class D>
void reset_expecting(Tick& tick, D d, bool expected, const char* what) {
    if constexpr (std::is_same_v<Tick, goro::timer>) {
        CHECK_MESSAGE(tick.reset(d) == expected, what);
    } else {
        (void)expected;
        (void)what;
        tick.reset(d);
    }
}

// Go 1.23's testTimerChan: the synchronous channel rules, for a timer and a
// ticker alike. `tick` starts armed far in the future. The expected results
// of stop() and reset() are the timer's (a ticker's return nothing).
template <class Tick>
void check_timer_chan(Tick& tick) {
    const tchan c = tick.c;
    constexpr auto near = 1ms;
    constexpr auto far = 10000s;
    auto no_tick = [&](const char* when) { CHECK_MESSAGE(!poll(c), "extra tick ", when); };

    // Stop of a timer that never fired.
    stop_expecting(tick, true, "stop of a pending timer");
    no_tick("after stop");

    // Reset of a stopped timer to a far time.
    reset_expecting(tick, far, false, "reset of a stopped timer");
    no_tick("after reset(far)");

    // Reset to a near time; once it is due the value waits, unreceived, and
    // len() still reports 0. A reset to a far time then discards it.
    reset_expecting(tick, near, true, "reset of a pending timer");
    goro::sleep_for(5 * near);
    CHECK(c.len() == 0);
    CHECK(c.cap() == 0);
    reset_expecting(tick, far, true, "reset of a fired, unreceived timer");
    no_tick("after a reset that followed the fire");

    // Stop discards a fired, unreceived value as well.
    reset_expecting(tick, near, true, "reset of a pending timer");
    goro::sleep_for(5 * near);
    stop_expecting(tick, true, "stop of a fired, unreceived timer");
    no_tick("after a stop that followed the fire");

    // A reset timer delivers the time it was due: never earlier than d after
    // the reset.
    const auto reset_at = steady::now();
    reset_expecting(tick, near, false, "reset of a stopped timer");
    const auto v = recv_guarded(c);
    CHECK_MESSAGE(v.has_value(), "missing tick");
    if (v) {
        CHECK(*v >= reset_at + near);
        CHECK(steady::now() >= *v);
    }
    stop_expecting(tick, false, "stop of a timer whose value was received");
    no_tick("after stopping a received timer");

    // A receiver blocked on c while the timer is stopped receives nothing
    // until a reset, and then a fresh value.
    std::atomic<bool> received{false};
    std::atomic<std::int64_t> got_ns{0};
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
        if (const auto r = recv_guarded(c)) got_ns.store(r->time_since_epoch().count());
        received.store(true);
        wg.done();
    });
    goro::sleep_for(2ms);
    CHECK_MESSAGE(!received.load(), "a stopped timer delivered a value");
    const auto rearmed_at = steady::now();
    reset_expecting(tick, near, false, "reset of a stopped timer");
    wg.wait();
    CHECK(got_ns.load() != 0);
    CHECK(time_point(std::chrono::nanoseconds(got_ns.load())) >= rearmed_at + near);
    stop_expecting(tick, false, "stop of a timer whose value was received");
    no_tick("at the end");
    CHECK(tick.c == c);  // one channel for the timer's whole life
}

}  // namespace

// ---------------------------------------------------------------------------
// Scenarios run in a child process: the deadlock detector reports a deadlock
// only when no timer is pending, so it shows whether timers were removed.

// Timers that nothing references any more — after() in a select that chose
// another case, dropped timer, ticker, tick and after channels — leave the
// runtime at once: the main fiber then blocks for good and the deadlock is
// reported instead of waiting an hour.
GORO_SCENARIO(time_unreferenced_timers_are_removed) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        auto ready = goro::make_chan<int>(1);
        for (int i = 0; i < 10000; ++i) {
            ready.send(i);
            if (goro::select(goro::recv(goro::after(1h)), goro::recv(ready)) != 1) return 4;
        }
        {
            goro::timer t(1h);
            goro::ticker tk(1h);
            auto tc = goro::tick(1h);
            auto ac = goro::after(1h);
            auto copy_of_timer_c = t.c;
        }
        goro_test::emit("dropped", 1);
        auto never = goro::make_chan<int>();
        (void)never.recv();
        return 3;
    });
}

// A timer still referenced stays in the runtime until it fires: the deadlock
// is reported only afterwards.
GORO_SCENARIO(time_referenced_timer_defers_deadlock) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        auto kept = goro::after(200ms);
        goro_test::emit("armed", 1);
        auto never = goro::make_chan<int>();
        (void)never.recv();
        return 3;
    });
}

TEST_SUITE("time") {

// ---------------------------------------------------------------------------
// Ports of src/time/sleep_test.go

TEST_CASE("time.TestSleep") {
    // Go's Interrupt() (a signal to the sleeping thread) has no counterpart; a
    // second sleeper waking halfway stands in for it. On virtual time
    // (goro::synctest) the durations are exact; on the real clock, lower
    // bounds.
    auto body = [](auto clock_now, bool exact) {
        constexpr auto delay = 10ms;
        goro::wait_group wg;
        wg.add(1);
        time_point half_woke{};
        // start is read before the second sleeper exists: on two workers it
        // may begin its sleep at once, and a start read after that would
        // make its half look short.
        const auto start = clock_now();
        goro::go([&] {
            goro::sleep_for(delay / 2);
            half_woke = clock_now();
            wg.done();
        });
        goro::sleep_for(delay);
        const auto slept = clock_now() - start;
        wg.wait();
        if (exact) {
            CHECK(slept == delay);
            CHECK(half_woke - start == delay / 2);
        } else {
            CHECK(slept >= delay);
            CHECK(half_woke - start >= delay / 2);
        }
    };
    SUBCASE("virtual") {
        goro_test::for_each_bubble([&](int) { body([] { return goro::now(); }, true); });
    }
    SUBCASE("real") {
        for_each_procs([&](int) { body([] { return steady::now(); }, false); });
    }
}

TEST_CASE("time.TestAfterFunc") {
    for_each_procs([&](int) {
        int i = 10;
        auto c = goro::make_chan<bool>();
        goro::wait_group wg;  // every f has returned before the locals go
        std::atomic<int> off_fiber{0};
        std::function<void()> f;
        f = [&] {
            if (goro::fiber_id() == 0) off_fiber.fetch_add(1);
            --i;
            if (i >= 0) {
                wg.add(1);
                goro::after_func(0ns, f);  // the returned timer is dropped; f still runs
                goro::sleep_for(1ms);
            } else {
                c.send(true);
            }
            wg.done();
        };
        wg.add(1);
        goro::after_func(0ns, f);
        bool got = false;
        CHECK(goro::select(goro::recv(c, got), goro::recv(goro::after(hang_guard))) == 0);
        CHECK(got);
        wg.wait();
        CHECK(i == -1);
        CHECK(off_fiber.load() == 0);
    });
}

TEST_CASE("time.TestAfterStress") {
    for_each_procs([&](int) {
        std::atomic<bool> stop{false};
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            while (!stop.load()) {
                goro::yield();  // Go: runtime.GC()
                goro::sleep_for(1ns);
            }
            wg.done();
        });
        goro::ticker ticker(1ns);
        time_point last{};
        int increasing = 0;
        for (int i = 0; i < 100; ++i) {
            const auto v = recv_guarded(ticker.c);
            if (!v) break;
            if (*v > last) ++increasing;
            last = *v;
        }
        ticker.stop();
        stop.store(true);
        wg.wait();
        CHECK(increasing == 100);  // 100 ticks arrived, each due later than the one before
    });
}

TEST_CASE("time.TestAfter") {
    // On virtual time: exact.
    goro_test::for_each_bubble([&](int) {
        constexpr auto delay = 10ms;
        const auto start = goro::now();
        const auto end = goro::after(delay).recv();
        CHECK(goro::now() - start == delay);
        CHECK(end == start + delay);
    });
}

TEST_CASE("time.TestAfterTick") {
    // On virtual time Go's tolerance (9/10 of the target for coarse clocks)
    // becomes an equality.
    goro_test::for_each_bubble([&](int) {
        constexpr int count = 10;
        constexpr auto delta = 1ms;
        const auto t0 = goro::now();
        int received = 0;
        for (int i = 0; i < count; ++i)
            if (goro::after(delta).recv()) ++received;
        CHECK(received == count);
        CHECK(goro::now() - t0 == delta * count);
    });
}

TEST_CASE("time.TestAfterStop") {
    // Go's test retries because an AfterFunc may legitimately fire before the
    // test gets to stop it on a loaded machine; only that outcome is retried
    // here, with longer durations each time. Nothing receives from t0.c, so
    // under Go 1.23's rules t0.stop() must report true even if t0 fired.
    for_each_procs([&](int) {
        bool stopped_in_time = false;
        for (int attempt = 0; attempt < 5 && !stopped_in_time; ++attempt) {
            const auto unit = 2ms * (1 << attempt);
            goro::timer unrelated = goro::after_func(2 * unit, [] {});
            goro::timer t0(unit);
            auto c1 = goro::make_chan<bool>(1);
            goro::timer t1 = goro::after_func(3 * unit, [c1]() mutable { c1.send(true); });
            auto c2 = goro::after(4 * unit);
            CHECK_MESSAGE(t0.stop(), "failed to stop event 0");
            const bool stopped1 = t1.stop();
            CHECK(recv_guarded(c2).has_value());
            // Goro calls may yield: never inside CHECK_MESSAGE's scope.
            const bool fired0 = poll(t0.c).has_value();
            CHECK_MESSAGE(!fired0, "event 0 was not stopped");
            if (stopped1) {
                const bool fired1 = c1.try_recv().has_value();
                CHECK_MESSAGE(!fired1, "event 1 was not stopped");
            }
            CHECK_MESSAGE(!t1.stop(), "Stop returned true twice");
            CHECK_MESSAGE(!t0.stop(), "Stop returned true twice");
            unrelated.stop();
            stopped_in_time = stopped1;
        }
        CHECK_MESSAGE(stopped_in_time, "failed to stop event 1 in every attempt");
    });
}

TEST_CASE("time.TestAfterQueuing") {
    // The arrival order of the fibers woken by the timers depends on the
    // machine keeping up, so Go retries it with a larger delta; that a value
    // never comes early is checked on every attempt.
    struct after_result {
        int slot = 0;
        time_point t{};
        time_point armed{};
    };
    for_each_procs([&](int) {
        static constexpr int slots[] = {5, 3, 6, 6, 6, 1, 1, 2, 7, 9, 4, 8, 0};
        constexpr int nslots = static_cast<int>(std::size(slots));
        bool in_order = false;
        std::string last_order;
        for (int attempt = 0; attempt < 5 && !in_order; ++attempt) {
            const auto delta = 2ms + 10ms * attempt;
            auto result = goro::make_chan<after_result>(nslots);
            for (int slot : slots) {
                const auto armed = steady::now();
                goro::go(
                    [slot, armed, result](tchan ac) mutable {
                        const auto v = recv_guarded(ac);
                        result.send(after_result{slot, v.value_or(time_point{}), armed});
                    },
                    goro::after(slot * delta));
            }
            std::vector<int> order;
            int early = 0;
            for (int i = 0; i < nslots; ++i) {
                after_result r;
                if (goro::select(goro::recv(result, r), goro::recv(goro::after(hang_guard))) != 0) break;
                if (r.t < r.armed + r.slot * delta) ++early;
                order.push_back(r.slot);
            }
            CHECK(static_cast<int>(order.size()) == nslots);
            CHECK_MESSAGE(early == 0, "a timer delivered a value due before its duration had passed");
            in_order = std::is_sorted(order.begin(), order.end());
            last_order.clear();
            for (int s : order) last_order += std::to_string(s) + " ";
        }
        CHECK_MESSAGE(in_order, "After calls returned out of order: ", last_order);
    });
}

TEST_CASE("time.TestTimerStopStress") {
    // Go checks that 100 AfterFuncs stopped a second before they are due never
    // run. Here each stop() races the fire, and whatever the outcome it must
    // agree with what happened: f ran exactly when stop() returned false.
    for_each_procs([&](int) {
        const int n = stress(100, 1000);
        std::vector<std::shared_ptr<std::atomic<int>>> ran(static_cast<std::size_t>(n));
        std::vector<char> stopped(static_cast<std::size_t>(n), 0);
        for (auto& r : ran) r = std::make_shared<std::atomic<int>>(0);
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i) {
            goro::go([&, i] {
                auto counter = ran[static_cast<std::size_t>(i)];
                goro::timer t = goro::after_func(2ms, [counter] { counter->fetch_add(1); });
                goro::sleep_for(1ms);
                stopped[static_cast<std::size_t>(i)] = t.stop() ? 1 : 0;
                wg.done();
            });
        }
        wg.wait();
        int not_stopped = 0;
        for (char s : stopped) not_stopped += s ? 0 : 1;
        goro::sleep_for(3ms);  // past every due time, so a stopped f that runs anyway gets the chance to
        CHECK(eventually([&] {
            int total = 0;
            for (auto& r : ran) total += r->load();
            return total == not_stopped;
        }));
        int wrong = 0;
        for (std::size_t i = 0; i < ran.size(); ++i)
            if (ran[i]->load() != (stopped[i] ? 0 : 1)) ++wrong;
        CHECK_MESSAGE(wrong == 0, "f ran although stop() returned true, or twice");
    });
}

TEST_CASE("time.TestSleepZeroDeadlock") {
    for_each_procs([&](int) {
        auto c = goro::make_chan<bool>();
        goro::go([c]() mutable {
            for (int i = 0; i < 100; ++i) goro::yield();  // Go: runtime.GC()
            c.send(true);
        });
        for (int i = 0; i < 100; ++i) {
            goro::sleep_for(0ns);
            auto tmp = goro::make_chan<bool>(1);
            tmp.send(true);
            CHECK(tmp.recv() == std::optional<bool>(true));
        }
        bool got = false;
        CHECK(goro::select(goro::recv(c, got), goro::recv(goro::after(hang_guard))) == 0);
        CHECK(got);
    });
}

TEST_CASE("time.TestReset") {
    // Go's testReset, with Go 1.23's rules: a reset of a timer whose value
    // nobody received reports true even if it fired, so that result needs no
    // retry; "fired early" is checked on the value (its due time) instead of
    // on a sleep that may overrun.
    // On virtual time: Go's retry for a slow machine is not needed, and
    // the fire time is exact.
    goro_test::for_each_bubble([&](int) {
        constexpr auto d = 5ms;
        goro::timer t0(2 * d);
        goro::sleep_for(d);
        const auto reset_at = goro::now();
        CHECK_MESSAGE(t0.reset(3 * d), "resetting unfired timer returned false");
        goro::sleep_for(2 * d);
        CHECK_MESSAGE(!poll(t0.c), "timer fired early");
        const auto v = t0.c.recv();
        CHECK(v == reset_at + 3 * d);
        CHECK(goro::now() == reset_at + 3 * d);
        CHECK_MESSAGE(!t0.reset(50ms), "resetting expired timer returned true");
        CHECK(t0.stop());
    });
}

TEST_CASE("time.TestOverflowSleep") {
    for_each_procs([&](int) {
        constexpr auto big = std::chrono::nanoseconds::max();
        // Abandoned when the runtime ends; it must never wake before that.
        goro::go([] {
            goro::sleep_for(std::chrono::nanoseconds::max());
            CHECK_MESSAGE(false, "big sleep returned");
        });
        const int first = goro::select(goro::recv(goro::after(big)), goro::recv(goro::after(25ms)));
        CHECK_MESSAGE(first == 1, "big timeout fired");
        goro::timer t(big);
        goro::ticker tk(big);
        CHECK(!poll(t.c));
        CHECK(!poll(tk.c));
        CHECK(t.stop());

        constexpr auto neg = std::chrono::nanoseconds::min();
        goro::sleep_for(neg);  // returns at once
        const int second = goro::select(goro::recv(goro::after(neg)), goro::recv(goro::after(hang_guard)));
        CHECK_MESSAGE(second == 0, "negative timeout didn't fire");
        goro::timer tn(neg);
        CHECK(recv_guarded(tn.c).has_value());
    });
}

TEST_CASE("time.TestZeroTimer") {
    for_each_procs([&](int) {
        const int n = stress(2000, 1000000);
        int missed = 0, early = 0;
        for (int i = 0; i < n; ++i) {
            const auto s = steady::now();
            goro::timer ti(0ns);
            const auto v = recv_guarded(ti.c);
            if (!v) ++missed;
            else if (*v < s) ++early;
        }
        CHECK(missed == 0);
        CHECK(early == 0);
    });
}

TEST_CASE("time.TestTimerModifiedEarlier") {
    // Under Go 1.23's rules stop() of a timer whose value nobody received is
    // always true, so Go's `if !timer.Stop() { <-timer.C }` becomes a check.
    for_each_procs([&](int) {
        const auto past = -std::chrono::hours(24 * 365 * 50);
        const int count = stress(1000, 10000);
        int stop_false = 0, missed = 0;
        for (int i = 0; i < count; ++i) {
            goro::timer timer(1h);
            for (int j = 0; j < 10; ++j) {
                if (!timer.stop()) ++stop_false;
                timer.reset(past);
            }
            if (!recv_guarded(timer.c)) ++missed;
        }
        CHECK(stop_false == 0);
        CHECK_MESSAGE(missed == 0, "deadline expired");
    });
}

TEST_CASE("time.TestAdjustTimers") {
    for_each_procs([&](int) {
        const std::uint64_t seed = clock_seed();
        std::mt19937_64 rnd(seed);
        constexpr int count = 100;
        std::vector<std::optional<goro::timer>> timers(count);
        std::vector<int> states(count, 0);
        std::vector<int> indices(count);
        std::iota(indices.begin(), indices.end(), 0);
        std::shuffle(indices.begin(), indices.end(), rnd);
        int wrong = 0;
        while (!indices.empty()) {
            const std::size_t ii = static_cast<std::size_t>(rnd() % indices.size());
            const auto i = static_cast<std::size_t>(indices[ii]);
            std::optional<goro::timer>& timer = timers[i];
            const int state = states[i]++;
            switch (state) {
                case 0:
                    timer.emplace(0ns);
                    break;
                case 1:
                    if (!recv_guarded(timer->c)) ++wrong;  // the timer is now idle
                    break;
                // Reset to various long durations, which are then stopped.
                case 2:
                    if (timer->reset(1min)) ++wrong;  // shouldn't be active (1)
                    break;
                case 4:
                    if (timer->reset(3min)) ++wrong;  // shouldn't be active (3)
                    break;
                case 6:
                    if (timer->reset(2min)) ++wrong;  // shouldn't be active (2)
                    break;
                // Stop a long-duration timer: pending, so stop() is true.
                case 3:
                case 5:
                case 7:
                    if (!timer->stop()) ++wrong;
                    break;
                // A short-duration timer that then fires.
                case 8:
                    if (timer->reset(0ns)) ++wrong;  // timer.Reset returned true
                    break;
                case 9:
                    if (!recv_guarded(timer->c)) ++wrong;
                    break;
                case 10:  // done: swap with the tail and remove
                    indices[ii] = indices.back();
                    indices.pop_back();
                    break;
                default:
                    break;
            }
        }
        CHECK_MESSAGE(wrong == 0, seed_text(seed));
    });
}

// ---------------------------------------------------------------------------
// Ports of src/time/tick_test.go

TEST_CASE("time.TestTicker") {
    // Go checks the total time against a target with 30% slop either way and
    // retries; on virtual time every tick is due exactly one period after
    // the previous one (or after the reset), and none comes after stop().
    goro_test::for_each_bubble([&](int) {
        constexpr int count = 10;
        constexpr auto delta = 2ms;
        const auto t0 = goro::now();
        goro::ticker ticker(delta);
        int wrong = 0;
        for (int i = 1; i <= count / 2; ++i)
            if (ticker.c.recv() != t0 + i * delta || goro::now() != t0 + i * delta) ++wrong;
        const auto reset_at = goro::now();
        ticker.reset(delta * 2);
        for (int i = 1; i <= count / 2; ++i)
            if (ticker.c.recv() != reset_at + i * 2 * delta) ++wrong;
        ticker.stop();
        CHECK(wrong == 0);
        CHECK(goro::now() - t0 == 3 * delta * (count / 2));
        // The ticker stopped.
        goro::sleep_for(2 * delta);
        CHECK_MESSAGE(!poll(ticker.c), "Ticker did not shut down");
    });
}

TEST_CASE("time.TestTickerStopWithDirectInitialization") {
    // A Ticker built without NewTicker has no C++ counterpart; the nearest is a
    // moved-from ticker or timer, whose stop() and reset() do nothing (and
    // report false) while the object moved to keeps working.
    for_each_procs([&](int) {
        goro::ticker a(1h);
        goro::ticker b(std::move(a));
        a.stop();       // NOLINT(bugprone-use-after-move): the point of the test
        a.reset(1ms);   // NOLINT(bugprone-use-after-move)
        b.reset(1ms);
        CHECK(recv_guarded(b.c).has_value());
        b.stop();

        goro::timer t(1h);
        goro::timer u(std::move(t));
        CHECK_FALSE(t.stop());        // NOLINT(bugprone-use-after-move)
        CHECK_FALSE(t.reset(1ms));    // NOLINT(bugprone-use-after-move)
        CHECK(u.stop());
        CHECK_FALSE(u.reset(0ns));
        CHECK(recv_guarded(u.c).has_value());

        goro::timer w(1h);
        w = std::move(u);  // w's own timer is released, u's taken over
        CHECK_FALSE(w.stop());
    });
}

TEST_CASE("time.TestTeardown") {
    for_each_procs([&](int) {
        constexpr auto delta = 2ms;
        for (int i = 0; i < 3; ++i) {
            goro::ticker ticker(delta);
            CHECK(recv_guarded(ticker.c).has_value());
            ticker.stop();
        }
    });
}

TEST_CASE("time.TestTick") {
    for_each_procs([&](int) {
        CHECK(!goro::tick(-1ns));  // Tick(-1) = nil
        CHECK(!goro::tick(0ns));
        const auto start = steady::now();
        auto c = goro::tick(1ms);
        CHECK(static_cast<bool>(c));
        const auto v1 = recv_guarded(c);
        const auto v2 = recv_guarded(c);
        CHECK(v1.has_value());
        CHECK(v2.has_value());
        if (v1 && v2) {
            CHECK(*v1 >= start + 1ms);
            CHECK(*v2 >= *v1 + 1ms);
        }
    });
}

TEST_CASE("time.TestNewTickerLtZeroDuration") {
    for_each_procs([&](int) {
        CHECK_THROWS_WITH_AS(goro::ticker(-1ns), "non-positive interval for NewTicker", goro::panic_error);
        CHECK_THROWS_WITH_AS(goro::ticker(0ns), "non-positive interval for NewTicker", goro::panic_error);
    });
}

TEST_CASE("time.TestTickerResetLtZeroDuration") {
    for_each_procs([&](int) {
        goro::ticker tk(1s);
        CHECK_THROWS_WITH_AS(tk.reset(0ns), "non-positive interval for Ticker.Reset", goro::panic_error);
        CHECK_THROWS_AS(tk.reset(-1ns), goro::panic_error);
        tk.stop();
    });
}

// ---------------------------------------------------------------------------
// Go 1.23's tests of the synchronous timer channels

TEST_CASE("time.TestChan") {
    SUBCASE("timer") {
        for_each_procs([&](int) {
            goro::timer t(10000s);
            check_timer_chan(t);
        });
    }
    SUBCASE("ticker") {
        for_each_procs([&](int) {
            goro::ticker t(10000s);
            check_timer_chan(t);
        });
    }
}

TEST_CASE("time.TestAfterFuncStarvation") {
    // Two fibers hand values to each other through a channel without pause;
    // the after_func that tells them to stop must still get to run (Go runs
    // this with GOMAXPROCS=1; here with every worker count).
    for_each_procs([&](int) {
        std::atomic<bool> stop{false};
        auto c = goro::make_chan<bool>(1);
        goro::wait_group wg;
        wg.add(2);
        goro::go([&] {
            while (!stop.load()) c.send(true);
            c.close();
            wg.done();
        });
        goro::go([&] {
            for (bool v : c) (void)v;
            wg.done();
        });
        goro::after_func(1us, [&] { stop.store(true); });
        wg.wait();
        CHECK(stop.load());
    });
}

// ---------------------------------------------------------------------------
// goro's own checks

TEST_CASE("time: the value received is the time the timer was due") {
    for_each_procs([&](int) {
        constexpr auto d = 3ms;
        const auto before = steady::now();
        goro::timer t(d);
        const auto after = steady::now();
        const auto v = recv_guarded(t.c);
        CHECK(v.has_value());
        if (v) {
            CHECK(*v >= before + d);
            CHECK(*v <= after + d);  // the due time, not the time of receipt
            CHECK(steady::now() >= *v);
        }
        const auto before_reset = steady::now();
        CHECK_FALSE(t.reset(d));
        const auto after_reset = steady::now();
        const auto w = recv_guarded(t.c);
        CHECK(w.has_value());
        if (w) {
            CHECK(*w >= before_reset + d);
            CHECK(*w <= after_reset + d);
        }
    });
}

TEST_CASE("time: stop() or reset() racing the fire, with no receiver, reports true and no value is ever received") {
    // Nobody receives, so the value can never count as delivered: whether the
    // fire came first or not, stop() and reset() report true and the value
    // prepared before them is never received.
    for_each_procs([&](int) {
        const std::uint64_t seed = clock_seed();
        std::mt19937_64 rnd(seed);
        const int n = stress(2000, 50000);
        std::vector<goro::timer> timers;
        timers.reserve(static_cast<std::size_t>(n));
        int reported_false = 0, stale = 0;
        for (int i = 0; i < n; ++i) {
            timers.emplace_back(std::chrono::microseconds(rnd() % 30));
            jitter(rnd);
            const bool r = i % 2 == 0 ? timers.back().stop() : timers.back().reset(1h);
            if (!r) ++reported_false;
            if (poll(timers.back().c)) ++stale;
        }
        goro::sleep_for(1ms);  // past every short due time
        int second_wrong = 0;
        for (std::size_t i = 0; i < timers.size(); ++i) {
            if (poll(timers[i].c)) ++stale;
            // Stopped: a second stop() finds nothing to stop. Reset to 1h:
            // still pending.
            if (timers[i].stop() != (i % 2 == 1)) ++second_wrong;
        }
        CHECK_MESSAGE(reported_false == 0, seed_text(seed));
        CHECK_MESSAGE(stale == 0, seed_text(seed));
        CHECK_MESSAGE(second_wrong == 0, seed_text(seed));
    });
}

TEST_CASE("time: a receiver racing stop() or reset() got the value exactly when they returned false") {
    for_each_procs([&](int) {
        const std::uint64_t seed = clock_seed();
        std::mt19937_64 rnd(seed);
        const int n = stress(1000, 20000);
        int mismatched = 0, early = 0, stale = 0;
        for (int i = 0; i < n; ++i) {
            const bool use_reset = i % 2 == 1;
            const auto d = std::chrono::microseconds(rnd() % 40);
            const auto armed = steady::now();
            goro::timer t(d);
            auto quit = goro::make_chan<int>();
            bool got = false;
            time_point v{};
            goro::wait_group wg;
            wg.add(1);
            goro::go([&] {
                got = goro::select(goro::recv(t.c, v), goro::recv(quit)) == 0;
                wg.done();
            });
            jitter(rnd);
            const bool stopped = use_reset ? t.reset(1h) : t.stop();
            quit.close();
            wg.wait();
            if (got == stopped) ++mismatched;
            if (got && v < armed + d) ++early;
            if (poll(t.c)) ++stale;
        }
        CHECK_MESSAGE(mismatched == 0, seed_text(seed));
        CHECK_MESSAGE(early == 0, seed_text(seed));
        CHECK_MESSAGE(stale == 0, seed_text(seed));
    });
}

TEST_CASE("time: stop() and reset() report true when the fired value was not yet received, and discard it") {
    for_each_procs([&](int) {
        goro::timer t(1ns);
        goro::sleep_for(3ms);  // it has fired (or will have): either way nobody received it
        CHECK(t.stop());
        CHECK(!poll(t.c));
        CHECK_FALSE(t.stop());

        goro::timer u(1ns);
        goro::sleep_for(3ms);
        CHECK(u.reset(1h));
        CHECK(!poll(u.c));
        CHECK(u.stop());

        // Once the value was received the timer has expired: false.
        goro::timer w(1ns);
        CHECK(recv_guarded(w.c).has_value());
        CHECK_FALSE(w.stop());
        CHECK_FALSE(w.reset(1h));
        CHECK(w.stop());

        // The same seen from a ticker: a tick waiting unreceived is dropped.
        goro::ticker tk(1ms);
        goro::sleep_for(3ms);
        tk.stop();
        CHECK(!poll(tk.c));
        goro::sleep_for(3ms);
        CHECK(!poll(tk.c));
    });
}

TEST_CASE("time: a ticker keeps at most one tick for a slow receiver") {
    // The receiver sleeps through 40 periods: the first tick it missed waits
    // for it, the other 39 are dropped, and the ticks go on at whole periods
    // (Go's rule). Exact on virtual time.
    goro_test::for_each_bubble([&](int) {
        constexpr auto period = 1ms;
        const auto t0 = goro::now();
        goro::ticker tk(period);
        // Half a period more, so that the sleep does not end at the instant
        // of a tick: which of two fibers due together runs first is open.
        goro::sleep_for(40 * period + 500us);
        CHECK(poll(tk.c) == t0 + period);
        CHECK(!poll(tk.c));
        CHECK(tk.c.recv() == t0 + 41 * period);
        CHECK(tk.c.recv() == t0 + 42 * period);
        tk.stop();
    });
}

TEST_CASE("time: len() and cap() of timer channels are 0, before and after the fire") {
    for_each_procs([&](int) {
        goro::timer t(1ms);
        goro::ticker tk(1ms);
        auto a = goro::after(1ms);
        auto tc = goro::tick(1ms);
        auto far = goro::after(1h);
        auto zero_len_cap = [](const tchan& c) { return c.len() == 0 && c.cap() == 0; };
        CHECK(zero_len_cap(t.c));
        CHECK(zero_len_cap(tk.c));
        CHECK(zero_len_cap(a));
        CHECK(zero_len_cap(tc));
        CHECK(zero_len_cap(far));
        goro::sleep_for(5ms);  // each has fired (or will): a value may be waiting
        CHECK(zero_len_cap(t.c));
        CHECK(zero_len_cap(tk.c));
        CHECK(zero_len_cap(a));
        CHECK(zero_len_cap(tc));
        // The values are there all the same.
        CHECK(recv_guarded(t.c).has_value());
        CHECK(recv_guarded(tk.c).has_value());
        CHECK(recv_guarded(a).has_value());
        CHECK(recv_guarded(tc).has_value());
        CHECK(zero_len_cap(t.c));
        tk.stop();
        CHECK(zero_len_cap(tk.c));
    });
}

TEST_CASE("time: thousands of after() in selects that chose another case cost nothing once abandoned") {
    for_each_procs([&](int) {
        const int n = stress(20000, 200000);
        auto ready = goro::make_chan<int>(1);
        int other = 0;
        for (int i = 0; i < n; ++i) {
            ready.send(i);
            if (goro::select(goro::recv(goro::after(1h)), goro::recv(ready)) != 1) ++other;
        }
        CHECK(other == 0);
        // Many fibers at once, each abandoning its after() in a select.
        const int fibers = stress(2000, 5000);
        goro::wait_group wg;
        wg.add(fibers);
        std::atomic<int> timed_out{0};
        for (int i = 0; i < fibers; ++i) {
            goro::go([&] {
                auto mine = goro::make_chan<int>(1);
                for (int k = 0; k < 10; ++k) {
                    mine.send(k);
                    if (goro::select(goro::recv(goro::after(1h)), goro::recv(mine)) != 1) timed_out.fetch_add(1);
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(timed_out.load() == 0);
    });
}

TEST_CASE("time: unreferenced timers leave the runtime: the deadlock detector finds none pending") {
    const goro_test::proc_result r = goro_test::run_self("time_unreferenced_timers_are_removed", {}, 30s);
    INFO(goro_test::describe(r));
    CHECK(goro_test::emitted(r.out, "dropped") == 1);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_status == 2);
    CHECK(goro_test::first_line(r.err) == deadlock_line);
}

TEST_CASE("time: a referenced timer stays in the runtime until it fires: the deadlock is reported only after") {
    const auto start = steady::now();
    const goro_test::proc_result r = goro_test::run_self("time_referenced_timer_defers_deadlock", {}, 30s);
    const auto elapsed = steady::now() - start;
    INFO(goro_test::describe(r));
    CHECK(goro_test::emitted(r.out, "armed") == 1);
    CHECK(r.exit_status == 2);
    CHECK(goro_test::first_line(r.err) == deadlock_line);
    CHECK(elapsed >= 200ms);
}

TEST_CASE("time: timers from plain threads: blocking receives, tickers, select, after_func, stop and reset") {
    for_each_procs([&](int) {
        // Two plain threads use timers at once, blocking the thread.
        auto use_timers = [] {
            CHECK(goro::fiber_id() == 0);
            const auto made = steady::now();
            goro::timer t(2ms);
            const auto v = recv_guarded(t.c);
            CHECK(v.has_value());
            if (v) CHECK(*v >= made + 2ms);
            CHECK_FALSE(t.stop());
            CHECK(!t.reset(1ms));
            CHECK(recv_guarded(t.c).has_value());

            goro::ticker tk(1ms);
            time_point last{};
            int increasing = 0;
            for (int i = 0; i < 3; ++i) {
                const auto w = recv_guarded(tk.c);
                if (w && *w > last) ++increasing;
                if (w) last = *w;
            }
            CHECK(increasing == 3);
            tk.stop();
            CHECK(!poll(tk.c));

            CHECK(goro::select(goro::recv(goro::after(1ms)), goro::recv(goro::after(hang_guard))) == 0);

            // after_func made on a plain thread runs f on a fiber.
            std::atomic<std::uint64_t> ran_on{0};
            goro::wait_group done;
            done.add(1);
            goro::after_func(1ms, [&] {
                ran_on.store(goro::fiber_id());
                done.done();
            });
            done.wait();
            CHECK(ran_on.load() != 0);
        };
        plain_thread a(use_timers);
        plain_thread b(use_timers);
        a.join();
        b.join();

        // A fiber waits on a timer that a plain thread stops and then resets.
        goro::timer t(1h);
        std::atomic<std::int64_t> reset_at_ns{0};
        std::atomic<int> results{0};
        plain_thread c([&] {
            goro::sleep_for(2ms);
            if (t.stop()) results.fetch_add(1);          // pending: true
            reset_at_ns.store(steady::now().time_since_epoch().count());
            if (!t.reset(1ms)) results.fetch_add(1);     // stopped: false
        });
        const auto v = recv_guarded(t.c);
        c.join();
        CHECK(results.load() == 2);
        CHECK(v.has_value());
        if (v) CHECK(*v >= time_point(std::chrono::nanoseconds(reset_at_ns.load())) + 1ms);

        // A plain thread waits on a timer that a fiber resets.
        goro::timer u(1h);
        std::atomic<bool> got{false};
        plain_thread d([&] { got.store(recv_guarded(u.c).has_value()); });
        goro::sleep_for(1ms);
        CHECK(u.reset(1ms));
        d.join();
        CHECK(got.load());
    });
}

TEST_CASE("time: after_func runs f on a fiber of its own, and stop() before the fire keeps f from running") {
    for_each_procs([&](int) {
        const std::uint64_t self = goro::fiber_id();

        // f runs on a new fiber, where it may block.
        auto ran_on = std::make_shared<std::atomic<std::uint64_t>>(0);
        auto finished = goro::make_chan<int>(1);
        goro::timer t = goro::after_func(1ms, [ran_on, finished]() mutable {
            ran_on->store(goro::fiber_id());
            goro::sleep_for(1ms);
            finished.send(1);
        });
        CHECK(!t.c);  // an after_func timer has no channel
        int one = 0;
        CHECK(goro::select(goro::recv(finished, one), goro::recv(goro::after(hang_guard))) == 0);
        CHECK(ran_on->load() != 0);
        CHECK(ran_on->load() != self);
        CHECK_FALSE(t.stop());  // it fired

        // stop() of a pending func timer: true once, and f never runs.
        auto ran = std::make_shared<std::atomic<int>>(0);
        goro::timer far = goro::after_func(1h, [ran] { ran->fetch_add(1); });
        CHECK(far.stop());
        CHECK_FALSE(far.stop());
        // Go: reset of a stopped func timer schedules f again and reports false.
        CHECK_FALSE(far.reset(1ms));
        CHECK(eventually([&] { return ran->load() == 1; }));

        // reset of a pending func timer reschedules it (true); f runs once.
        auto ran2 = std::make_shared<std::atomic<int>>(0);
        goro::timer t2 = goro::after_func(1h, [ran2] { ran2->fetch_add(1); });
        CHECK(t2.reset(1ms));
        CHECK(eventually([&] { return ran2->load() == 1; }));
        goro::sleep_for(3ms);
        CHECK(ran2->load() == 1);
        // reset after the fire runs f again (false).
        CHECK_FALSE(t2.reset(1ms));
        CHECK(eventually([&] { return ran2->load() == 2; }));

        // stop() shortly before the fire: f runs exactly when stop() says it
        // had already fired.
        auto ran3 = std::make_shared<std::atomic<int>>(0);
        goro::timer soon = goro::after_func(20ms, [ran3] { ran3->fetch_add(1); });
        const bool stopped = soon.stop();
        goro::sleep_for(25ms);
        CHECK(eventually([&] { return ran3->load() == (stopped ? 0 : 1); }));
        CHECK(ran3->load() == (stopped ? 0 : 1));

        // The same racing the fire, many times.
        const std::uint64_t seed = clock_seed();
        std::mt19937_64 rnd(seed);
        const int n = stress(300, 5000);
        std::vector<std::shared_ptr<std::atomic<int>>> runs;
        std::vector<char> stops;
        std::vector<goro::timer> timers;
        timers.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            auto counter = std::make_shared<std::atomic<int>>(0);
            runs.push_back(counter);
            timers.push_back(goro::after_func(std::chrono::microseconds(rnd() % 50), [counter] { counter->fetch_add(1); }));
            jitter(rnd);
            stops.push_back(timers.back().stop() ? 1 : 0);
        }
        int not_stopped = 0;
        for (char s : stops) not_stopped += s ? 0 : 1;
        goro::sleep_for(1ms);
        CHECK(eventually([&] {
            int total = 0;
            for (auto& r : runs) total += r->load();
            return total == not_stopped;
        }));
        int wrong = 0;
        for (std::size_t i = 0; i < runs.size(); ++i)
            if (runs[i]->load() != (stops[i] ? 0 : 1)) ++wrong;
        CHECK_MESSAGE(wrong == 0, seed_text(seed));
    });
}

TEST_CASE("time: a ticker's stop() and reset() discard a waiting tick; receivers share the ticks") {
    for_each_procs([&](int) {
        goro::ticker tk(1ms);
        goro::sleep_for(4ms);
        const auto reset_at = steady::now();
        tk.reset(1h);
        CHECK(!poll(tk.c));
        tk.reset(2ms);
        const auto v = recv_guarded(tk.c);
        CHECK(v.has_value());
        if (v) CHECK(*v >= reset_at + 2ms);

        // Several fibers receive from one ticker: each tick goes to one of them.
        constexpr int receivers = 4, per_receiver = 3;
        goro::wait_group wg;
        wg.add(receivers);
        std::atomic<int> received{0};
        std::vector<std::vector<time_point>> seen(receivers);
        for (int r = 0; r < receivers; ++r) {
            goro::go([&, r] {
                for (int k = 0; k < per_receiver; ++k)
                    if (const auto w = recv_guarded(tk.c)) {
                        seen[static_cast<std::size_t>(r)].push_back(*w);
                        received.fetch_add(1);
                    }
                wg.done();
            });
        }
        wg.wait();
        tk.stop();
        CHECK(received.load() == receivers * per_receiver);
        std::vector<time_point> all;
        for (auto& s : seen) all.insert(all.end(), s.begin(), s.end());
        std::sort(all.begin(), all.end());
        CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());  // no tick delivered twice
    });
}

TEST_CASE("time: timers need a running runtime; outside goro::run they throw panic_error") {
    CHECK_THROWS_AS(goro::timer(1ms), goro::panic_error);
    CHECK_THROWS_AS(goro::ticker(1ms), goro::panic_error);
    CHECK_THROWS_AS(goro::after(1ms), goro::panic_error);
    CHECK_THROWS_AS(goro::tick(1ms), goro::panic_error);
    CHECK_THROWS_AS(goro::after_func(1ms, [] {}), goro::panic_error);
    CHECK(!goro::tick(0ns));  // nil, as in Go, without needing a runtime
    // And a runtime started afterwards is unaffected.
    CHECK(goro::run([] { return recv_guarded(goro::after(1ms)).has_value() ? 0 : 1; }) == 0);
}

}  // TEST_SUITE("time")
