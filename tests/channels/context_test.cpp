// tests/channels/context_test.cpp — goro's context package: ports of Go's
// src/context/context_test.go (the XTestXxx functions that x_test.go runs)
// and goro's own checks of the same rules.
//
// Go's tests that inspect unexported state (the children map, the String()
// of a context) check here what that state is for: that cancellation reaches
// every descendant synchronously, that a cancelled child leaves its parent,
// that a cancelled timeout stops its timer. Go's otherContext (a Context of a
// type the package does not know) has no C++ counterpart: a value context
// wrapped around the context stands in for it, as the nearest thing that
// reports another node's done() and err().
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "support/procs.hpp"
#include "support/subprocess.hpp"

using namespace std::chrono_literals;
using goro::context_errc;
using goro_test::eventually;
using goro_test::for_each_procs;
using goro_test::plain_thread;
using goro_test::stress;
using steady = std::chrono::steady_clock;

namespace {

constexpr const char* deadlock_line = "fatal error: all fibers are asleep - deadlock!";

constexpr auto short_duration = 1ms;           // Go's shortDuration
constexpr auto very_long_duration = 1000h;     // Go's veryLongDuration
constexpr auto hang_guard = 30s;               // only turns a hang into a failure (Go's quiescent)

// The otherContext stand-in: a context that adds nothing but a layer.
const goro::context_key<int> layer_key;
goro::context other_context(const goro::context& c) { return goro::with_value(c, layer_key, 0); }

// select { case <-ctx.Done(): return true; default: return false }
bool is_done(const goro::context& c) {
    return goro::select(goro::recv(c.done()), goro::default_case()) == 0;
}

// Waits for <-ctx.Done(); false only if it did not come within hang_guard.
bool wait_done(const goro::context& c) {
    return goro::select(goro::recv(c.done()), goro::recv(goro::after(hang_guard))) == 0;
}

// ctx.value(key), copied out; nullopt when unbound.
template <class T>
std::optional<T> value_of(const goro::context& ctx, const goro::context_key<T>& key) {
    const T* p = ctx.value(key);
    return p ? std::optional<T>(*p) : std::nullopt;
}

std::uint64_t clock_seed() { return static_cast<std::uint64_t>(steady::now().time_since_epoch().count()); }

std::string seed_text(std::uint64_t seed) { return "seed=" + std::to_string(seed); }

// Go's testDeadline: c reaches its deadline, with deadline_exceeded, and not
// before the deadline it reports.
void test_deadline(const goro::context& c, const char* name) {
    const bool done = wait_done(c);
    const auto now = steady::now();
    CHECK_MESSAGE(done, name, ": context not timed out");
    CHECK_MESSAGE(c.err() == context_errc::deadline_exceeded, name);
    const std::optional<goro::time_point> d = c.deadline();
    CHECK_MESSAGE(d.has_value(), name);
    if (d) CHECK_MESSAGE(now >= *d, name, ": done before its deadline");
}

// Counts live instances, to see when a context lets go of its values.
struct tracked {
    static inline std::atomic<int> alive{0};
    int id;
    explicit tracked(int i) : id(i) { alive.fetch_add(1); }
    tracked(const tracked& o) : id(o.id) { alive.fetch_add(1); }
    tracked& operator=(const tracked&) = delete;
    ~tracked() { alive.fetch_sub(1); }
};

const goro::context_key<tracked> tracked_key;

}  // namespace

// ---------------------------------------------------------------------------
// Scenarios run in a child process: the deadlock detector reports a deadlock
// only when no timer is pending, so it shows whether a cancelled context's
// timer was stopped.

// Go's TestCancelRemoves checks that cancelling a WithTimeout child stops
// its timer. Here: a cancelled hour-long timeout, and a hundred hour-long
// timeouts under a parent that is cancelled, leave no timer behind, so the
// deadlock that follows is reported at once instead of after an hour.
GORO_SCENARIO(context_cancel_stops_timers) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        auto [ctx, cancel] = goro::with_timeout(goro::background(), 60min);
        cancel();
        auto [parent, cancel_parent] = goro::with_cancel(goro::background());
        std::vector<goro::context> children;
        std::vector<goro::cancel_func> cancels;
        for (int i = 0; i < 100; ++i) {
            auto [child, cancel_child] = goro::with_timeout(parent, 1h + std::chrono::minutes(i));
            children.push_back(child);
            cancels.push_back(cancel_child);
        }
        cancel_parent();
        for (auto& c : children)
            if (!is_done(c) || c.err() != context_errc::canceled) return 4;
        goro_test::emit("cancelled", 1);
        auto never = goro::make_chan<int>();
        (void)never.recv();
        return 3;
    });
}

