// tests/channels/chan_fatal_test.cpp — the channel paths that end the
// process, each run as a scenario in a child process
// (tests/support/subprocess.hpp):
//
//   - deadlocks where every fiber is blocked in a channel operation (receive,
//     send, select, a nil channel, select() with no cases): "fatal error: all
//     fibers are asleep - deadlock!", a dump naming the operation as each
//     fiber's wait reason, exit status 2;
//   - goro::panic_error escaping a fiber (send on a closed channel, close of a
//     nil or closed channel): "panic: <Go's message>", exit status 2;
//   - no deadlock report while a timer or a plain thread can still wake a
//     fiber blocked on a channel.
//
// Scenario names start with chan_ (they share one registry with every other
// test file of the binary). Scenarios report fiber ids and spawn lines with
// emit(); a scenario that the runtime failed to end returns 3 (after 20 s for
// the panics), so a missing fatal error shows as a wrong exit status.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <sstream>
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
using goro_test::emitted_all;
using goro_test::first_line;
using goro_test::parse_dump;
using goro_test::proc_result;
using goro_test::run_self;
using goro_test::site_is;

namespace {

constexpr const char* this_file = "chan_fatal_test.cpp";
constexpr const char* deadlock_line = "fatal error: all fibers are asleep - deadlock!";

unsigned long long id() { return goro::fiber_id(); }

// Keeps the main fiber asleep (so no deadlock can be declared) for up to
// 20 s while another fiber is expected to panic.
int sleep_then_fail() {
    for (int i = 0; i < 2000; ++i) goro::sleep_for(10ms);
    return 3;
}

// run_self for this file's scenarios. Under ThreadSanitizer a child that
// exits waits atexit_sleep_ms (1 s by default) first; these children end by
// design, so that wait is switched off (on top of any TSAN_OPTIONS given).
proc_result run_chan_scenario(const char* name) {
    std::vector<std::string> env;
#if goro_test_tsan
    const char* given = std::getenv("TSAN_OPTIONS");
    std::string options = given != nullptr ? given : "";
    if (!options.empty()) options += ' ';
    env.push_back("TSAN_OPTIONS=" + options + "atexit_sleep_ms=0");
#endif
    return run_self(name, env);
}

// Waits (polling the fiber dump) until fiber `fiber` is parked with wait
// reason `reason`; false if that never happens within 10 s.
bool wait_until_parked(std::uint64_t fiber, const std::string& reason) {
    for (int i = 0; i < 10'000; ++i) {
        std::ostringstream out;
        goro::dump_fibers(out);
        const auto entries = parse_dump(out.str());
        const goro_test::dump_entry* e = goro_test::find_fiber(entries, fiber);
        if (e != nullptr && e->reason == reason) return true;
        goro::sleep_for(1ms);
    }
    return false;
}

// The dump entry of the fiber the child emitted under `key`, or null.
const goro_test::dump_entry* listed(const std::vector<goro_test::dump_entry>& entries, const proc_result& r,
                                    const char* key) {
    const std::uint64_t fiber = emitted(r.out, key);
    return fiber == 0 ? nullptr : goro_test::find_fiber(entries, fiber);
}

// Checks that the fiber emitted under `key` is listed with wait reason
// `reason` and was spawned at the line emitted under `line_key` (when given).
void check_listed(const std::vector<goro_test::dump_entry>& entries, const proc_result& r, const char* key,
                  const std::string& reason, const char* line_key = nullptr) {
    const goro_test::dump_entry* e = listed(entries, r, key);
    CHECK_MESSAGE(e != nullptr, "the dump does not list the fiber emitted as " << key);
    if (e == nullptr) return;
    CHECK_MESSAGE(e->reason == reason, key << ": wait reason '" << e->reason << "', expected '" << reason << "'");
    if (line_key != nullptr)
        CHECK_MESSAGE(site_is(e->spawned_at, this_file, static_cast<long>(emitted(r.out, line_key))),
                      key << ": spawned at '" << e->spawned_at << "'");
}

// The checks every deadlock scenario shares.
void check_deadlock_report(const proc_result& r) {
    CHECK(r.exit_status == 2);
    CHECK(r.signal == 0);
    CHECK(first_line(r.err) == deadlock_line);
    const auto entries = parse_dump(r.err);
    REQUIRE_FALSE(entries.empty());
    CHECK(entries.front().id == 1);  // the main fiber first, as Go lists goroutine 1
}

// The checks every panic scenario shares: the message, the status, and the
// panicking fiber listed as running with its spawn site.
void check_panic(const proc_result& r, const std::string& message) {
    CHECK(r.exit_status == 2);
    CHECK(r.signal == 0);
    CHECK(first_line(r.err) == "panic: " + message);
    const auto entries = parse_dump(r.err);
    const goro_test::dump_entry* e = listed(entries, r, "panicking");
    CHECK_MESSAGE(e != nullptr, "the panic report does not list the panicking fiber");
    if (e == nullptr) return;
    CHECK(e->state == "running");
    CHECK(site_is(e->spawned_at, this_file, static_cast<long>(emitted(r.out, "spawn_line"))));
}

}  // namespace

