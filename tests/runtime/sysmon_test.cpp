// tests/runtime/sysmon_test.cpp — fibers that block their thread or compute
// without calling goro, and what sysmon does about them (Go's M/P split and
// sysmon): the P's other fibers keep running, a long runner is asked to
// yield at its next goro call, blocking_scope releases the P at once, run
// returns while a fiber sits in a call that never comes back, the thread
// bound, and the stall reports.
//
// Each scenario would hang (or stall for good) on a runtime whose workers
// are tied to their threads; none asserts anything about time.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/dump.hpp"
#include "support/procs.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using goro_test::contains;
using goro_test::emit;
using goro_test::emitted;
using goro_test::first_line;
using goro_test::proc_result;
using goro_test::run_self;

namespace {

// A pipe whose ends close with it.
struct test_pipe {
    int read_end = -1;
    int write_end = -1;
    test_pipe() {
        int fds[2];
        if (::pipe(fds) != 0) std::abort();  // also used in child scenarios, outside doctest
        read_end = fds[0];
        write_end = fds[1];
    }
    ~test_pipe() {
        if (read_end >= 0) ::close(read_end);
        if (write_end >= 0) ::close(write_end);
    }
    void write_byte() const {
        const char c = 'x';
        if (::write(write_end, &c, 1) != 1) std::abort();
    }
    // A raw read(2): blocks the calling thread until a byte arrives.
    bool read_byte() const {
        char c = 0;
        return ::read(read_end, &c, 1) == 1;
    }
};

// n round trips between two fibers over unbuffered channels; true when
// every one came back right (no CHECK: child scenarios use it too).
bool ping_pong(int n) {
    auto ping = goro::make_chan<int>();
    auto pong = goro::make_chan<int>();
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
        for (int i = 0; i < n; ++i) pong.send(*ping.recv() + 1);
        wg.done();
    });
    int sum = 0;
    for (int i = 0; i < n; ++i) {
        ping.send(i);
        sum += *pong.recv() - i;
    }
    wg.wait();
    return sum == n;
}

constexpr int worker_counts[] = {1, 2, 4};

template <class F>
void for_each_small_procs(F body) {
    for (int procs : worker_counts) {
        const std::string name = "procs=" + std::to_string(procs);
        SUBCASE(name.c_str()) {
            const int rc = goro::run(goro::config{.procs = procs}, [&] { body(procs); });
            CHECK(rc == 0);
        }
    }
}

}  // namespace

// ---------------------------------------------------------------------------
// Child-process scenarios

GORO_SCENARIO(run_returns_with_reader_stuck) {
    test_pipe stuck;  // nobody ever writes: the reader never comes back
    const int rc = goro::run(goro::config{.procs = 1}, [&] {
        goro::go([&] { stuck.read_byte(); });
        // Let the reader start and block its thread.
        for (int i = 0; i < 100; ++i) goro::sleep_for(1ms);
        if (!ping_pong(100)) return 1;  // its P moved on
        return 7;
    });
    emit("run_returned", static_cast<unsigned long long>(rc));
    std::fflush(stdout);
    // A second run in the same process, with the old thread still stuck.
    const int again = goro::run(goro::config{.procs = 1}, [] {
        return ping_pong(100) ? 5 : 1;
    });
    emit("second_run", static_cast<unsigned long long>(again));
    std::fflush(stdout);
    _exit(rc);  // the stuck thread is never joined, as in Go
}

GORO_SCENARIO(thread_limit) {
    // Every fiber blocks its thread for good; each needs a fresh M to let
    // the next one run, until the bound.
    static test_pipe never;
    return goro::run(goro::config{.procs = 1}, [] {
        for (int i = 0; i < 20; ++i) goro::go([] { never.read_byte(); });
        for (int i = 0; i < 2000; ++i) goro::sleep_for(10ms);
        return 3;  // not reached: the runtime ends the process first
    });
}

