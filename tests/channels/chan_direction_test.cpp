// tests/channels/chan_direction_test.cpp — a channel is a reference, so its
// operations are const (a by-value capture needs no `mutable`), and Go's
// directional channel types: goro::send_chan<T> (chan<- T) and
// goro::recv_chan<T> (<-chan T), made from a chan<T>, each with only its
// direction's operations, in functions and in select. What they must not do
// is checked at compile time: here with requires-expressions, and with the
// compilers' own diagnostics by go_perm_compile.cpp (Go's test/chan/perm.go).
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "support/procs.hpp"

using goro_test::for_each_procs;

namespace {

template <class C>
concept has_send = requires(const C& c, int v) { c.send(v); };
template <class C>
concept has_try_send = requires(const C& c, int v) { c.try_send(v); };
template <class C>
concept has_recv = requires(const C& c) { c.recv(); };
template <class C>
concept has_try_recv = requires(const C& c) { c.try_recv(); };
template <class C>
concept has_close = requires(const C& c) { c.close(); };
template <class C>
concept has_range = requires(const C& c) { c.begin(); };

// Every operation is callable on a const channel.
static_assert(has_send<goro::chan<int>> && has_try_send<goro::chan<int>> && has_recv<goro::chan<int>> &&
              has_try_recv<goro::chan<int>> && has_close<goro::chan<int>> && has_range<goro::chan<int>>);
// chan<- T: send, try_send, close; no receiving.
static_assert(has_send<goro::send_chan<int>> && has_try_send<goro::send_chan<int>> && has_close<goro::send_chan<int>>);
static_assert(!has_recv<goro::send_chan<int>> && !has_try_recv<goro::send_chan<int>> && !has_range<goro::send_chan<int>>);
// <-chan T: recv, try_recv, range; no sending and no close.
static_assert(has_recv<goro::recv_chan<int>> && has_try_recv<goro::recv_chan<int>> && has_range<goro::recv_chan<int>>);
static_assert(!has_send<goro::recv_chan<int>> && !has_try_send<goro::recv_chan<int>> && !has_close<goro::recv_chan<int>>);
// Go's assignability: chan T to either direction, never back or across.
static_assert(std::is_convertible_v<goro::chan<int>, goro::send_chan<int>>);
static_assert(std::is_convertible_v<goro::chan<int>, goro::recv_chan<int>>);
static_assert(std::is_convertible_v<const goro::chan<int>&, goro::recv_chan<int>>);
static_assert(!std::is_convertible_v<goro::send_chan<int>, goro::chan<int>>);
static_assert(!std::is_convertible_v<goro::recv_chan<int>, goro::chan<int>>);
static_assert(!std::is_convertible_v<goro::send_chan<int>, goro::recv_chan<int>>);
static_assert(!std::is_convertible_v<goro::recv_chan<int>, goro::send_chan<int>>);
static_assert(!std::is_convertible_v<goro::chan<long>, goro::send_chan<int>>);
// No bool conversion that would let `if (c == 0)` or `int n = c` compile.
static_assert(!std::is_convertible_v<goro::send_chan<int>, bool>);
static_assert(!std::is_convertible_v<goro::recv_chan<int>, bool>);

// Functions that take only the direction they need, as Go code does.
void produce(goro::send_chan<int> out, int from, int to) {
    for (int i = from; i <= to; ++i) out.send(i);
    out.close();
}

long long consume(goro::recv_chan<int> in) {
    long long sum = 0;
    for (int v : in) sum += v;
    return sum;
}

// The pipeline stage of Go's sieve, with both directions in its signature.
void square(goro::recv_chan<int> in, goro::send_chan<int> out) {
    while (auto v = in.recv()) out.send(*v * *v);
    out.close();
}

}  // namespace

TEST_CASE("chan: operations are const: a channel captured by value needs no mutable") {
    for_each_procs([](int) {
        const auto c = goro::make_chan<int>();
        const auto done = goro::make_chan<long long>(1);
        goro::go([c] {  // not mutable: c is const inside
            for (int i = 1; i <= 10; ++i) c.send(i);
            c.close();
        });
        goro::go([c, done] {
            long long sum = 0;
            for (int v : c) sum += v;
            done.send(sum);
        });
        CHECK(done.recv() == 55);

        const auto b = goro::make_chan<std::unique_ptr<int>>(2);
        auto probe = [b] {
            CHECK(b.try_send(std::make_unique<int>(1)));
            CHECK(b.len() == 1);
            CHECK(b.cap() == 2);
            bool closed = true;
            auto p = b.try_recv(&closed);
            CHECK(p.has_value());
            CHECK_FALSE(closed);
            CHECK_FALSE(b.try_recv(&closed));
            CHECK_FALSE(closed);
            b.close();
            CHECK_FALSE(b.recv());
        };
        probe();
    });
}

