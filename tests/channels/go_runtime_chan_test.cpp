// tests/channels/go_runtime_chan_test.cpp — ports of the channel tests of
// Go's runtime package (src/runtime/chan_test.go and chanbarrier_test.go) to
// goro. Each TEST_CASE carries the name of the Go test it ports. Tests that
// only make sense with Go's garbage collector and growable stacks
// (TestShrinkStackDuringBlockedSend, TestNoShrinkStackWhileParking) are left
// out; TestSelectStackAdjust keeps its channel logic without the GC.
//
// Every test body waits for the fibers it started before it returns, so no
// fiber (and no channel it holds) is abandoned when the runtime stops.
//
// No CHECK here has an operation that may park inside its expression:
// doctest keeps a CHECK_MESSAGE's context in a thread-local list, and a fiber
// that parks may resume on another worker thread.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/dump.hpp"
#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro_test::for_each_procs;
using goro_test::stress;

namespace {

using goro_test::fiber_group;

// Waits until the fiber whose id `fiber` will hold is parked with wait reason
// `reason`, as the fiber dump shows it. Used where Go sleeps to let a
// goroutine get queued on a channel first; false if that never happens.
bool wait_until_parked(const std::atomic<std::uint64_t>& fiber, const std::string& reason) {
    return goro_test::eventually(
        [&] {
            const std::uint64_t id = fiber.load();
            if (id == 0) return false;
            std::ostringstream out;
            goro::dump_fibers(out);
            const auto entries = goro_test::parse_dump(out.str());
            const goro_test::dump_entry* e = goro_test::find_fiber(entries, id);
            return e != nullptr && e->reason == reason;
        },
        std::chrono::seconds(10));
}

}  // namespace