GORO_SCENARIO(stall_report) {
    return goro::run(goro::config{.procs = 1}, [] {
        goro::wait_group wg;
        wg.add(1);
        goro::go(goro::spawn_options{.name = "sleeper"}, [&] {
            emit("sleeper", goro::fiber_id());
            std::this_thread::sleep_for(100ms);  // holds the thread, not the P
            wg.done();
        });
        wg.wait();
        return 0;
    });
}

GORO_SCENARIO(trap_std_mutex) {
    // Twice from one spawn site: a fiber waits on a std::mutex that another
    // fiber holds across goro::sleep_for. The report comes once.
    const bool scoped = std::getenv("GORO_TEST_SCOPED") != nullptr;
    return goro::run(goro::config{.procs = 1}, [scoped] {
        std::mutex m;
        for (int round = 0; round < 2; ++round) {
            goro::wait_group wg;
            auto held = goro::make_chan<int>(1);
            wg.go([&] {
                std::lock_guard<std::mutex> g(m);
                held.send(1);
                goro::sleep_for(100ms);
            });
            held.recv();
            wg.go([&] {
                emit("waiter", goro::fiber_id());
                if (scoped) {
                    goro::blocking_scope announce;  // said: no report
                    std::lock_guard<std::mutex> g(m);
                } else {
                    std::lock_guard<std::mutex> g(m);  // blocks the thread in a futex
                }
            });
            wg.wait();
        }
        return 0;
    });
}

GORO_SCENARIO(trap_thread_sleep) {
    return goro::run(goro::config{.procs = 1}, [] {
        goro::wait_group wg;
        // Long enough that sysmon sees it asleep even when a loaded machine
        // runs sysmon late (100 ms was missed once with a load of 14 on 2 cores).
        wg.go([] { std::this_thread::sleep_for(300ms); });
        wg.wait();
        return 0;
    });
}

GORO_SCENARIO(no_deadlock_while_a_fiber_blocks_its_thread) {
    test_pipe p;
    std::thread writer([&] {
        std::this_thread::sleep_for(200ms);
        p.write_byte();
    });
    const int rc = goro::run(goro::config{.procs = 1}, [&] {
        auto done = goro::make_chan<int>();
        goro::go([&] {
            p.read_byte();
            done.send(1);
        });
        return *done.recv() == 1 ? 0 : 1;  // every P idles while the reader blocks
    });
    writer.join();
    return rc;
}

GORO_SCENARIO(deadlock_after_a_blocked_thread_returns) {
    test_pipe p;
    std::thread writer([&] {
        std::this_thread::sleep_for(100ms);
        p.write_byte();
    });
    writer.detach();
    return goro::run(goro::config{.procs = 2}, [&] {
        auto never = goro::make_chan<int>();
        goro::go([&] {
            p.read_byte();
            never.recv();  // then everyone is asleep for good
        });
        never.recv();
        return 3;
    });
}

// ---------------------------------------------------------------------------
// Tests

TEST_SUITE("sysmon") {

TEST_CASE("fibers holding a std::mutex across goro::sleep_for do not freeze the runtime") {
    for_each_small_procs([](int) {
        std::mutex m;
        int inside = 0;
        goro_test::fiber_group group;
        for (int i = 0; i < 50; ++i)
            group.go([&] {
                std::lock_guard<std::mutex> g(m);  // blocks the thread while another fiber holds it
                ++inside;
                goro::sleep_for(200us);
                --inside;
            });
        group.wait();
        CHECK(inside == 0);
    });
}

TEST_CASE("a raw read(2) on a pipe at one worker: other fibers ping-pong 20,000 times meanwhile") {
    goro::run(goro::config{.procs = 1}, [] {
        test_pipe p;
        std::atomic<bool> read_done{false};
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            CHECK(p.read_byte());
            read_done = true;
            wg.done();
        });
        goro::yield();  // the reader blocks its (only) thread now
        CHECK(ping_pong(goro_test::stress(20000, 20000)));
        CHECK(!read_done.load());
        p.write_byte();
        wg.wait();
        CHECK(read_done.load());
    });
}