// ---------------------------------------------------------------------------
// Deadlock scenarios

// Every fiber receives from a channel nobody sends on: unbuffered, empty
// buffered, and a range-for over a channel nobody closes.
GORO_SCENARIO(chan_deadlock_receive) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        emit("main", id());
        auto unbuffered = goro::make_chan<int>();
        auto buffered = goro::make_chan<int>(4);
        emit("recv_line", __LINE__); goro::go([unbuffered]() mutable { emit("receiver", id()); (void)unbuffered.recv(); });
        emit("buffered_line", __LINE__); goro::go([buffered]() mutable { emit("buffered_receiver", id()); (void)buffered.recv(); });
        emit("range_line", __LINE__); goro::go([buffered]() mutable { emit("ranger", id()); for (int v : buffered) (void)v; });
        (void)unbuffered.recv();
        return 3;
    });
}

// Every fiber sends on a channel nobody receives from: unbuffered, and a
// buffered one that is full.
GORO_SCENARIO(chan_deadlock_send) {
    goro::config cfg;
    cfg.procs = 4;
    return goro::run(cfg, [] {
        emit("main", id());
        auto unbuffered = goro::make_chan<int>();
        auto full = goro::make_chan<int>(2);
        full.send(1);
        full.send(2);
        emit("send_line", __LINE__); goro::go([unbuffered]() mutable { emit("sender", id()); unbuffered.send(1); });
        emit("full_line", __LINE__); goro::go([full]() mutable { emit("full_sender", id()); full.send(3); });
        full.send(4);
        return 3;
    });
}

// Every fiber is in a select (static or dynamic, receive and send cases) that
// can never proceed: nothing ever sends on a or b, and full stays full.
GORO_SCENARIO(chan_deadlock_select) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        emit("main", id());
        auto a = goro::make_chan<int>();
        auto b = goro::make_chan<int>();
        auto full = goro::make_chan<int>(1);
        full.send(0);
        emit("select_line", __LINE__); goro::go([=] { emit("selector", id()); int v = 0; goro::select(goro::recv(a, v), goro::send(full, 1)); });
        emit("dynamic_line", __LINE__); goro::go([=] { emit("dynamic_selector", id()); std::vector<goro::select_case> cases; cases.emplace_back(goro::recv(b)); cases.emplace_back(goro::send(full, 3)); cases.emplace_back(goro::recv(a)); goro::select(cases); });
        goro::select(goro::recv(a), goro::recv(b));
        return 3;
    });
}

// Every fiber blocks on a nil channel: receive, send, and a select whose
// channels are all nil.
GORO_SCENARIO(chan_deadlock_nil) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        emit("main", id());
        goro::chan<int> nil;
        emit("send_line", __LINE__); goro::go([nil]() mutable { emit("nil_sender", id()); nil.send(1); });
        emit("select_line", __LINE__); goro::go([nil] { emit("nil_selector", id()); goro::select(goro::recv(nil), goro::send(nil, 1)); });
        (void)nil.recv();
        return 3;
    });
}

// goro::select() with no cases blocks forever, as Go's `select {}`.
GORO_SCENARIO(chan_deadlock_select_no_cases) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        emit("main", id());
        emit("spawn_line", __LINE__); goro::go([] { emit("forever", id()); goro::select(); });
        goro::select();
        return 3;
    });
}

// A fiber blocked on a channel while a fiber that could have fed it has
// finished: still a deadlock once only channel waiters are left.
GORO_SCENARIO(chan_deadlock_after_producer_exits) {
    goro::config cfg;
    cfg.procs = 4;
    return goro::run(cfg, [] {
        emit("main", id());
        auto c = goro::make_chan<int>(8);
        goro::wait_group produced;
        produced.add(1);
        goro::go([c, &produced]() mutable {
            for (int i = 0; i < 3; ++i) c.send(i);
            produced.done();
        });
        produced.wait();
        int sum = 0;
        for (int v : c) sum += v;  // never closed: blocks after the three values
        return 3 + sum;
    });
}

// ---------------------------------------------------------------------------
// Panic scenarios

