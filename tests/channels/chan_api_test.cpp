// tests/channels/chan_api_test.cpp — the channel and select contract of
// docs/api.md ("Channels", "Select"), item by item: reference semantics, nil channels, buffered
// and unbuffered transfer, move-only and non-default-constructible elements,
// Go's panics, range-for, plain threads in every role, and both forms of
// select. Go's own channel tests are ported in go_*_test.cpp.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro_test::for_each_procs;

namespace {

// An element type without a default constructor that counts live copies.
struct tracked {
    explicit tracked(int v, std::atomic<int>* live) : value(v), alive(live) { ++*alive; }
    tracked(const tracked& o) : value(o.value), alive(o.alive) {
        ++*alive;
        ++copies;
    }
    tracked(tracked&& o) noexcept : value(o.value), alive(o.alive) { ++*alive; }
    tracked& operator=(const tracked&) = delete;
    tracked& operator=(tracked&&) = delete;
    ~tracked() { --*alive; }
    int value;
    std::atomic<int>* alive;
    static inline std::atomic<int> copies{0};
};

}  // namespace

TEST_CASE("chan: nil channel: default-constructed, false, len and cap 0, equal to other nils") {
    goro::chan<int> a, b;
    CHECK_FALSE(a);
    CHECK(a == b);
    CHECK(a.len() == 0);
    CHECK(a.cap() == 0);
    CHECK_THROWS_WITH_AS(a.close(), "close of nil channel", goro::panic_error);
    CHECK_FALSE(a.try_send(1));
    bool closed = true;
    CHECK_FALSE(a.try_recv(&closed));
    CHECK_FALSE(closed);
}

TEST_CASE("chan: reference semantics: copies share one channel, == is identity") {
    for_each_procs([](int) {
        auto a = goro::make_chan<int>(4);
        auto b = a;
        auto other = goro::make_chan<int>(4);
        CHECK(a == b);
        CHECK_FALSE(a == other);
        CHECK(static_cast<bool>(a));
        b.send(7);
        CHECK(a.len() == 1);
        CHECK(a.cap() == 4);
        CHECK(*a.recv() == 7);
        goro::chan<int> moved = std::move(b);
        CHECK(moved == a);
        CHECK_FALSE(b);  // NOLINT: a moved-from chan is nil
    });
}

TEST_CASE("chan: buffered channel is FIFO, len counts buffered values, blocks when full") {
    for_each_procs([](int) {
        auto c = goro::make_chan<int>(3);
        for (int i = 0; i < 3; ++i) c.send(i);
        CHECK(c.len() == 3);
        CHECK_FALSE(c.try_send(99));
        std::atomic<bool> fourth_sent{false};
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            c.send(3);  // blocks until a receive makes room
            fourth_sent = true;
            wg.done();
        });
        for (int i = 0; i < 4; ++i) CHECK(*c.recv() == i);
        wg.wait();
        CHECK(fourth_sent.load());
        CHECK(c.len() == 0);
    });
}

TEST_CASE("chan: unbuffered send completes only when a receiver takes the value") {
    for_each_procs([](int) {
        auto c = goro::make_chan<int>();
        std::atomic<int> stage{0};
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            c.send(1);
            stage = 1;
            wg.done();
        });
        for (int i = 0; i < 50; ++i) goro::yield();
        CHECK(stage.load() == 0);  // nobody received yet
        CHECK(*c.recv() == 1);
        wg.wait();
        CHECK(stage.load() == 1);
    });
}

TEST_CASE("chan: close wakes every blocked receiver with nullopt, after the buffer drains") {
    for_each_procs([](int) {
        auto c = goro::make_chan<int>(2);
        c.send(1);
        c.send(2);
        c.close();
        CHECK(*c.recv() == 1);
        CHECK(*c.recv() == 2);
        CHECK_FALSE(c.recv());
        CHECK_FALSE(c.recv());

        auto u = goro::make_chan<int>();
        const int receivers = 10;
        std::atomic<int> got_nullopt{0};
        goro::wait_group wg;
        wg.add(receivers);
        for (int i = 0; i < receivers; ++i) {
            goro::go([&] {
                if (!u.recv()) ++got_nullopt;
                wg.done();
            });
        }
        for (int i = 0; i < 20; ++i) goro::yield();
        u.close();
        wg.wait();
        CHECK(got_nullopt.load() == receivers);
    });
}

