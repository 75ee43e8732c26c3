// tests/runtime/scheduler_test.cpp — goro::run, goro::go, yield, sleeping,
// num_fibers, procs, fiber ids, exceptions inside fibers, stack sizes and
// fiber dumps.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <random>
#include <source_location>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/dump.hpp"
#include "support/procs.hpp"
#include "support/stack_use.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using goro_test::eventually;
using goro_test::fibers_alive;
using goro_test::for_each_procs;
using goro_test::plain_thread;
using steady = std::chrono::steady_clock;

namespace {

int returns_three() { return 3; }

// Counts its copies and moves.
struct tracked {
    static inline std::atomic<int> copies{0};
    static inline std::atomic<int> moves{0};
    static void reset() {
        copies = 0;
        moves = 0;
    }

    int value;
    explicit tracked(int v) : value(v) {}
    tracked(const tracked& other) : value(other.value) { ++copies; }
    tracked(tracked&& other) noexcept : value(other.value) { ++moves; }
    tracked& operator=(const tracked&) = delete;
    tracked& operator=(tracked&&) = delete;
};

// A callable whose own copies are counted.
struct tracked_task {
    tracked state;
    int* out;
    goro::wait_group* wg;
    void operator()() {
        *out = state.value;
        wg->done();
    }
};

// An exception type that is not a std::exception.
struct tagged_error {
    int id;
};

// Yields while the stack unwinds through it, and checks that the fiber's
// count of uncaught exceptions went with it.
struct yields_during_unwinding {
    int& bad;
    ~yields_during_unwinding() {
        const int before = std::uncaught_exceptions();
        for (int k = 0; k < 5; ++k) goro::yield();
        if (before != 1 || std::uncaught_exceptions() != 1) ++bad;
    }
};

unsigned cpus_available() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(CPU_COUNT(&set));
    return std::thread::hardware_concurrency();
}

}  // namespace

// Scenarios for the tests that need a fresh process environment.
GORO_SCENARIO(report_procs) {
    return goro::run([] { goro_test::emit("procs", static_cast<unsigned long long>(goro::procs())); });
}

GORO_SCENARIO(report_procs_with_config_2) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] { goro_test::emit("procs", static_cast<unsigned long long>(goro::procs())); });
}

