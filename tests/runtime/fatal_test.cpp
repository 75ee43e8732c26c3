// tests/runtime/fatal_test.cpp — the paths that end the process, each run as
// a scenario in a child process (tests/support/subprocess.hpp): panics,
// deadlock reports (and their absence while something can still wake a
// fiber), stack overflow, fatal sync misuse and the SIGQUIT dump.
//
// Every scenario reports the ids and spawn lines it knows with emit(), and the
// tests match them against the dump the runtime prints. A scenario returns 3
// if the runtime failed to end it (after 20 s), so a missing fatal error shows
// as a wrong exit status rather than as a hang.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/dump.hpp"
#include "support/procs.hpp"
#include "support/stack_use.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using goro_test::contains;
using goro_test::contains_nocase;
using goro_test::emit;
using goro_test::emitted;
using goro_test::emitted_all;
using goro_test::first_line;
using goro_test::parse_dump;
using goro_test::proc_result;
using goro_test::run_self;
using goro_test::site_is;

namespace {

constexpr const char* this_file = "fatal_test.cpp";
constexpr const char* deadlock_line = "fatal error: all fibers are asleep - deadlock!";

// Keeps the calling fiber busy sleeping (so no deadlock can be declared) for
// up to 20 s, for scenarios that expect the runtime to end the process.
int sleep_then_fail() {
    for (int i = 0; i < 2000; ++i) goro::sleep_for(10ms);
    return 3;
}

unsigned long long id() { return goro::fiber_id(); }

// The id in "fatal error: stack overflow in fiber <id>...", or "" if the line
// does not start that way.
std::string overflow_fiber_named(const std::string& line) {
    const std::string prefix = "fatal error: stack overflow in fiber ";
    if (line.rfind(prefix, 0) != 0) return "";
    const std::string rest = line.substr(prefix.size());
    return rest.substr(0, rest.find_first_not_of("0123456789"));
}

// The dump entry of the fiber the child emitted under `key`; fails the test
// case when the dump does not list it.
const goro_test::dump_entry& listed_fiber(const std::vector<goro_test::dump_entry>& entries,
                                          const proc_result& r, const char* key) {
    const goro_test::dump_entry* e = goro_test::find_fiber(entries, emitted(r.out, key));
    REQUIRE_MESSAGE(e != nullptr, "the dump does not list the fiber emitted as " << key);
    return *e;
}

// Whether the entry names this file and the line the child emitted under
// `line_key` as the fiber's spawn site.
bool spawned_at(const goro_test::dump_entry& e, const proc_result& r, const char* line_key) {
    return site_is(e.spawned_at, this_file, static_cast<long>(emitted(r.out, line_key)));
}

}  // namespace

// ---------------------------------------------------------------------------
// Scenarios

GORO_SCENARIO(panic_in_fiber) {
    return goro::run([] {
        emit("spawn_line", __LINE__); goro::go([] { emit("panicking", id()); throw std::runtime_error("boom"); });
        return sleep_then_fail();
    });
}

GORO_SCENARIO(panic_in_main) {
    return goro::run([]() -> int {
        emit("main", id());
        throw std::runtime_error("main boom");
    });
}

GORO_SCENARIO(uncaught_negative_wait_group) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        emit("spawn_line", __LINE__); goro::go([] { emit("panicking", id()); goro::wait_group wg; wg.done(); });
        return sleep_then_fail();
    });
}

GORO_SCENARIO(deadlock_wait_group) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        emit("main", id());
        goro::wait_group never;
        never.add(1);
        emit("spawn_line", __LINE__); goro::go([&] { emit("waiter", id()); never.wait(); });
        never.wait();
        return 3;
    });
}

GORO_SCENARIO(deadlock_mutex_and_cond) {
    goro::config cfg;
    cfg.procs = 4;
    return goro::run(cfg, [] {
        emit("main", id());
        goro::mutex held;
        held.lock();  // never unlocked
        goro::mutex cond_mu;
        goro::cond cv(cond_mu);
        goro::wait_group never;
        never.add(1);
        emit("locker_line", __LINE__); goro::go([&] { emit("locker", id()); held.lock(); });
        emit("locker_line", __LINE__); goro::go([&] { emit("locker", id()); held.lock(); });
        emit("cond_line", __LINE__); goro::go([&] { emit("cond_waiter", id()); cond_mu.lock(); for (;;) cv.wait(); });
        never.wait();
        return 3;
    });
}

GORO_SCENARIO(sleeper_will_finish) {
    return goro::run([] {
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            goro::sleep_for(200ms);
            wg.done();
        });
        wg.wait();
        return 0;
    });
}

GORO_SCENARIO(plain_thread_will_finish) {
    goro::wait_group wg;
    wg.add(1);
    std::thread helper;
    const int rc = goro::run([&] {
        helper = std::thread([&] {
            std::this_thread::sleep_for(300ms);
            wg.done();
        });
        wg.wait();
        return 0;
    });
    helper.join();
    return rc;
}

