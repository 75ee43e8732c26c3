// tests/runtime/fault_test.cpp — what the runtime does when the kernel says
// no: fiber stacks that cannot be mapped, guard pages past vm.max_map_count,
// threads that cannot be started. Each failure is made by GORO_FAULTS
// (runtime/detail/faults.hpp) in a child process, and each must end as Go
// ends it: a fatal error that names the limit, or an error the caller gets,
// never a hang or a crash.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>

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

// Parks `n` fibers on a channel nobody sends on, then lets them go: each
// needs a stack of its own, so new slabs are mapped along the way.
void spawn_parked(int n) {
    auto never = goro::make_chan<int>();
    goro::wait_group wg;
    for (int i = 0; i < n; ++i) wg.go([never] { (void)never.recv(); });
    never.close();
    wg.wait();
}

struct pipe_pair {
    int fds[2] = {-1, -1};
    pipe_pair() {
        if (::pipe(fds) != 0) fds[0] = fds[1] = -1;
    }
};

}  // namespace

GORO_SCENARIO(fault_stack_mmap) {
    return goro::run(goro::config{.procs = 2}, [] {
        spawn_parked(500);  // 16 slabs of 32: the second mapping fails
        return 3;
    });
}

GORO_SCENARIO(fault_stack_guard) {
    return goro::run(goro::config{.procs = 1}, [] {
        spawn_parked(200);
        return 3;
    });
}

GORO_SCENARIO(fault_first_thread) {
    try {
        goro::run([] { emit("main_ran", 1); });
    } catch (const std::system_error& e) {
        emit("run_threw_errno", static_cast<unsigned long long>(e.code().value()));
    }
    // The process is fine afterwards: a second run starts (the fault was
    // for the first thread only).
    const int again = goro::run([] { return 5; });
    emit("second_run", static_cast<unsigned long long>(again));
    return 0;
}

GORO_SCENARIO(fault_sysmon_thread) {
    return goro::run(goro::config{.procs = 1}, [] {
        goro::sleep_for(20s);  // not reached: sysmon's thread cannot start
        return 3;
    });
}

GORO_SCENARIO(fault_handoff_thread) {
    // One worker; a fiber blocks its thread in read(2), so sysmon must start
    // a second M for the P's other fibers, and cannot.
    static pipe_pair p;
    return goro::run(goro::config{.procs = 1}, [] {
        goro::go([] {
            char c;
            (void)::read(p.fds[0], &c, 1);
        });
        for (int i = 0; i < 2000; ++i) goro::sleep_for(10ms);
        return 3;
    });
}

GORO_SCENARIO(fault_blocking_pool_thread) {
    return goro::run(goro::config{.procs = 1}, [] {
        const int v = goro::blocking([] { return 4; });
        emit("value", static_cast<unsigned long long>(v));
        return 3;
    });
}

TEST_SUITE("faults") {

TEST_CASE("fiber stacks that cannot be mapped: 'fatal error: runtime: out of memory', exit status 2") {
    const proc_result r = run_self("fault_stack_mmap", {"GORO_FAULTS=stack_mmap=1"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(first_line(r.err).rfind("fatal error: runtime: out of memory: cannot map ", 0) == 0);
    CHECK(contains(r.err, "bytes of fiber stacks (mmap: Cannot allocate memory)"));
}

TEST_CASE("guard pages past vm.max_map_count: a fatal error that names the limit and the fix") {
    const proc_result r =
        run_self("fault_stack_guard", {"GORO_STACK_GUARD=mprotect", "GORO_FAULTS=stack_guard=40"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(first_line(r.err).rfind("fatal error: cannot install a stack guard page for fiber stack 41", 0) == 0);
    CHECK(contains(r.err, "vm.max_map_count"));
    CHECK(contains(r.err, "sysctl vm.max_map_count=N"));
}

TEST_CASE("the first thread of a run cannot start: goro::run throws std::system_error, and the next run works") {
    const proc_result r = run_self("fault_first_thread", {"GORO_FAULTS=thread_create=0/1"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK(emitted(r.out, "run_threw_errno") == EAGAIN);
    CHECK_FALSE(contains(r.out, "main_ran"));
    CHECK(emitted(r.out, "second_run") == 5);
}

TEST_CASE("sysmon's thread cannot start: 'fatal error: newosproc' naming the limit") {
    const proc_result r = run_self("fault_sysmon_thread", {"GORO_FAULTS=thread_create=1/1"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    // How many Ms exist by then depends on how far main has got.
    CHECK(contains(r.err, "runtime: failed to create new OS thread (have "));
    CHECK(contains(r.err, " already; Resource temporarily unavailable)"));
    CHECK(contains(r.err, "ulimit -u"));
    CHECK(contains(r.err, "fatal error: newosproc"));
}

TEST_CASE("no thread for a P handed off from a blocked fiber (RLIMIT_NPROC): 'fatal error: newosproc'") {
    const proc_result r = run_self("fault_handoff_thread", {"GORO_FAULTS=thread_create=2", "GORO_DEBUG=traps=0"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(contains(r.err, "runtime: failed to create new OS thread (have 1 already; Resource temporarily unavailable)"));
    CHECK(contains(r.err, "fatal error: newosproc"));
}

TEST_CASE("goro::blocking with no pool thread to be had: a fatal error naming goro::blocking") {
    // When sysmon's thread is the one refused, main may already have run to
    // its end on m0, whose thread has finished but is not yet joined when the
    // fatal error ends the process: TSan would call that a thread leak and
    // exit 66. A fatal error abandons every thread by design, as Go's does.
    const proc_result r = run_self("fault_blocking_pool_thread",
                                   {"GORO_FAULTS=thread_create=2", "TSAN_OPTIONS=halt_on_error=1:report_thread_leaks=0"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    // Which thread is refused first depends on timing (under TSan an M may
    // start before the pool's thread): either way a fatal error names it.
    const std::string first = first_line(r.err);
    const bool pool_refused =
        first == "fatal error: runtime: cannot start a thread for goro::blocking (Resource temporarily unavailable; "
                 "max user processes, ulimit -u?)";
    CHECK((pool_refused || contains(r.err, "fatal error: newosproc")));
    // With the pool's thread refused the call never ran.
    if (pool_refused) CHECK_FALSE(contains(r.out, "value="));
}

TEST_CASE("GORO_FAULTS: unknown sites and malformed items are ignored") {
    // Unknown sites and malformed items change nothing: the run works.
    const proc_result r = run_self("fault_first_thread", {"GORO_FAULTS=nosuch=0,thread_create=x,accept=/"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK(contains(r.out, "main_ran"));
    CHECK(emitted(r.out, "second_run") == 5);
}

}  // TEST_SUITE
