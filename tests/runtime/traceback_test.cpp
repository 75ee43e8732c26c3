// tests/runtime/traceback_test.cpp — call stacks in fiber dumps, panics,
// stack overflows and stall reports (docs/design.md, "Call stacks").
//
// The helpers below are named, not inlined, and each blocking call sits on a
// line of its own whose number the test knows (`*_line`), so a dump must name
// the function and that file:line. Fatal paths run in a child process.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/dump.hpp"
#include "support/procs.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using goro_test::contains;
using goro_test::emit;
using goro_test::emitted;
using goro_test::frame_index;
using goro_test::proc_result;
using goro_test::run_self;

namespace {

const std::string this_file = "traceback_test.cpp";

// Whether a frame's file:line can be checked. In a Clang build libdw names
// the frames but finds no line for them (a known defect, not yet
// understood): the file:line checks run in GCC builds only, and the
// names are checked everywhere.
#ifdef __clang__
constexpr bool line_info = false;
#else
constexpr bool line_info = true;
#endif

// Defeats tail calls, so each helper keeps a frame of its own.
std::atomic<int> sink{0};

// Called through a pointer, so that chan::recv keeps a frame of its own
// rather than being inlined here.
std::optional<int> (goro::chan<int>::*volatile recv_fn)() const = &goro::chan<int>::recv;

constexpr int recv_line = __LINE__ + 3;
[[gnu::noinline]] int blocked_in_recv_here(goro::chan<int> c) {
    // The receive must stay on recv_line.
    std::optional<int> v = (c.*recv_fn)();
    sink.fetch_add(1);
    return v.value_or(0);
}

[[gnu::noinline]] void spinning_here(std::atomic<bool>& started, std::atomic<bool>& stop) {
    started.store(true);
    while (!stop.load(std::memory_order_relaxed)) {
    }
    sink.fetch_add(1);
}

constexpr int throw_line = __LINE__ + 3;
[[gnu::noinline]] void throws_here(int n) {
    sink.fetch_add(n);
    throw std::runtime_error("thrown in throws_here");
}

// Catches and rethrows: a report of the catch site would name this.
[[gnu::noinline]] void catches_and_rethrows(int n) {
    try {
        throws_here(n);
    } catch (...) {
        sink.fetch_add(1);
        throw;
    }
}

[[gnu::noinline]] int recursing_here(int depth) {
    volatile char pad[256];
    pad[0] = static_cast<char>(depth);
    if (depth == -1) return 0;  // never: it recurses until the stack runs out
    return recursing_here(depth + 1) + pad[0];
}

[[gnu::noinline]] void stalling_here() {
    std::this_thread::sleep_for(100ms);  // holds the thread, not the P
    sink.fetch_add(1);
}

[[gnu::noinline]] void quitting_here() {
    ::raise(SIGQUIT);  // this thread: the handler interrupts this frame
    sink.fetch_add(1);
}

std::string dump_now() {
    std::ostringstream os;
    goro::dump_fibers(os);
    return os.str();
}

// The entry of fiber `id` in a fresh dump once `ready` holds for it.
template <class Ready>
goro_test::dump_entry entry_when(std::uint64_t id, Ready ready) {
    goro_test::dump_entry found;
    bool seen = goro_test::eventually([&] {
        const std::string text = dump_now();
        for (const auto& e : goro_test::parse_dump(text))
            if (e.id == id && ready(e)) {
                found = e;
                return true;
            }
        goro::yield();
        return false;
    });
    CHECK(seen);
    return found;
}

bool runs_under_tsan() { return goro_test_tsan != 0; }

}  // namespace

// ---------------------------------------------------------------------------
// Scenarios (child processes)

GORO_SCENARIO(panic_throw_site) {
    return goro::run([] {
        goro::go([] {
            emit("panicking", goro::fiber_id());
            catches_and_rethrows(1);
        });
        goro::sleep_for(20s);
        return 3;
    });
}

GORO_SCENARIO(overflow_names_recursion) {
    return goro::run([] {
        goro::go([] {
            emit("overflowing", goro::fiber_id());
            sink.fetch_add(recursing_here(0));
        });
        goro::sleep_for(20s);
        return 3;
    });
}

GORO_SCENARIO(deadlock_names_blocker) {
    return goro::run([] {
        emit("main", goro::fiber_id());
        auto c = goro::make_chan<int>();
        return blocked_in_recv_here(c);
    });
}