GORO_SCENARIO(chan_panic_send_on_closed) {
    return goro::run([] {
        emit("spawn_line", __LINE__); goro::go([] { emit("panicking", id()); auto c = goro::make_chan<int>(1); c.close(); c.send(1); });
        return sleep_then_fail();
    });
}

// A sender blocked on an unbuffered channel is woken by close and panics.
GORO_SCENARIO(chan_panic_blocked_send_woken_by_close) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        auto c = goro::make_chan<int>();
        std::atomic<std::uint64_t> sender{0};
        emit("spawn_line", __LINE__); goro::go([c, &sender]() mutable { emit("panicking", id()); sender = id(); c.send(1); });
        while (sender.load() == 0) goro::yield();
        emit("parked_first", wait_until_parked(sender.load(), "chan send") ? 1 : 0);
        c.close();
        return sleep_then_fail();
    });
}

// A select send case on a closed channel panics even with a default case.
GORO_SCENARIO(chan_panic_select_send_on_closed) {
    return goro::run([] {
        emit("spawn_line", __LINE__); goro::go([] { emit("panicking", id()); auto c = goro::make_chan<int>(4); auto other = goro::make_chan<int>(); c.close(); goro::select(goro::send(c, 1), goro::recv(other), goro::default_case()); });
        return sleep_then_fail();
    });
}

GORO_SCENARIO(chan_panic_close_of_nil) {
    return goro::run([] {
        emit("spawn_line", __LINE__); goro::go([] { emit("panicking", id()); goro::chan<int> nil; nil.close(); });
        return sleep_then_fail();
    });
}

GORO_SCENARIO(chan_panic_close_of_closed) {
    return goro::run([] {
        emit("spawn_line", __LINE__); goro::go([] { emit("panicking", id()); auto c = goro::make_chan<int>(); c.close(); c.close(); });
        return sleep_then_fail();
    });
}

// ---------------------------------------------------------------------------
// Scenarios that must end normally

// Fibers blocked on channels while the only thing that can wake them is a
// timer: a select on goro::after, a receive from a timer's channel, a select
// on a ticker. None of this is a deadlock.
GORO_SCENARIO(chan_no_deadlock_while_waiting_on_a_timer) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        auto never = goro::make_chan<int>();
        auto result = goro::make_chan<int>();
        // A fiber in a select on after(); main waits for it on a channel.
        goro::go([never, result]() mutable {
            const int chosen = goro::select(goro::recv(never), goro::recv(goro::after(100ms)));
            result.send(chosen);
        });
        if (result.recv() != 1) return 4;
        // Main itself in a select on after().
        if (goro::select(goro::recv(never), goro::send(never, 1), goro::recv(goro::after(50ms))) != 2) return 5;
        // A timer's channel received from directly.
        goro::timer t(30ms);
        if (!t.c.recv().has_value()) return 6;
        // A ticker in a select, twice.
        goro::ticker tk(20ms);
        for (int i = 0; i < 2; ++i)
            if (goro::select(goro::recv(never), goro::recv(tk.c)) != 1) return 7;
        tk.stop();
        return 0;
    });
}

// The main fiber blocked on a channel that a plain thread sends on later.
GORO_SCENARIO(chan_no_deadlock_while_a_plain_thread_will_send) {
    goro::chan<int> c;
    std::thread helper;
    const int rc = goro::run([&] {
        c = goro::make_chan<int>();
        helper = std::thread([c]() mutable {
            std::this_thread::sleep_for(300ms);
            c.send(7);
        });
        return c.recv() == 7 ? 0 : 4;
    });
    helper.join();
    return rc;
}

// ---------------------------------------------------------------------------
// Tests