TEST_CASE("chan: Go's panics: send on closed, close of closed, blocked sender woken by close") {
    for_each_procs([](int) {
        auto c = goro::make_chan<int>(1);
        c.close();
        CHECK_THROWS_WITH_AS(c.send(1), "send on closed channel", goro::panic_error);
        CHECK_THROWS_WITH_AS(c.try_send(1), "send on closed channel", goro::panic_error);
        CHECK_THROWS_WITH_AS(c.close(), "close of closed channel", goro::panic_error);

        auto u = goro::make_chan<int>();
        std::atomic<bool> panicked{false};
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            try {
                u.send(5);
            } catch (const goro::panic_error& e) {
                panicked = std::string(e.what()) == "send on closed channel";
            }
            wg.done();
        });
        for (int i = 0; i < 20; ++i) goro::yield();
        u.close();
        wg.wait();
        CHECK(panicked.load());
        static_assert(std::is_base_of_v<std::logic_error, goro::panic_error>);
    });
}

TEST_CASE("chan: move-only elements are moved through buffered and unbuffered channels") {
    for_each_procs([](int) {
        for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{8}}) {
            auto c = goro::make_chan<std::unique_ptr<int>>(cap);
            goro::go([c]() mutable {
                for (int i = 0; i < 20; ++i) c.send(std::make_unique<int>(i));
                c.close();
            });
            int expected = 0;
            for (auto p : c) {
                CHECK(p != nullptr);
                CHECK(*p == expected++);
            }
            CHECK(expected == 20);
        }
    });
}

TEST_CASE("chan: elements without a default constructor are moved, never copied, and none leak") {
    std::atomic<int> live{0};
    tracked::copies = 0;
    for_each_procs([&](int) {
        for (std::size_t cap : {std::size_t{0}, std::size_t{4}}) {
            auto c = goro::make_chan<tracked>(cap);
            goro::go([c, &live]() mutable {
                for (int i = 0; i < 10; ++i) c.send(tracked(i, &live));
                c.close();
            });
            int sum = 0;
            for (auto&& t : c) sum += t.value;
            CHECK(sum == 45);
            // Values left in a buffer die with the channel.
            auto d = goro::make_chan<tracked>(3);
            d.send(tracked(1, &live));
            d.send(tracked(2, &live));
            auto first = d.recv();
            CHECK(first->value == 1);
        }
    });
    CHECK(live.load() == 0);
    CHECK(tracked::copies.load() == 0);
}

TEST_CASE("chan: try_send and try_recv never block and report closed") {
    for_each_procs([](int) {
        auto c = goro::make_chan<int>(1);
        CHECK(c.try_send(1));
        CHECK_FALSE(c.try_send(2));
        bool closed = true;
        auto v = c.try_recv(&closed);
        CHECK(v == 1);
        CHECK_FALSE(closed);
        CHECK_FALSE(c.try_recv(&closed));
        CHECK_FALSE(closed);
        c.close();
        CHECK_FALSE(c.try_recv(&closed));
        CHECK(closed);
    });
}

TEST_CASE("chan: plain threads send, receive and close, with fibers and with each other") {
    for_each_procs([](int) {
        const int n = goro_test::stress(2000, 20000);
        auto to_fiber = goro::make_chan<int>();
        auto to_thread = goro::make_chan<int>(3);
        auto thread_to_thread = goro::make_chan<int>();
        long long fiber_sum = 0, thread_sum = 0;
        std::atomic<long long> relay_sum{0};
        goro_test::plain_thread producer([&] {
            for (int i = 1; i <= n; ++i) to_fiber.send(i);
            to_fiber.close();
        });
        goro_test::plain_thread consumer([&] {
            for (int v : to_thread) thread_sum += v;
        });
        goro_test::plain_thread relay_in([&] {
            for (int i = 1; i <= n; ++i) thread_to_thread.send(i);
            thread_to_thread.close();
        });
        goro_test::plain_thread relay_out([&] {
            long long s = 0;
            for (int v : thread_to_thread) s += v;
            relay_sum = s;
        });
        for (int v : to_fiber) {
            fiber_sum += v;
            to_thread.send(v);
        }
        to_thread.close();
        producer.join();
        consumer.join();
        relay_in.join();
        relay_out.join();
        const long long expected = static_cast<long long>(n) * (n + 1) / 2;
        CHECK(fiber_sum == expected);
        CHECK(thread_sum == expected);
        CHECK(relay_sum.load() == expected);
    });
}

TEST_CASE("chan: a plain thread can use channels with no runtime running") {
    auto c = goro::make_chan<int>();
    std::thread t([&] {
        for (int i = 0; i < 100; ++i) c.send(i);
        c.close();
    });
    int sum = 0;
    for (int v : c) sum += v;
    t.join();
    CHECK(sum == 4950);
}