TEST_CASE("send_chan, recv_chan: made from a chan, each does its own direction") {
    for_each_procs([](int) {
        auto c = goro::make_chan<int>(4);
        goro::send_chan<int> out = c;
        goro::recv_chan<int> in = c;
        CHECK(out == c);
        CHECK(c == out);
        CHECK(in == c);
        CHECK(c == in);
        CHECK(static_cast<bool>(out));
        CHECK(static_cast<bool>(in));
        CHECK_FALSE(out == goro::send_chan<int>(goro::make_chan<int>()));

        out.send(1);
        CHECK(out.try_send(2));
        CHECK(out.len() == 2);
        CHECK(in.len() == 2);
        CHECK(out.cap() == 4);
        CHECK(in.cap() == 4);
        CHECK(in.recv() == 1);
        bool closed = true;
        CHECK(in.try_recv(&closed) == 2);
        CHECK_FALSE(closed);
        CHECK_FALSE(in.try_recv(&closed));
        out.close();
        CHECK_FALSE(in.recv());
        CHECK_FALSE(in.try_recv(&closed));
        CHECK(closed);
        CHECK_THROWS_WITH_AS(out.send(3), "send on closed channel", goro::panic_error);

        // A view keeps the channel alive by itself, as a chan does.
        goro::recv_chan<std::string> only_view;
        {
            auto s = goro::make_chan<std::string>(1);
            s.send("kept");
            only_view = s;
        }
        CHECK(only_view.recv() == "kept");

        // Nil views: false, equal to each other, blocking-free try operations.
        goro::send_chan<int> nil_out;
        goro::recv_chan<int> nil_in;
        CHECK_FALSE(nil_out);
        CHECK_FALSE(nil_in);
        CHECK(nil_out == goro::send_chan<int>(goro::chan<int>{}));
        CHECK(nil_out.len() == 0);
        CHECK_FALSE(nil_out.try_send(1));
        CHECK_FALSE(nil_in.try_recv());
        CHECK_THROWS_WITH_AS(nil_out.close(), "close of nil channel", goro::panic_error);
    });
}

TEST_CASE("send_chan, recv_chan: function parameters of a pipeline") {
    for_each_procs([](int) {
        auto numbers = goro::make_chan<int>();
        auto squares = goro::make_chan<int>(3);
        goro::go(produce, numbers, 1, 100);  // chan<int> converts to send_chan<int>
        goro::go(square, numbers, squares);
        CHECK(consume(squares) == 338350);  // 1^2 + ... + 100^2
    });
}

TEST_CASE("send_chan, recv_chan: select cases, lvalues and temporaries, static and dynamic") {
    for_each_procs([](int) {
        auto c = goro::make_chan<int>(1);
        auto d = goro::make_chan<int>(1);
        goro::send_chan<int> out = c;
        goro::recv_chan<int> in = d;

        // A send on out, a receive on in; only the send is ready.
        int v = -1;
        bool ok = false;
        CHECK(goro::select(goro::send(out, 7), goro::recv(in, v, ok)) == 0);
        CHECK(c.recv() == 7);
        d.send(8);
        CHECK(goro::select(goro::recv(in, v, ok), goro::send(goro::send_chan<int>(), 1)) == 0);
        CHECK(v == 8);
        CHECK(ok);

        // Temporaries: the case owns its reference to the channel.
        d.send(9);
        CHECK(goro::select(goro::recv(goro::recv_chan<int>(d), v), goro::default_case()) == 0);
        CHECK(v == 9);
        CHECK(goro::select(goro::send(goro::send_chan<int>(c), 10), goro::default_case()) == 0);
        CHECK(c.recv() == 10);

        // A blocked select on views, completed from another fiber.
        goro::go([d] { d.send(11); });
        CHECK(goro::select(goro::recv(in, v), goro::recv(goro::recv_chan<int>())) == 0);
        CHECK(v == 11);

        // Closed: recv through a view reports it.
        d.close();
        CHECK(goro::select(goro::recv(in, v, ok)) == 0);
        CHECK(v == 0);
        CHECK_FALSE(ok);

        // The dynamic form.
        std::vector<goro::select_case> cases;
        cases.emplace_back(goro::recv(goro::recv_chan<int>(goro::make_chan<int>())));
        cases.emplace_back(goro::send(out, 12));
        CHECK(goro::select(cases) == 1);
        CHECK(c.recv() == 12);
    });
}