GORO_SCENARIO(stack_overflow) {
    return goro::run([] {
        emit("spawn_line", __LINE__); goro::go([] { emit("overflowing", id()); goro_test::burn_stack_forever(0); });
        return sleep_then_fail();
    });
}

GORO_SCENARIO(small_stack_overflow) {
    return goro::run([] {
        goro::spawn_options options;
        options.stack_size = 64 * 1024;
        emit("spawn_line", __LINE__); goro::go(options, [] { emit("overflowing", id()); goro_test::burn_stack(512); });
        return sleep_then_fail();
    });
}

// Forced into the mprotect fallback that kernels without MADV_GUARD_INSTALL
// use, every guarded stack costs two mappings; parking more fibers than
// vm.max_map_count allows must stop the program with a clear error rather
// than run a stack without its guard.
GORO_SCENARIO(guard_pages_exhaust_map_count) {
    int max_map_count = 65530;
    if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
        if (std::fscanf(f, "%d", &max_map_count) != 1) max_map_count = 65530;
        std::fclose(f);
    }
    const int fibers = max_map_count / 2 + 1000;
    return goro::run(goro::config{.procs = 2}, [fibers] {
        goro::wait_group release;
        release.add(1);
        for (int i = 0; i < fibers; ++i) goro::go([&release] { release.wait(); });
        emit("spawned_all", 1);
        release.done();
        return 3;
    });
}

GORO_SCENARIO(unlock_of_unlocked_mutex) {
    return goro::run([] {
        goro::mutex mu;
        mu.unlock();
        return 3;
    });
}

GORO_SCENARIO(double_unlock_of_mutex) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        goro::mutex mu;
        mu.lock();
        mu.unlock();
        mu.unlock();
        return 3;
    });
}

GORO_SCENARIO(sigquit_dump) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        constexpr int parked = 3;
        goro::wait_group never;
        never.add(1);
        for (int i = 0; i < parked; ++i) {
            emit("spawn_line", __LINE__); goro::go([&] { emit("parked", id()); never.wait(); });
        }
        // Wait until the dump shows all of them parked on the wait_group.
        bool all_parked = false;
        for (int i = 0; i < 20'000 && !all_parked; ++i) {
            std::ostringstream out;
            goro::dump_fibers(out);
            int on_wait_group = 0;
            for (const goro_test::dump_entry& e : parse_dump(out.str()))
                if (contains(e.reason, "wait_group")) ++on_wait_group;
            all_parked = on_wait_group >= parked;
            if (!all_parked) goro::sleep_for(1ms);
        }
        if (!all_parked) return 4;
        // A process-directed SIGQUIT, as `kill -QUIT` sends. (Sending it from
        // a helper thread raced the thread's detach() against the exit, which
        // ThreadSanitizer reports as a leaked thread.)
        ::kill(::getpid(), SIGQUIT);
        return sleep_then_fail();
    });
}

// ---------------------------------------------------------------------------
// Tests