TEST_CASE("select: returns the index of the case that ran; recv(ch, out, ok) fills out and ok") {
    for_each_procs([](int) {
        auto in = goro::make_chan<int>(1);
        auto quit = goro::make_chan<bool>(1);
        auto out = goro::make_chan<std::string>(1);
        int v = 0;
        bool ok = false;
        in.send(5);
        CHECK(goro::select(goro::recv(in, v, ok), goro::recv(quit), goro::default_case()) == 0);
        CHECK(v == 5);
        CHECK(ok);
        CHECK(goro::select(goro::recv(in, v, ok), goro::send(out, "x"), goro::default_case()) == 1);
        CHECK(*out.recv() == "x");
        CHECK(goro::select(goro::recv(in, v, ok), goro::recv(quit), goro::default_case()) == 2);
        quit.send(true);
        CHECK(goro::select(goro::recv(in), goro::recv(quit)) == 1);
        in.close();
        v = 9;
        CHECK(goro::select(goro::recv(in, v, ok)) == 0);
        CHECK(v == 0);  // closed: the zero value
        CHECK_FALSE(ok);
    });
}

TEST_CASE("select: blocks until a case is ready, in both directions") {
    for_each_procs([](int) {
        auto a = goro::make_chan<int>();
        auto b = goro::make_chan<int>();
        goro::go([&] { a.send(1); });
        int v = 0;
        CHECK(goro::select(goro::recv(b, v), goro::recv(a, v)) == 1);
        CHECK(v == 1);
        std::atomic<int> got{0};
        goro::go([&] { got = *b.recv(); });
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            CHECK(goro::select(goro::recv(a), goro::send(b, 2)) == 1);
            wg.done();
        });
        wg.wait();
        CHECK(goro_test::eventually([&] { return got.load() == 2; }));
    });
}

TEST_CASE("select: nil channels are never ready; select() with only nil channels takes default") {
    goro::chan<int> nil;
    int v = 0;
    CHECK(goro::select(goro::recv(nil, v), goro::send(nil, 1), goro::default_case()) == 2);
    CHECK(goro::select(goro::default_case()) == 0);
}

TEST_CASE("select: a send case on a closed channel throws, even if another case is ready") {
    for_each_procs([](int) {
        auto closed = goro::make_chan<int>(1);
        closed.close();
        auto ready = goro::make_chan<int>(1);
        ready.send(1);
        int chosen_ready = 0, thrown = 0;
        for (int i = 0; i < 200; ++i) {
            try {
                if (goro::select(goro::send(closed, 1), goro::recv(ready)) == 1) {
                    ++chosen_ready;
                    ready.send(1);
                }
            } catch (const goro::panic_error& e) {
                CHECK(std::string(e.what()) == "send on closed channel");
                ++thrown;
            }
        }
        // Both cases are ready; each is picked at random, Go's semantics.
        CHECK(thrown > 0);
        CHECK(chosen_ready > 0);
        // Closing while blocked in a select with a send case throws too.
        auto u = goro::make_chan<int>();
        goro::wait_group wg;
        wg.add(1);
        std::atomic<bool> panicked{false};
        goro::go([&] {
            try {
                goro::select(goro::send(u, 1));
            } catch (const goro::panic_error&) {
                panicked = true;
            }
            wg.done();
        });
        for (int i = 0; i < 20; ++i) goro::yield();
        u.close();
        wg.wait();
        CHECK(panicked.load());
    });
}

TEST_CASE("select: ready cases are chosen uniformly at random") {
    for_each_procs([](int) {
        constexpr int cases = 4;
        std::vector<goro::chan<int>> cs;
        for (int i = 0; i < cases; ++i) {
            cs.push_back(goro::make_chan<int>(1));
            cs.back().send(i);
        }
        int hits[cases] = {};
        const int rounds = 4000;
        for (int r = 0; r < rounds; ++r) {
            int i = goro::select(goro::recv(cs[0]), goro::recv(cs[1]), goro::recv(cs[2]), goro::recv(cs[3]));
            ++hits[i];
            cs[static_cast<std::size_t>(i)].send(i);
        }
        // Expected 1000 each; the bounds are about 8 standard deviations
        // wide, so a fair choice essentially never fails them.
        for (int h : hits) {
            CHECK(h > 780);
            CHECK(h < 1220);
        }
    });
}