TEST_SUITE("go runtime chan_test") {

// ---------------------------------------------------------------------------

TEST_CASE("TestChan: blocking, non-blocking, closed-channel, FIFO, fan-in/fan-out and len/cap behaviour for capacities 0..N") {
    // Go runs capacities 0..19 in short mode, 0..199 otherwise.
    const int capacities = std::max(2, stress(20, 200));
    const int per_sender = std::max(20, stress(1000, 1000));  // Go's L
    for_each_procs([&](int) {
        for (int cap = 0; cap < capacities; ++cap) {
            const auto capacity = static_cast<std::size_t>(cap);

            {
                // A receive from an empty channel blocks, in both its forms.
                auto c = goro::make_chan<int>(capacity);
                std::atomic<bool> recv1{false};
                std::atomic<bool> recv2{false};
                fiber_group fibers;
                fibers.go([&] {
                    (void)c.recv();
                    recv1 = true;
                });
                fibers.go([&] {
                    int v = -1;
                    bool ok = false;
                    goro::select(goro::recv(c, v, ok));
                    recv2 = true;
                });
                goro::sleep_for(1ms);
                CHECK_MESSAGE(!recv1.load(), "chan[" << cap << "]: receive from empty chan");
                CHECK_MESSAGE(!recv2.load(), "chan[" << cap << "]: receive from empty chan");
                // A non-blocking receive does not block, in both its forms.
                const int chosen1 = goro::select(goro::recv(c), goro::default_case());
                CHECK_MESSAGE(chosen1 == 1, "chan[" << cap << "]: receive from empty chan");
                int v = -1;
                bool ok = true;
                const int chosen2 = goro::select(goro::recv(c, v, ok), goro::default_case());
                CHECK_MESSAGE(chosen2 == 1, "chan[" << cap << "]: receive from empty chan");
                const bool tried = c.try_recv().has_value();
                CHECK_FALSE(tried);
                c.send(0);
                c.send(0);
                fibers.wait();
                CHECK(recv1.load());
                CHECK(recv2.load());
            }

            {
                // A send to a full channel blocks; a non-blocking one does not.
                auto c = goro::make_chan<int>(capacity);
                for (int i = 0; i < cap; ++i) c.send(i);
                std::atomic<bool> sent{false};
                fiber_group fibers;
                fibers.go([&] {
                    c.send(0);
                    sent = true;
                });
                goro::sleep_for(1ms);
                CHECK_MESSAGE(!sent.load(), "chan[" << cap << "]: send to full chan");
                const int chosen = goro::select(goro::send(c, 0), goro::default_case());
                CHECK_MESSAGE(chosen == 1, "chan[" << cap << "]: send to full chan");
                const bool tried = c.try_send(0);
                CHECK_FALSE(tried);
                (void)c.recv();
                fibers.wait();
                CHECK(sent.load());
            }

            {
                // A closed channel yields its buffered values, then the zero
                // value with ok == false.
                auto c = goro::make_chan<int>(capacity);
                for (int i = 0; i < cap; ++i) c.send(i);
                c.close();
                bool in_order = true;
                for (int i = 0; i < cap; ++i) {
                    const std::optional<int> v = c.recv();
                    in_order = in_order && v.has_value() && *v == i;
                }
                CHECK_MESSAGE(in_order, "chan[" << cap << "]: buffered values lost or reordered by close");
                const bool got_value = c.recv().has_value();
                CHECK_FALSE(got_value);
                int v = -1;
                bool ok = true;
                const int chosen = goro::select(goro::recv(c, v, ok));
                CHECK(chosen == 0);
                CHECK_MESSAGE((v == 0 && !ok), "chan[" << cap << "]: received " << v << "/" << ok << ", expected 0/false");
            }

            {
                // close wakes a blocked receiver, which sees the zero value.
                auto c = goro::make_chan<int>(capacity);
                auto done = goro::make_chan<bool>();
                fiber_group fibers;
                fibers.go([c, done]() mutable {
                    int v = -1;
                    bool ok = true;
                    goro::select(goro::recv(c, v, ok));
                    done.send(v == 0 && !ok);
                });
                goro::sleep_for(1ms);
                c.close();
                const bool zero_and_closed = done.recv().value_or(false);
                CHECK_MESSAGE(zero_and_closed, "chan[" << cap << "]: received non zero from closed chan");
                fibers.wait();
            }

            {
                // 100 values arrive intact and in FIFO order, through recv()
                // and through a receive case with ok.
                auto c = goro::make_chan<int>(capacity);
                fiber_group fibers;
                fibers.go([c]() mutable {
                    for (int i = 0; i < 100; ++i) c.send(i);
                });
                bool in_order = true;
                for (int i = 0; i < 100; ++i) {
                    const std::optional<int> v = c.recv();
                    in_order = in_order && v.has_value() && *v == i;
                }
                CHECK_MESSAGE(in_order, "chan[" << cap << "]: values reordered or corrupted (recv)");

                fibers.go([c]() mutable {
                    for (int i = 0; i < 100; ++i) c.send(i);
                });
                in_order = true;
                for (int i = 0; i < 100; ++i) {
                    int v = -1;
                    bool ok = false;
                    goro::select(goro::recv(c, v, ok));
                    in_order = in_order && ok && v == i;
                }
                CHECK_MESSAGE(in_order, "chan[" << cap << "]: values reordered or corrupted (recv with ok)");
                fibers.wait();

                // Four senders and four receivers of L values each: every
                // value arrives exactly four times.
                constexpr int P = 4;
                const int L = per_sender;
                for (int p = 0; p < P; ++p)
                    fibers.go([c, L]() mutable {
                        for (int i = 0; i < L; ++i) c.send(i);
                    });
                auto done = goro::make_chan<std::vector<int>>();
                for (int p = 0; p < P; ++p)
                    fibers.go([c, done, L]() mutable {
                        std::vector<int> seen(static_cast<std::size_t>(L) + 1, 0);  // the last slot: out of range
                        for (int i = 0; i < L; ++i) {
                            const int v = c.recv().value_or(-1);
                            ++seen[v >= 0 && v < L ? static_cast<std::size_t>(v) : static_cast<std::size_t>(L)];
                        }
                        done.send(std::move(seen));
                    });
                std::vector<int> total(static_cast<std::size_t>(L) + 1, 0);
                for (int p = 0; p < P; ++p) {
                    const std::vector<int> seen = done.recv().value_or(std::vector<int>{});
                    for (std::size_t i = 0; i < seen.size() && i < total.size(); ++i) total[i] += seen[i];
                }
                fibers.wait();
                CHECK_MESSAGE(total[static_cast<std::size_t>(L)] == 0, "chan[" << cap << "]: received values never sent");
                const auto wrong = std::count_if(total.begin(), total.end() - 1, [](int n) { return n != P; });
                CHECK_MESSAGE(wrong == 0, "chan[" << cap << "]: " << wrong << " values not received exactly " << P << " times");
            }

            {
                // len and cap.
                auto c = goro::make_chan<int>(capacity);
                CHECK(c.len() == 0);
                CHECK(c.cap() == capacity);
                for (int i = 0; i < cap; ++i) c.send(i);
                CHECK(c.len() == capacity);
                CHECK(c.cap() == capacity);
            }
        }
    });
}

// ---------------------------------------------------------------------------

TEST_CASE("TestNonblockRecvRace: a non-blocking receive racing close never takes default while a value or the close is there") {
    const int n = stress(100, 10000);
    for_each_procs([&](int) {
        std::atomic<int> defaults{0};
        fiber_group fibers;
        for (int i = 0; i < n; ++i) {
            auto c = goro::make_chan<int>(1);
            c.send(1);
            fibers.go([c, &defaults] {
                if (goro::select(goro::recv(c), goro::default_case()) == 1) ++defaults;
            });
            c.close();
            (void)c.recv();
        }
        fibers.wait();
        CHECK_MESSAGE(defaults.load() == 0, defaults.load() << " of " << n << " selects found the chan not ready");
    });
}

// ---------------------------------------------------------------------------

// One fiber keeps at least one of c1 and c2 ready for receiving at every
// moment after it starts the other fiber; that fiber's non-blocking select
// over both must therefore never take default. The select has to look at
// the channels at one instant, not over a window in which c1 is emptied
// before c2 is filled.
TEST_CASE("TestNonblockSelectRace: a non-blocking select sees one instant and never takes default while some case is ready") {
    const int n = stress(1000, 100000);
    for_each_procs([&](int) {
        auto done = goro::make_chan<bool>(1);
        int failures = 0;
        fiber_group fibers;
        for (int i = 0; i < n; ++i) {
            auto c1 = goro::make_chan<int>(1);
            auto c2 = goro::make_chan<int>(1);
            c1.send(1);
            fibers.go([c1, c2, done]() mutable {
                done.send(goro::select(goro::recv(c1), goro::recv(c2), goro::default_case()) != 2);
            });
            c2.send(1);
            goro::select(goro::recv(c1), goro::default_case());
            if (!done.recv().value_or(false)) ++failures;
        }
        fibers.wait();
        CHECK_MESSAGE(failures == 0, "no chan was ready in " << failures << " of " << n << " selects");
    });
}

TEST_CASE("TestNonblockSelectRace2: as TestNonblockSelectRace, with close(c2) making c2 ready") {
    const int n = stress(1000, 100000);
    for_each_procs([&](int) {
        auto done = goro::make_chan<bool>(1);
        int failures = 0;
        fiber_group fibers;
        for (int i = 0; i < n; ++i) {
            auto c1 = goro::make_chan<int>(1);
            auto c2 = goro::make_chan<int>();
            c1.send(1);
            fibers.go([c1, c2, done]() mutable {
                done.send(goro::select(goro::recv(c1), goro::recv(c2), goro::default_case()) != 2);
            });
            c2.close();
            goro::select(goro::recv(c1), goro::default_case());
            if (!done.recv().value_or(false)) ++failures;
        }
        fibers.wait();
        CHECK_MESSAGE(failures == 0, "no chan was ready in " << failures << " of " << n << " selects");
    });
}

// ---------------------------------------------------------------------------

TEST_CASE("TestSelfSelect: selects that send and receive on the same channel neither crash, deadlock nor receive their own value") {
    const int iterations = stress(1000, 10000);
    for_each_procs([&](int) {
        for (int cap : {0, 10}) {
            auto c = goro::make_chan<int>(static_cast<std::size_t>(cap));
            std::atomic<int> self_receives{0};
            fiber_group fibers;
            for (int p = 0; p < 2; ++p)
                fibers.go([&, p] {
                    for (int i = 0; i < iterations; ++i) {
                        int v = -1;
                        bool received = false;
                        // Both case orders, as Go's test writes them.
                        if (p == 0 || i % 2 == 0)
                            received = goro::select(goro::send(c, p), goro::recv(c, v)) == 1;
                        else
                            received = goro::select(goro::recv(c, v), goro::send(c, p)) == 0;
                        // On an unbuffered channel a select cannot pair with itself.
                        if (received && cap == 0 && v == p) ++self_receives;
                    }
                });
            fibers.wait();
            CHECK_MESSAGE(self_receives.load() == 0, "cap " << cap << ": " << self_receives.load() << " self receives");
        }
    });
}

// ---------------------------------------------------------------------------

TEST_CASE("TestSelectStress: plain sends and receives and all-channel selects on four channels interact without deadlock") {
    const int n = stress(10000, 100000);
    for_each_procs([&](int) {
        std::array<goro::chan<int>, 4> c{goro::make_chan<int>(), goro::make_chan<int>(), goro::make_chan<int>(2),
                                         goro::make_chan<int>(3)};
        std::atomic<int> closed_seen{0};
        fiber_group fibers;
        // One sender and one receiver of n values per channel...
        for (int k = 0; k < 4; ++k) {
            fibers.go([&, k] {
                for (int i = 0; i < n; ++i) c[static_cast<std::size_t>(k)].send(0);
            });
            fibers.go([&, k] {
                for (int i = 0; i < n; ++i)
                    if (!c[static_cast<std::size_t>(k)].recv().has_value()) ++closed_seen;
            });
        }
        // ...one fiber that sends n values on each channel in a single
        // select, dropping each channel (to nil) once it has had n...
        fibers.go([&] {
            std::array<int, 4> sent{};
            std::array<goro::chan<int>, 4> c1 = c;
            // Case i sends on channel order[i], in Go's case order.
            constexpr std::array<std::size_t, 4> order{3, 2, 0, 1};
            for (int i = 0; i < 4 * n; ++i) {
                const int chosen = goro::select(goro::send(c1[3], 0), goro::send(c1[2], 0), goro::send(c1[0], 0),
                                                goro::send(c1[1], 0));
                const std::size_t k = order[static_cast<std::size_t>(chosen)];
                if (++sent[k] == n) c1[k] = goro::chan<int>();
            }
        });
        // ...and one that receives n values from each in a single select.
        fibers.go([&] {
            std::array<int, 4> received{};
            std::array<goro::chan<int>, 4> c1 = c;
            for (int i = 0; i < 4 * n; ++i) {
                bool ok = false;
                int v = 0;
                const int chosen = goro::select(goro::recv(c1[0], v, ok), goro::recv(c1[1], v, ok),
                                                goro::recv(c1[2], v, ok), goro::recv(c1[3], v, ok));
                if (!ok) ++closed_seen;
                const auto k = static_cast<std::size_t>(chosen);
                if (++received[k] == n) c1[k] = goro::chan<int>();
            }
        });
        fibers.wait();
        CHECK(closed_seen.load() == 0);
    });
}

// ---------------------------------------------------------------------------

TEST_CASE("TestSelectFairness: a select chooses uniformly among ready cases (Go's six-nines bound)") {
    constexpr int trials = 10000;
    for_each_procs([&](int) {
        auto c1 = goro::make_chan<std::uint8_t>(trials + 1);
        auto c2 = goro::make_chan<std::uint8_t>(trials + 1);
        for (int i = 0; i < trials + 1; ++i) {
            c1.send(1);
            c2.send(2);
        }
        auto c3 = goro::make_chan<std::uint8_t>();
        auto c4 = goro::make_chan<std::uint8_t>();
        auto out = goro::make_chan<std::uint8_t>();
        auto done = goro::make_chan<std::uint8_t>();
        fiber_group fibers;
        fibers.go([&] {
            for (;;) {
                std::uint8_t b = 0;
                goro::select(goro::recv(c3, b), goro::recv(c4, b), goro::recv(c1, b), goro::recv(c2, b));
                if (goro::select(goro::send(out, b), goro::recv(done)) == 1) return;
            }
        });
        int cnt1 = 0;
        int cnt2 = 0;
        int unexpected = 0;
        for (int i = 0; i < trials; ++i) {
            switch (out.recv().value_or(0)) {
            case 1: ++cnt1; break;
            case 2: ++cnt2; break;
            default: ++unexpected; break;
            }
        }
        CHECK(unexpected == 0);
        // A fair choice makes cnt1 / trials about 1/2; Go's bound is the
        // margin of error at a confidence level of 99.9999 %.
        const double r = static_cast<double>(cnt1) / trials;
        const double e = std::abs(r - 0.5);
        CHECK_MESSAGE(e <= 4.891676 / (2 * std::sqrt(static_cast<double>(trials))),
                      "unfair select: in " << trials << " trials, results were " << cnt1 << ", " << cnt2);
        done.close();
        fibers.wait();
    });
}

// ---------------------------------------------------------------------------

// Go's test checks that sending an interface value from a select compiles and
// runs. The C++ counterpart of interest: send cases that are not chosen drop
// the value they hold, and nothing keeps a reference to it.
TEST_CASE("TestChanSendInterface: send cases that are not chosen drop their values without leaking them") {
    struct mt {};
    goro::config cfg;
    cfg.procs = 2;
    const int rc = goro::run(cfg, [] {
        auto m = std::make_shared<mt>();
        auto c = goro::make_chan<std::shared_ptr<mt>>(1);
        c.send(m);
        const int chosen1 = goro::select(goro::send(c, m), goro::default_case());
        CHECK(chosen1 == 1);
        std::weak_ptr<mt> other;
        {
            auto fresh = std::make_shared<mt>();
            other = fresh;
            const int chosen2 = goro::select(goro::send(c, m), goro::send(c, std::move(fresh)), goro::default_case());
            CHECK(chosen2 == 2);
        }
        CHECK(other.expired());
        CHECK(m.use_count() == 2);  // ours and the one in the buffer
        std::shared_ptr<mt> back = c.recv().value_or(nullptr);
        CHECK(back == m);
        back.reset();
        CHECK(m.use_count() == 1);
    });
    CHECK(rc == 0);
}

// ---------------------------------------------------------------------------

TEST_CASE("TestPseudoRandomSend: a select between two ready send cases picks both") {
    constexpr int n = 100;
    for_each_procs([&](int) {
        for (int cap : {0, n}) {
            auto c = goro::make_chan<int>(static_cast<std::size_t>(cap));
            std::vector<int> l(n, -1);
            fiber_group fibers;
            fibers.go([&] {
                for (int i = 0; i < n; ++i) {
                    goro::yield();
                    l[static_cast<std::size_t>(i)] = c.recv().value_or(-1);
                }
            });
            for (int i = 0; i < n; ++i) goro::select(goro::send(c, 1), goro::send(c, 0));
            fibers.wait();
            const auto n0 = std::count(l.begin(), l.end(), 0);
            const auto n1 = std::count(l.begin(), l.end(), 1);
            CHECK(n0 + n1 == n);
            CHECK_MESSAGE((n0 > n / 10 && n1 > n / 10),
                          "want pseudorandom, got " << n0 << " zeros and " << n1 << " ones (chan cap " << cap << ")");
        }
    });
}

// ---------------------------------------------------------------------------

TEST_CASE("TestMultiConsumer: 23 workers ranging over one queue lose and duplicate nothing") {
    constexpr int nwork = 23;
    const int niter = stress(27183, 271828);  // Go: 271828
    static constexpr std::array<int, 10> pn{2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
    for_each_procs([&](int) {
        auto q = goro::make_chan<int>(nwork * 3);
        auto r = goro::make_chan<int>(nwork * 3);

        goro::wait_group workers;
        fiber_group fibers;
        for (int w = 0; w < nwork; ++w) {
            workers.add(1);
            fibers.go([&, w] {
                for (int v : q) {
                    // Disturb the FIFO-like order of range.
                    if (pn[static_cast<std::size_t>(w) % pn.size()] == v) goro::yield();
                    r.send(v);
                }
                workers.done();
            });
        }

        // The feeder closes q when it is done, and r once the workers are.
        long long expect = 0;
        fibers.go([&] {
            for (int i = 0; i < niter; ++i) {
                const int v = pn[static_cast<std::size_t>(i) % pn.size()];
                expect += v;
                q.send(v);
            }
            q.close();
            workers.wait();
            r.close();
        });

        long long count = 0;
        long long sum = 0;
        for (int v : r) {
            ++count;
            sum += v;
        }
        fibers.wait();
        CHECK_MESSAGE((count == niter && sum == expect),
                      "expected sum " << expect << " (got " << sum << ") from " << niter << " iter (saw " << count << ")");
    });
}

// ---------------------------------------------------------------------------

// Fiber A selects on c twice and on d; fiber B then receives on c. d wakes A,
// which must take both of its records off c's queue, so that the send on c
// afterwards finds B (and not A's stale record).
TEST_CASE("TestSelectDuplicateChannel: a select naming one channel twice leaves that channel's queue intact") {
    for_each_procs([&](int) {
        auto c = goro::make_chan<int>();
        auto d = goro::make_chan<int>();
        auto e = goro::make_chan<int>();
        std::atomic<std::uint64_t> a_id{0};
        std::atomic<std::uint64_t> b_id{0};
        std::atomic<int> b_got{0};
        fiber_group fibers;

        fibers.go([&] {  // A
            a_id = goro::fiber_id();
            const int chosen = goro::select(goro::recv(c), goro::recv(c), goro::recv(d));
            CHECK(chosen == 2);
            e.send(9);
        });
        const bool a_parked = wait_until_parked(a_id, "select");
        CHECK_MESSAGE(a_parked, "A never showed as parked in its select");

        fibers.go([&] {  // B
            b_id = goro::fiber_id();
            b_got = c.recv().value_or(-1);
        });
        const bool b_parked = wait_until_parked(b_id, "chan receive");
        CHECK_MESSAGE(b_parked, "B never showed as parked on c");

        d.send(7);            // wakes A, which leaves c's queue
        const std::optional<int> from_a = e.recv();  // A is done
        CHECK(from_a == 9);
        c.send(8);            // must reach B
        fibers.wait();
        CHECK(b_got.load() == 8);
    });
}

// ---------------------------------------------------------------------------

// Go's test shrinks the stacks of fibers parked in selects; goro's stacks do
// not move, so what remains is the channel logic: a select whose receive case
// would write into a local, woken through another case by close (once with
// each channel named twice), leaves that local alone.
TEST_CASE("TestSelectStackAdjust (channel part): a select woken by close leaves an unchosen receive's variable untouched") {
    for_each_procs([&](int) {
        auto c = goro::make_chan<int*>();
        auto d = goro::make_chan<int*>();
        auto ready1 = goro::make_chan<bool>();
        auto ready2 = goro::make_chan<bool>();
        fiber_group fibers;

        auto f = [&c, &d](goro::chan<bool> ready, bool dup) {
            ready.send(true);
            int val = 42;
            int* cx = &val;
            goro::chan<int*> c2;
            goro::chan<int*> d2;
            if (dup) {
                c2 = c;
                d2 = d;
            }
            const int chosen = goro::select(goro::recv(c, cx), goro::recv(c2), goro::recv(d), goro::recv(d2));
            CHECK((chosen == 2 || (dup && chosen == 3)));
            CHECK(cx == &val);
            CHECK(val == 42);
            *cx = 43;
            CHECK(val == 43);
            ready.send(true);
        };
        fibers.go([f, ready1] { f(ready1, false); });
        fibers.go([f, ready2] { f(ready2, true); });

        (void)ready1.recv();
        (void)ready2.recv();
        goro::sleep_for(10ms);  // let both get into their selects (either way the outcome is the same)
        d.close();
        (void)ready1.recv();
        (void)ready2.recv();
        fibers.wait();
    });
}

// ---------------------------------------------------------------------------

namespace {

struct response {};
struct my_error : std::runtime_error {
    my_error() : std::runtime_error("my error") {}
};
struct async_result {
    std::unique_ptr<response> resp;
    std::unique_ptr<std::exception> err;
};

// A request answered by a helper fiber through an unbuffered channel, with a
// plain send or with a select whose other case never becomes ready.
std::unique_ptr<async_result> do_request(bool use_select, fiber_group& helpers) {
    auto ch = goro::make_chan<std::unique_ptr<async_result>>();
    auto done = goro::make_chan<int>();
    if (use_select) {
        helpers.go([ch, done] {
            auto a = std::make_unique<async_result>();
            a->err = std::make_unique<my_error>();
            goro::select(goro::send(ch, std::move(a)), goro::recv(done));
        });
    } else {
        helpers.go([ch]() mutable {
            auto a = std::make_unique<async_result>();
            a->err = std::make_unique<my_error>();
            ch.send(std::move(a));
        });
    }
    auto r = ch.recv();
    goro::yield();
    return r ? std::move(*r) : nullptr;
}

void chan_send_barrier(bool use_select) {
    const int outer = goro_test::long_mode() ? 100 : 10;
    const int inner = stress(1000, 100000);
    for_each_procs([&](int) {
        goro::mutex global_mu;
        std::vector<char> global;
        std::atomic<int> bad{0};
        fiber_group helpers;
        fiber_group requesters;
        for (int i = 0; i < outer; ++i)
            requesters.go([&] {
                std::vector<char> garbage;
                for (int j = 0; j < inner; ++j) {
                    const std::unique_ptr<async_result> r = do_request(use_select, helpers);
                    if (!r || r->resp || dynamic_cast<my_error*>(r->err.get()) == nullptr) ++bad;
                    garbage.assign(1 << 10, static_cast<char>(j));
                }
                std::lock_guard<goro::mutex> lock(global_mu);
                global = std::move(garbage);
            });
        requesters.wait();
        helpers.wait();
        CHECK(bad.load() == 0);
        CHECK(global.size() == std::size_t{1} << 10);
    });
}

}  // namespace

TEST_CASE("TestChanSendBarrier: many request/response round trips through fresh unbuffered channels (plain send)") {
    chan_send_barrier(false);
}

TEST_CASE("TestChanSendSelectBarrier: many request/response round trips through fresh unbuffered channels (select send)") {
    chan_send_barrier(true);
}

// ---------------------------------------------------------------------------

// Not from chan_test.go: the time.After timeout idiom in a select.
TEST_CASE("select with a goro::after timeout case: it fires when nothing else is ready, and a ready channel wins over a distant one") {
    for_each_procs([&](int procs) {
        auto never = goro::make_chan<int>();
        std::atomic<int> timed_out{0};
        fiber_group fibers;
        for (int i = 0; i < 4 * procs; ++i)
            fibers.go([&] {
                if (goro::select(goro::recv(never), goro::recv(goro::after(1ms))) == 1) ++timed_out;
            });
        fibers.wait();
        CHECK(timed_out.load() == 4 * procs);

        auto ready = goro::make_chan<int>(1);
        ready.send(5);
        int v = 0;
        const int chosen1 = goro::select(goro::recv(ready, v), goro::recv(goro::after(1h)));
        CHECK(chosen1 == 0);
        CHECK(v == 5);
        const int chosen2 = goro::select(goro::send(ready, 6), goro::recv(goro::after(1h)));
        CHECK(chosen2 == 0);
        const std::optional<int> back = ready.recv();
        CHECK(back == 6);
    });
}

}  // TEST_SUITE("go runtime chan_test")
