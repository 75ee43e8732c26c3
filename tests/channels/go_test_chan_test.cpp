// tests/channels/go_test_chan_test.cpp — the programs of Go's test/chan/
// directory, ported to goro and run on runtimes of 1, 2, 4 and 8 workers.
//
// Ported: doubleselect, fifo, goroutines, nonblock, powser1, select, select2,
// select3, select4, select5 (the run-time behaviour of its generated selects;
// its evaluation-order checks depend on Go's rules for evaluating case
// expressions, which C++ argument evaluation does not share), select6,
// select7, select8, sendstmt, sieve1, sieve2 and zerosize. Not ported: perm.go
// (channel direction errors found by Go's compiler) and powser2.go (powser1
// again, written with interfaces).
//
// Unlike the Go programs, which leave their goroutines blocked when main
// returns, every test here stops the fibers it started before it returns
// (a fiber abandoned by goro::run would leak what it holds, and the sanitizer
// builds check for leaks). The only exceptions are the select3 fibers blocked
// on nil channels or on an empty select: nothing can wake those, and they hold
// nothing on the heap.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <queue>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "support/procs.hpp"

#if defined(__GLIBC__) && __has_include(<malloc.h>) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define GORO_TEST_HAVE_MALLINFO2 1
#else
#define GORO_TEST_HAVE_MALLINFO2 0
#endif

using namespace std::chrono_literals;
using goro::chan;
using goro::make_chan;
using goro_test::eventually;
using goro_test::for_each_procs;

namespace {

using unit = std::monostate;  // Go's struct{}

// The first k primes, by trial division: the reference for the sieves.
std::vector<int> first_primes(int k) {
    std::vector<int> primes;
    for (int n = 2; static_cast<int>(primes.size()) < k; ++n) {
        bool prime = true;
        for (int p : primes) {
            if (p * p > n) break;
            if (n % p == 0) {
                prime = false;
                break;
            }
        }
        if (prime) primes.push_back(n);
    }
    return primes;
}

// Thrown by fiber_group's channel operations once the group is stopping; the
// group's fibers catch it at their top and return.
struct quit_signal {};

// A set of fibers that run forever, as the Go programs' goroutines do, and a
// way to end them all: their blocking channel operations go through recv()
// and send() below, which also wait on a quit channel, and stop() closes it
// and waits until every fiber of the group has returned.
class fiber_group {
public:
    fiber_group() = default;
    fiber_group(const fiber_group&) = delete;
    fiber_group& operator=(const fiber_group&) = delete;

    template <class F>
    void go(F f) {
        running_.add(1);
        goro::go([this, f = std::move(f)]() mutable {
            try {
                f();
            } catch (const quit_signal&) {
            }
            running_.done();
        });
    }

    // v := <-c
    template <class T>
    T recv(chan<T>& c) {
        if (stopping_.load(std::memory_order_relaxed)) throw quit_signal{};
        T v{};
        if (goro::select(goro::recv(c, v), goro::recv(quit_)) == 1) throw quit_signal{};
        return v;
    }

    // c <- v
    template <class T>
    void send(chan<T>& c, T v) {
        if (stopping_.load(std::memory_order_relaxed)) throw quit_signal{};
        if (goro::select(goro::send(c, std::move(v)), goro::recv(quit_)) == 1) throw quit_signal{};
    }

    // For selects written out in full: a case on this channel means "stop".
    chan<unit>& quit() { return quit_; }

    void stop() {
        stopping_.store(true);
        quit_.close();
        running_.wait();
    }

private:
    chan<unit> quit_ = make_chan<unit>();
    std::atomic<bool> stopping_{false};
    goro::wait_group running_;
};

}  // namespace