// Go lets contexts nest without limit (as code that rebinds
// `ctx, cancel = context.WithCancel(ctx)` in a loop does). Cancelling the
// root of a 10000-deep chain, and dropping the chain, must work on a fiber's
// ordinary stack. Run in a child process: a stack overflow ends the process.
GORO_SCENARIO(context_deep_chain) {
    goro::config cfg;
    cfg.procs = 2;
    return goro::run(cfg, [] {
        constexpr int depth = 10000;
        {
            auto [root, cancel] = goro::with_cancel(goro::background());
            goro::context c = root;
            for (int i = 0; i < depth; ++i) {
                if (i % 3 == 0) {
                    c = goro::with_cancel(c).first;
                } else if (i % 3 == 1) {
                    c = goro::with_value(c, layer_key, i);
                } else {
                    c = goro::with_timeout(c, very_long_duration).first;
                }
            }
            goro_test::emit("built", 1);
            cancel();
            if (!is_done(c) || c.err() != context_errc::canceled) return 4;
            goro_test::emit("cancelled", 1);
        }
        goro_test::emit("dropped", 1);
        return 0;
    });
}

TEST_SUITE("context") {

// ---------------------------------------------------------------------------
// Ports of src/context/context_test.go

TEST_CASE("context.TestBackground") {
    for_each_procs([&](int) {
        const goro::context c = goro::background();
        CHECK(!c.done());  // nil: it can never be cancelled
        CHECK_FALSE(is_done(c));
        CHECK(!c.err());
        CHECK(!c.deadline().has_value());
        CHECK(c.value(layer_key) == nullptr);
        CHECK(c == goro::background());
        CHECK(goro::context{} == goro::background());  // a default-constructed context is background
    });
}

TEST_CASE("context.TestTODO") {
    for_each_procs([&](int) {
        const goro::context c = goro::todo();
        CHECK(!c.done());
        CHECK_FALSE(is_done(c));
        CHECK(!c.err());
        CHECK(!c.deadline().has_value());
        CHECK(c == goro::todo());
        CHECK(c != goro::background());  // Go tells them apart ("context.TODO" vs "context.Background")
    });
}

TEST_CASE("context.TestWithCancel") {
    for_each_procs([&](int) {
        auto [c1, cancel] = goro::with_cancel(goro::background());
        const goro::context o = other_context(c1);
        auto [c2, cancel2] = goro::with_cancel(o);
        const goro::context contexts[] = {c1, o, c2};

        for (const goro::context& c : contexts) {
            CHECK(static_cast<bool>(c.done()));
            CHECK(c.done() == c.done());  // one channel for the context's life
            CHECK(!c.err());
            CHECK_FALSE(is_done(c));
        }
        CHECK(o.done() == c1.done());
        CHECK(c2.done() != c1.done());

        cancel();  // should propagate synchronously
        for (const goro::context& c : contexts) {
            CHECK(is_done(c));
            CHECK(c.err() == context_errc::canceled);
            CHECK(c.err().message() == "context canceled");
            CHECK_FALSE(c.done().recv().has_value());  // done() is closed, not sent on
        }
        cancel();  // again: nothing happens
        cancel2();
        CHECK(c1.err() == context_errc::canceled);
        CHECK(c2.err() == context_errc::canceled);
    });
}

TEST_CASE("context.TestParentFinishesChild") {
    // Context tree:
    //   parent -> cancel_child
    //   parent -> value_child -> timer_child
    for_each_procs([&](int) {
        const goro::context_key<std::string> key;
        auto [parent, cancel] = goro::with_cancel(goro::background());
        auto [cancel_child, stop1] = goro::with_cancel(parent);
        const goro::context value_child = goro::with_value(parent, key, "value");
        auto [timer_child, stop2] = goro::with_timeout(value_child, very_long_duration);

        const int chosen = goro::select(goro::recv(parent.done()), goro::recv(cancel_child.done()),
                                        goro::recv(timer_child.done()), goro::recv(value_child.done()),
                                        goro::default_case());
        CHECK_MESSAGE(chosen == 4, "a context was done before its parent was cancelled");

        cancel();

        // parent and children should all be finished.
        const std::pair<const char*, const goro::context*> all[] = {
            {"parent", &parent}, {"cancel_child", &cancel_child}, {"value_child", &value_child},
            {"timer_child", &timer_child}};
        for (const auto& entry : all) {
            const char* name = entry.first;
            const goro::context& ctx = *entry.second;
            const bool done = is_done(ctx);  // a goro call: never inside CHECK_MESSAGE
            CHECK_MESSAGE(done, name, ".done() blocked, but shouldn't have");
            CHECK_MESSAGE(ctx.err() == context_errc::canceled, name);
        }
        CHECK(value_of(timer_child, key) == std::optional<std::string>("value"));

        // A context derived from a cancelled parent is cancelled at once.
        const goro::context precancelled_child = goro::with_value(parent, key, "value");
        CHECK(is_done(precancelled_child));
        CHECK(precancelled_child.err() == context_errc::canceled);

        stop1();
        stop2();
        // The children's own cancel after the parent's changes nothing.
        CHECK(timer_child.err() == context_errc::canceled);
    });
}

TEST_CASE("context.TestChildFinishesFirst") {
    for_each_procs([&](int) {
        auto [cancelable, stop] = goro::with_cancel(goro::background());
        for (const goro::context& parent : {goro::background(), cancelable}) {
            auto [child, cancel] = goro::with_cancel(parent);

            CHECK_FALSE(is_done(parent));
            CHECK_FALSE(is_done(child));

            cancel();

            // child should be finished.
            CHECK(is_done(child));
            CHECK(child.err() == context_errc::canceled);

            // parent should not be finished.
            CHECK_FALSE(is_done(parent));
            CHECK(!parent.err());
        }
        // The cancelled child left its parent, which still works.
        stop();
        CHECK(is_done(cancelable));
        CHECK(cancelable.err() == context_errc::canceled);
    });
}

TEST_CASE("context.TestDeadline") {
    for_each_procs([&](int) {
        {
            const auto d = steady::now() + short_duration;
            auto [c, cancel] = goro::with_deadline(goro::background(), d);
            CHECK(c.deadline() == std::optional<goro::time_point>(d));
            test_deadline(c, "WithDeadline");
            cancel();
            CHECK(c.err() == context_errc::deadline_exceeded);  // a later cancel changes nothing
        }
        {
            auto [c, cancel] = goro::with_deadline(goro::background(), steady::now() + short_duration);
            test_deadline(other_context(c), "WithDeadline+otherContext");
            cancel();
        }
        {
            const auto d = steady::now() + short_duration;
            auto [c, cancel] = goro::with_deadline(goro::background(), d);
            const goro::context o = other_context(c);
            auto [c2, cancel2] = goro::with_deadline(o, steady::now() + very_long_duration);
            CHECK(c2.deadline() == std::optional<goro::time_point>(d));  // the parent's, earlier
            test_deadline(c2, "WithDeadline+otherContext+WithDeadline");
            cancel2();
            cancel();
        }
        {
            // A deadline already past: Go cancels the context before
            // WithDeadline returns.
            auto [c, cancel] = goro::with_deadline(goro::background(), steady::now() - short_duration);
            CHECK(is_done(c));
            test_deadline(c, "WithDeadline+inthepast");
            cancel();
        }
        {
            auto [c, cancel] = goro::with_deadline(goro::background(), steady::now());
            CHECK(is_done(c));
            test_deadline(c, "WithDeadline+now");
            cancel();
        }
        {
            // A child with an earlier deadline than its parent keeps its own.
            const auto late = steady::now() + very_long_duration;
            auto [p, cancel] = goro::with_deadline(goro::background(), late);
            const auto early = steady::now() + short_duration;
            auto [c, cancel2] = goro::with_deadline(p, early);
            CHECK(p.deadline() == std::optional<goro::time_point>(late));
            CHECK(c.deadline() == std::optional<goro::time_point>(early));
            test_deadline(c, "WithDeadline(earlier than the parent's)");
            CHECK_FALSE(is_done(p));
            cancel2();
            cancel();
            CHECK(p.err() == context_errc::canceled);
        }
    });
}

TEST_CASE("context.TestTimeout") {
    for_each_procs([&](int) {
        {
            const auto before = steady::now();
            auto [c, cancel] = goro::with_timeout(goro::background(), short_duration);
            const auto after = steady::now();
            const auto d = c.deadline();
            CHECK(d.has_value());
            if (d) {
                CHECK(*d >= before + short_duration);
                CHECK(*d <= after + short_duration);
            }
            test_deadline(c, "WithTimeout");
            cancel();
        }
        {
            auto [c, cancel] = goro::with_timeout(goro::background(), short_duration);
            test_deadline(other_context(c), "WithTimeout+otherContext");
            cancel();
        }
        {
            auto [c, cancel] = goro::with_timeout(goro::background(), short_duration);
            const goro::context o = other_context(c);
            auto [c2, cancel2] = goro::with_timeout(o, very_long_duration);
            test_deadline(c2, "WithTimeout+otherContext+WithTimeout");
            cancel2();
            cancel();
        }
        {
            // A timeout too large for the clock saturates: no deadline fires.
            auto [c, cancel] = goro::with_timeout(goro::background(), std::chrono::nanoseconds::max());
            CHECK_FALSE(is_done(c));
            cancel();
            CHECK(c.err() == context_errc::canceled);
        }
    });
}

TEST_CASE("context.TestCanceledTimeout") {
    for_each_procs([&](int) {
        auto [c, cancel0] = goro::with_timeout(goro::background(), 1s);
        const goro::context o = other_context(c);
        auto [c2, cancel] = goro::with_timeout(o, very_long_duration);
        cancel();  // should propagate synchronously
        CHECK(is_done(c2));
        CHECK(c2.err() == context_errc::canceled);
        cancel0();
        CHECK(is_done(c));
        CHECK(static_cast<bool>(c.err()));  // canceled, or deadline_exceeded on a machine a second behind
    });
}

TEST_CASE("context.TestValues") {
    // Go's keys k1 and k2 are the same int in different types and k3 another
    // int of k2's type; goro's keys are distinct objects, which is what that
    // models. Go binds nil to k1 in c4 and o4; here "" stands for the nil,
    // and `want` nullptr means "no binding at all".
    for_each_procs([&](int) {
        static const goro::context_key<std::string> k1, k2, k3;
        auto check = [&](const goro::context& c, const char* nm, const char* v1, const char* v2, const char* v3) {
            const std::pair<const goro::context_key<std::string>*, const char*> want[] = {{&k1, v1}, {&k2, v2}, {&k3, v3}};
            for (const auto& entry : want) {
                const char* v = entry.second;
                const std::string* got = c.value(*entry.first);
                if (v == nullptr) {
                    CHECK_MESSAGE(got == nullptr, nm, ": unexpected value");
                } else {
                    CHECK_MESSAGE(got != nullptr, nm, ": missing value ", v);
                    if (got) CHECK_MESSAGE(*got == v, nm);
                }
            }
        };

        const goro::context c0 = goro::background();
        check(c0, "c0", nullptr, nullptr, nullptr);

        const goro::context c1 = goro::with_value(goro::background(), k1, "c1k1");
        check(c1, "c1", "c1k1", nullptr, nullptr);

        const goro::context c2 = goro::with_value(c1, k2, "c2k2");
        check(c2, "c2", "c1k1", "c2k2", nullptr);

        const goro::context c3 = goro::with_value(c2, k3, "c3k3");
        check(c3, "c3", "c1k1", "c2k2", "c3k3");

        const goro::context c4 = goro::with_value(c3, k1, "");
        check(c4, "c4", "", "c2k2", "c3k3");

        const goro::context o0 = other_context(goro::background());
        check(o0, "o0", nullptr, nullptr, nullptr);

        const goro::context o1 = other_context(goro::with_value(goro::background(), k1, "c1k1"));
        check(o1, "o1", "c1k1", nullptr, nullptr);

        const goro::context o2 = goro::with_value(o1, k2, "o2k2");
        check(o2, "o2", "c1k1", "o2k2", nullptr);

        const goro::context o3 = other_context(c4);
        check(o3, "o3", "", "c2k2", "c3k3");

        const goro::context o4 = goro::with_value(o3, k3, "");
        check(o4, "o4", "", "c2k2", "");

        // Values of other types, and keys of the same type that are distinct.
        static const goro::context_key<int> ki1, ki2;
        const goro::context vi = goro::with_value(goro::with_value(c4, ki1, 1), ki2, 2);
        CHECK(value_of(vi, ki1) == std::optional<int>(1));
        CHECK(value_of(vi, ki2) == std::optional<int>(2));
        check(vi, "vi", "", "c2k2", "c3k3");
        // The value is shared, not copied, by every context that sees it.
        CHECK(vi.value(ki1) == goro::with_value(vi, k1, "x").value(ki1));

        // Values survive cancellation, and a cancel layer passes them through.
        auto [cc, cancel] = goro::with_cancel(c3);
        cancel();
        check(cc, "cc", "c1k1", "c2k2", "c3k3");
    });
}

// TestAllocs is not ported: allocation counts are Go's runtime's business.

TEST_CASE("context.TestSimultaneousCancels") {
    for_each_procs([&](int) {
        const std::uint64_t seed = clock_seed();
        std::mt19937_64 rnd(seed);
        auto [root, root_cancel] = goro::with_cancel(goro::background());
        std::vector<std::pair<goro::context, goro::cancel_func>> m{{root, root_cancel}};
        std::vector<goro::context> q{root};
        // Create a tree of contexts.
        for (std::size_t head = 0; head < q.size() && m.size() < 100; ++head) {
            const goro::context parent = q[head];
            for (int i = 0; i < 4; ++i) {
                auto [ctx, cancel] = goro::with_cancel(parent);
                m.emplace_back(ctx, cancel);
                q.push_back(ctx);
            }
        }
        // Start all the cancels in a random order.
        std::shuffle(m.begin(), m.end(), rnd);
        goro::wait_group wg;
        wg.add(static_cast<int>(m.size()));
        for (auto& entry : m) {
            goro::go([&wg](goro::cancel_func cancel) {
                cancel();
                wg.done();
            }, entry.second);
        }
        // Wait on all the contexts in a random order.
        std::shuffle(m.begin(), m.end(), rnd);
        int stuck = 0;
        for (auto& entry : m)
            if (!wait_done(entry.first)) ++stuck;
        CHECK_MESSAGE(stuck == 0, "timed out waiting for <-ctx.Done(); ", seed_text(seed));
        // Wait for all the cancel functions to return.
        auto done = goro::make_chan<int>();
        goro::go([&wg, done]() mutable {
            wg.wait();
            done.close();
        });
        const bool returned =
            goro::select(goro::recv(done), goro::recv(goro::after(hang_guard))) == 0;
        CHECK_MESSAGE(returned, "timed out waiting for cancel functions");
        for (auto& entry : m) CHECK(entry.first.err() == context_errc::canceled);
    });
}

TEST_CASE("context.TestInterlockedCancels") {
    for_each_procs([&](int) {
        auto [parent, cancel_parent] = goro::with_cancel(goro::background());
        auto [child, cancel_child] = goro::with_cancel(parent);
        goro::wait_group wg;
        wg.add(1);
        goro::go([&, p = parent, cc = cancel_child] {
            wait_done(p);
            cc();
            wg.done();
        });
        cancel_parent();
        const bool done = wait_done(child);
        CHECK_MESSAGE(done, "timed out waiting for child.Done()");
        wg.wait();
        CHECK(child.err() == context_errc::canceled);
    });
}

namespace {

// Go's testLayers: a random stack of at least 30 value, cancel and timeout
// layers; the innermost context sees every value, and cancelling any layer
// (or the first timeout) finishes it.
void test_layers(std::uint64_t seed, bool test_timeout) {
    std::mt19937_64 r(seed);
    constexpr int min_layers = 30;
    std::vector<std::unique_ptr<goro::context_key<const void*>>> vals;
    std::vector<goro::cancel_func> cancels;
    int num_timers = 0;
    goro::context ctx = goro::background();
    for (int i = 0; i < min_layers || num_timers == 0 || cancels.empty() || vals.empty(); ++i) {
        switch (r() % 3) {
            case 0: {
                vals.push_back(std::make_unique<goro::context_key<const void*>>());
                const goro::context_key<const void*>& key = *vals.back();
                ctx = goro::with_value(ctx, key, static_cast<const void*>(&key));
                break;
            }
            case 1: {
                auto [c, cancel] = goro::with_cancel(ctx);
                ctx = c;
                cancels.push_back(cancel);
                break;
            }
            default: {
                auto [c, cancel] = goro::with_timeout(ctx, test_timeout ? std::chrono::nanoseconds(short_duration)
                                                                        : std::chrono::nanoseconds(very_long_duration));
                ctx = c;
                cancels.push_back(cancel);
                ++num_timers;
                break;
            }
        }
    }
    auto check_values = [&](const char* when) {
        int wrong = 0;
        for (const auto& key : vals) {
            const void* const* val = ctx.value(*key);
            if (val == nullptr || *val != key.get()) ++wrong;
        }
        CHECK_MESSAGE(wrong == 0, when, ": ctx.value(key) != key; ", seed_text(seed));
    };
    if (!test_timeout) {
        const bool done = is_done(ctx);  // a goro call: never inside CHECK_MESSAGE
        CHECK_MESSAGE(!done, "ctx should not be canceled yet; ", seed_text(seed));
    }
    check_values("before cancel");
    if (test_timeout) {
        const bool done = wait_done(ctx);
        CHECK_MESSAGE(done, "ctx should have timed out; ", seed_text(seed));
        CHECK_MESSAGE(ctx.err() == context_errc::deadline_exceeded, seed_text(seed));
        check_values("after timeout");
    } else {
        const goro::cancel_func cancel = cancels[static_cast<std::size_t>(r() % cancels.size())];
        cancel();
        const bool done = is_done(ctx);
        CHECK_MESSAGE(done, "ctx should be canceled; ", seed_text(seed));
        CHECK_MESSAGE(ctx.err() == context_errc::canceled, seed_text(seed));
        check_values("after cancel");
    }
    for (const goro::cancel_func& cancel : cancels) cancel();
}

}  // namespace

TEST_CASE("context.TestLayersCancel") {
    for_each_procs([&](int) {
        for (int i = 0; i < 10; ++i) test_layers(clock_seed(), false);
    });
}

TEST_CASE("context.TestLayersTimeout") {
    for_each_procs([&](int) {
        for (int i = 0; i < 10; ++i) test_layers(clock_seed(), true);
    });
}

TEST_CASE("context.TestCancelRemoves") {
    // Go counts the parent's children; what that bookkeeping is for is
    // checked instead: a cancelled child, once dropped, keeps nothing alive
    // (its values go), and the parent is unaffected and still cancels. That
    // the timer of a cancelled timeout is stopped is checked in a child
    // process below.
    for_each_procs([&](int) {
        const int before = tracked::alive.load();
        auto [ctx, cancel_ctx] = goro::with_cancel(goro::background());
        {
            auto [child, cancel] = goro::with_cancel(ctx);
            const goro::context holder = goro::with_value(child, tracked_key, tracked(1));
            CHECK(tracked::alive.load() == before + 1);
            cancel();
            CHECK(is_done(holder));
        }
        CHECK(tracked::alive.load() == before);
        {
            auto [child, cancel] = goro::with_timeout(ctx, 60min);
            const goro::context holder = goro::with_value(child, tracked_key, tracked(2));
            CHECK(tracked::alive.load() == before + 1);
            cancel();
            CHECK(is_done(holder));
            CHECK(holder.err() == context_errc::canceled);
        }
        CHECK(tracked::alive.load() == before);
        CHECK_FALSE(is_done(ctx));
        // Many children cancelled and dropped: the parent still cancels, and
        // a child still alive hears of it.
        for (int i = 0; i < 1000; ++i) {
            auto [child, cancel] = goro::with_cancel(ctx);
            cancel();
        }
        auto [survivor, cancel_survivor] = goro::with_timeout(ctx, 60min);
        cancel_ctx();
        CHECK(is_done(survivor));
        CHECK(survivor.err() == context_errc::canceled);
        cancel_survivor();
    });
}

TEST_CASE("context.TestCancelRemoves: a cancelled timeout leaves no timer behind (the deadlock detector finds none)") {
    const goro_test::proc_result r = goro_test::run_self("context_cancel_stops_timers", {}, 30s);
    INFO(goro_test::describe(r));
    CHECK(goro_test::emitted(r.out, "cancelled") == 1);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_status == 2);
    CHECK(goro_test::first_line(r.err) == deadlock_line);
}