GORO_SCENARIO(sigquit_stacks) {
    return goro::run([] {
        auto c = goro::make_chan<int>();
        goro::chan<std::uint64_t> id = goro::make_chan<std::uint64_t>(1);
        goro::go([=] {
            id.send(goro::fiber_id());
            blocked_in_recv_here(c);
        });
        emit("blocked", *id.recv());
        emit("main", goro::fiber_id());
        // Let the receiver park (a dump shows it waiting), then quit.
        goro_test::eventually([&] {
            const std::string text = dump_now();
            goro::yield();
            return contains(text, "[chan receive");
        });
        quitting_here();
        return 3;
    });
}

GORO_SCENARIO(stall_names_staller) {
    return goro::run(goro::config{.procs = 1}, [] {
        goro::wait_group wg;
        wg.go([] {
            emit("staller", goro::fiber_id());
            stalling_here();
        });
        wg.wait();
        return 0;
    });
}

// ---------------------------------------------------------------------------
// Tests

TEST_CASE("a dump shows a parked fiber's stack from its saved registers, blocking call first") {
    goro_test::for_each_procs([](int) {
        auto c = goro::make_chan<int>();
        auto id = goro::make_chan<std::uint64_t>(1);
        goro::wait_group wg;
        wg.go([=] {
            id.send(goro::fiber_id());
            blocked_in_recv_here(c);
        });
        const std::uint64_t blocked = *id.recv();
        const goro_test::dump_entry e =
            entry_when(blocked, [](const goro_test::dump_entry& d) { return d.reason == "chan receive"; });
        const int at = frame_index(e, "blocked_in_recv_here(");
        CHECK(at >= 0);
        if (at >= 0) {
            const std::string site = e.frame_sites[static_cast<std::size_t>(at)];
            if (line_info) CHECK(goro_test::site_is(site, this_file, recv_line));
        }
        // The runtime's own frames (park, the switch) are left out: the
        // stack starts at the channel's receive, or at the helper itself.
        CHECK(!e.frames.empty());
        if (!e.frames.empty()) {
            const bool starts_at_recv = contains(e.frames[0], "goro::chan<int>::recv") || at == 0;
            CHECK(starts_at_recv);
            CHECK(!contains(e.frames[0], "goro::detail::"));
            // The outermost frame shown is code of this file: the fiber's
            // entry below it is left out (or named with this file's line,
            // where the fiber's lambda was inlined into it).
            if (line_info) CHECK(contains(e.frame_sites.back(), this_file));
        }
        c.send(1);
        wg.wait();
    });
}

TEST_CASE("a dump shows the dumping fiber's own stack") {
    goro_test::for_each_procs([](int) {
        const std::uint64_t self = goro::fiber_id();
        const std::string text = dump_now();
        const auto entries = goro_test::parse_dump(text);
        const goro_test::dump_entry* e = goro_test::find_fiber(entries, self);
        const bool listed_with_frames = e != nullptr && !e->frames.empty();
        CHECK(listed_with_frames);
        // Its first frame is this test's code, which called dump_fibers.
        if (listed_with_frames && line_info) CHECK(contains(e->frame_sites[0], this_file));
    });
}

TEST_CASE("a dump shows a fiber running on another worker, captured by signalling its thread") {
    if (runs_under_tsan()) {
        // ThreadSanitizer defers a signal until its thread calls into an
        // intercepted function, which a pure spinning loop never does: the
        // dump then prints "stack unavailable", or the deferred handler's
        // stale context; the frames are not checked in that build.
        MESSAGE("skipped under TSan: signals reach a spinning thread only at intercepted calls");
    }
    goro_test::for_each_procs([](int procs) {
        if (procs < 2) return;  // the spinner would hold the only worker
        std::atomic<bool> started{false}, stop{false};
        auto id = goro::make_chan<std::uint64_t>(1);
        goro::wait_group wg;
        wg.go([&, id] {
            id.send(goro::fiber_id());
            spinning_here(started, stop);
        });
        const std::uint64_t spinner = *id.recv();
        CHECK(goro_test::eventually([&] {
            goro::yield();
            return started.load();
        }));
        const goro_test::dump_entry e =
            entry_when(spinner, [](const goro_test::dump_entry& d) { return d.state == "running"; });
        // Under TSan only the entry itself is checked (entry_when found it
        // running): a deferred signal's context no longer matches the stack.
        if (!runs_under_tsan()) {
            CHECK(frame_index(e, "spinning_here(") >= 0);
        }
        stop.store(true);
        wg.wait();
    });
}