TEST_CASE("select: temporaries as case channels: goro::recv(goro::after(d))") {
    for_each_procs([](int) {
        auto never = goro::make_chan<int>();
        auto start = std::chrono::steady_clock::now();
        CHECK(goro::select(goro::recv(never), goro::recv(goro::after(2ms))) == 1);
        CHECK(std::chrono::steady_clock::now() - start >= 2ms);
        goro::time_point when{};
        bool ok = false;
        CHECK(goro::select(goro::recv(goro::after(1ms), when, ok)) == 0);
        CHECK(ok);
        CHECK(when.time_since_epoch().count() != 0);
    });
}

TEST_CASE("select: the same channel in several cases, send and receive alike") {
    for_each_procs([](int) {
        auto c = goro::make_chan<int>();
        const int n = goro_test::stress(500, 5000);
        goro::wait_group wg;
        std::atomic<int> sent{0}, received{0};
        wg.add(2);
        for (int w = 0; w < 2; ++w) {
            goro::go([&] {
                for (int i = 0; i < n; ++i) {
                    int v = 0;
                    switch (goro::select(goro::send(c, 1), goro::recv(c, v), goro::send(c, 2), goro::recv(c))) {
                        case 0:
                        case 2: ++sent; break;
                        default: ++received; break;
                    }
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(sent.load() == n);
        CHECK(received.load() == n);
    });
}

TEST_CASE("select: a plain thread in a select, against fibers") {
    for_each_procs([](int) {
        auto a = goro::make_chan<int>();
        auto b = goro::make_chan<int>();
        auto done = goro::make_chan<bool>();
        const int n = goro_test::stress(1000, 10000);
        long long total = 0;
        goro_test::plain_thread t([&] {
            int v = 0;
            for (;;) {
                switch (goro::select(goro::recv(a, v), goro::recv(b, v), goro::recv(done))) {
                    case 0:
                    case 1: total += v; break;
                    default: return;
                }
            }
        });
        goro::wait_group wg;
        wg.add(2);
        goro::go([&] {
            for (int i = 1; i <= n; ++i) a.send(i);
            wg.done();
        });
        goro::go([&] {
            for (int i = 1; i <= n; ++i) b.send(i);
            wg.done();
        });
        wg.wait();
        done.close();
        t.join();
        CHECK(total == static_cast<long long>(n) * (n + 1));
    });
}

TEST_CASE("select: dynamic form over a vector of channels (fan-in), with and without default") {
    for_each_procs([](int) {
        const int inputs = 12;  // more than the inline case count
        const int per_input = goro_test::stress(200, 2000);
        std::vector<goro::chan<int>> chans;
        for (int i = 0; i < inputs; ++i) chans.push_back(goro::make_chan<int>(i % 3));
        for (int i = 0; i < inputs; ++i) {
            goro::go([c = chans[static_cast<std::size_t>(i)], per_input]() mutable {
                for (int k = 1; k <= per_input; ++k) c.send(k);
                c.close();
            });
        }
        int v = 0;
        bool ok = false;
        std::vector<goro::select_case> cases;
        for (auto& c : chans) cases.emplace_back(goro::recv(c, v, ok));
        long long sum = 0;
        int open = inputs;
        while (open > 0) {
            int i = goro::select(cases);
            CHECK(i >= 0);
            CHECK(i < inputs);
            if (ok) {
                sum += v;
            } else {
                // A closed input: replace its case with a nil channel (Go's idiom).
                cases[static_cast<std::size_t>(i)] = goro::select_case(goro::recv(goro::chan<int>{}, v, ok));
                --open;
            }
        }
        CHECK(sum == static_cast<long long>(inputs) * per_input * (per_input + 1) / 2);

        std::vector<goro::select_case> with_default;
        with_default.emplace_back(goro::recv(goro::make_chan<int>()));
        with_default.emplace_back(goro::default_case());
        CHECK(goro::select(with_default) == 1);

        auto out = goro::make_chan<std::string>(1);
        std::vector<goro::select_case> sends;
        sends.emplace_back(goro::send(out, std::string("dynamic")));
        CHECK(goro::select(sends) == 0);
        CHECK(*out.recv() == "dynamic");

        std::vector<goro::select_case> two_defaults;
        two_defaults.emplace_back(goro::default_case());
        two_defaults.emplace_back(goro::default_case());
        CHECK_THROWS_AS(goro::select(two_defaults), goro::panic_error);
    });
}

TEST_CASE("select: a case made from a temporary channel keeps it alive") {
    for_each_procs([](int) {
        auto make = [] {
            auto c = goro::make_chan<int>(1);
            c.send(11);
            return c;
        };
        int v = 0;
        goro::select_case sc(goro::recv(make(), v));  // the temporary is gone after this line
        std::vector<goro::select_case> cases;
        cases.push_back(sc);
        CHECK(goro::select(cases) == 0);
        CHECK(v == 11);
    });
}

TEST_CASE("chan: many channels created and dropped while values are still buffered free everything") {
    std::atomic<int> live{0};
    for_each_procs([&](int) {
        for (int i = 0; i < 200; ++i) {
            auto c = goro::make_chan<tracked>(4);
            c.send(tracked(i, &live));
            c.send(tracked(i, &live));
        }
    });
    CHECK(live.load() == 0);
}

TEST_CASE("chan: fibers abandoned while parked on a channel that outlives goro::run leave no dangling waiters") {
    auto c = goro::make_chan<int>();     // receivers left parked
    auto s = goro::make_chan<int>();     // a select left parked on both ends
    auto d = goro::make_chan<int>(1);    // a sender left parked on a full buffer
    goro::config cfg;
    cfg.procs = 2;
    CHECK(goro::run(cfg, [&] {
              for (int i = 0; i < 3; ++i) goro::go([&] { c.recv(); });
              goro::go([&] { goro::select(goro::recv(s), goro::send(s, 1)); });
              d.send(1);
              goro::go([&] { d.send(2); });
              // Main, three receivers, the select and the sender, all parked but main.
              CHECK(goro_test::eventually([&] {
                  std::ostringstream dump;
                  goro::dump_fibers(dump);
                  const std::string text = dump.str();
                  auto count = [&](const std::string& what) {
                      int n = 0;
                      for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
                      return n;
                  };
                  return count("[chan receive") == 3 && count("[select") == 1 && count("[chan send") == 1;
              }));
          }) == 0);
    // The next run, and a plain thread after it, use the same channels: the
    // abandoned fibers' records (on stacks now unmapped) must be gone.
    CHECK(goro::run(cfg, [&] {
              goro::go([&] { c.send(5); });
              CHECK(*c.recv() == 5);
              goro::go([&] { s.send(6); });
              CHECK(*s.recv() == 6);
              CHECK(*d.recv() == 1);
              CHECK(d.try_send(3));
          }) == 0);
    std::thread t([&] {
        CHECK_FALSE(c.try_send(1));  // nobody waits
        CHECK_FALSE(s.try_send(1));
        CHECK(*d.recv() == 3);
        c.close();
        s.close();
        d.close();
    });
    t.join();
}

namespace {
// Its destructor uses a channel: destroying one under that channel's lock
// (or under any lock a select holds) would deadlock.
struct notifies_on_destroy {
    goro::chan<int> side;
    int value = 0;
    notifies_on_destroy() = default;
    notifies_on_destroy(goro::chan<int> s, int v) : side(std::move(s)), value(v) {}
    notifies_on_destroy(notifies_on_destroy&&) noexcept = default;
    notifies_on_destroy& operator=(notifies_on_destroy&& o) noexcept {
        release();
        side = std::move(o.side);
        value = o.value;
        return *this;
    }
    ~notifies_on_destroy() { release(); }
    void release() noexcept {
        if (side) (void)side.try_send(value);
        side = {};
    }
};
}  // namespace

TEST_CASE("select: recv(ch, out) replaces out's old value only after every channel lock is released") {
    for_each_procs([](int) {
        auto side = goro::make_chan<int>(16);
        auto c = goro::make_chan<notifies_on_destroy>(4);
        notifies_on_destroy out(side, 1);  // its destructor sends on `side`
        c.send(notifies_on_destroy(side, 2));
        // Both channels are locked by the select while it picks a case; the
        // old `out` (value 1) is destroyed when the received value replaces it.
        CHECK(goro::select(goro::recv(c, out), goro::recv(side)) == 0);
        CHECK(out.value == 2);
        CHECK(*side.try_recv() == 1);
        std::vector<goro::select_case> cases;
        cases.emplace_back(goro::recv(c, out));
        cases.emplace_back(goro::recv(side));
        c.send(notifies_on_destroy(side, 3));
        CHECK(goro::select(cases) == 0);
        CHECK(out.value == 3);
        CHECK(*side.try_recv() == 2);
        c.close();
        CHECK(goro::select(goro::recv(c, out), goro::recv(side)) == 0);  // closed: out = T{}
        CHECK(out.value == 0);
        CHECK(*side.try_recv() == 3);
    });
}