TEST_CASE("context.TestWithCancelCanceledParent") {
    for_each_procs([&](int) {
        auto [parent, pcancel] = goro::with_cancel(goro::background());
        pcancel();

        auto [c, cancel] = goro::with_cancel(parent);
        const bool done = is_done(c);
        CHECK_MESSAGE(done, "child not done immediately upon construction");
        CHECK(c.err() == context_errc::canceled);

        // A timeout under a cancelled parent is cancelled, not timed out.
        auto [t, tcancel] = goro::with_timeout(parent, short_duration);
        CHECK(is_done(t));
        CHECK(t.err() == context_errc::canceled);
        cancel();
        tcancel();
    });
}

// TestWithValueChecksKey: Go panics at run time on a key that is not
// comparable or nil; goro's keys are context_key objects compared by
// identity, so there is nothing left to check at run time. What makes that
// so is compile-time:
static_assert(!std::is_copy_constructible_v<goro::context_key<int>>);
static_assert(!std::is_copy_assignable_v<goro::context_key<int>>);

TEST_CASE("context.TestInvalidDerivedFail") {
    // Go panics when deriving from a nil Context; a goro::context is never
    // null (default-constructed, it is background), so deriving always works.
    for_each_procs([&](int) {
        const goro::context none;
        auto [c, cancel] = goro::with_cancel(none);
        auto [d, dcancel] = goro::with_deadline(none, steady::now() + very_long_duration);
        const goro::context v = goro::with_value(none, layer_key, 1);
        CHECK(value_of(v, layer_key) == std::optional<int>(1));
        cancel();
        dcancel();
        CHECK(c.err() == context_errc::canceled);
        CHECK(d.err() == context_errc::canceled);
    });
}