TEST_SUITE("chan fatal") {

TEST_CASE("chan deadlock: fibers blocked receiving are reported with wait reason 'chan receive'") {
    const proc_result r = run_chan_scenario("chan_deadlock_receive");
    INFO(goro_test::describe(r));
    check_deadlock_report(r);
    const auto entries = parse_dump(r.err);
    check_listed(entries, r, "main", "chan receive");
    check_listed(entries, r, "receiver", "chan receive", "recv_line");
    check_listed(entries, r, "buffered_receiver", "chan receive", "buffered_line");
    check_listed(entries, r, "ranger", "chan receive", "range_line");
}

TEST_CASE("chan deadlock: fibers blocked sending (unbuffered, full buffer) are reported with wait reason 'chan send'") {
    const proc_result r = run_chan_scenario("chan_deadlock_send");
    INFO(goro_test::describe(r));
    check_deadlock_report(r);
    const auto entries = parse_dump(r.err);
    check_listed(entries, r, "main", "chan send");
    check_listed(entries, r, "sender", "chan send", "send_line");
    check_listed(entries, r, "full_sender", "chan send", "full_line");
}

TEST_CASE("chan deadlock: fibers blocked in static and dynamic selects are reported with wait reason 'select'") {
    const proc_result r = run_chan_scenario("chan_deadlock_select");
    INFO(goro_test::describe(r));
    check_deadlock_report(r);
    const auto entries = parse_dump(r.err);
    check_listed(entries, r, "main", "select");
    check_listed(entries, r, "selector", "select", "select_line");
    check_listed(entries, r, "dynamic_selector", "select", "dynamic_line");
}

TEST_CASE("chan deadlock: fibers blocked on a nil channel are reported with the nil-channel wait reasons") {
    const proc_result r = run_chan_scenario("chan_deadlock_nil");
    INFO(goro_test::describe(r));
    check_deadlock_report(r);
    const auto entries = parse_dump(r.err);
    check_listed(entries, r, "main", "chan receive (nil chan)");
    check_listed(entries, r, "nil_sender", "chan send (nil chan)", "send_line");
    // A select whose channels are all nil: Go reports it as a select; accept
    // either of the two select reasons.
    const goro_test::dump_entry* e = listed(entries, r, "nil_selector");
    CHECK(e != nullptr);
    if (e != nullptr) {
        CHECK_MESSAGE((e->reason == "select" || e->reason == "select (no cases)"), "reason: " << e->reason);
        CHECK(site_is(e->spawned_at, this_file, static_cast<long>(emitted(r.out, "select_line"))));
    }
}

TEST_CASE("chan deadlock: goro::select() with no cases is reported with wait reason 'select (no cases)'") {
    const proc_result r = run_chan_scenario("chan_deadlock_select_no_cases");
    INFO(goro_test::describe(r));
    check_deadlock_report(r);
    const auto entries = parse_dump(r.err);
    check_listed(entries, r, "main", "select (no cases)");
    check_listed(entries, r, "forever", "select (no cases)", "spawn_line");
}

TEST_CASE("chan deadlock: ranging over a channel nobody will close, after its producer exited, is a deadlock") {
    const proc_result r = run_chan_scenario("chan_deadlock_after_producer_exits");
    INFO(goro_test::describe(r));
    check_deadlock_report(r);
    const auto entries = parse_dump(r.err);
    check_listed(entries, r, "main", "chan receive");
    CHECK(entries.size() == 1);  // the producer has exited and is not listed
}

TEST_CASE("send on a closed channel escaping a fiber is 'panic: send on closed channel' with exit status 2") {
    const proc_result r = run_chan_scenario("chan_panic_send_on_closed");
    INFO(goro_test::describe(r));
    check_panic(r, "send on closed channel");
}

TEST_CASE("a sender blocked on an unbuffered channel panics with 'send on closed channel' when it is closed") {
    const proc_result r = run_chan_scenario("chan_panic_blocked_send_woken_by_close");
    INFO(goro_test::describe(r));
    check_panic(r, "send on closed channel");
    CHECK(emitted(r.out, "parked_first") == 1);  // the sender was parked in 'chan send' before the close
}

TEST_CASE("a select send case on a closed channel panics with 'send on closed channel', default case or not") {
    const proc_result r = run_chan_scenario("chan_panic_select_send_on_closed");
    INFO(goro_test::describe(r));
    check_panic(r, "send on closed channel");
}

TEST_CASE("close of a nil channel escaping a fiber is 'panic: close of nil channel' with exit status 2") {
    const proc_result r = run_chan_scenario("chan_panic_close_of_nil");
    INFO(goro_test::describe(r));
    check_panic(r, "close of nil channel");
}

TEST_CASE("close of a closed channel escaping a fiber is 'panic: close of closed channel' with exit status 2") {
    const proc_result r = run_chan_scenario("chan_panic_close_of_closed");
    INFO(goro_test::describe(r));
    check_panic(r, "close of closed channel");
}

TEST_CASE("no deadlock is reported while fibers wait on channels that only a timer (after, timer, ticker) will wake") {
    const proc_result r = run_chan_scenario("chan_no_deadlock_while_waiting_on_a_timer");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK_FALSE(contains(r.err, "fatal error"));
    CHECK_FALSE(contains(r.err, "panic"));
}

TEST_CASE("no deadlock is reported while the main fiber waits on a channel a plain thread will send on") {
    const proc_result r = run_chan_scenario("chan_no_deadlock_while_a_plain_thread_will_send");
    INFO(goro_test::describe(r));
    CHECK(r.exit_status == 0);
    CHECK_FALSE(contains(r.err, "fatal error"));
}

}  // TEST_SUITE("chan fatal")
