// tests/channels/unsent_value_test.cpp — a send that does not happen leaves
// its value alone: try_send returning false, and a select send case that was
// not chosen (default taken, another case ready, another case completed while
// the select was blocked), leave an rvalue argument as it was, so a retry
// sends the same value. A send that happens moves the value exactly once.
// Body rules as in support/procs.hpp: CHECK only, inside fibers.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/procs.hpp"

using goro_test::for_each_procs;

namespace {

// Longer than any small-string buffer, so a move really empties the source.
const std::string payload = "a string long enough to live on the heap, not in the object";

// Counts the moves and copies made of it.
struct counted {
    explicit counted(int v) : value(v) {}
    counted(counted&& o) noexcept : value(std::exchange(o.value, -1)) { ++moves; }
    counted(const counted& o) : value(o.value) { ++copies; }
    counted& operator=(counted&&) = delete;
    counted& operator=(const counted&) = delete;
    int value;
    static inline std::atomic<int> moves{0};
    static inline std::atomic<int> copies{0};
    static void reset() {
        moves = 0;
        copies = 0;
    }
};

}  // namespace

TEST_CASE("try_send: a send that does not happen leaves its rvalue argument alone") {
    for_each_procs([](int) {
        auto full = goro::make_chan<std::unique_ptr<int>>(1);
        CHECK(full.try_send(std::make_unique<int>(0)));
        auto unbuffered = goro::make_chan<std::unique_ptr<int>>();
        goro::chan<std::unique_ptr<int>> nil;

        auto p = std::make_unique<int>(7);
        CHECK_FALSE(full.try_send(std::move(p)));        // buffer full
        CHECK_FALSE(unbuffered.try_send(std::move(p)));  // no receiver
        CHECK_FALSE(nil.try_send(std::move(p)));         // never ready
        goro::send_chan<std::unique_ptr<int>> out = full;
        CHECK_FALSE(out.try_send(std::move(p)));
        CHECK((p && *p == 7));

        // A closed channel throws, and the value is still the caller's.
        auto closed = goro::make_chan<std::unique_ptr<int>>(1);
        closed.close();
        CHECK_THROWS_WITH_AS(closed.try_send(std::move(p)), "send on closed channel", goro::panic_error);
        CHECK((p && *p == 7));

        // Once there is room the same value goes through, moved exactly then.
        CHECK(**full.recv() == 0);
        CHECK(full.try_send(std::move(p)));
        CHECK(p == nullptr);
        auto got = full.recv();
        CHECK((got && *got && **got == 7));
    });
}

TEST_CASE("try_send: a retry loop sends the whole string, however many tries fail") {
    for_each_procs([](int) {
        auto c = goro::make_chan<std::string>();
        std::string s = payload;
        CHECK_FALSE(c.try_send(std::move(s)));  // nobody receives yet
        CHECK(s == payload);
        auto received = goro::make_chan<std::string>(1);
        goro::go([c, received] { received.send(*c.recv()); });
        while (!c.try_send(std::move(s))) goro::yield();  // until the receiver waits
        CHECK(received.recv() == payload);

        // An lvalue is copied, and left alone whatever happens.
        const std::string kept = payload;
        CHECK_FALSE(c.try_send(kept));
        CHECK(kept == payload);
    });
}

TEST_CASE("try_send: failed tries move nothing; the send that happens moves once") {
    for_each_procs([](int) {
        auto c = goro::make_chan<counted>(1);
        counted v(5);
        counted::reset();
        CHECK(c.try_send(counted(1)));  // a temporary, moved into the buffer
        CHECK(counted::moves == 1);
        for (int i = 0; i < 3; ++i) CHECK_FALSE(c.try_send(std::move(v)));
        CHECK(counted::moves == 1);
        CHECK(v.value == 5);
        CHECK(c.recv()->value == 1);
        counted::reset();
        CHECK(c.try_send(std::move(v)));
        CHECK(counted::moves == 1);
        CHECK(counted::copies == 0);
        CHECK(c.recv()->value == 5);
    });
}