TEST_CASE("context.TestDeadlineExceededSupportsTimeout") {
    // Go: DeadlineExceeded has Timeout() == true. The C++ counterpart: the
    // error code is equivalent to std::errc::timed_out; canceled is not.
    const std::error_code deadline = context_errc::deadline_exceeded;
    const std::error_code canceled = context_errc::canceled;
    CHECK(deadline == std::errc::timed_out);
    CHECK(canceled != std::errc::timed_out);
    CHECK(deadline.message() == "context deadline exceeded");
    CHECK(canceled.message() == "context canceled");
    CHECK(&deadline.category() == &goro::context_category());
    CHECK(deadline != canceled);
    CHECK(static_cast<bool>(deadline));
    CHECK(goro::make_error_code(context_errc::canceled) == canceled);
    for_each_procs([&](int) {
        auto [c, cancel] = goro::with_timeout(goro::background(), short_duration);
        const bool done = wait_done(c);
        CHECK(done);
        CHECK(c.err() == std::errc::timed_out);
        CHECK(c.err().message() == "context deadline exceeded");
        cancel();
    });
}

// TestCustomContextGoroutines is not ported: goro has no user-defined
// context types, so there is no goroutine to watch a foreign Done channel.

// ---------------------------------------------------------------------------
// goro's own checks