TEST_CASE("a panic prints the stack of the throw, not of the catch") {
    const proc_result r = run_self("panic_throw_site");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(contains(r.err, "panic: thrown in throws_here"));
    const auto entries = goro_test::parse_dump(r.err);
    const goro_test::dump_entry* e = goro_test::find_fiber(entries, emitted(r.out, "panicking"));
    REQUIRE(e != nullptr);
    const int at = frame_index(*e, "throws_here(");
    REQUIRE(at >= 0);
    // GCC's sanitized builds move the throw into a .cold block shared with
    // other inlined throws, whose line-table entry names one of those: the
    // line is checked in unsanitized builds only.
    if (!goro_test::sanitized && line_info)
        CHECK(goro_test::site_is(e->frame_sites[static_cast<std::size_t>(at)], this_file, throw_line));
    // The catcher is below the thrower, as its caller, and the first frame
    // is the throw's (libstdc++'s and the hook's own frames left out).
    CHECK(at == 0);
    CHECK(frame_index(*e, "catches_and_rethrows(") > at);
}

TEST_CASE("a stack overflow names the recursing function") {
    const proc_result r = run_self("overflow_names_recursion");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    CHECK(contains(r.err, "fatal error: stack overflow in fiber " + std::to_string(emitted(r.out, "overflowing"))));
    const auto entries = goro_test::parse_dump(r.err);
    const goro_test::dump_entry* e = goro_test::find_fiber(entries, emitted(r.out, "overflowing"));
    REQUIRE(e != nullptr);
    if (goro_test::sanitized) {
        MESSAGE("sanitized builds print the overflow handler's pcs, not names: TSan forbids allocating in a signal "
                "handler, and ASan's signal stack is too small for libdw");
        CHECK(contains(r.err, "(frames unnamed: a sanitized build"));
        return;
    }
    CHECK(frame_index(*e, "recursing_here(") == 0);
    CHECK(contains(r.err, "...additional frames elided..."));
}

TEST_CASE("the deadlock report shows where each fiber blocked") {
    const proc_result r = run_self("deadlock_names_blocker");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    const auto entries = goro_test::parse_dump(r.err);
    const goro_test::dump_entry* e = goro_test::find_fiber(entries, emitted(r.out, "main"));
    REQUIRE(e != nullptr);
    const int at = frame_index(*e, "blocked_in_recv_here(");
    REQUIRE(at >= 0);
    if (line_info) CHECK(goro_test::site_is(e->frame_sites[static_cast<std::size_t>(at)], this_file, recv_line));
}

TEST_CASE("SIGQUIT shows the parked fiber's stack and the interrupted fiber's") {
    const proc_result r = run_self("sigquit_stacks");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 2);
    const auto entries = goro_test::parse_dump(r.err);
    const goro_test::dump_entry* blocked = goro_test::find_fiber(entries, emitted(r.out, "blocked"));
    const goro_test::dump_entry* main_fiber = goro_test::find_fiber(entries, emitted(r.out, "main"));
    REQUIRE(blocked != nullptr);
    REQUIRE(main_fiber != nullptr);
    if (goro_test::sanitized) {
        MESSAGE("sanitized builds print the SIGQUIT handler's pcs, not names: TSan forbids allocating in a signal "
                "handler, and ASan's signal stack is too small for libdw");
        CHECK(contains(r.err, "(frames unnamed: a sanitized build"));
        CHECK(contains(r.err, "(stack not unwound: a sanitized build"));
        return;
    }
    CHECK(frame_index(*blocked, "blocked_in_recv_here(") >= 0);
    CHECK(frame_index(*main_fiber, "quitting_here(") >= 0);
}

TEST_CASE("GORO_DEBUG=stalls=1 prints the stalled fiber's stack") {
    const proc_result r = run_self("stall_names_staller", {"GORO_DEBUG=stalls=1"});
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    const std::string who = "goro: stall: fiber " + std::to_string(emitted(r.out, "staller")) + " has held P0 for ";
    const std::size_t at = r.err.find(who);
    REQUIRE(at != std::string::npos);
    // The stack follows the first line, perhaps after lines the M printed
    // meanwhile (the end of the stall); no other report prints frames.
    const std::string stack = r.err.substr(at);
    if (runs_under_tsan()) {
        MESSAGE("under TSan the stalled thread may answer late: its frames are checked only if printed");
        CHECK((contains(stack, "stalling_here(") || contains(stack, "stack unavailable")));
    } else {
        CHECK(contains(stack, "stalling_here("));
    }
}