TEST_SUITE("scheduler") {

// ---------------------------------------------------------------------------
// run

TEST_CASE("run returns the main fiber's int result, and 0 for a void main") {
    CHECK(goro::run([] { return 42; }) == 42);
    CHECK(goro::run([] {}) == 0);
    CHECK(goro::run(&returns_three) == 3);

    goro::config cfg;
    cfg.procs = 2;
    CHECK(goro::run(cfg, [] { return 7; }) == 7);
    CHECK(goro::run(cfg, [] {}) == 0);

    int state = 5;
    CHECK(goro::run(cfg, [state]() mutable { return ++state; }) == 6);
}

TEST_CASE("run can be called again after it returns, many times in a row") {
    for (int round = 0; round < 12; ++round) {
        goro::config cfg;
        cfg.procs = 1 + round % 4;
        std::atomic<int> ran{0};
        const int rc = goro::run(cfg, [&] {
            goro::wait_group wg;
            wg.add(20);
            for (int i = 0; i < 20; ++i)
                goro::go([&] {
                    goro::yield();
                    ran.fetch_add(1);
                    wg.done();
                });
            wg.wait();
            return round;
        });
        CHECK(rc == round);
        CHECK(ran.load() == 20);
    }
}

// ---------------------------------------------------------------------------
// go: argument passing

TEST_CASE("go copies an lvalue callable or argument exactly once and never copies an rvalue") {
    goro::config cfg;
    cfg.procs = 2;
    goro::run(cfg, [] {
        goro::wait_group wg;

        tracked::reset();
        tracked argument(11);
        int from_lvalue_argument = 0;
        wg.add(1);
        goro::go(
            [&](tracked t) {
                from_lvalue_argument = t.value;
                wg.done();
            },
            argument);
        wg.wait();
        CHECK(tracked::copies.load() == 1);
        CHECK(from_lvalue_argument == 11);

        tracked::reset();
        int from_rvalue_argument = 0;
        wg.add(1);
        goro::go(
            [&](tracked t) {
                from_rvalue_argument = t.value;
                wg.done();
            },
            tracked(12));
        wg.wait();
        CHECK(tracked::copies.load() == 0);
        CHECK(tracked::moves.load() >= 1);
        CHECK(from_rvalue_argument == 12);

        tracked::reset();
        int from_lvalue_callable = 0;
        tracked_task task{tracked(13), &from_lvalue_callable, &wg};
        wg.add(1);
        goro::go(task);
        wg.wait();
        CHECK(tracked::copies.load() == 1);
        CHECK(from_lvalue_callable == 13);

        tracked::reset();
        int from_rvalue_callable = 0;
        wg.add(1);
        goro::go(tracked_task{tracked(14), &from_rvalue_callable, &wg});
        wg.wait();
        CHECK(tracked::copies.load() == 0);
        CHECK(from_rvalue_callable == 14);
    });
}

TEST_CASE("go binds no reference to the caller's argument; std::ref passes one explicitly") {
    for_each_procs([](int) {
        int x = 1;
        const int* seen_address = nullptr;
        int seen_value = 0;
        goro::wait_group started, go_on, finished;
        started.add(1);
        go_on.add(1);
        finished.add(1);
        goro::go(
            [&](const int& r) {
                seen_address = &r;
                started.done();
                go_on.wait();
                seen_value = r;
                finished.done();
            },
            x);
        started.wait();
        x = 2;  // the fiber holds its own copy of x
        go_on.done();
        finished.wait();
        CHECK(seen_address != &x);
        CHECK(seen_value == 1);

        goro::wait_group wg;
        wg.add(1);
        goro::go(
            [&](int& r) {
                r = 5;
                wg.done();
            },
            std::ref(x));
        wg.wait();
        CHECK(x == 5);
    });
}

TEST_CASE("go accepts a move-only callable and move-only arguments") {
    for_each_procs([](int) {
        int got = 0;
        goro::wait_group wg;
        wg.add(1);
        goro::go(
            [p = std::make_unique<int>(7), &got, &wg](std::unique_ptr<int> q) mutable {
                got = *p + *q;
                wg.done();
            },
            std::make_unique<int>(8));
        wg.wait();
        CHECK(got == 15);
    });
}

TEST_CASE("go passes several arguments of different types in order") {
    for_each_procs([](int) {
        std::string joined;
        goro::wait_group wg;
        wg.add(1);
        goro::go(
            [&](int a, const std::string& b, double c, char d) {
                joined = std::to_string(a) + b + std::to_string(static_cast<int>(c)) + d;
                wg.done();
            },
            1, std::string("two"), 3.0, '4');
        wg.wait();
        CHECK(joined == "1two34");
    });
}

// ---------------------------------------------------------------------------
// num_fibers, procs, fiber_id

TEST_CASE("num_fibers counts the main fiber and every live fiber, and drops as they finish") {
    for_each_procs([](int) {
        CHECK(fibers_alive() == 1);

        const int n = 100;
        goro::wait_group first_gate, second_gate, finished;
        first_gate.add(1);
        second_gate.add(1);
        finished.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([&, i] {
                (i % 2 == 0 ? first_gate : second_gate).wait();
                finished.done();
            });
        // Every fiber is blocked on a gate (or not started yet): all alive.
        CHECK(fibers_alive() == n + 1);

        first_gate.done();
        CHECK(eventually([&] { return fibers_alive() == n / 2 + 1; }));
        CHECK(fibers_alive() == n / 2 + 1);

        second_gate.done();
        finished.wait();
        CHECK(eventually([] { return fibers_alive() == 1; }));
        CHECK(fibers_alive() == 1);
    });
}

TEST_CASE("procs() inside run equals config.procs, in the main fiber and in spawned fibers") {
    for_each_procs([](int procs) {
        CHECK(goro::procs() == procs);
        int in_fiber = -1;
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            in_fiber = goro::procs();
            wg.done();
        });
        wg.wait();
        CHECK(in_fiber == procs);
    });
}