TEST_CASE("context: cancel from a plain thread wakes fibers waiting on done(); a plain thread waits on done()") {
    for_each_procs([&](int) {
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        const int waiters = stress(200, 5000);
        goro::wait_group wg;
        wg.add(waiters);
        std::atomic<int> woke{0}, wrong{0};
        for (int i = 0; i < waiters; ++i) {
            goro::go([&, c = ctx] {
                if (wait_done(c)) woke.fetch_add(1);
                if (c.err() != context_errc::canceled) wrong.fetch_add(1);
                wg.done();
            });
        }
        // A plain thread blocks on done() as well.
        std::atomic<bool> thread_woke{false};
        plain_thread waiter([&, c = ctx] {
            const bool closed = goro::select(goro::recv(c.done()), goro::recv(goro::after(hang_guard))) == 0;
            thread_woke.store(closed && c.err() == context_errc::canceled);
        });
        goro::sleep_for(1ms);
        plain_thread canceller([c = cancel] { c(); });
        canceller.join();
        wg.wait();
        waiter.join();
        CHECK(woke.load() == waiters);
        CHECK(wrong.load() == 0);
        CHECK(thread_woke.load());

        // A plain thread waits for a deadline.
        auto [t, tcancel] = goro::with_timeout(goro::background(), 2ms);
        std::atomic<bool> timed_out{false};
        plain_thread deadline_waiter([&, c = t] {
            const bool done = goro::select(goro::recv(c.done()), goro::recv(goro::after(hang_guard))) == 0;
            timed_out.store(done && c.err() == context_errc::deadline_exceeded &&
                            steady::now() >= *c.deadline());
        });
        deadline_waiter.join();
        CHECK(timed_out.load());
        tcancel();
    });
}