TEST_CASE("select: a send case not chosen leaves its rvalue alone (default taken)") {
    for_each_procs([](int) {
        auto full = goro::make_chan<std::unique_ptr<int>>(1);
        full.send(std::make_unique<int>(0));
        auto unbuffered = goro::make_chan<std::unique_ptr<int>>();
        auto p = std::make_unique<int>(7);
        CHECK(goro::select(goro::send(full, std::move(p)), goro::send(unbuffered, std::move(p)),
                           goro::send(goro::chan<std::unique_ptr<int>>{}, std::move(p)), goro::default_case()) == 3);
        CHECK((p && *p == 7));

        // Two cases naming one value: the one chosen sends all of it.
        std::string s = payload;
        auto a = goro::make_chan<std::string>();
        auto b = goro::make_chan<std::string>(1);
        CHECK(goro::select(goro::default_case(), goro::send(a, std::move(s))) == 0);
        CHECK(s == payload);
        CHECK(goro::select(goro::send(a, std::move(s)), goro::send(b, std::move(s))) == 1);
        CHECK(b.recv() == payload);

        // Through a send_chan, too.
        goro::send_chan<std::string> out = a;
        s = payload;
        CHECK(goro::select(goro::send(out, std::move(s)), goro::default_case()) == 1);
        CHECK(s == payload);
    });
}

TEST_CASE("select: a send case not chosen leaves its rvalue alone (another case ready)") {
    for_each_procs([](int) {
        auto full = goro::make_chan<std::string>(1);
        full.send("occupied");
        auto ready = goro::make_chan<int>(1);
        ready.send(1);
        std::string s = payload;
        int v = 0;
        CHECK(goro::select(goro::send(full, std::move(s)), goro::recv(ready, v)) == 1);
        CHECK(v == 1);
        CHECK(s == payload);
    });
}

TEST_CASE("select: a blocked select keeps an unchosen send's value, and moves a chosen one once") {
    for_each_procs([](int) {
        auto never = goro::make_chan<std::unique_ptr<int>>();
        auto wake = goro::make_chan<int>();
        auto p = std::make_unique<int>(7);
        int v = 0;
        goro::go([wake] { wake.send(3); });
        CHECK(goro::select(goro::send(never, std::move(p)), goro::recv(wake, v)) == 1);
        CHECK(v == 3);
        CHECK((p && *p == 7));

        // The blocked send wins: a receiver takes it straight from p, moved once.
        auto out = goro::make_chan<counted>();
        auto got = goro::make_chan<int>(1);
        goro::go([out, got] {
            for (auto&& received : out) {  // in place: the transfer is the only move
                got.send(received.value);
                return;
            }
        });
        counted value(9);
        counted::reset();
        CHECK(goro::select(goro::send(out, std::move(value)), goro::recv(wake, v)) == 0);
        CHECK(got.recv() == 9);
        CHECK(counted::moves == 1);
        CHECK(counted::copies == 0);
        CHECK(value.value == -1);  // moved from, by the send that happened
    });
}

TEST_CASE("select_case: a dynamic send case keeps its value until a select chooses it") {
    for_each_procs([](int) {
        auto c = goro::make_chan<std::unique_ptr<int>>(1);
        c.send(std::make_unique<int>(0));
        std::vector<goro::select_case> cases;
        cases.emplace_back(goro::send(c, std::make_unique<int>(7)));
        cases.emplace_back(goro::default_case());
        CHECK(goro::select(cases) == 1);  // full: default
        CHECK(goro::select(cases) == 1);
        CHECK(**c.recv() == 0);
        CHECK(goro::select(cases) == 0);  // room: the value the case was made with
        auto got = c.recv();
        CHECK((got && *got && **got == 7));
    });
}