TEST_CASE("procs() follows GORO_MAXPROCS when config.procs is 0, and config.procs wins over it") {
    for (const char* value : {"1", "3", "5"}) {
        const goro_test::proc_result r = goro_test::run_self("report_procs", {std::string("GORO_MAXPROCS=") + value});
        INFO(goro_test::describe(r));
        CHECK(r.exit_status == 0);
        CHECK(goro_test::emitted(r.out, "procs") == std::stoull(value));
    }

    const goro_test::proc_result with_config = goro_test::run_self("report_procs_with_config_2", {"GORO_MAXPROCS=3"});
    INFO(goro_test::describe(with_config));
    CHECK(with_config.exit_status == 0);
    CHECK(goro_test::emitted(with_config.out, "procs") == 2);
}

TEST_CASE("procs() is the number of CPUs when neither config.procs nor GORO_MAXPROCS is set") {
    const goro_test::proc_result r = goro_test::run_self("report_procs", {"GORO_MAXPROCS"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    const std::uint64_t procs = goro_test::emitted(r.out, "procs");
    CHECK((procs == cpus_available() || procs == std::thread::hardware_concurrency()));
}

TEST_CASE("fiber_id is non-zero, distinct per fiber and stable across yields; 0 on a plain thread") {
    CHECK(goro::fiber_id() == 0);
    for_each_procs([](int) {
        const std::uint64_t main_id = goro::fiber_id();
        CHECK(main_id != 0);

        const int n = 200;
        std::vector<std::uint64_t> ids(n, 0);
        std::atomic<int> unstable{0};
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([&, i] {
                ids[i] = goro::fiber_id();
                for (int k = 0; k < 5; ++k) goro::yield();
                if (goro::fiber_id() != ids[i]) ++unstable;
                wg.done();
            });
        wg.wait();
        CHECK(unstable.load() == 0);
        CHECK(std::count(ids.begin(), ids.end(), 0u) == 0);
        CHECK(std::count(ids.begin(), ids.end(), main_id) == 0);
        std::sort(ids.begin(), ids.end());
        CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());

        std::uint64_t on_thread = 99;
        plain_thread t([&] { on_thread = goro::fiber_id(); });
        t.join();
        CHECK(on_thread == 0);
    });
}

// ---------------------------------------------------------------------------
// yield

TEST_CASE("yield: with one worker, two yielding fibers strictly alternate") {
    goro::config cfg;
    cfg.procs = 1;
    goro::run(cfg, [] {
        constexpr int rounds = 100;
        std::array<std::atomic<char>, 2 * rounds> trace{};
        std::atomic<int> next{0};
        goro::wait_group wg;
        wg.add(2);
        auto body = [&](char who) {
            for (int k = 0; k < rounds; ++k) {
                trace[static_cast<std::size_t>(next.fetch_add(1))] = who;
                goro::yield();
            }
            wg.done();
        };
        goro::go(body, 'a');
        goro::go(body, 'b');
        wg.wait();

        CHECK(next.load() == 2 * rounds);
        int repeats = 0;
        for (std::size_t i = 1; i < trace.size(); ++i)
            if (trace[i].load() == trace[i - 1].load()) ++repeats;
        CHECK(repeats == 0);
    });
}

TEST_CASE("yield: a fiber spinning on yield lets another fiber make progress") {
    for_each_procs([](int) {
        std::atomic<bool> flag{false};
        long spins = 0;
        goro::wait_group wg;
        wg.add(2);
        goro::go([&] {
            while (!flag.load() && spins < 10'000'000) {
                goro::yield();
                ++spins;
            }
            wg.done();
        });
        goro::go([&] {
            flag = true;
            wg.done();
        });
        wg.wait();
        CHECK(flag.load());
        CHECK(spins < 10'000'000);
    });
}

// ---------------------------------------------------------------------------
// sleep

TEST_CASE("sleep_for and sleep_until wait at least the requested time") {
    // The real clock: lower bounds only.
    for_each_procs([](int) {
        auto t0 = steady::now();
        goro::sleep_for(20ms);
        CHECK(steady::now() - t0 >= 20ms);

        t0 = steady::now();
        goro::sleep_for(std::chrono::microseconds(1500));
        CHECK(steady::now() - t0 >= std::chrono::microseconds(1500));

        t0 = steady::now();
        goro::sleep_for(std::chrono::duration<double, std::milli>(2.5));
        CHECK(steady::now() - t0 >= std::chrono::duration<double, std::milli>(2.5));

        const goro::time_point deadline = steady::now() + 15ms;
        goro::sleep_until(deadline);
        CHECK(steady::now() >= deadline);

        // Zero, negative and past times return.
        goro::sleep_for(0ms);
        goro::sleep_for(-5ms);
        goro::sleep_until(steady::now() - 1s);
    });
}

TEST_CASE("sleep_for and sleep_until on virtual time wait exactly the requested time") {
    goro_test::for_each_bubble([](int) {
        auto t0 = goro::now();
        goro::sleep_for(20ms);
        CHECK(goro::now() - t0 == 20ms);

        t0 = goro::now();
        goro::sleep_for(std::chrono::microseconds(1500));
        CHECK(goro::now() - t0 == std::chrono::microseconds(1500));

        t0 = goro::now();
        goro::sleep_for(std::chrono::duration<double, std::milli>(2.5));
        CHECK(goro::now() - t0 == std::chrono::microseconds(2500));

        const goro::time_point deadline = goro::now() + 15ms;
        goro::sleep_until(deadline);
        CHECK(goro::now() == deadline);

        // Zero, negative and past times return, the clock unmoved.
        t0 = goro::now();
        goro::sleep_for(0ms);
        goro::sleep_for(-5ms);
        goro::sleep_until(goro::now() - 1s);
        CHECK(goro::now() == t0);
    });
}

TEST_CASE("a sleeping fiber parks: with one worker, another fiber runs while it sleeps") {
    goro::config cfg;
    cfg.procs = 1;
    goro::run(cfg, [] {
        std::atomic<bool> sleeping{false}, other_ran{false};
        int naps = 0;
        goro::wait_group wg;
        wg.add(2);
        goro::go([&] {
            sleeping = true;
            // If sleep_for blocked the only worker, the other fiber could
            // not run before all the naps were over.
            while (!other_ran.load() && naps < 5000) {
                goro::sleep_for(1ms);
                ++naps;
            }
            wg.done();
        });
        goro::go([&] {
            while (!sleeping.load()) goro::yield();
            other_ran = true;
            wg.done();
        });
        wg.wait();
        CHECK(other_ran.load());
        CHECK(naps < 5000);
    });
}

TEST_CASE("many fibers sleeping 0 to 5 ms at once all wake, each exactly when due (virtual time)") {
    goro_test::for_each_bubble([](int) {
        const int n = goro_test::stress(10'000, 100'000);
        std::mt19937 rng(12345);
        // Naps on a 250 µs grid: 21 distinct instants, so that the bubble's
        // clock makes 21 jumps (each costs a round of idle and wake-up, which
        // is slow under TSan), with hundreds of fibers due at each.
        std::uniform_int_distribution<int> steps(0, 20);
        std::atomic<int> woke{0}, off{0};
        goro::wait_group wg;
        wg.add(n);
        const auto t0 = goro::now();
        for (int i = 0; i < n; ++i) {
            const auto nap = std::chrono::microseconds(250 * steps(rng));
            goro::go([&, nap] {
                goro::sleep_for(nap);
                if (goro::now() != t0 + nap) off.fetch_add(1);
                woke.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        CHECK(woke.load() == n);
        CHECK(off.load() == 0);
    });
}

// ---------------------------------------------------------------------------
// spawning from fibers and from plain threads

TEST_CASE("fibers spawn fibers: a binary tree of fibers, and a chain whose parents exit first") {
    for_each_procs([](int) {
        const int depth = goro_test::sanitized && !goro_test::long_mode() ? 7 : 10;
        const int chain = goro_test::stress(1000, 10'000);
        std::atomic<int> nodes{0};
        goro::wait_group tree_done;
        std::function<void(int)> node = [&](int depth) {
            nodes.fetch_add(1);
            if (depth > 0) {
                tree_done.add(2);
                goro::go(node, depth - 1);
                goro::go(node, depth - 1);
            }
            tree_done.done();
        };
        tree_done.add(1);
        goro::go(node, depth);
        tree_done.wait();
        CHECK(nodes.load() == (2 << depth) - 1);

        std::atomic<int> links{0};
        goro::wait_group chain_done;
        chain_done.add(1);
        std::function<void(int)> link = [&](int left) {
            links.fetch_add(1);
            if (left > 0) {
                goro::go(link, left - 1);  // this fiber then exits before its child
            } else {
                chain_done.done();
            }
        };
        goro::go(link, chain - 1);
        chain_done.wait();
        CHECK(links.load() == chain);
    });
}

TEST_CASE("go called from a plain thread while run is active starts a fiber") {
    for_each_procs([](int) {
        std::atomic<std::uint64_t> id_in_fiber{0};
        std::atomic<int> spawned{0};
        goro::wait_group wg;
        wg.add(10);
        plain_thread t([&] {
            for (int i = 0; i < 10; ++i) {
                goro::go([&] {
                    id_in_fiber = goro::fiber_id();
                    spawned.fetch_add(1);
                    wg.done();
                });
            }
        });
        wg.wait();
        t.join();
        CHECK(spawned.load() == 10);
        CHECK(id_in_fiber.load() != 0);
    });
}

TEST_CASE("on a plain thread with no runtime, sleep_for and sleep_until sleep the thread, yield returns, no fibers") {
    CHECK(goro::fiber_id() == 0);
    CHECK(goro::num_fibers() == 0);
    auto t0 = steady::now();
    goro::sleep_for(10ms);
    CHECK(steady::now() - t0 >= 10ms);

    const goro::time_point deadline = steady::now() + 5ms;
    goro::sleep_until(deadline);
    CHECK(steady::now() >= deadline);

    for (int i = 0; i < 10; ++i) goro::yield();
}

TEST_CASE("while run is active, a plain thread can sleep, yield and read num_fibers") {
    for_each_procs([](int) {
        const int n = 3;
        goro::wait_group gate, finished;
        gate.add(1);
        finished.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([&] {
                gate.wait();
                finished.done();
            });

        std::uint64_t id_on_thread = 99;
        bool slept_enough = false;
        long long seen_by_thread = -1;
        plain_thread t([&] {
            id_on_thread = goro::fiber_id();
            goro::yield();
            const auto t0 = steady::now();
            goro::sleep_for(5ms);
            slept_enough = steady::now() - t0 >= 5ms;
            seen_by_thread = fibers_alive();
        });
        t.join();
        CHECK(id_on_thread == 0);
        CHECK(slept_enough);
        CHECK(seen_by_thread == n + 1);
        CHECK(fibers_alive() == n + 1);

        gate.done();
        finished.wait();
    });
}

// ---------------------------------------------------------------------------
// exceptions inside fibers

TEST_CASE("exceptions thrown and caught inside many fibers at once stay with their fiber") {
    for_each_procs([](int procs) {
        const int n = 16 * procs;
        std::atomic<int> caught{0}, bad{0};
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([&, i] {
                for (int round = 0; round < 10; ++round) {
                    try {
                        goro::yield();
                        throw std::runtime_error("fiber " + std::to_string(i));
                    } catch (const std::runtime_error& e) {
                        if (e.what() != "fiber " + std::to_string(i)) bad.fetch_add(1);
                        caught.fetch_add(1);
                    }
                }
                wg.done();
            });
        wg.wait();
        CHECK(bad.load() == 0);
        CHECK(caught.load() == 10 * n);
    });
}

TEST_CASE("a fiber that yields inside a catch block can still rethrow with throw; after migrating") {
    for_each_procs([](int procs) {
        const int n = 8 * procs;  // more fibers than workers, so they move between workers
        std::atomic<int> bad{0}, finished{0};
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([&, i] {
                int local_bad = 0;
                try {
                    throw tagged_error{i};
                } catch (const tagged_error& first) {
                    for (int k = 0; k < 20; ++k) goro::yield();
                    if (first.id != i) ++local_bad;

                    std::exception_ptr current = std::current_exception();
                    if (!current) {
                        ++local_bad;
                    } else {
                        try {
                            std::rethrow_exception(current);
                        } catch (const tagged_error& e) {
                            if (e.id != i) ++local_bad;
                        }
                    }

                    try {
                        throw;  // rethrows this fiber's exception, wherever it now runs
                    } catch (const tagged_error& again) {
                        if (again.id != i || &again != &first) ++local_bad;
                        for (int k = 0; k < 5; ++k) goro::yield();
                        if (again.id != i) ++local_bad;
                    }
                }
                if (std::current_exception()) ++local_bad;  // nothing is being handled any more
                bad.fetch_add(local_bad);
                finished.fetch_add(1);
                wg.done();
            });
        wg.wait();
        CHECK(bad.load() == 0);
        CHECK(finished.load() == n);
    });
}

TEST_CASE("a fiber that yields in a destructor during stack unwinding keeps its uncaught exception") {
    for_each_procs([](int procs) {
        const int n = 8 * procs;
        std::atomic<int> bad{0}, caught{0};
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([&, i] {
                int local_bad = 0;
                try {
                    yields_during_unwinding guard{local_bad};
                    throw tagged_error{i};
                } catch (const tagged_error& e) {
                    if (e.id != i) ++local_bad;
                    caught.fetch_add(1);
                }
                if (std::uncaught_exceptions() != 0) ++local_bad;
                bad.fetch_add(local_bad);
                wg.done();
            });
        wg.wait();
        CHECK(bad.load() == 0);
        CHECK(caught.load() == n);
    });
}

// ---------------------------------------------------------------------------
// stacks

TEST_CASE("a fiber spawned with a 1 MiB stack can use 512 KiB of it") {
    for_each_procs([](int) {
        goro::spawn_options options;
        options.stack_size = 1 << 20;
        options.name = "big-stack";
        unsigned sum = 0;
        goro::wait_group wg;
        wg.add(1);
        goro::go(options, [&] {
            sum = goro_test::burn_stack(512);
            wg.done();
        });
        wg.wait();
        CHECK(sum == goro_test::burn_stack_expected(512));

        // The same with an argument after the callable.
        unsigned sum_with_argument = 0;
        wg.add(1);
        goro::go(
            options,
            [&](int frames) {
                sum_with_argument = goro_test::burn_stack(frames);
                wg.done();
            },
            512);
        wg.wait();
        CHECK(sum_with_argument == goro_test::burn_stack_expected(512));
    });
}

TEST_CASE("config.stack_size sets every fiber's stack: 1 MiB stacks can use 512 KiB") {
    goro::config cfg;
    cfg.procs = 2;
    cfg.stack_size = 1 << 20;
    goro::run(cfg, [] {
        const unsigned expected = goro_test::burn_stack_expected(512);
        CHECK(goro_test::burn_stack(512) == expected);  // the main fiber too
        std::atomic<int> right{0};
        goro::wait_group wg;
        wg.add(4);
        for (int i = 0; i < 4; ++i)
            goro::go([&] {
                if (goro_test::burn_stack(512) == expected) right.fetch_add(1);
                wg.done();
            });
        wg.wait();
        CHECK(right.load() == 4);
    });
}

// ---------------------------------------------------------------------------
// scale

TEST_CASE("a million fibers are spawned and joined with a wait_group") {
    for_each_procs([](int procs) {
        // Full scale for procs=2 (and in long mode); 100k otherwise. A
        // sanitized short run spawns 1/200 of that (fibers are TSan threads).
        int n = (procs == 2 || goro_test::long_mode()) ? 1'000'000 : 100'000;
        if (goro_test::sanitized && !goro_test::long_mode()) n /= 200;
        std::atomic<int> ran{0};
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([&] {
                ran.fetch_add(1, std::memory_order_relaxed);
                wg.done();
            });
        wg.wait();
        CHECK(ran.load() == n);
        CHECK(eventually([] { return fibers_alive() == 1; }));
    });
}

TEST_CASE("many fibers parked at once (a million in long mode) all wake and finish") {
    // Every fiber is alive and parked at the same moment, each holding its
    // own stack: the case guard pages and vm.max_map_count constrain.
    goro::config cfg;
    cfg.procs = 2;
    goro::run(cfg, [] {
        const int n = goro_test::stress(20'000, 1'000'000);
        goro::wait_group parked, release, finished;
        parked.add(n);
        release.add(1);
        finished.add(n);
        for (int i = 0; i < n; ++i)
            goro::go([&] {
                parked.done();
                release.wait();
                finished.done();
            });
        parked.wait();
        CHECK(eventually([&] { return fibers_alive() == n + 1; }));
        release.done();
        finished.wait();
        CHECK(eventually([] { return fibers_alive() == 1; }));
    });
}

// ---------------------------------------------------------------------------
// dump_fibers

TEST_CASE("dump_fibers lists parked fibers with their wait reason and spawn site, and the caller as running") {
    goro::config cfg;
    cfg.procs = 2;
    goro::run(cfg, [] {
        goro::wait_group gate, finished;
        gate.add(1);
        finished.add(2);
        std::atomic<std::uint64_t> waiter_id{0}, sleeper_id{0};
        std::atomic<bool> stop{false};

        // clang-format off
        const int waiter_line = __LINE__; goro::go([&] { waiter_id = goro::fiber_id(); gate.wait(); finished.done(); });
        const int sleeper_line = __LINE__; goro::go([&] { sleeper_id = goro::fiber_id(); while (!stop.load()) goro::sleep_for(20ms); finished.done(); });
        // clang-format on

        std::string text;
        std::vector<goro_test::dump_entry> entries;
        const bool both_parked = eventually([&] {
            std::ostringstream out;
            goro::dump_fibers(out);
            text = out.str();
            entries = goro_test::parse_dump(text);
            const auto* waiter = goro_test::find_fiber(entries, waiter_id.load());
            const auto* sleeper = goro_test::find_fiber(entries, sleeper_id.load());
            return waiter_id.load() != 0 && sleeper_id.load() != 0 && waiter != nullptr && sleeper != nullptr &&
                   goro_test::contains(waiter->reason, "wait_group") && goro_test::contains(sleeper->reason, "sleep");
        });
        CHECK_MESSAGE(both_parked, text);

        const auto* waiter = goro_test::find_fiber(entries, waiter_id.load());
        const auto* sleeper = goro_test::find_fiber(entries, sleeper_id.load());
        const auto* self = goro_test::find_fiber(entries, goro::fiber_id());
        CHECK_MESSAGE(waiter != nullptr, text);
        CHECK_MESSAGE(sleeper != nullptr, text);
        CHECK_MESSAGE(self != nullptr, text);
        if (waiter != nullptr) CHECK_MESSAGE(goro_test::site_is(waiter->spawned_at, "scheduler_test.cpp", waiter_line), text);
        if (sleeper != nullptr) CHECK_MESSAGE(goro_test::site_is(sleeper->spawned_at, "scheduler_test.cpp", sleeper_line), text);
        if (self != nullptr) CHECK_MESSAGE(self->reason == "running", text);

        stop = true;
        gate.done();
        finished.wait();
    });
}

TEST_CASE("source_location: goro's own class for every compiler, captured where it is defaulted") {
    // One type whatever the standard library has: it is in the library's
    // symbols, which programs built by GCC and by Clang must both link to.
    static_assert(std::is_class_v<goro::source_location>);
#if defined(__cpp_lib_source_location)
    static_assert(!std::is_same_v<goro::source_location, std::source_location>);
    const std::source_location std_here = std::source_location::current();
    const goro::source_location converted = std_here;
    CHECK(converted.line() == std_here.line());
    CHECK(converted.column() == std_here.column());
    CHECK(std::string(converted.file_name()) == std_here.file_name());
    CHECK(std::string(converted.function_name()) == std_here.function_name());
#endif
    // clang-format off
    const int line = __LINE__; const goro::source_location here = goro::source_location::current();
    // clang-format on
    CHECK(here.line() == static_cast<std::uint_least32_t>(line));
    CHECK(goro_test::contains(here.file_name(), "scheduler_test.cpp"));
    CHECK(std::string(here.function_name()).size() > 0);
    constexpr goro::source_location empty;
    static_assert(empty.line() == 0 && empty.column() == 0);
}

TEST_CASE("stress: fibers mixing random yields, sleeps, spawns and locking finish with every step counted") {
    for_each_procs([](int procs) {
        const int fibers = goro_test::stress(400, 20'000);
        const int steps = 40;
        goro::mutex lock;
        long locked_steps = 0;  // guarded by lock
        std::atomic<long> steps_done{0};
        std::atomic<int> children_done{0};
        goro::wait_group wg;
        wg.add(fibers);
        for (int i = 0; i < fibers; ++i) {
            goro::go([&, i] {
                std::minstd_rand rng(static_cast<unsigned>(i * 7919 + procs));
                for (int step = 0; step < steps; ++step) {
                    switch (rng() % 5) {
                    case 0: goro::yield(); break;
                    case 1: goro::sleep_for(std::chrono::microseconds(rng() % 200)); break;
                    case 2: {
                        std::lock_guard<goro::mutex> hold(lock);
                        ++locked_steps;
                        if (rng() % 4 == 0) goro::yield();  // parks others on the mutex
                        --locked_steps;
                        break;
                    }
                    case 3:
                        wg.add(1);
                        goro::go([&] {
                            children_done.fetch_add(1);
                            wg.done();
                        });
                        break;
                    default: break;
                    }
                    steps_done.fetch_add(1);
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(steps_done.load() == static_cast<long>(fibers) * steps);
        CHECK(locked_steps == 0);
        CHECK(children_done.load() > 0);
        CHECK(eventually([] { return goro::num_fibers() == 1; }));
    });
}

TEST_CASE("a fiber in the run queue is not starved by a pair handing off through runnext") {
    // Two fibers that wake each other always put the partner in runnext; a
    // third, runnable fiber waits in the ring behind them. With one worker
    // nobody can steal it: the scheduler itself must give the ring a turn.
    goro::config cfg;
    cfg.procs = 1;
    goro::run(cfg, [] {
        goro::mutex lock;
        goro::cond turn_changed(lock);
        int turn = 0;
        bool third_ran = false;
        long handoffs = 0;
        constexpr long give_up_after = 1'000'000;
        goro::wait_group finished;
        finished.add(3);
        for (int me = 0; me < 2; ++me) {
            goro::go([&, me] {
                std::unique_lock<goro::mutex> hold(lock);
                while (!third_ran && handoffs < give_up_after) {
                    turn = 1 - me;
                    ++handoffs;
                    turn_changed.signal();
                    while (turn != me && !third_ran && handoffs < give_up_after) turn_changed.wait();
                }
                turn_changed.broadcast();
                hold.unlock();
                finished.done();
            });
        }
        goro::go([&] {
            goro::yield();  // from here on it waits in the ring
            std::lock_guard<goro::mutex> hold(lock);
            third_ran = true;
            turn_changed.broadcast();
            finished.done();
        });
        finished.wait();
        CHECK(third_ran);
        CHECK(handoffs < 1000);
    });
}

// ---------------------------------------------------------------------------
// abandonment (kept last in this file: it leaves fibers behind in a dead runtime)

TEST_CASE("fibers abandoned while parked on a sync type leave no waiter behind for the next run") {
    // The abandoned fiber's waiter record lived on its stack, which is gone
    // once run returns; the next run's done() must not find it.
    static goro::wait_group group;
    goro::config cfg;
    cfg.procs = 2;
    goro::run(cfg, [] {
        group.add(1);
        goro::go([] { group.wait(); });  // parked until the runtime ends
        CHECK(eventually([] {
            std::ostringstream dump;
            goro::dump_fibers(dump);
            return dump.str().find("wait_group") != std::string::npos;
        }));
    });
    // Counter 0 with one (abandoned) waiter: the release finds nobody. A
    // stale record would be readied here and crash the process.
    const int rc = goro::run(cfg, [] {
        group.done();
        return 7;
    });
    CHECK(rc == 7);
}

TEST_CASE("run returns when main returns, abandoning fibers still asleep or not yet started") {
    static std::atomic<int> late_runs{0};
    goro::config cfg;
    cfg.procs = 1;
    const int rc = goro::run(cfg, [] {
        goro::go([] { goro::sleep_for(1h); });
        goro::sleep_for(1ms);  // the sleeper is now parked on its timer
        goro::go([] { late_runs.fetch_add(1); });  // may never get to run
        return 5;
    });
    CHECK(rc == 5);

    // The next runtime starts clean.
    cfg.procs = 2;
    long long alive_in_next_run = -1;
    CHECK(goro::run(cfg, [&] { alive_in_next_run = fibers_alive(); }) == 0);
    CHECK(alive_in_next_run == 1);
}

}  // TEST_SUITE("scheduler")