TEST_CASE("context: once done() is closed err() is set and never changes, when a cancel races the deadline") {
    for_each_procs([&](int) {
        const std::uint64_t seed = clock_seed();
        std::mt19937_64 rnd(seed);
        const int n = stress(500, 10000);
        int unset = 0, changed = 0, early = 0;
        for (int i = 0; i < n; ++i) {
            const auto d = std::chrono::microseconds(rnd() % 50);
            auto [ctx, cancel] = goro::with_timeout(goro::background(), d);
            goro::wait_group wg;
            wg.add(1);
            goro::go([&wg, c = cancel, spins = static_cast<int>(rnd() % 40)] {
                for (int k = 0; k < spins; ++k) goro::yield();
                c();
                wg.done();
            });
            wait_done(ctx);
            const std::error_code first = ctx.err();
            if (!first) ++unset;
            if (first == context_errc::deadline_exceeded && steady::now() < *ctx.deadline()) ++early;
            wg.wait();
            if (ctx.err() != first) ++changed;
        }
        CHECK_MESSAGE(unset == 0, seed_text(seed));
        CHECK_MESSAGE(changed == 0, seed_text(seed));
        CHECK_MESSAGE(early == 0, seed_text(seed));
    });
}

TEST_CASE("context: cancelling the root of a deep chain or a wide tree finishes every descendant before it returns") {
    for_each_procs([&](int) {
        auto [root, cancel] = goro::with_cancel(goro::background());
        std::vector<goro::context> chain;
        goro::context c = root;
        for (int i = 0; i < 100; ++i) {
            if (i % 3 == 0) {
                c = goro::with_value(c, layer_key, i);
            } else if (i % 3 == 1) {
                c = goro::with_cancel(c).first;  // the cancel_func is dropped; the child stays linked
            } else {
                c = goro::with_timeout(c, very_long_duration).first;
            }
            chain.push_back(c);
        }
        std::vector<goro::context> wide;
        for (int i = 0; i < 1000; ++i) wide.push_back(goro::with_cancel(root).first);
        cancel();
        int not_done = 0;
        for (const auto& x : chain)
            if (!is_done(x) || x.err() != context_errc::canceled) ++not_done;
        for (const auto& x : wide)
            if (!is_done(x) || x.err() != context_errc::canceled) ++not_done;
        CHECK(not_done == 0);
        CHECK(value_of(chain.back(), layer_key) == std::optional<int>(99));
    });
}