TEST_CASE("run returns main's status while a fiber reads a pipe that stays open, and runs again") {
    const proc_result r = run_self("run_returns_with_reader_stuck");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 7);
    CHECK(emitted(r.out, "run_returned") == 7);
    CHECK(emitted(r.out, "second_run") == 5);
}

TEST_CASE("a select-with-default spinner beside a ping-pong at one worker is preempted") {
    goro::run(goro::config{.procs = 1}, [] {
        auto quit = goro::make_chan<int>();
        goro::wait_group wg;
        wg.add(1);
        long spins = 0;
        goro::go([&] {
            for (;;) {
                int idx = goro::select(goro::recv(quit), goro::default_case());
                if (idx == 0) break;
                ++spins;
            }
            wg.done();
        });
        goro::yield();  // the spinner runs
        CHECK(ping_pong(goro_test::stress(200, 200)));
        quit.close();
        wg.wait();
        CHECK(spins > 0);
    });
}

TEST_CASE("a loop without goro calls at one worker: another fiber still runs 50 times") {
    goro::run(goro::config{.procs = 1}, [] {
        std::atomic<int> steps{0};
        goro::wait_group wg;
        wg.add(2);
        goro::go([&] {
            while (steps.load(std::memory_order_acquire) < 50) {
                // computes, never calls goro
            }
            wg.done();
        });
        goro::go([&] {
            for (int i = 0; i < 50; ++i) {
                steps.fetch_add(1, std::memory_order_release);
                goro::yield();
            }
            wg.done();
        });
        wg.wait();
        CHECK(steps.load() == 50);
    });
}

TEST_CASE("blocking_scope hands the P to the fibers queued behind it at once") {
    for_each_small_procs([](int procs) {
        // procs fibers block inside a blocking_scope; one more, queued behind
        // them, is the only one that can release them.
        test_pipe p;
        goro_test::fiber_group group;
        std::atomic<int> entered{0};
        for (int i = 0; i < procs; ++i)
            group.go([&] {
                goro::blocking_scope guard;
                entered.fetch_add(1);
                CHECK(p.read_byte());
            });
        group.go([&] {
            CHECK(goro_test::eventually([&] { return entered.load() == procs; }));
            for (int i = 0; i < procs; ++i) p.write_byte();
        });
        group.wait();
    });
}

TEST_CASE("a goro call that parks inside a blocking_scope leaves the P consistent") {
    for_each_small_procs([](int procs) {
        goro_test::fiber_group group;
        std::atomic<int> done{0};
        for (int i = 0; i < 2 * procs; ++i)
            group.go([&] {
                for (int k = 0; k < 20; ++k) {
                    goro::blocking_scope guard;
                    goro::sleep_for(100us);  // parks inside the scope: not what it is for, but safe
                    goro::yield();
                }
                done.fetch_add(1);
            });
        group.wait();
        CHECK(done.load() == 2 * procs);
    });
}

TEST_CASE("blocking_scope on a plain thread and outside any run does nothing") {
    {
        goro::blocking_scope guard;
    }
    goro::run([] {
        std::thread t([] { goro::blocking_scope guard; });
        t.join();
        {
            goro::blocking_scope guard;  // no blocking call at all
        }
        goro::blocking_scope outer;
    });
}

TEST_CASE("std::this_thread::sleep_for inside a fiber does not hold up timers at one worker") {
    goro::run(goro::config{.procs = 1}, [] {
        goro::ticker t(1ms);
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            std::this_thread::sleep_for(300ms);  // holds the thread
            wg.done();
        });
        goro::yield();
        int ticks = 0;
        // Ticks arrive while the sleeper holds its thread: its P ran on.
        for (; ticks < 3; ++ticks) t.c.recv();
        wg.wait();
        CHECK(ticks == 3);
    });
}