TEST_SUITE("fatal") {

TEST_CASE("an exception escaping a fiber is a panic: 'panic: <what()>', the fiber's id and spawn site, exit status 2") {
    const proc_result r = run_self("panic_in_fiber");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(first_line(r.err) == "panic: boom");
    CHECK(emitted(r.out, "panicking") != 0);
    const auto entries = parse_dump(r.err);
    const goro_test::dump_entry& e = listed_fiber(entries, r, "panicking");
    CHECK(e.state == "running");
    CHECK(spawned_at(e, r, "spawn_line"));
}

TEST_CASE("an exception escaping the main fiber is a panic with exit status 2") {
    const proc_result r = run_self("panic_in_main");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(first_line(r.err) == "panic: main boom");
    CHECK(emitted(r.out, "main") != 0);
    CHECK(listed_fiber(parse_dump(r.err), r, "main").state == "running");
}

TEST_CASE("an uncaught goro::panic_error (negative WaitGroup counter) is a panic with Go's message") {
    const proc_result r = run_self("uncaught_negative_wait_group");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(first_line(r.err) == "panic: sync: negative WaitGroup counter");
    const auto entries = parse_dump(r.err);
    const goro_test::dump_entry& e = listed_fiber(entries, r, "panicking");
    CHECK(e.state == "running");
    CHECK(spawned_at(e, r, "spawn_line"));
}

TEST_CASE("deadlock: every fiber blocked on a wait_group is reported, naming wait_group and the spawn site") {
    const proc_result r = run_self("deadlock_wait_group");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(first_line(r.err) == deadlock_line);

    const auto entries = parse_dump(r.err);
    const goro_test::dump_entry& waiter = listed_fiber(entries, r, "waiter");
    CHECK(contains(listed_fiber(entries, r, "main").reason, "wait_group"));
    CHECK(contains(waiter.reason, "wait_group"));
    CHECK(spawned_at(waiter, r, "spawn_line"));
    CHECK(entries.front().id == 1);  // the main fiber is listed first, as Go lists goroutine 1
}

TEST_CASE("deadlock: fibers blocked on a mutex and on a cond are reported with those wait reasons") {
    const proc_result r = run_self("deadlock_mutex_and_cond");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(first_line(r.err) == deadlock_line);

    const auto entries = parse_dump(r.err);
    const std::vector<std::uint64_t> lockers = emitted_all(r.out, "locker");
    const std::vector<std::uint64_t> locker_lines = emitted_all(r.out, "locker_line");
    REQUIRE(lockers.size() == 2);
    REQUIRE(locker_lines.size() == 2);
    for (std::uint64_t locker : lockers) {
        const goro_test::dump_entry* e = goro_test::find_fiber(entries, locker);
        REQUIRE(e != nullptr);
        CHECK(contains_nocase(e->reason, "mutex"));
        CHECK((site_is(e->spawned_at, this_file, static_cast<long>(locker_lines[0])) ||
               site_is(e->spawned_at, this_file, static_cast<long>(locker_lines[1]))));
    }
    const goro_test::dump_entry& waiter = listed_fiber(entries, r, "cond_waiter");
    CHECK(contains_nocase(waiter.reason, "cond"));
    CHECK(spawned_at(waiter, r, "cond_line"));
    CHECK(contains(listed_fiber(entries, r, "main").reason, "wait_group"));
}

TEST_CASE("no deadlock is reported while a sleeping fiber will wake the others") {
    const proc_result r = run_self("sleeper_will_finish");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK_FALSE(contains(r.err, "fatal error"));
}

TEST_CASE("no deadlock is reported while a plain thread will call done later") {
    const proc_result r = run_self("plain_thread_will_finish");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK_FALSE(contains(r.err, "fatal error"));
}

TEST_CASE("stack overflow is 'fatal error: stack overflow in fiber <id>' with exit status 2, on the default and a 64 KiB stack") {
    // stack_overflow recurses without end on the default stack;
    // small_stack_overflow uses 512 KiB of a 64 KiB stack set by spawn_options.
    for (const char* scenario : {"stack_overflow", "small_stack_overflow"}) {
        const proc_result r = run_self(scenario);
        INFO((std::string(scenario) + "\n" + goro_test::describe(r)));
        CHECK(r.exit_status == 2);
        const std::uint64_t fiber = emitted(r.out, "overflowing");
        CHECK(fiber != 0);
        CHECK(overflow_fiber_named(first_line(r.err)) == std::to_string(fiber));
        CHECK(spawned_at(listed_fiber(parse_dump(r.err), r, "overflowing"), r, "spawn_line"));
    }
}

// ThreadSanitizer cannot track more than 8,128 threads and fibers at once, far
// fewer than the ~32,000 stacks this scenario needs; it runs in the plain and
// ASan+UBSan builds.
#if !goro_test_tsan
TEST_CASE("without MADV_GUARD_INSTALL, running out of mappings for guard pages is a clear fatal error") {
    const proc_result r = run_self("guard_pages_exhaust_map_count", {"GORO_STACK_GUARD=mprotect"},
                                   std::chrono::seconds(300));
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(first_line(r.err).rfind("fatal error: cannot install a stack guard page", 0) == 0);
    CHECK(contains(r.err, "vm.max_map_count"));
    CHECK(emitted(r.out, "spawned_all") == 0);
}
#endif

TEST_CASE("unlocking an unlocked mutex is a fatal error with exit status 2") {
    for (const char* scenario : {"unlock_of_unlocked_mutex", "double_unlock_of_mutex"}) {
        const proc_result r = run_self(scenario);
        INFO((std::string(scenario) + "\n" + goro_test::describe(r)));
        CHECK(r.exit_status == 2);
        CHECK(first_line(r.err) == "fatal error: sync: unlock of unlocked mutex");
    }
}

TEST_CASE("SIGQUIT prints 'SIGQUIT: quit' and a dump of every fiber, then exits with status 2") {
    const proc_result r = run_self("sigquit_dump");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(first_line(r.err) == "SIGQUIT: quit");

    const auto entries = parse_dump(r.err);
    const std::vector<std::uint64_t> parked = emitted_all(r.out, "parked");
    const std::uint64_t spawn_line = emitted(r.out, "spawn_line");
    CHECK(parked.size() == 3);
    for (std::uint64_t fiber : parked) {
        const goro_test::dump_entry* e = goro_test::find_fiber(entries, fiber);
        REQUIRE(e != nullptr);
        CHECK(contains(e->reason, "wait_group"));
        CHECK(site_is(e->spawned_at, this_file, static_cast<long>(spawn_line)));
    }
}

}  // TEST_SUITE("fatal")