TEST_CASE("context: a 10000-deep chain of contexts can be cancelled from its root and dropped, on a fiber's stack") {
    const goro_test::proc_result r = goro_test::run_self("context_deep_chain", {}, 60s);
    INFO(goro_test::describe(r));
    CHECK(goro_test::emitted(r.out, "built") == 1);
    CHECK(goro_test::emitted(r.out, "cancelled") == 1);
    CHECK(goro_test::emitted(r.out, "dropped") == 1);
    CHECK(r.exit_status == 0);
}

TEST_CASE("context: contexts are shared freely between fibers that derive, cancel and wait at once") {
    for_each_procs([&](int) {
        const int fibers = stress(200, 4000);
        auto [root, cancel_root] = goro::with_cancel(goro::background());
        goro::wait_group wg;
        wg.add(fibers);
        std::atomic<int> wrong{0};
        for (int i = 0; i < fibers; ++i) {
            goro::go([&, i, r = root] {
                auto [mine, cancel] = goro::with_cancel(r);
                const goro::context v = goro::with_value(mine, layer_key, i);
                if (i % 2 == 0) cancel();
                goro::yield();
                if (i % 2 == 0 && v.err() != context_errc::canceled) wrong.fetch_add(1);
                if (value_of(v, layer_key) != std::optional<int>(i)) wrong.fetch_add(1);
                if (i % 2 == 1) {
                    if (!wait_done(v)) wrong.fetch_add(1);  // the root's cancel reaches it
                    if (v.err() != context_errc::canceled) wrong.fetch_add(1);
                    cancel();
                }
                wg.done();
            });
        }
        goro::sleep_for(1ms);
        cancel_root();
        wg.wait();
        CHECK(wrong.load() == 0);
    });
}

}  // TEST_SUITE("context")