TEST_SUITE("go test/chan") {

// ---------------------------------------------------------------------------
// doubleselect

// Go's check: a select with several ready send cases performs exactly one of them.
TEST_CASE("test/chan/doubleselect: a select over four ready sends runs exactly one of them") {
    for_each_procs([](int) {
        const int n = goro_test::stress(20000, 200'000);
        auto c1 = make_chan<int>(), c2 = make_chan<int>(), c3 = make_chan<int>(), c4 = make_chan<int>();
        auto done = make_chan<bool>();
        auto cmux = make_chan<int>();

        goro::go([=]() mutable {
            for (int i = 0; i < n; ++i)
                goro::select(goro::send(c1, i), goro::send(c2, i), goro::send(c3, i), goro::send(c4, i));
            c1.close();
            c2.close();
            c3.close();
            c4.close();
        });
        for (auto in : {c1, c2, c3, c4})
            goro::go([in, cmux, done]() mutable {
                for (int v : in) cmux.send(v);
                done.send(true);
            });
        goro::go([done, cmux]() mutable {
            for (int k = 0; k < 4; ++k) done.recv();
            cmux.close();
        });

        std::vector<unsigned char> seen(static_cast<std::size_t>(n), 0);
        int received = 0, duplicates = 0, out_of_range = 0;
        for (int v : cmux) {
            ++received;
            if (v < 0 || v >= n) {
                ++out_of_range;
            } else if (seen[static_cast<std::size_t>(v)]++ != 0) {
                ++duplicates;
            }
        }
        CHECK(duplicates == 0);
        CHECK(out_of_range == 0);
        CHECK(received == n);
    });
}

// ---------------------------------------------------------------------------
// fifo

// Go's check: a buffered channel and a chain of receivers on an unbuffered one deliver in send order.
TEST_CASE("test/chan/fifo: buffered and unbuffered channels deliver values in the order sent") {
    for_each_procs([](int) {
        constexpr int N = 10;
        const int rounds = goro_test::stress(200, 2000);
        int buffered_wrong = 0;
        std::atomic<int> chained_wrong{0};
        for (int round = 0; round < rounds; ++round) {
            // Buffered: fill, then drain.
            auto buffered = make_chan<int>(N);
            for (int i = 0; i < N; ++i) buffered.send(i);
            for (int i = 0; i < N; ++i)
                if (buffered.recv() != i) ++buffered_wrong;

            // Unbuffered: N fibers, each waits for its predecessor's token,
            // takes one value and passes the token on.
            auto values = make_chan<int>();
            auto in = make_chan<int>();
            const auto start = in;
            for (int i = 0; i < N; ++i) {
                auto out = make_chan<int>();
                goro::go([values, i, in, out, &chained_wrong]() mutable {
                    in.recv();
                    if (values.recv() != i) chained_wrong.fetch_add(1);
                    out.send(1);
                });
                in = out;
            }
            auto first = start;
            first.send(0);
            for (int i = 0; i < N; ++i) values.send(i);
            in.recv();
        }
        CHECK(buffered_wrong == 0);
        CHECK(chained_wrong.load() == 0);
    });
}

// ---------------------------------------------------------------------------
// goroutines

// Go's check: a long chain of goroutines linked by unbuffered channels passes one value end to end and unwinds.
TEST_CASE("test/chan/goroutines: a long chain of fibers hands one value along and every fiber exits") {
    for_each_procs([](int) {
        int n = goro_test::stress(5000, 10'000);
        if (goro_test_tsan) n = std::min(n, 4000);  // TSan hosts about 8000 live fibers
        goro::wait_group exited;
        auto leftmost = make_chan<int>();
        auto left = leftmost;
        auto right = leftmost;
        for (int i = 0; i < n; ++i) {
            right = make_chan<int>();
            exited.add(1);
            goro::go([left, right, &exited]() mutable {
                left.send(right.recv().value_or(-1));
                exited.done();
            });
            left = right;
        }
        goro::go([right]() mutable { right.send(1); });
        CHECK(leftmost.recv() == 1);
        exited.wait();
    });
}

// ---------------------------------------------------------------------------
// nonblock

namespace {

// One nonblock.go round for one element type: a non-blocking receive on an
// empty channel finds nothing; a non-blocking send is retried until a
// receiver takes it; a non-blocking receive is retried until a sender's value
// arrives. `use_select` picks the form: select with default_case, or
// try_send/try_recv.
template <class T>
void nonblock_round(std::size_t buffer, bool use_select, const T& to_receiver, const T& to_main) {
    auto c = make_chan<T>(buffer);
    auto sync = make_chan<bool>();
    T v{};

    auto nonblocking_send = [&] {
        if (use_select) return goro::select(goro::send(c, to_receiver), goro::default_case()) == 0;
        return c.try_send(to_receiver);
    };
    auto nonblocking_recv = [&] {
        if (use_select) return goro::select(goro::recv(c, v), goro::default_case()) == 0;
        bool closed = true;
        auto got = c.try_recv(&closed);
        CHECK_FALSE(closed);
        if (got) v = std::move(*got);
        return got.has_value();
    };

    CHECK_FALSE(nonblocking_recv());

    goro::go([c, sync, to_receiver]() mutable {
        CHECK(c.recv() == to_receiver);
        sync.send(true);
    });
    CHECK(eventually(nonblocking_send));
    sync.recv();

    goro::go([c, sync, to_main]() mutable {
        c.send(to_main);
        sync.send(true);
    });
    if (buffer > 0) sync.recv();  // the send completed into the buffer
    CHECK(eventually(nonblocking_recv));
    CHECK(v == to_main);
    if (buffer == 0) sync.recv();
}

}  // namespace

// Go's check: select with default neither blocks nor loses values, for several element types, buffered and not.
TEST_CASE("test/chan/nonblock: non-blocking sends and receives complete once the other side is there") {
    for_each_procs([](int) {
        for (int buffer = 0; buffer < 2; ++buffer) {
            const auto cap = static_cast<std::size_t>(buffer);
            for (bool use_select : {true, false}) {
                nonblock_round<std::int32_t>(cap, use_select, 123, 234);
                nonblock_round<std::int64_t>(cap, use_select, 123456, 234567);
                nonblock_round<bool>(cap, use_select, true, true);
                nonblock_round<std::string>(cap, use_select, "hello", "hello again");
            }
        }
    });
}

// ---------------------------------------------------------------------------
// select

// Go's check: a select with default evaluates every send value, sends once per non-nil buffered channel, then defaults.
TEST_CASE("test/chan/select: select with default sends to each free channel once, then takes default") {
    for_each_procs([](int) {
        unsigned counter = 0, shift = 0;
        auto next_value = [&] {
            ++counter;
            return 1u << shift;
        };
        auto send_until_full = [&](chan<unsigned> a, chan<unsigned> b) {
            int sent = 0;
            for (;;) {
                const int k = goro::select(goro::send(a, next_value()), goro::send(b, next_value()),
                                           goro::default_case());
                if (k == 2) break;
                ++sent;
                (k == 0 ? a : b) = chan<unsigned>{};  // a nil channel is never ready again
                ++shift;
            }
            return sent;
        };

        auto a = make_chan<unsigned>(1), b = make_chan<unsigned>(1);
        CHECK(send_until_full(a, b) == 2);
        const auto av = a.recv(), bv = b.recv();
        CHECK((av.value_or(0) | bv.value_or(0)) == 3u);
        CHECK(send_until_full(a, chan<unsigned>{}) == 1);
        CHECK(counter == 10u);
    });
}

// ---------------------------------------------------------------------------
// select2

namespace {

// Bytes of C heap in use (glibc's mallinfo2), or -1 where that cannot be
// read or means nothing (sanitizer builds replace the allocator).
long long heap_in_use() {
#if GORO_TEST_HAVE_MALLINFO2
    if (!goro_test::sanitized) {
        const struct mallinfo2 info = mallinfo2();
        return static_cast<long long>(info.uordblks + info.hblkhd);
    }
#endif
    return -1;
}

}  // namespace

// Go's check: a second round of many selects (losing on an idle channel) does not grow the heap.
TEST_CASE("test/chan/select2: many selects on a busy and an idle channel take the busy one and leave no garbage") {
    for_each_procs([](int) {
        const int n = goro_test::stress(20000, 200'000);
        auto c = make_chan<int>(), dummy = make_chan<int>();
        int idle_taken = 0;
        bool sender_exited[2] = {false, false};
        long long heap_after[2] = {-1, -1};
        // Round 0 warms up; round 1 must not leave more on the heap than round 0 did.
        for (int round = 0; round < 2; ++round) {
            goro::go([c, n]() mutable {
                for (int i = 0; i < n; ++i) c.send(1);
            });
            for (int i = 0; i < n; ++i)
                if (goro::select(goro::recv(c), goro::recv(dummy)) != 0) ++idle_taken;
            sender_exited[round] = eventually([] { return goro_test::fibers_alive() == 1; });
            heap_after[round] = heap_in_use();
        }
        CHECK(idle_taken == 0);
        CHECK(sender_exited[0]);
        CHECK(sender_exited[1]);
        // Anything kept per select would be at least 8 bytes each time.
        if (heap_after[0] >= 0 && heap_after[1] >= 0)
            CHECK_MESSAGE(heap_after[1] - heap_after[0] < 8LL * n,
                          "heap grew by " << heap_after[1] - heap_after[0] << " bytes over " << n << " selects");
    });
}

// ---------------------------------------------------------------------------
// select3

namespace {

// Runs `op` on a fiber of its own and records whether it has returned. The
// fiber refers to the probe, which must outlive it or the runtime.
class probe {
public:
    template <class F>
    explicit probe(F op) {
        goro::go([this, op]() mutable {
            op();
            finished_.store(true);
        });
    }
    probe(const probe&) = delete;
    probe& operator=(const probe&) = delete;
    bool finished() const { return finished_.load(); }

private:
    std::atomic<bool> finished_{false};
};

}  // namespace

// Go's check: which channel operations and selects block, which never block, and which panic.
TEST_CASE("test/chan/select3: nil, closed, full, empty and self-matching operations block, proceed or panic as Go's") {
    for_each_procs([](int) {
        chan<int> nilch;
        auto closedch = make_chan<int>();
        closedch.close();

        // Operations that panic, or do not.
        CHECK_NOTHROW(CHECK(goro::select(goro::send(nilch, 7), goro::default_case()) == 1));
        CHECK_NOTHROW(CHECK(goro::select(goro::recv(nilch), goro::default_case()) == 1));
        CHECK_THROWS_AS(closedch.send(7), goro::panic_error);
        CHECK_THROWS_AS(goro::select(goro::send(closedch, 7)), goro::panic_error);

        // Operations that never block: each must finish on its own.
        {
            probe buffered_send([] {
                auto ch = make_chan<int>(1);
                ch.send(7);
            });
            probe closed_recv([closedch]() mutable {
                for (int i = 0; i < 10; ++i) {
                    CHECK_FALSE(closedch.recv().has_value());
                    int x = 5;
                    bool ok = true;
                    CHECK(goro::select(goro::recv(closedch, x, ok)) == 0);
                    CHECK(x == 0);
                    CHECK_FALSE(ok);
                }
            });
            probe default_only([] { CHECK(goro::select(goro::default_case()) == 0); });
            probe nil_recv_default([nilch] { CHECK(goro::select(goro::recv(nilch), goro::default_case()) == 1); });
            probe nil_send_default([nilch] { CHECK(goro::select(goro::send(nilch, 7), goro::default_case()) == 1); });
            probe ready_send([] {
                auto ch = make_chan<int>(1);
                CHECK(goro::select(goro::send(ch, 7), goro::default_case()) == 0);
            });
            probe ready_recv([] {
                auto ch = make_chan<int>(1);
                ch.send(7);
                int x = 0;
                CHECK(goro::select(goro::recv(ch, x), goro::default_case()) == 0);
                CHECK(x == 7);
            });
            probe closed_select([closedch] { CHECK(goro::select(goro::recv(closedch)) == 0); });
            probe closed_select_value([closedch] {
                int x = 5;
                CHECK(goro::select(goro::recv(closedch, x)) == 0);
                CHECK(x == 0);
            });
            probe closed_select_ok([closedch] {
                int x = 5;
                bool ok = true;
                CHECK(goro::select(goro::recv(closedch, x, ok)) == 0);
                CHECK(x == 0);
                CHECK_FALSE(ok);
            });
            for (const probe* p : {&buffered_send, &closed_recv, &default_only, &nil_recv_default,
                                   &nil_send_default, &ready_send, &ready_recv, &closed_select,
                                   &closed_select_value, &closed_select_ok})
                CHECK(eventually([p] { return p->finished(); }));
        }

        // Operations that always block. Those on nil channels and the empty
        // select can never be woken and stay blocked until the runtime ends;
        // the others are released afterwards and must then finish.
        probe nil_send([nilch]() mutable { nilch.send(7); });
        probe nil_recv([nilch]() mutable { nilch.recv(); });
        probe empty_select([] { goro::select(); });
        probe nil_select_recv([nilch] { goro::select(goro::recv(nilch)); });
        probe nil_select_send([nilch] { goro::select(goro::send(nilch, 7)); });
        probe nil_select_both([nilch] { goro::select(goro::recv(nilch), goro::send(nilch, 7)); });

        auto idle_recv = make_chan<int>();
        probe unbuffered_recv([idle_recv]() mutable { CHECK(idle_recv.recv() == 1); });
        auto idle_select = make_chan<int>();
        probe unbuffered_select([idle_select] {
            int x = 0;
            CHECK(goro::select(goro::recv(idle_select, x)) == 0);
            CHECK(x == 2);
        });
        // A select holding both ends of one unbuffered channel cannot match itself.
        auto self_a = make_chan<int>();
        probe self_select_a([self_a] {
            int x = 0;
            CHECK(goro::select(goro::send(self_a, 1), goro::recv(self_a, x)) == 0);  // released by a receiver
        });
        auto self_b = make_chan<int>();
        probe self_select_b([self_b] {
            int x = 0;
            CHECK(goro::select(goro::send(self_b, 1), goro::recv(self_b, x)) == 1);  // released by a sender
            CHECK(x == 3);
        });

        goro::sleep_for(20ms);
        CHECK_FALSE(nil_send.finished());
        CHECK_FALSE(nil_recv.finished());
        CHECK_FALSE(empty_select.finished());
        CHECK_FALSE(nil_select_recv.finished());
        CHECK_FALSE(nil_select_send.finished());
        CHECK_FALSE(nil_select_both.finished());
        CHECK_FALSE(unbuffered_recv.finished());
        CHECK_FALSE(unbuffered_select.finished());
        CHECK_FALSE(self_select_a.finished());
        CHECK_FALSE(self_select_b.finished());

        // The blocked fibers are parked, so a non-blocking operation meets them.
        CHECK(eventually([&] { return idle_recv.try_send(1); }));
        CHECK(eventually([&] { return idle_select.try_send(2); }));
        std::optional<int> got;
        CHECK(eventually([&] { return (got = self_a.try_recv()).has_value(); }));
        CHECK(got == 1);
        CHECK(eventually([&] { return self_b.try_send(3); }));
        CHECK(eventually([&] { return unbuffered_recv.finished(); }));
        CHECK(eventually([&] { return unbuffered_select.finished(); }));
        CHECK(eventually([&] { return self_select_a.finished(); }));
        CHECK(eventually([&] { return self_select_b.finished(); }));
    });
}

// ---------------------------------------------------------------------------
// select4

// Go's check: a select proceeds with the ready receive and assigns only that case's destination.
TEST_CASE("test/chan/select4: a select takes the ready receive and writes only its destination") {
    for_each_procs([](int) {
        for (int round = 0; round < 100; ++round) {
            struct {
                int a = 0;
            } x;
            int never_written = -1;
            auto c = make_chan<int>(1);
            auto c1 = make_chan<int>();
            c.send(42);
            CHECK(goro::select(goro::recv(c1, never_written), goro::recv(c, x.a)) == 1);
            CHECK(x.a == 42);
            CHECK(never_written == -1);
        }
    });
}

// ---------------------------------------------------------------------------
// select5

namespace {

// The channels of select5's generated program: c is buffered so one fiber can
// both send and receive; dummy never has a partner; nil is nil.
struct select5_env {
    chan<int> c = make_chan<int>(1);
    chan<int> dummy = make_chan<int>();
    chan<int> nil;
    int n = 1;  // the value of the current case
};

template <bool Include, class Make>
auto case_if([[maybe_unused]] Make make) {
    if constexpr (Include)
        return std::tuple(make());
    else
        return std::tuple<>();
}

// Never-ready cases chosen by Bits: 1 dummy <- 1, 2 <-dummy, 4 nil <- 1,
// 8 <-nil, 16 x = <-dummy, 32 x = <-nil.
template <unsigned Bits>
auto idle_cases(select5_env& s, int& x) {
    return std::tuple_cat(case_if<(Bits & 1u) != 0>([&] { return goro::send(s.dummy, 1); }),
                          case_if<(Bits & 2u) != 0>([&] { return goro::recv(s.dummy); }),
                          case_if<(Bits & 4u) != 0>([&] { return goro::send(s.nil, 1); }),
                          case_if<(Bits & 8u) != 0>([&] { return goro::recv(s.nil); }),
                          case_if<(Bits & 16u) != 0>([&] { return goro::recv(s.dummy, x); }),
                          case_if<(Bits & 32u) != 0>([&] { return goro::recv(s.nil, x); }));
}

// `real` with a default before it (Def 1), after it (Def 2) or none (Def 0),
// followed by the idle cases.
template <unsigned Def, unsigned Bits, class Case>
auto select5_cases(select5_env& s, int& x, Case real) {
    if constexpr (Def == 0)
        return std::tuple_cat(std::tuple(std::move(real)), idle_cases<Bits>(s, x));
    else if constexpr (Def == 1)
        return std::tuple_cat(std::tuple(goro::default_case(), std::move(real)), idle_cases<Bits>(s, x));
    else
        return std::tuple_cat(std::tuple(std::move(real), goro::default_case()), idle_cases<Bits>(s, x));
}

template <class Tuple>
int select_tuple(Tuple& cases) {
    return std::apply([](auto&... c) { return goro::select(c...); }, cases);
}

// Variant V (0..47) of the receive test: c holds n; the select must take the receive.
template <unsigned V>
void select5_recv(select5_env& s) {
    constexpr unsigned def = V % 3, bits = V / 3;
    s.c.send(s.n);
    int x = 0, unused = 0;
    auto cases = select5_cases<def, bits>(s, unused, goro::recv(s.c, x));
    const int chosen = select_tuple(cases);  // a goro call: never inside CHECK_MESSAGE
    CHECK_MESSAGE(chosen == (def == 1 ? 1 : 0), "static recv variant " << V);
    CHECK_MESSAGE(x == s.n, "static recv variant " << V);
    ++s.n;
}

// Variant V (0..47) of the send test: c has room; the select must take the send.
template <unsigned V>
void select5_send(select5_env& s) {
    constexpr unsigned def = V % 3, bits = V / 3;
    int unused = 0;
    auto cases = select5_cases<def, bits>(s, unused, goro::send(s.c, s.n));
    const int chosen = select_tuple(cases);
    const auto got = s.c.recv();
    CHECK_MESSAGE(chosen == (def == 1 ? 1 : 0), "static send variant " << V);
    CHECK_MESSAGE(got == s.n, "static send variant " << V);
    ++s.n;
}

// Variant V (0..63) of the non-blocking test: nothing is ready, so default
// runs and x is left alone. Odd variants put default first.
template <unsigned V>
void select5_nonblock(select5_env& s) {
    int x = s.n;
    auto cases = [&] {
        if constexpr ((V & 1u) != 0)
            return std::tuple_cat(std::tuple(goro::default_case()), idle_cases<V>(s, x));
        else
            return std::tuple_cat(idle_cases<V>(s, x), std::tuple(goro::default_case()));
    }();
    const int want = (V & 1u) != 0 ? 0 : std::popcount(V);
    const int chosen = select_tuple(cases);
    CHECK_MESSAGE(chosen == want, "static nonblock variant " << V);
    CHECK_MESSAGE(x == s.n, "static nonblock variant " << V);
    ++s.n;
}

template <unsigned... V>
void select5_static(select5_env& s, std::integer_sequence<unsigned, V...>) {
    (select5_recv<V>(s), ...);
    (select5_send<V>(s), ...);
}

template <unsigned... V>
void select5_static_nonblock(select5_env& s, std::integer_sequence<unsigned, V...>) {
    (select5_nonblock<V>(s), ...);
}

void add_idle_cases(std::vector<goro::select_case>& cases, unsigned bits, select5_env& s, int& x) {
    if (bits & 1u) cases.emplace_back(goro::send(s.dummy, 1));
    if (bits & 2u) cases.emplace_back(goro::recv(s.dummy));
    if (bits & 4u) cases.emplace_back(goro::send(s.nil, 1));
    if (bits & 8u) cases.emplace_back(goro::recv(s.nil));
    if (bits & 16u) cases.emplace_back(goro::recv(s.dummy, x));
    if (bits & 32u) cases.emplace_back(goro::recv(s.nil, x));
}

// The same three tests through the dynamic select, with every receive form.
void select5_dynamic(select5_env& s) {
    int unused = 0;
    for (unsigned def = 0; def < 3; ++def) {
        for (unsigned bits = 0; bits < 16; ++bits) {
            for (int form = 0; form < 3; ++form) {  // recv(c, x), recv(c, x, ok), recv(c)
                s.c.send(s.n);
                int x = 0;
                bool ok = false;
                std::vector<goro::select_case> cases;
                if (def == 1) cases.emplace_back(goro::default_case());
                const int real = static_cast<int>(cases.size());
                if (form == 0) cases.emplace_back(goro::recv(s.c, x));
                if (form == 1) cases.emplace_back(goro::recv(s.c, x, ok));
                if (form == 2) cases.emplace_back(goro::recv(s.c));
                if (def == 2) cases.emplace_back(goro::default_case());
                add_idle_cases(cases, bits, s, unused);
                const int chosen = goro::select(cases);
                CHECK_MESSAGE(chosen == real, "dynamic recv " << def << "/" << bits << "/" << form);
                if (form == 0) CHECK(x == s.n);
                if (form == 1) CHECK((x == s.n && ok));
                if (form == 2) CHECK(s.c.len() == 0u);
                ++s.n;
            }

            std::vector<goro::select_case> cases;
            if (def == 1) cases.emplace_back(goro::default_case());
            const int real = static_cast<int>(cases.size());
            cases.emplace_back(goro::send(s.c, s.n));
            if (def == 2) cases.emplace_back(goro::default_case());
            add_idle_cases(cases, bits, s, unused);
            const int chosen = goro::select(cases);
            CHECK_MESSAGE(chosen == real, "dynamic send " << def << "/" << bits);
            CHECK(s.c.recv() == s.n);
            ++s.n;
        }
    }
    for (unsigned bits = 0; bits < 64; ++bits) {
        for (bool default_first : {true, false}) {
            int x = s.n;
            std::vector<goro::select_case> cases;
            if (default_first) cases.emplace_back(goro::default_case());
            add_idle_cases(cases, bits, s, x);
            if (!default_first) cases.emplace_back(goro::default_case());
            const int want = default_first ? 0 : std::popcount(bits);
            const int chosen = goro::select(cases);
            CHECK_MESSAGE(chosen == want, "dynamic nonblock " << bits << "/" << default_first);
            CHECK(x == s.n);
            ++s.n;
        }
    }
}

}  // namespace

// Go's check: every combination of a real send or receive with default, idle and nil cases runs the right case.
TEST_CASE("test/chan/select5: generated selects with default, idle and nil cases run the one real case") {
    for_each_procs([](int) {
        select5_env s;
        // The plain operations the generated program also uses.
        s.c.send(s.n);
        CHECK(s.c.recv() == s.n);
        ++s.n;
        CHECK(s.c.try_send(s.n));
        CHECK(s.c.try_recv() == s.n);
        ++s.n;

        select5_static(s, std::make_integer_sequence<unsigned, 48>{});
        select5_static_nonblock(s, std::make_integer_sequence<unsigned, 64>{});
        select5_dynamic(s);
        CHECK(s.c.len() == 0u);
    });
}

// ---------------------------------------------------------------------------
// select6

// Go's check: a select that loses on a channel with other waiters leaves that channel's wait queue intact.
TEST_CASE("test/chan/select6: a select's losing case does not corrupt a wait queue shared with others") {
    for_each_procs([](int) {
        const int rounds = goro_test::stress(1000, 20'000);
        std::atomic<int> wrong_case{0};
        for (int round = 0; round < rounds; ++round) {
            auto c1 = make_chan<bool>(), c2 = make_chan<bool>(), c3 = make_chan<bool>();
            goro::wait_group finished;
            finished.add(3);
            goro::go([c1, &finished]() mutable {
                c1.recv();
                finished.done();
            });
            goro::go([c1, c2, c3, &finished, &wrong_case]() mutable {
                if (goro::select(goro::recv(c1), goro::recv(c2)) != 1) wrong_case.fetch_add(1);
                c3.send(true);
                c1.recv();
                finished.done();
            });
            goro::go([c2, &finished]() mutable {
                c2.send(true);
                finished.done();
            });
            c3.recv();
            c1.send(true);
            c1.send(true);
            finished.wait();
        }
        CHECK(wrong_case.load() == 0);
    });
}

// ---------------------------------------------------------------------------
// select7

namespace {

enum class form { plain, one_case_select, two_case_select };
constexpr form all_forms[] = {form::plain, form::one_case_select, form::two_case_select};

// Receives one value from c and drops it, in the given form.
void select7_receive(form f, chan<int> c) {
    switch (f) {
        case form::plain:
            c.recv();
            break;
        case form::one_case_select:
            CHECK(goro::select(goro::recv(c)) == 0);
            break;
        case form::two_case_select: {
            auto other = make_chan<int>();
            CHECK(goro::select(goro::recv(c), goro::recv(other)) == 0);
            break;
        }
    }
}

// Starts a receiver of form r, lets it run, then sends in form s.
void select7_pair(form s, form r) {
    auto c = make_chan<int>();
    goro::wait_group received;
    received.add(1);
    goro::go([r, c, &received] {
        select7_receive(r, c);
        received.done();
    });
    goro::yield();
    switch (s) {
        case form::plain:
            c.send(1);
            break;
        case form::one_case_select:
            CHECK(goro::select(goro::send(c, 1)) == 0);
            break;
        case form::two_case_select: {
            auto other = make_chan<int>();
            CHECK(goro::select(goro::send(c, 1), goro::send(other, 1)) == 0);
            break;
        }
    }
    received.wait();
}

}  // namespace

// Go's check: receives that discard the value work in plain, one-case and two-case select form against every send form.
TEST_CASE("test/chan/select7: receives that discard the value pair with every form of send") {
    for_each_procs([](int) {
        const int rounds = goro_test::stress(300, 5000);
        for (int round = 0; round < rounds; ++round)
            for (form r : all_forms)
                for (form s : all_forms) select7_pair(s, r);
    });
}

// ---------------------------------------------------------------------------
// select8

// Go's check: leaving a select case early (Go's break) works for one-, two- and three-case selects.
TEST_CASE("test/chan/select8: leaving a select case early works for selects of one, two and three cases") {
    for_each_procs([](int) {
        auto ch = make_chan<int>();
        auto quit = make_chan<unit>();
        goro::wait_group sender_done;
        sender_done.add(1);
        goro::go([ch, quit, &sender_done] {
            while (goro::select(goro::send(ch, 5), goro::recv(quit)) == 0) {
            }
            sender_done.done();
        });

        const int rounds = goro_test::stress(300, 5000);
        int unreachable = 0, wrong_value = 0;
        for (int round = 0; round < rounds; ++round) {
            int v = 0;
            switch (goro::select(goro::recv(ch, v))) {
                case 0:
                    if (v != 5) ++wrong_value;
                    break;
                default:
                    ++unreachable;
            }

            switch (goro::select(goro::default_case())) {
                case 0:
                    break;
                default:
                    ++unreachable;
            }

            v = 0;
            switch (goro::select(goro::recv(ch, v), goro::default_case())) {
                case 0:
                    if (v != 5) ++wrong_value;
                    break;
                case 1:
                    break;
                default:
                    ++unreachable;
            }

            // The send case has no partner but this select's own receive.
            v = 0;
            switch (goro::select(goro::recv(ch, v), goro::send(ch, 10), goro::default_case())) {
                case 0:
                    if (v != 5) ++wrong_value;
                    break;
                case 2:
                    break;
                default:
                    ++unreachable;
            }
        }
        CHECK(unreachable == 0);
        CHECK(wrong_value == 0);
        quit.close();
        sender_done.wait();
    });
}

// ---------------------------------------------------------------------------
// sendstmt

// Go's check: a send case whose channel is itself received from a channel, and sending the value of an expression.
TEST_CASE("test/chan/sendstmt: a send case on a channel received from a channel of channels") {
    for_each_procs([](int) {
        auto cc = make_chan<chan<int>>(1);
        auto c = make_chan<int>(1);
        cc.send(c);
        // The channel expression is evaluated before the select chooses, as in Go.
        CHECK(goro::select(goro::send(cc.recv().value_or(chan<int>{}), 2), goro::default_case()) == 0);
        CHECK(c.recv() == 2);

        auto b = make_chan<bool>(1);
        const bool no = false;
        b.send(no || true);
        CHECK(b.recv() == true);
    });
}

// ---------------------------------------------------------------------------
// sieve1

// Go's check: the daisy chain of filter goroutines yields the primes in order.
TEST_CASE("test/chan/sieve1: a daisy chain of filter fibers yields the primes in order") {
    for_each_procs([](int) {
        const int k = goro_test::stress(250, 1000);
        const std::vector<int> want = first_primes(k);
        auto primes = make_chan<int>();
        auto quit = make_chan<unit>();
        goro::wait_group running;

        running.add(1);
        goro::go([primes, quit, &running]() mutable {
            auto ch = make_chan<int>();
            running.add(1);
            goro::go([ch, quit, &running]() mutable {  // 2, 3, 4, ... until told to stop
                for (int i = 2; goro::select(goro::send(ch, i), goro::recv(quit)) == 0; ++i) {
                }
                ch.close();
                running.done();
            });
            for (;;) {
                const auto prime = ch.recv();
                if (!prime) break;
                if (goro::select(goro::send(primes, *prime), goro::recv(quit)) == 1) break;
                auto next = make_chan<int>();
                running.add(1);
                goro::go([ch, next, p = *prime, &running]() mutable {  // passes on what p does not divide
                    for (int i : ch)
                        if (i % p != 0) next.send(i);
                    next.close();
                    running.done();
                });
                ch = next;
            }
            // Drain the chain so every filter sees its input close and returns.
            for ([[maybe_unused]] int ignored : ch) {
            }
            running.done();
        });

        int wrong = 0;
        for (int p : want)
            if (primes.recv() != p) ++wrong;
        CHECK(wrong == 0);
        quit.close();
        running.wait();
    });
}

// ---------------------------------------------------------------------------
// sieve2

namespace {

// The odd numbers from 5 on.
chan<int> sieve2_odds(fiber_group& g) {
    auto out = make_chan<int>(50);
    g.go([&g, out]() mutable {
        for (int n = 5;; n += 2) g.send(out, n);
    });
    return out;
}

// The odd multiples of p from p*p on.
chan<int> sieve2_multiples(fiber_group& g, int p) {
    auto out = make_chan<int>(10);
    g.go([&g, out, p]() mutable {
        for (int n = p * p;; n += 2 * p) g.send(out, n);
    });
    return out;
}

// A channel whose sends never block for long: a fiber queues what arrives
// without bound and forwards it to `out` as `out` accepts.
chan<int> sieve2_sendproxy(fiber_group& g, chan<int> out) {
    auto proxy = make_chan<int>(10);
    g.go([&g, out, proxy]() mutable {
        std::deque<int> pending;
        for (;;) {
            chan<int> target = pending.empty() ? chan<int>{} : out;  // nil: nothing to forward
            const int head = pending.empty() ? 0 : pending.front();
            int e = 0;
            switch (goro::select(goro::recv(proxy, e), goro::send(target, head), goro::recv(g.quit()))) {
                case 0:
                    pending.push_back(e);
                    break;
                case 1:
                    pending.pop_front();
                    break;
                default:
                    return;
            }
        }
    });
    return proxy;
}

// The primes, from merging the multiples of every prime found so far into one
// ascending stream of composites and removing those from the odd numbers.
chan<int> sieve2_primes(fiber_group& g) {
    auto out = make_chan<int>(10);
    out.send(2);
    out.send(3);
    auto composites = make_chan<int>(50);
    auto primes = make_chan<int>(10);
    primes.send(3);

    g.go([&g, primes, composites]() mutable {
        struct peek {
            int head;
            chan<int> ch;
        };
        auto later = [](const peek& a, const peek& b) { return a.head > b.head; };
        std::priority_queue<peek, std::vector<peek>, decltype(later)> heap(later);
        int min = 15;
        for (;;) {
            auto m = sieve2_multiples(g, g.recv(primes));
            const int head = g.recv(m);
            while (min < head) {
                g.send(composites, min);
                peek next = heap.top();
                heap.pop();
                min = next.head;
                next.head = g.recv(next.ch);
                heap.push(std::move(next));
            }
            while (min == head) {
                peek next = heap.top();
                heap.pop();
                min = next.head;
                next.head = g.recv(next.ch);
                heap.push(std::move(next));
            }
            g.send(composites, head);
            const int first = g.recv(m);
            heap.push(peek{first, m});
        }
    });

    g.go([&g, primes, composites, out]() mutable {
        auto feedback = sieve2_sendproxy(g, primes);
        auto candidates = sieve2_odds(g);
        int p = g.recv(candidates);
        for (;;) {
            const int c = g.recv(composites);
            while (p < c) {
                g.send(feedback, p);
                g.send(out, p);
                p = g.recv(candidates);
            }
            if (p == c) p = g.recv(candidates);
        }
    });
    return out;
}

}  // namespace

// Go's check: the Eratosthenes sieve built from merged channels of multiples yields the primes in order.
TEST_CASE("test/chan/sieve2: a sieve of merged channels of multiples yields the primes in order") {
    for_each_procs([](int) {
        const int k = goro_test::stress(1000, 5000);
        const std::vector<int> want = first_primes(k);
        fiber_group g;
        auto primes = sieve2_primes(g);
        int wrong = 0;
        for (int p : want)
            if (primes.recv() != p) ++wrong;
        CHECK(wrong == 0);
        g.stop();
    });
}

// ---------------------------------------------------------------------------
// powser1

namespace {

// A rational number; den == 0 marks the end of a series.
struct rat {
    std::int64_t num = 0, den = 0;
    friend bool operator==(const rat&, const rat&) = default;
    friend std::ostream& operator<<(std::ostream& os, const rat& r) {
        if (r.den == 1) return os << r.num;
        return os << r.num << '/' << r.den;
    }
};

std::int64_t gcd(std::int64_t u, std::int64_t v) {
    if (u < 0) return gcd(-u, v);
    if (u == 0) return v;
    return gcd(v % u, u);
}

rat i2tor(std::int64_t u, std::int64_t v) {
    const std::int64_t g = gcd(u, v);
    if (v > 0) return {u / g, v / g};
    return {-u / g, -v / g};
}

rat itor(std::int64_t u) { return i2tor(u, 1); }

const rat zero = itor(0);
const rat one = itor(1);
const rat finis = i2tor(1, 0);

bool end(const rat& u) { return u.den == 0; }

rat add(const rat& u, const rat& v) {
    const std::int64_t g = gcd(u.den, v.den);
    return i2tor(u.num * (v.den / g) + v.num * (u.den / g), u.den * (v.den / g));
}

rat mul(const rat& u, const rat& v) {
    const std::int64_t g1 = gcd(u.num, v.den);
    const std::int64_t g2 = gcd(u.den, v.num);
    return {(u.num / g1) * (v.num / g2), (u.den / g2) * (v.den / g1)};
}

rat neg(const rat& u) { return i2tor(-u.num, u.den); }

// A power series on demand: a consumer sends on req, then receives the next
// coefficient on dat.
struct dch {
    chan<int> req = make_chan<int>();
    chan<rat> dat = make_chan<rat>();
};
// Two consumers' ends of one split series; split's fibers swap them.
using dch2 = std::shared_ptr<std::array<dch, 2>>;

dch2 mkdch2() { return std::make_shared<std::array<dch, 2>>(); }

// The fibers of one test and the request counter Go's version keeps globally.
struct ps_env {
    fiber_group g;
    std::atomic<int> seqno{0};
};

void put(ps_env& e, const rat& d, dch out) {
    e.g.recv(out.req);
    e.g.send(out.dat, d);
}

rat get(ps_env& e, dch in) {
    e.g.send(in.req, ++e.seqno);
    return e.g.recv(in.dat);
}

// One generation of a split: serves the next coefficient of `in` to both
// consumers, whichever asks first, and hands over to a newer generation.
void dosplit(ps_env& e, dch in, dch2 out, chan<int> wait) {
    bool both = false;
    switch (goro::select(goro::recv((*out)[0].req), goro::recv(wait), goro::recv(e.g.quit()))) {
        case 0:
            break;
        case 1:
            both = true;
            switch (goro::select(goro::recv((*out)[0].req), goro::recv((*out)[1].req), goro::recv(e.g.quit()))) {
                case 0:
                    break;
                case 1:
                    std::swap((*out)[0], (*out)[1]);
                    break;
                default:
                    throw quit_signal{};
            }
            break;
        default:
            throw quit_signal{};
    }
    e.g.send(in.req, ++e.seqno);
    auto release = make_chan<int>();
    e.g.go([&e, in, out, release] { dosplit(e, in, out, release); });
    const rat dat = e.g.recv(in.dat);
    e.g.send((*out)[0].dat, dat);
    if (!both) e.g.recv(wait);
    e.g.recv((*out)[1].req);
    e.g.send((*out)[1].dat, dat);
    e.g.send(release, 0);
}

void split(ps_env& e, dch in, dch2 out) {
    auto release = make_chan<int>();
    e.g.go([&e, in, out, release] { dosplit(e, in, out, release); });
    e.g.send(release, 0);
}

// One coefficient from each of two series, requested and received in
// whatever order they become ready.
std::array<rat, 2> get2(ps_env& e, dch in0, dch in1) {
    std::array<chan<int>, 2> req{in0.req, in1.req};
    std::array<chan<rat>, 2> dat{};
    std::array<rat, 2> out{};
    rat it{};
    for (int n = 4; n > 0; --n) {
        const int seq = ++e.seqno;
        switch (goro::select(goro::send(req[0], seq), goro::send(req[1], seq), goro::recv(dat[0], it),
                             goro::recv(dat[1], it), goro::recv(e.g.quit()))) {
            case 0:
                dat[0] = in0.dat;
                req[0] = {};
                break;
            case 1:
                dat[1] = in1.dat;
                req[1] = {};
                break;
            case 2:
                out[0] = it;
                dat[0] = {};
                break;
            case 3:
                out[1] = it;
                dat[1] = {};
                break;
            default:
                throw quit_signal{};
        }
    }
    return out;
}

void copy_series(ps_env& e, dch in, dch out) {
    for (;;) {
        e.g.recv(out.req);
        e.g.send(out.dat, get(e, in));
    }
}

// The series c, c, c, ...
dch Rep(ps_env& e, rat c) {
    dch z;
    e.g.go([&e, c, z] {
        for (;;) put(e, c, z);
    });
    return z;
}

dch2 Split(ps_env& e, dch u) {
    dch2 uu = mkdch2();
    e.g.go([&e, u, uu] { split(e, u, uu); });
    return uu;
}

dch Add(ps_env& e, dch u, dch v) {
    dch z;
    e.g.go([&e, u, v, z]() mutable {
        for (;;) {
            e.g.recv(z.req);
            const auto uv = get2(e, u, v);
            switch ((end(uv[0]) ? 1 : 0) + 2 * (end(uv[1]) ? 1 : 0)) {
                case 0:
                    e.g.send(z.dat, add(uv[0], uv[1]));
                    break;
                case 1:
                    e.g.send(z.dat, uv[1]);
                    copy_series(e, v, z);
                    break;
                case 2:
                    e.g.send(z.dat, uv[0]);
                    copy_series(e, u, z);
                    break;
                default:
                    e.g.send(z.dat, finis);
            }
        }
    });
    return z;
}

dch Cmul(ps_env& e, rat c, dch u) {
    dch z;
    e.g.go([&e, c, u, z]() mutable {
        for (bool done = false; !done;) {
            e.g.recv(z.req);
            const rat x = get(e, u);
            if (end(x))
                done = true;
            else
                e.g.send(z.dat, mul(c, x));
        }
        e.g.send(z.dat, finis);
    });
    return z;
}

dch Sub(ps_env& e, dch u, dch v) { return Add(e, u, Cmul(e, neg(one), v)); }

dch Mul(ps_env& e, dch u, dch v) {
    dch z;
    e.g.go([&e, u, v, z]() mutable {
        e.g.recv(z.req);
        const auto uv = get2(e, u, v);
        if (end(uv[0]) || end(uv[1])) {
            e.g.send(z.dat, finis);
            return;
        }
        e.g.send(z.dat, mul(uv[0], uv[1]));
        const dch2 uu = Split(e, u);
        const dch2 vv = Split(e, v);
        const dch w = Add(e, Cmul(e, uv[0], (*vv)[0]), Cmul(e, uv[1], (*uu)[0]));
        e.g.recv(z.req);
        e.g.send(z.dat, get(e, w));
        copy_series(e, Add(e, w, Mul(e, (*uu)[1], (*vv)[1])), z);
    });
    return z;
}

dch Diff(ps_env& e, dch u) {
    dch z;
    e.g.go([&e, u, z]() mutable {
        e.g.recv(z.req);
        rat x = get(e, u);
        if (!end(x)) {
            for (std::int64_t i = 1;; ++i) {
                x = get(e, u);
                if (end(x)) break;
                e.g.send(z.dat, mul(itor(i), x));
                e.g.recv(z.req);
            }
        }
        e.g.send(z.dat, finis);
    });
    return z;
}

dch Integ(ps_env& e, rat c, dch u) {
    dch z;
    e.g.go([&e, c, u, z]() mutable {
        put(e, c, z);
        for (std::int64_t i = 1;; ++i) {
            e.g.recv(z.req);
            const rat x = get(e, u);
            e.g.send(z.dat, mul(i2tor(1, i), x));
            if (end(x)) break;
        }
        e.g.send(z.dat, finis);
    });
    return z;
}

// exp(U) for U with constant term 0, from Z = integral of Z * U'.
dch Exp(ps_env& e, dch u) {
    const dch2 zz = mkdch2();
    split(e, Integ(e, one, Mul(e, (*zz)[0], Diff(e, u))), zz);
    return (*zz)[1];
}

// U(c0 * x^n).
dch MonSubst(ps_env& e, dch u, rat c0, int n) {
    dch z;
    e.g.go([&e, u, c0, n, z]() mutable {
        rat c = one;
        for (;;) {
            e.g.recv(z.req);
            const rat x = get(e, u);
            e.g.send(z.dat, mul(x, c));
            c = mul(c, c0);
            if (end(x)) {
                e.g.send(z.dat, finis);
                break;
            }
            for (int i = 1; i < n; ++i) {
                e.g.recv(z.req);
                e.g.send(z.dat, zero);
            }
        }
    });
    return z;
}

// Checks the first want.size() coefficients of the series u.
void check_series(ps_env& e, dch u, const std::vector<rat>& want, const char* name) {
    for (std::size_t i = 0; i < want.size(); ++i) {
        const rat got = get(e, u);
        CHECK_MESSAGE(got == want[i], std::string(name) << ", term " << i << ": got " << got << ", want " << want[i]);
    }
}

// Checks that the first `count` coefficients of u all equal c.
void check_series(ps_env& e, dch u, rat c, int count, const char* name) {
    check_series(e, u, std::vector<rat>(static_cast<std::size_t>(count), c), name);
}

}  // namespace

// Go's check: McIlroy's power series on demand channels (sums, products, derivatives, integrals, exp, substitution).
TEST_CASE("test/chan/powser1: power series computed by networks of demand-driven fibers") {
    for_each_procs([](int) {
        constexpr int N = 10;
        ps_env e;
        const dch ones = Rep(e, one);
        const dch twos = Rep(e, itor(2));

        // (Go's program takes no terms of the two sums and of Sub; five are checked here.)
        check_series(e, ones, one, 5, "Ones");
        check_series(e, Add(e, ones, ones), itor(2), 5, "Add(Ones, Ones)");
        check_series(e, Add(e, ones, twos), itor(3), 5, "Add(Ones, Twos)");

        std::vector<rat> want(N);
        for (int i = 0; i < N; ++i) want[static_cast<std::size_t>(i)] = itor(i + 1);
        check_series(e, Diff(e, ones), want, "Diff(Ones)");  // 1 2 3 4 ...

        want[0] = zero;
        for (int i = 1; i < N; ++i) want[static_cast<std::size_t>(i)] = i2tor(1, i);
        check_series(e, Integ(e, zero, ones), want, "Integ(0, Ones)");  // 0 1 1/2 1/3 ...

        check_series(e, Cmul(e, neg(one), twos), itor(-2), 10, "Cmul(-1, Twos)");
        check_series(e, Sub(e, ones, twos), itor(-1), 5, "Sub(Ones, Twos)");

        for (int i = 0; i < N; ++i) want[static_cast<std::size_t>(i)] = itor(i + 1);
        check_series(e, Mul(e, ones, ones), want, "Mul(Ones, Ones)");  // 1 2 3 4 ...

        want = {itor(1),        itor(1),          i2tor(3, 2),        i2tor(13, 6),       i2tor(73, 24),
                i2tor(167, 40), i2tor(4051, 720), i2tor(37633, 5040), i2tor(43817, 4480), i2tor(4596553, 362880)};
        check_series(e, Exp(e, ones), want, "Exp(Ones)");  // exp(x/(1-x)): 1 1 3/2 13/6 ...

        for (int c = 1, i = 0; i < N; ++i) {
            if (i % 2 == 0) {
                want[static_cast<std::size_t>(i)] = zero;
            } else {
                want[static_cast<std::size_t>(i)] = i2tor(c, i);
                c = -c;
            }
        }
        // atan x, the integral of 1/(1+x^2): 0 1 0 -1/3 0 1/5 ...
        check_series(e, Integ(e, zero, MonSubst(e, ones, neg(one), 2)), want, "Integ(0, MonSubst(Ones, -1, 2))");

        e.g.stop();
    });
}

// ---------------------------------------------------------------------------
// zerosize

// Go's check: channels of zero-sized element types can be made, buffered and unbuffered.
TEST_CASE("test/chan/zerosize: channels of empty types can be made and used") {
    for_each_procs([](int) {
        struct empty {};
        auto a = make_chan<std::array<unsigned char, 0>>();
        auto b = make_chan<std::array<unsigned char, 0>>(1);
        auto c = make_chan<unit>();
        auto d = make_chan<empty>(1);
        CHECK(a.cap() == 0u);
        CHECK(b.cap() == 1u);
        CHECK(c.cap() == 0u);
        CHECK(d.cap() == 1u);

        b.send({});
        CHECK(b.len() == 1u);
        CHECK(b.recv().has_value());
        d.send(empty{});
        CHECK(d.try_recv().has_value());

        goro::go([a, c]() mutable {
            a.send({});
            c.send(unit{});
            c.close();
        });
        CHECK(a.recv().has_value());
        CHECK(c.recv().has_value());
        CHECK_FALSE(c.recv().has_value());
        CHECK(b.len() == 0u);
    });
}

}  // TEST_SUITE("go test/chan")
