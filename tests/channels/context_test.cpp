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
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
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
// In a bubble (virtual time) it is done exactly at its deadline, unless
// that was already past when it was made (`exact` false).
void test_deadline(const goro::context& c, const char* name, bool exact = true) {
    const bool done = wait_done(c);
    const auto now = goro::now();
    CHECK_MESSAGE(done, name, ": context not timed out");
    CHECK_MESSAGE(c.err() == context_errc::deadline_exceeded, name);
    const std::optional<goro::time_point> d = c.deadline();
    CHECK_MESSAGE(d.has_value(), name);
    if (d) CHECK_MESSAGE(now >= *d, name, ": done before its deadline");
    if (d && exact && goro::synctest::in_bubble()) CHECK_MESSAGE(now == *d, name, ": done after its deadline");
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

// A cause a test gives: its what() names it.
struct cause_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What goro::cause returned, as text: "none" for null, "cause:<what>" for
// a cause_error, "err:<message>" for the std::system_error of a plain
// cancellation (in the context category).
std::string cause_text(const std::exception_ptr& p) {
    if (!p) return "none";
    try {
        std::rethrow_exception(p);
    } catch (const cause_error& e) {
        return std::string("cause:") + e.what();
    } catch (const std::system_error& e) {
        if (&e.code().category() != &goro::context_category()) return "system_error";
        return "err:" + e.code().message();
    } catch (...) {
        return "unknown";
    }
}

std::string err_text(const goro::context& c) {
    const std::error_code e = c.err();
    return e ? e.message() : "none";
}

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
    // On virtual time: each context is done exactly at its deadline.
    goro_test::for_each_bubble([&](int) {
        {
            const auto d = goro::now() + short_duration;
            auto [c, cancel] = goro::with_deadline(goro::background(), d);
            CHECK(c.deadline() == std::optional<goro::time_point>(d));
            test_deadline(c, "WithDeadline");
            cancel();
            CHECK(c.err() == context_errc::deadline_exceeded);  // a later cancel changes nothing
        }
        {
            auto [c, cancel] = goro::with_deadline(goro::background(), goro::now() + short_duration);
            test_deadline(other_context(c), "WithDeadline+otherContext");
            cancel();
        }
        {
            const auto d = goro::now() + short_duration;
            auto [c, cancel] = goro::with_deadline(goro::background(), d);
            const goro::context o = other_context(c);
            auto [c2, cancel2] = goro::with_deadline(o, goro::now() + very_long_duration);
            CHECK(c2.deadline() == std::optional<goro::time_point>(d));  // the parent's, earlier
            test_deadline(c2, "WithDeadline+otherContext+WithDeadline");
            cancel2();
            cancel();
        }
        {
            // A deadline already past: Go cancels the context before
            // WithDeadline returns.
            auto [c, cancel] = goro::with_deadline(goro::background(), goro::now() - short_duration);
            CHECK(is_done(c));
            test_deadline(c, "WithDeadline+inthepast", false);
            cancel();
        }
        {
            auto [c, cancel] = goro::with_deadline(goro::background(), goro::now());
            CHECK(is_done(c));
            test_deadline(c, "WithDeadline+now");
            cancel();
        }
        {
            // A child with an earlier deadline than its parent keeps its own.
            const auto late = goro::now() + very_long_duration;
            auto [p, cancel] = goro::with_deadline(goro::background(), late);
            const auto early = goro::now() + short_duration;
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
    // On virtual time: each context is done exactly at its deadline.
    goro_test::for_each_bubble([&](int) {
        {
            const auto before = goro::now();
            auto [c, cancel] = goro::with_timeout(goro::background(), short_duration);
            const auto after = goro::now();
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
// Ports of Go 1.20-1.21's additions to context_test.go: Cause, AfterFunc,
// WithoutCancel. Go's custom-Context variants have no counterpart, as above.

TEST_CASE("context.TestCause") {
    const auto parent_cause = std::make_exception_ptr(cause_error("parentCause"));
    const auto child_cause = std::make_exception_ptr(cause_error("childCause"));
    const auto too_slow = std::make_exception_ptr(cause_error("tooSlow"));
    const auto finished_early = std::make_exception_ptr(cause_error("finishedEarly"));
    constexpr const char* canceled = "context canceled";
    constexpr const char* deadline = "context deadline exceeded";
    struct scenario {
        const char* name;
        std::function<goro::context()> make;
        const char* err;    // err_text
        std::string cause;  // cause_text
    };
    const std::vector<scenario> scenarios = {
        {"Background", [] { return goro::background(); }, "none", "none"},
        {"TODO", [] { return goro::todo(); }, "none", "none"},
        {"WithCancel",
         [] {
             auto p = goro::with_cancel(goro::background());
             p.second();
             return p.first;
         },
         canceled, "err:context canceled"},
        {"WithCancelCause",
         [&] {
             auto p = goro::with_cancel_cause(goro::background());
             p.second(parent_cause);
             return p.first;
         },
         canceled, "cause:parentCause"},
        {"WithCancelCause nil",
         [] {
             auto p = goro::with_cancel_cause(goro::background());
             p.second(nullptr);
             return p.first;
         },
         canceled, "err:context canceled"},
        {"WithCancelCause: parent cause before child",
         [&] {
             auto parent = goro::with_cancel_cause(goro::background());
             auto child = goro::with_cancel_cause(parent.first);
             parent.second(parent_cause);
             child.second(child_cause);
             return child.first;
         },
         canceled, "cause:parentCause"},
        {"WithCancelCause: parent cause after child",
         [&] {
             auto parent = goro::with_cancel_cause(goro::background());
             auto child = goro::with_cancel_cause(parent.first);
             child.second(child_cause);
             parent.second(parent_cause);
             return child.first;
         },
         canceled, "cause:childCause"},
        {"WithCancelCause: parent cause before nil",
         [&] {
             auto parent = goro::with_cancel_cause(goro::background());
             auto child = goro::with_cancel(parent.first);
             parent.second(parent_cause);
             child.second();
             return child.first;
         },
         canceled, "cause:parentCause"},
        {"WithCancelCause: parent cause after nil",
         [&] {
             auto parent = goro::with_cancel_cause(goro::background());
             auto child = goro::with_cancel(parent.first);
             child.second();
             parent.second(parent_cause);
             return child.first;
         },
         canceled, "err:context canceled"},
        {"WithCancelCause: child born under a cancelled parent",
         [&] {
             auto parent = goro::with_cancel_cause(goro::background());
             parent.second(parent_cause);
             return goro::with_timeout(parent.first, very_long_duration).first;
         },
         canceled, "cause:parentCause"},
        {"WithCancelCause: value context over it",
         [&] {
             auto p = goro::with_cancel_cause(goro::background());
             p.second(child_cause);
             return other_context(p.first);
         },
         canceled, "cause:childCause"},
        {"WithTimeout", [] { return goro::with_timeout(goro::background(), 0s).first; }, deadline,
         "err:context deadline exceeded"},
        {"WithTimeout canceled",
         [] {
             auto p = goro::with_timeout(goro::background(), very_long_duration);
             p.second();
             return p.first;
         },
         canceled, "err:context canceled"},
        {"WithTimeoutCause", [&] { return goro::with_timeout_cause(goro::background(), 0s, too_slow).first; },
         deadline, "cause:tooSlow"},
        {"WithTimeoutCause canceled",
         [&] {
             auto p = goro::with_timeout_cause(goro::background(), very_long_duration, too_slow);
             p.second();
             return p.first;
         },
         canceled, "err:context canceled"},
        {"WithTimeoutCause stacked",
         [&] {
             auto parent = goro::with_cancel_cause(goro::background());
             auto child = goro::with_timeout_cause(parent.first, 0s, too_slow);
             parent.second(finished_early);
             return child.first;
         },
         deadline, "cause:tooSlow"},
        {"WithTimeoutCause stacked canceled",
         [&] {
             auto parent = goro::with_cancel_cause(goro::background());
             parent.second(finished_early);
             return goro::with_timeout_cause(parent.first, 0s, too_slow).first;
         },
         canceled, "cause:finishedEarly"},
        {"WithDeadlineCause in the past",
         [&] { return goro::with_deadline_cause(goro::background(), steady::now() - 1s, too_slow).first; },
         deadline, "cause:tooSlow"},
        {"WithoutCancel", [] { return goro::without_cancel(goro::background()); }, "none", "none"},
        {"WithoutCancel canceled",
         [&] {
             auto p = goro::with_cancel_cause(goro::background());
             const goro::context c = goro::without_cancel(p.first);
             p.second(finished_early);
             return c;
         },
         "none", "none"},
        {"WithoutCancel timeout",
         [&] { return goro::without_cancel(goro::with_timeout_cause(goro::background(), 0s, too_slow).first); },
         "none", "none"},
    };
    for_each_procs([&](int) {
        for (const scenario& s : scenarios) {
            const goro::context ctx = s.make();
            const std::string err = err_text(ctx);
            const std::string got = cause_text(goro::cause(ctx));
            CHECK_MESSAGE(err == s.err, s.name, ": err ", err);
            CHECK_MESSAGE(got == s.cause, s.name, ": cause ", got);
        }
        // The cause given is the very exception, not a copy.
        auto [ctx, cancel] = goro::with_cancel_cause(goro::background());
        CHECK(goro::cause(ctx) == nullptr);
        cancel(parent_cause);
        CHECK(goro::cause(ctx) == parent_cause);
        cancel(child_cause);  // only the first cancellation counts
        CHECK(goro::cause(ctx) == parent_cause);
    });
}

TEST_CASE("context.TestCause: a deadline that fires later reports its cause, also through a child") {
    for_each_procs([&](int) {
        const auto too_slow = std::make_exception_ptr(cause_error("tooSlow"));
        const auto other = std::make_exception_ptr(cause_error("other"));
        auto [parent, cancel_parent] = goro::with_timeout_cause(goro::background(), short_duration, too_slow);
        // The child's own deadline comes later: the parent's fires first, with the parent's cause.
        auto [child, cancel_child] = goro::with_timeout_cause(parent, very_long_duration, other);
        CHECK(goro::cause(parent) == nullptr);
        const bool done = wait_done(child);
        CHECK(done);
        CHECK(child.err() == context_errc::deadline_exceeded);
        CHECK(goro::cause(child) == too_slow);
        CHECK(goro::cause(parent) == too_slow);
        cancel_child();
        cancel_parent();
        CHECK(goro::cause(child) == too_slow);
    });
}

TEST_CASE("context.TestCauseRace") {
    for_each_procs([&](int) {
        const auto why = std::make_exception_ptr(cause_error("TestCauseRace"));
        {
            auto [ctx, cancel] = goro::with_cancel_cause(goro::background());
            goro::go([c = cancel, why] { c(why); });
            // Polls cause() rather than waiting on done(): reading it must be
            // synchronized with the cancel by itself.
            std::exception_ptr seen;
            for (;;) {
                seen = goro::cause(ctx);
                if (seen) break;
                goro::yield();
            }
            CHECK(seen == why);
        }
        {
            // The same from a plain thread.
            auto [ctx, cancel] = goro::with_cancel_cause(goro::background());
            plain_thread canceller([c = cancel, why] { c(why); });
            std::exception_ptr seen;
            for (;;) {
                seen = goro::cause(ctx);
                if (seen) break;
                goro::yield();
            }
            canceller.join();
            CHECK(seen == why);
            CHECK(ctx.err() == context_errc::canceled);
        }
    });
}

TEST_CASE("context.TestAfterFuncCalledAfterCancel") {
    for_each_procs([&](int) {
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        auto donec = goro::make_chan<std::monostate>();
        auto stop = goro::after_func(ctx, [donec] { donec.close(); });
        const int early = goro::select(goro::recv(donec), goro::recv(goro::after(short_duration)));
        CHECK_MESSAGE(early == 1, "AfterFunc called before the context was done");
        cancel();
        const bool called = goro::select(goro::recv(donec), goro::recv(goro::after(hang_guard))) == 0;
        CHECK_MESSAGE(called, "AfterFunc not called after the context was cancelled");
        const bool stopped = stop();
        CHECK_MESSAGE(!stopped, "stop() = true after f was started, want false");
    });
}

TEST_CASE("context.TestAfterFuncCalledAfterTimeout") {
    for_each_procs([&](int) {
        auto [ctx, cancel] = goro::with_timeout(goro::background(), short_duration);
        auto donec = goro::make_chan<std::monostate>();
        auto stop = goro::after_func(ctx, [donec] { donec.close(); });
        const bool called = goro::select(goro::recv(donec), goro::recv(goro::after(hang_guard))) == 0;
        CHECK_MESSAGE(called, "AfterFunc not called after the timeout");
        CHECK_FALSE(stop());
        cancel();
    });
}

TEST_CASE("context.TestAfterFuncCalledImmediately") {
    for_each_procs([&](int) {
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        cancel();
        auto donec = goro::make_chan<std::monostate>();
        auto stop = goro::after_func(ctx, [donec] { donec.close(); });
        const bool called = goro::select(goro::recv(donec), goro::recv(goro::after(hang_guard))) == 0;
        CHECK_MESSAGE(called, "AfterFunc not called for an already-cancelled context");
        CHECK_FALSE(stop());
    });
}

TEST_CASE("context.TestAfterFuncNotCalledAfterStop") {
    for_each_procs([&](int) {
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        auto donec = goro::make_chan<std::monostate>();
        auto stop = goro::after_func(ctx, [donec] { donec.close(); });
        const bool stopped = stop();
        CHECK_MESSAGE(stopped, "stop() = false before the context was done, want true");
        cancel();
        const int chosen = goro::select(goro::recv(donec), goro::recv(goro::after(short_duration)));
        CHECK_MESSAGE(chosen == 1, "AfterFunc called after stop");
        CHECK_FALSE(stop());  // stopped already
    });
}

TEST_CASE("context.TestAfterFuncCalledAsynchronously") {
    // cancel() starts f and returns: f runs on a fiber of its own, so an f
    // that blocks until the canceller reads from it does not block cancel().
    for_each_procs([&](int) {
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        auto donec = goro::make_chan<std::monostate>();
        auto stop = goro::after_func(ctx, [donec] { donec.send({}); });
        cancel();
        const bool called = goro::select(goro::recv(donec), goro::recv(goro::after(hang_guard))) == 0;
        CHECK_MESSAGE(called, "AfterFunc not called after the context was cancelled");
        CHECK_FALSE(stop());
    });
}

TEST_CASE("context.TestWithoutCancel") {
    for_each_procs([&](int) {
        const goro::context_key<std::string> key;
        auto [parent, cancel] = goro::with_timeout(goro::with_value(goro::background(), key, "value"), very_long_duration);
        const goro::context ctx = goro::without_cancel(parent);
        CHECK(parent.deadline().has_value());
        CHECK_FALSE(ctx.deadline().has_value());
        CHECK(!ctx.done());  // the nil channel: never ready
        CHECK(!ctx.err());
        CHECK(value_of(ctx, key) == std::optional<std::string>("value"));
        cancel();
        CHECK(is_done(parent));
        CHECK_FALSE(is_done(ctx));
        CHECK(!ctx.err());
        CHECK(goro::cause(ctx) == nullptr);
        CHECK(value_of(ctx, key) == std::optional<std::string>("value"));  // values outlive the cancel
    });
}

// ---------------------------------------------------------------------------
// goro's own checks of cause, after_func and without_cancel

TEST_CASE("context: a cause reaches every descendant, and a plain cancel's cause is a std::system_error with err()") {
    for_each_procs([&](int) {
        const auto why = std::make_exception_ptr(cause_error("shutdown"));
        auto [root, cancel] = goro::with_cancel_cause(goro::background());
        std::vector<goro::context> chain;
        goro::context c = root;
        for (int i = 0; i < 30; ++i) {
            if (i % 3 == 0) {
                c = goro::with_value(c, layer_key, i);
            } else if (i % 3 == 1) {
                c = goro::with_cancel(c).first;
            } else {
                c = goro::with_timeout_cause(c, very_long_duration, std::make_exception_ptr(cause_error("late"))).first;
            }
            chain.push_back(c);
        }
        for (const auto& x : chain) CHECK(goro::cause(x) == nullptr);
        cancel(why);
        int wrong = 0;
        for (const auto& x : chain)
            if (!is_done(x) || goro::cause(x) != why) ++wrong;
        CHECK(wrong == 0);

        // A plain cancellation's cause, rethrown, is a std::system_error
        // whose code is err().
        auto [plain, plain_cancel] = goro::with_cancel(goro::background());
        plain_cancel();
        std::error_code code;
        try {
            std::rethrow_exception(goro::cause(plain));
        } catch (const std::system_error& e) {
            code = e.code();
        }
        CHECK(code == context_errc::canceled);
        CHECK(code == plain.err());
    });
}

TEST_CASE("context: after_func runs f once per registration, on its own fiber, for a cancel from a fiber or a thread") {
    for_each_procs([&](int) {
        const int n = 100;
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        const goro::context child = other_context(goro::with_cancel(ctx).first);
        std::atomic<int> runs{0};
        goro::wait_group wg;
        wg.add(n);
        std::vector<goro::after_func_stop> stops;
        for (int i = 0; i < n; ++i) {
            // Half on ctx, half on a descendant: the cancel reaches both.
            stops.push_back(goro::after_func(i % 2 ? ctx : child, [&] {
                runs.fetch_add(1);
                wg.done();
            }));
        }
        plain_thread canceller([c = cancel] { c(); });
        canceller.join();
        wg.wait();
        CHECK(runs.load() == n);
        int stopped = 0;
        for (auto& s : stops)
            if (s()) ++stopped;
        CHECK(stopped == 0);
        cancel();  // again: nothing runs twice
        goro::yield();
        CHECK(runs.load() == n);

        // A default-constructed stop does nothing.
        const goro::after_func_stop none;
        CHECK_FALSE(none());
    });
}

TEST_CASE("context: after_func on a context that can never be done never runs f; stop() says so once") {
    for_each_procs([&](int) {
        std::atomic<int> runs{0};
        auto on_background = goro::after_func(goro::background(), [&] { runs.fetch_add(1); });
        auto [parent, cancel] = goro::with_cancel(goro::background());
        auto on_detached = goro::after_func(goro::without_cancel(parent), [&] { runs.fetch_add(1); });
        cancel();
        goro::sleep_for(short_duration);
        CHECK(runs.load() == 0);
        CHECK(on_background());
        CHECK_FALSE(on_background());
        CHECK(on_detached());
        CHECK_FALSE(on_detached());
    });
}

TEST_CASE("context: after_func keeps f until it runs or is stopped, and no longer") {
    for_each_procs([&](int) {
        const int before = tracked::alive.load();
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        {
            // Dropping the stop does not unregister f (Go lets the stop func go).
            (void)goro::after_func(ctx, [t = tracked(1)] { (void)t; });
        }
        CHECK(tracked::alive.load() == before + 1);
        // stop() drops f and its captures at once.
        auto stop = goro::after_func(ctx, [t = tracked(2)] { (void)t; });
        CHECK(tracked::alive.load() == before + 2);
        CHECK(stop());
        CHECK(tracked::alive.load() == before + 1);
        // Many registrations stopped leave nothing behind, and the context
        // still runs the one left.
        for (int i = 0; i < 1000; ++i) {
            auto s = goro::after_func(ctx, [t = tracked(3)] { (void)t; });
            (void)s();
        }
        CHECK(tracked::alive.load() == before + 1);
        cancel();
        CHECK(eventually([&] { return tracked::alive.load() == before; }));

        // A context dropped without being cancelled frees its after_funcs
        // (they can never run).
        {
            auto [p, c] = goro::with_cancel(goro::background());
            (void)goro::after_func(p, [t = tracked(4)] { (void)t; });
            auto kept = goro::after_func(p, [t = tracked(5)] { (void)t; });
            CHECK(tracked::alive.load() == before + 2);
        }
        CHECK(tracked::alive.load() == before);
    });
}

TEST_CASE("context: a stop() racing the cancel either runs f or returns true, never both or neither") {
    for_each_procs([&](int) {
        const std::uint64_t seed = clock_seed();
        std::mt19937_64 rnd(seed);
        const int n = stress(300, 5000);
        std::atomic<int> runs{0};
        int stopped = 0;
        for (int i = 0; i < n; ++i) {
            auto [ctx, cancel] = goro::with_cancel(goro::background());
            auto stop = goro::after_func(ctx, [&] { runs.fetch_add(1); });
            goro::wait_group wg;
            wg.add(1);
            goro::go([&wg, c = cancel, spins = static_cast<int>(rnd() % 20)] {
                for (int k = 0; k < spins; ++k) goro::yield();
                c();
                wg.done();
            });
            for (int k = static_cast<int>(rnd() % 20); k > 0; --k) goro::yield();
            if (stop()) ++stopped;
            wg.wait();
        }
        // Every f that was started finishes; then the counts must add up.
        const bool all_ran = eventually([&] { return runs.load() + stopped >= n; });
        eventually([] { return goro::num_fibers() <= 1; });
        const int ran = runs.load();
        CHECK_MESSAGE(all_ran, seed_text(seed));
        CHECK_MESSAGE(ran + stopped == n, seed_text(seed), " ran=", ran, " stopped=", stopped);
    });
}

TEST_CASE("context: without_cancel cuts the cancellation and the deadline, not the values") {
    for_each_procs([&](int) {
        const goro::context_key<int> key;
        auto [parent, cancel] = goro::with_timeout(goro::with_value(goro::background(), key, 7), short_duration);
        const goro::context detached = goro::without_cancel(parent);
        CHECK(!detached.done());
        CHECK(detached != parent);

        // Derived contexts: a cancel child is linked to nothing above the
        // detached node, and a timeout child keeps its own, later deadline.
        auto [child, cancel_child] = goro::with_cancel(detached);
        auto [timed, cancel_timed] = goro::with_timeout(detached, very_long_duration);
        CHECK(timed.deadline().has_value());
        if (timed.deadline() && parent.deadline()) CHECK(*timed.deadline() > *parent.deadline());
        const goro::context_key<int> inner;
        const goro::context on_top = goro::with_value(child, inner, 8);

        const bool parent_done = wait_done(parent);
        CHECK(parent_done);
        CHECK(parent.err() == context_errc::deadline_exceeded);
        CHECK_FALSE(is_done(detached));
        CHECK_FALSE(is_done(child));
        CHECK_FALSE(is_done(timed));
        CHECK(value_of(on_top, key) == std::optional<int>(7));
        CHECK(value_of(on_top, inner) == std::optional<int>(8));

        // Born under an already-done parent: still not done.
        const goro::context late = goro::without_cancel(parent);
        auto [late_child, cancel_late] = goro::with_cancel(late);
        CHECK_FALSE(is_done(late_child));
        CHECK(!late.err());

        // The children still cancel by their own cancel.
        cancel_child();
        CHECK(is_done(on_top));
        CHECK(on_top.err() == context_errc::canceled);
        cancel_timed();
        cancel_late();
        cancel();
        CHECK(is_done(late_child));
    });
}

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