TEST_CASE("past GORO_MAX_THREADS: 'fatal error: thread exhaustion', exit status 2") {
    const proc_result r = run_self("thread_limit", {"GORO_MAX_THREADS=5"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(contains(r.err, "runtime: program exceeds 5-thread limit (GORO_MAX_THREADS)"));
    CHECK(contains(r.err, "fatal error: thread exhaustion"));
}

TEST_CASE("GORO_DEBUG=stalls=1 reports a fiber that held its thread: id, name, spawn site, what sysmon did") {
    const proc_result r = run_self("stall_report", {"GORO_DEBUG=foo=1,stalls=1"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    const std::string who = "goro: stall: fiber " + std::to_string(emitted(r.out, "sleeper")) + " \"sleeper\"";
    CHECK(contains(r.err, who + " has held P0 for "));
    CHECK(contains(r.err, who + " held P0 for "));
    CHECK(contains(r.err, "handed its P to another thread"));
    CHECK(contains(r.err, "sysmon_test.cpp"));
}

TEST_CASE("without GORO_DEBUG=stalls=1 a stall prints nothing") {
    const proc_result r = run_self("stall_report", {"GORO_DEBUG=traps=0"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK(r.err.empty());
}

TEST_CASE("GORO_DEBUG=traps=1 names a fiber that blocks its thread on a std::mutex, once per spawn site") {
    const proc_result r = run_self("trap_std_mutex", {"GORO_DEBUG=traps=1"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK(contains(r.err, "goro: fiber "));
    CHECK(contains(r.err, " blocked its thread in futex (system call "));
    CHECK(contains(r.err, "outside any goro::blocking_scope"));
    CHECK(contains(r.err, "std::mutex"));
    CHECK(contains(r.err, "goro::mutex"));
    CHECK(contains(r.err, "sysmon_test.cpp"));
    std::size_t reports = 0;
    for (std::size_t at = r.err.find("blocked its thread"); at != std::string::npos;
         at = r.err.find("blocked its thread", at + 1))
        ++reports;
    CHECK(reports == 1);
}

TEST_CASE("GORO_DEBUG=traps=1 names std::this_thread::sleep_for in a fiber") {
    const proc_result r = run_self("trap_thread_sleep", {"GORO_DEBUG=traps=1"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK(contains(r.err, "std::this_thread::sleep_for"));
    CHECK(contains(r.err, "goro::sleep_for parks only the fiber"));
}

TEST_CASE("traps: blocking announced by a blocking_scope, or traps=0, prints nothing") {
    const proc_result scoped = run_self("trap_std_mutex", {"GORO_DEBUG=traps=1", "GORO_TEST_SCOPED=1"});
    INFO(goro_test::describe(scoped));
    CHECK(scoped.exit_status == 0);
    CHECK(scoped.err.empty());
    const proc_result off = run_self("trap_std_mutex", {"GORO_DEBUG=traps=0"});
    INFO(goro_test::describe(off));
    CHECK(off.exit_status == 0);
    CHECK(off.err.empty());
}

#ifndef NDEBUG
TEST_CASE("traps are on by default in a build of goro without NDEBUG") {
    const proc_result r = run_self("trap_thread_sleep", {"GORO_DEBUG"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK(contains(r.err, "std::this_thread::sleep_for"));
}
#endif

TEST_CASE("deadlock detection: a fiber blocking its thread is running, not asleep; a deadlock after it is reported") {
    const proc_result quiet = run_self("no_deadlock_while_a_fiber_blocks_its_thread", {"GORO_DEBUG=traps=0"});
    INFO(goro_test::describe(quiet));
    CHECK(quiet.exit_status == 0);
    CHECK(quiet.err.empty());

    const proc_result dead = run_self("deadlock_after_a_blocked_thread_returns", {"GORO_DEBUG=traps=0"});
    INFO(goro_test::describe(dead));
    CHECK(dead.exit_status == 2);
    CHECK(first_line(dead.err) == "fatal error: all fibers are asleep - deadlock!");
}

}  // TEST_SUITE
