// tests/channels/stress_test.cpp — many fibers and several plain threads
// hammering shared channels (unbuffered and buffered) with random mixes of
// send, receive, try_send/try_recv, static and dynamic selects with and
// without default, range-for and close.
//
// Every value carries a unique id and every receipt is counted per id in a
// ledger, so the checks at the end are exact: nothing delivered twice,
// nothing lost, nothing invented. Channels are closed only once every sender
// has stopped, except in the test that races senders against close on
// purpose: there a sender that catches goro::panic_error records that its
// value was not delivered, and the receipts must match exactly the sends
// that reported success.
//
// Sizes follow goro_test::stress (short by default, full with
// GORO_LONG_TESTS=1, divided by 20 in sanitized builds). Randomised tests
// print their seed in failure messages.
#include <goro/goro.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "support/procs.hpp"

using namespace std::chrono_literals;
using goro_test::for_each_procs;
using goro_test::plain_thread;
using goro_test::stress;

namespace {

using value_t = std::uint32_t;

// How often each value id 0..size-1 was received; anything else is counted
// as corrupt.
class ledger {
public:
    explicit ledger(std::size_t size) : counts_(size) {}

    void received(value_t v) {
        if (v < counts_.size())
            counts_[v].fetch_add(1, std::memory_order_relaxed);
        else
            corrupt_.fetch_add(1, std::memory_order_relaxed);
    }

    std::size_t size() const { return counts_.size(); }
    int count(std::size_t v) const { return counts_[v].load(std::memory_order_relaxed); }
    int corrupt() const { return corrupt_.load(std::memory_order_relaxed); }

    // Ids received a number of times other than expected(id), and the first of them.
    template <class Expected>
    std::pair<std::size_t, long long> mismatches(Expected expected) const {
        std::size_t bad = 0;
        long long first = -1;
        for (std::size_t v = 0; v < counts_.size(); ++v) {
            if (count(v) != expected(v)) {
                if (bad == 0) first = static_cast<long long>(v);
                ++bad;
            }
        }
        return {bad, first};
    }

    std::size_t lost() const {
        return static_cast<std::size_t>(std::count_if(counts_.begin(), counts_.end(), [](const auto& c) { return c.load() == 0; }));
    }
    std::size_t duplicated() const {
        return static_cast<std::size_t>(std::count_if(counts_.begin(), counts_.end(), [](const auto& c) { return c.load() > 1; }));
    }

private:
    std::vector<std::atomic<int>> counts_;
    std::atomic<int> corrupt_{0};
};

using goro_test::fiber_group;

// Plain threads, each joinable from a fiber.
class thread_group {
public:
    template <class F>
    void start(F f) {
        threads_.push_back(std::make_unique<plain_thread>(std::move(f)));
    }
    void join() {
        for (auto& t : threads_) t->join();
        threads_.clear();
    }

private:
    std::vector<std::unique_ptr<plain_thread>> threads_;
};

// A small per-agent random source.
class dice {
public:
    explicit dice(std::uint64_t seed) : rng_(seed) {}
    int operator()(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
    std::size_t index(std::size_t n) { return static_cast<std::size_t>((*this)(static_cast<int>(n))); }

private:
    std::mt19937_64 rng_;
};

unsigned fresh_seed() { return std::random_device{}(); }

}  // namespace

TEST_SUITE("chan stress") {

// ---------------------------------------------------------------------------

TEST_CASE("stress: fibers and plain threads send, receive and select on shared channels of several capacities; every value arrives exactly once") {
    constexpr std::size_t K = 5;
    constexpr std::array<std::size_t, K> capacities{0, 0, 1, 3, 16};
    constexpr int fiber_producers = 24;
    constexpr int thread_producers = 3;
    constexpr int fiber_consumers = 12;  // the first one only drains
    constexpr int thread_consumers = 3;  // the first one only drains
    constexpr int producers = fiber_producers + thread_producers;
    const int per_producer = stress(3000, 50000);
    const unsigned seed = fresh_seed();

    for_each_procs([&](int procs) {
        std::vector<goro::chan<value_t>> chans;
        for (std::size_t cap : capacities) chans.push_back(goro::make_chan<value_t>(cap));
        ledger got(static_cast<std::size_t>(producers) * static_cast<std::size_t>(per_producer));
        std::atomic<int> unexpected_closed{0};  // a receive saw a close while senders were still running
        std::atomic<bool> closing{false};

        // Sends the ids index*per_producer ... +per_producer-1, each until
        // some operation reports it delivered; a failed non-blocking attempt
        // retries the same id later.
        auto producer = [&](int index) {
            dice roll(seed + static_cast<unsigned>(procs * 1000 + index));
            int seq = 0;
            while (seq < per_producer) {
                const auto v = static_cast<value_t>(index * per_producer + seq);
                const std::size_t a = roll.index(K);
                const std::size_t b = roll.index(K);
                const std::size_t c = roll.index(K);
                bool delivered = false;
                switch (roll(7)) {
                case 0:  // c <- v
                    chans[a].send(v);
                    delivered = true;
                    break;
                case 1:  // select { case c <- v: default: }
                    delivered = chans[a].try_send(v);
                    break;
                case 2:  // blocking select over two send cases (maybe the same channel twice)
                    goro::select(goro::send(chans[a], v), goro::send(chans[b], v));
                    delivered = true;
                    break;
                case 3:  // three send cases and default
                    delivered = goro::select(goro::send(chans[a], v), goro::send(chans[b], v),
                                             goro::send(chans[c], v), goro::default_case()) != 3;
                    break;
                case 4: {  // dynamic select over 1..K send cases, sometimes with default
                    std::vector<goro::select_case> cases;
                    const int k = 1 + roll(static_cast<int>(K));
                    for (int i = 0; i < k; ++i) cases.emplace_back(goro::send(chans[roll.index(K)], v));
                    const bool with_default = roll(2) == 0;
                    if (with_default) cases.emplace_back(goro::default_case());
                    const int chosen = goro::select(cases);
                    delivered = !(with_default && chosen == k);
                    break;
                }
                case 5: {  // send or receive, whichever comes first
                    value_t x = 0;
                    bool ok = false;
                    if (goro::select(goro::send(chans[a], v), goro::recv(chans[b], x, ok)) == 0) {
                        delivered = true;
                    } else if (ok) {
                        got.received(x);
                    } else {
                        ++unexpected_closed;
                    }
                    break;
                }
                default: {  // the same as a dynamic select with default
                    value_t x = 0;
                    bool ok = false;
                    std::vector<goro::select_case> cases;
                    cases.emplace_back(goro::recv(chans[b], x, ok));
                    cases.emplace_back(goro::default_case());
                    cases.emplace_back(goro::send(chans[a], v));
                    const int chosen = goro::select(cases);
                    if (chosen == 2) {
                        delivered = true;
                    } else if (chosen == 0) {
                        if (ok)
                            got.received(x);
                        else
                            ++unexpected_closed;
                    }
                    break;
                }
                }
                if (delivered)
                    ++seq;
                else if (roll(4) == 0)
                    goro::yield();
            }
        };

        // Receives until it has seen every channel closed. A draining consumer
        // only ever blocks in a select over all channels it has not seen
        // closed, so every blocked sender always has a counterpart; the
        // others also block on single channels.
        auto consumer = [&](int index, bool drain) {
            dice roll(seed + static_cast<unsigned>(procs * 1000 + 500 + index));
            std::vector<goro::chan<value_t>> open = chans;  // nil once seen closed
            std::size_t open_count = K;
            auto saw_closed = [&](std::size_t k) {
                if (!closing.load()) ++unexpected_closed;
                if (open[k]) {
                    open[k] = goro::chan<value_t>();
                    --open_count;
                }
            };
            auto random_open = [&] {
                std::size_t k = roll.index(K);
                while (!open[k]) k = (k + 1) % K;
                return k;
            };
            while (open_count > 0) {
                const int op = drain ? roll(2) : roll(7);
                switch (op) {
                case 0: {  // dynamic select over every channel (nil ones never fire)
                    std::array<value_t, K> vals{};
                    std::array<bool, K> oks{};
                    std::vector<goro::select_case> cases;
                    for (std::size_t k = 0; k < K; ++k) cases.emplace_back(goro::recv(open[k], vals[k], oks[k]));
                    const auto chosen = static_cast<std::size_t>(goro::select(cases));
                    if (oks[chosen])
                        got.received(vals[chosen]);
                    else
                        saw_closed(chosen);
                    break;
                }
                case 1: {  // static select over every channel
                    value_t v = 0;
                    bool ok = false;
                    const auto chosen = static_cast<std::size_t>(
                        goro::select(goro::recv(open[0], v, ok), goro::recv(open[1], v, ok), goro::recv(open[2], v, ok),
                                     goro::recv(open[3], v, ok), goro::recv(open[4], v, ok)));
                    if (ok)
                        got.received(v);
                    else
                        saw_closed(chosen);
                    break;
                }
                case 2: {  // v, ok := <-c
                    const std::size_t k = random_open();
                    if (auto v = open[k].recv())
                        got.received(*v);
                    else
                        saw_closed(k);
                    break;
                }
                case 3: {  // select { case v, ok := <-c: default: }
                    const std::size_t k = random_open();
                    bool closed = false;
                    if (auto v = open[k].try_recv(&closed))
                        got.received(*v);
                    else if (closed)
                        saw_closed(k);
                    else
                        goro::yield();
                    break;
                }
                case 4: {  // two receive cases and default
                    const std::size_t a = random_open();
                    const std::size_t b = random_open();
                    value_t v = 0;
                    bool ok = false;
                    const int chosen =
                        goro::select(goro::recv(open[a], v, ok), goro::recv(open[b], v, ok), goro::default_case());
                    if (chosen == 2)
                        goro::yield();
                    else if (ok)
                        got.received(v);
                    else
                        saw_closed(chosen == 0 ? a : b);
                    break;
                }
                case 5: {  // dynamic select over every channel with default
                    std::array<value_t, K> vals{};
                    std::array<bool, K> oks{};
                    std::vector<goro::select_case> cases;
                    cases.emplace_back(goro::default_case());
                    for (std::size_t k = 0; k < K; ++k) cases.emplace_back(goro::recv(open[k], vals[k], oks[k]));
                    const int chosen = goro::select(cases);
                    if (chosen == 0) {
                        goro::yield();
                    } else {
                        const auto k = static_cast<std::size_t>(chosen - 1);
                        if (oks[k])
                            got.received(vals[k]);
                        else
                            saw_closed(k);
                    }
                    break;
                }
                default: {  // for v := range c, for a few values
                    const std::size_t k = random_open();
                    int taken = 0;
                    for (value_t v : open[k]) {
                        got.received(v);
                        if (++taken == 3) break;
                    }
                    if (taken < 3) saw_closed(k);
                    break;
                }
                }
            }
        };

        fiber_group consumer_fibers;
        thread_group consumer_threads;
        for (int i = 0; i < fiber_consumers; ++i) consumer_fibers.go([&consumer, i] { consumer(i, i == 0); });
        for (int i = 0; i < thread_consumers; ++i)
            consumer_threads.start([&consumer, i, index = fiber_consumers + i] { consumer(index, i == 0); });

        fiber_group producer_fibers;
        thread_group producer_threads;
        for (int i = 0; i < fiber_producers; ++i) producer_fibers.go([&producer, i] { producer(i); });
        for (int i = 0; i < thread_producers; ++i)
            producer_threads.start([&producer, index = fiber_producers + i] { producer(index); });

        producer_fibers.wait();
        producer_threads.join();
        // Every sender has stopped: now the channels may close.
        closing = true;
        for (auto& c : chans) c.close();
        consumer_fibers.wait();
        consumer_threads.join();

        CHECK_MESSAGE(unexpected_closed.load() == 0, "seed " << seed);
        CHECK_MESSAGE(got.corrupt() == 0, "seed " << seed);
        const std::pair<std::size_t, long long> bad = got.mismatches([](std::size_t) { return 1; });
        CHECK_MESSAGE(bad.first == 0, "seed " << seed << ": " << got.lost() << " values lost, " << got.duplicated()
                                              << " delivered more than once; first bad id " << bad.second);
        for (auto& c : chans) CHECK(c.len() == 0);
    });
}

// ---------------------------------------------------------------------------

TEST_CASE("stress: senders racing close recover from panic_error; exactly the values whose send reported success are received, and one close wins") {
    constexpr int fiber_senders = 6;
    constexpr int thread_senders = 2;
    constexpr int senders = fiber_senders + thread_senders;
    constexpr int fiber_closers = 2;
    constexpr int thread_closers = 1;
    const int per_sender = stress(1000, 20000);
    const int rounds = stress(8, 100);  // closes raced per capacity
    const unsigned seed = fresh_seed();

    for_each_procs([&](int procs) {
        constexpr std::array<int, 3> capacities{0, 1, 8};
        for (int iteration = 0; iteration < rounds * 3; ++iteration) {
            const int cap = capacities[static_cast<std::size_t>(iteration) % capacities.size()];
            const int round = iteration / 3;
            auto c = goro::make_chan<value_t>(static_cast<std::size_t>(cap));
            auto never = goro::make_chan<value_t>();  // nobody uses it: its cases never fire
            const std::size_t ids = static_cast<std::size_t>(senders) * static_cast<std::size_t>(per_sender);
            ledger got(ids);
            std::vector<std::atomic<int>> accepted(ids);  // 1: the send reported success
            std::atomic<long long> received_total{0};
            std::atomic<int> senders_finished{0};
            std::atomic<int> send_panics{0};
            std::atomic<int> close_wins{0};
            std::atomic<int> close_losses{0};
            std::atomic<int> wrong_messages{0};
            std::atomic<int> impossible{0};  // a case that can never fire did
            const long long close_after = static_cast<long long>(ids) / 4;

            // Sends fresh ids with a random operation until the channel is
            // closed under it (or it has used all its ids).
            auto sender = [&](int index) {
                dice roll(seed + static_cast<unsigned>(procs * 100000 + round * 1000 + cap * 100 + index));
                for (int seq = 0; seq < per_sender; ++seq) {
                    const auto v = static_cast<value_t>(index * per_sender + seq);
                    bool delivered = false;
                    try {
                        switch (roll(6)) {
                        case 0:
                            c.send(v);
                            delivered = true;
                            break;
                        case 1:
                            delivered = c.try_send(v);
                            break;
                        case 2:
                            delivered = goro::select(goro::send(c, v), goro::default_case()) == 0;
                            break;
                        case 3: {  // blocks until sent or closed
                            const int chosen = goro::select(goro::recv(never), goro::send(c, v));
                            if (chosen == 0) ++impossible;
                            delivered = chosen == 1;
                            break;
                        }
                        case 4: {  // the same channel twice
                            goro::select(goro::send(c, v), goro::send(c, v));
                            delivered = true;
                            break;
                        }
                        default: {
                            std::vector<goro::select_case> cases;
                            cases.emplace_back(goro::recv(never));
                            cases.emplace_back(goro::send(c, v));
                            const bool with_default = roll(2) == 0;
                            if (with_default) cases.emplace_back(goro::default_case());
                            const int chosen = goro::select(cases);
                            if (chosen == 0) ++impossible;
                            delivered = chosen == 1;
                            break;
                        }
                        }
                    } catch (const goro::panic_error& e) {
                        if (std::string_view(e.what()) != "send on closed channel") ++wrong_messages;
                        ++send_panics;
                        break;  // closed: the value was not delivered, and no later one can be
                    }
                    if (delivered)
                        accepted[v].store(1);
                    else if (roll(4) == 0)
                        goro::yield();
                }
                ++senders_finished;
            };

            // Receivers drain the channel until it is closed and empty.
            auto receiver = [&](int kind) {
                if (kind == 0) {
                    for (value_t v : c) {
                        got.received(v);
                        ++received_total;
                    }
                } else if (kind == 1) {
                    for (;;) {
                        value_t v = 0;
                        bool ok = false;
                        if (goro::select(goro::recv(never), goro::recv(c, v, ok)) == 0) ++impossible;
                        if (!ok) break;
                        got.received(v);
                        ++received_total;
                    }
                } else {
                    while (auto v = c.recv()) {
                        got.received(*v);
                        ++received_total;
                    }
                }
            };

            // Closers wait until a quarter of the ids went through (or every
            // sender is done), then all try to close: exactly one may win.
            auto closer = [&] {
                goro_test::eventually(
                    [&] { return received_total.load() >= close_after || senders_finished.load() == senders; },
                    std::chrono::seconds(60));
                try {
                    c.close();
                    ++close_wins;
                } catch (const goro::panic_error& e) {
                    if (std::string_view(e.what()) != "close of closed channel") ++wrong_messages;
                    ++close_losses;
                }
            };

            fiber_group fibers;
            thread_group threads;
            fibers.go([&receiver] { receiver(0); });
            fibers.go([&receiver] { receiver(1); });
            threads.start([&receiver] { receiver(2); });
            for (int i = 0; i < fiber_senders; ++i) fibers.go([&sender, i] { sender(i); });
            for (int i = 0; i < thread_senders; ++i) threads.start([&sender, index = fiber_senders + i] { sender(index); });
            for (int i = 0; i < fiber_closers; ++i) fibers.go(closer);
            for (int i = 0; i < thread_closers; ++i) threads.start(closer);
            fibers.wait();
            threads.join();

            CHECK_MESSAGE(close_wins.load() == 1, "cap " << cap << ", round " << round << ", seed " << seed);
            CHECK_MESSAGE(close_losses.load() == fiber_closers + thread_closers - 1, "cap " << cap << ", round " << round << ", seed " << seed);
            CHECK_MESSAGE(wrong_messages.load() == 0, "cap " << cap << ", round " << round << ", seed " << seed);
            CHECK_MESSAGE(impossible.load() == 0, "cap " << cap << ", round " << round << ", seed " << seed);
            CHECK_MESSAGE(got.corrupt() == 0, "cap " << cap << ", round " << round << ", seed " << seed);
            const std::pair<std::size_t, long long> bad =
                got.mismatches([&](std::size_t v) { return accepted[v].load(); });
            CHECK_MESSAGE(bad.first == 0, "cap " << cap << ", round " << round << ", seed " << seed << ": " << bad.first
                                                 << " ids received a different number of times than their sends "
                                                    "succeeded; first "
                                                 << bad.second);
            CHECK(c.len() == 0);
            (void)send_panics.load();  // how many senders met the close depends on timing: not asserted
        }
    });
}

// ---------------------------------------------------------------------------

TEST_CASE("stress: a plain thread selecting against fibers (receive and send cases, static and dynamic, with and without default) loses and duplicates nothing") {
    const int n = stress(5000, 100000);
    constexpr int fiber_senders = 4;
    constexpr int fiber_receivers = 4;
    const unsigned seed = fresh_seed();

    for_each_procs([&](int procs) {
        auto from_fibers = goro::make_chan<value_t>();  // unbuffered
        auto to_fibers = goro::make_chan<value_t>(2);
        ledger at_thread(static_cast<std::size_t>(n));
        ledger at_fibers(static_cast<std::size_t>(n));
        std::atomic<int> unexpected_closed{0};

        fiber_group fibers;
        for (int s = 0; s < fiber_senders; ++s)
            fibers.go([&, s] {
                for (int v = s; v < n; v += fiber_senders) from_fibers.send(static_cast<value_t>(v));
            });
        for (int r = 0; r < fiber_receivers; ++r)
            fibers.go([&] {
                for (value_t v : to_fibers) at_fibers.received(v);
            });

        plain_thread thread([&] {
            dice roll(seed + static_cast<unsigned>(procs));
            goro::chan<value_t> in = from_fibers;  // nil once all n are in
            goro::chan<value_t> out = to_fibers;   // nil once all n are out
            int received = 0;
            value_t next = 0;
            while (in || out) {
                value_t v = 0;
                bool ok = false;
                int chosen = -1;
                switch (roll(3)) {
                case 0:
                    chosen = goro::select(goro::send(out, next), goro::recv(in, v, ok));
                    break;
                case 1:
                    chosen = goro::select(goro::recv(in, v, ok), goro::send(out, next), goro::default_case());
                    chosen = chosen == 0 ? 1 : chosen == 1 ? 0 : 2;
                    break;
                default: {
                    std::vector<goro::select_case> cases;
                    cases.emplace_back(goro::send(out, next));
                    cases.emplace_back(goro::recv(in, v, ok));
                    chosen = goro::select(cases);
                    break;
                }
                }
                if (chosen == 0) {
                    if (++next == static_cast<value_t>(n)) out = goro::chan<value_t>();
                } else if (chosen == 1) {
                    if (!ok) {
                        ++unexpected_closed;
                        in = goro::chan<value_t>();
                        continue;
                    }
                    at_thread.received(v);
                    if (++received == n) in = goro::chan<value_t>();
                } else {
                    goro::yield();
                }
            }
            to_fibers.close();
        });
        thread.join();
        fibers.wait();

        CHECK(unexpected_closed.load() == 0);
        CHECK(at_thread.corrupt() == 0);
        CHECK(at_fibers.corrupt() == 0);
        CHECK_MESSAGE(at_thread.mismatches([](std::size_t) { return 1; }).first == 0,
                      "seed " << seed << ", fibers -> thread: " << at_thread.lost() << " lost, " << at_thread.duplicated() << " duplicated");
        CHECK_MESSAGE(at_fibers.mismatches([](std::size_t) { return 1; }).first == 0,
                      "seed " << seed << ", thread -> fibers: " << at_fibers.lost() << " lost, " << at_fibers.duplicated() << " duplicated");
    });
}

// ---------------------------------------------------------------------------

TEST_CASE("stress: plain threads talking only to each other through channels while the runtime runs busy fibers") {
    const int n = stress(5000, 100000);
    const int side_n = std::max(1, n / 4);
    const int spin_n = std::max(1, n / 10);

    for_each_procs([&](int) {
        // Background load: ping-pong pairs of fibers until `stop` closes,
        // pausing now and then so that they do not starve the threads of CPU.
        auto stop = goro::make_chan<int>();
        std::atomic<int> background_errors{0};
        fiber_group fibers;
        for (int p = 0; p < 4; ++p) {
            auto ping = goro::make_chan<int>();
            auto pong = goro::make_chan<int>(p % 2);
            fibers.go([ping, pong, stop, &background_errors]() mutable {
                for (int i = 0;; ++i) {
                    if (goro::select(goro::send(ping, i), goro::recv(stop)) == 1) {
                        ping.close();
                        return;
                    }
                    if (pong.recv() != i + 1) ++background_errors;
                    if (i % 16 == 15) goro::sleep_for(100us);
                }
            });
            fibers.go([ping, pong]() mutable {
                for (int v : ping) pong.send(v + 1);
            });
        }

        // The threads: a pipeline (t1 -> a -> t2 -> b -> t3) where t2 also
        // selects over a side channel fed by t4, plus a pair exchanging
        // values with non-blocking operations only.
        auto a = goro::make_chan<value_t>();
        auto side = goro::make_chan<value_t>();
        auto b = goro::make_chan<value_t>(4);
        auto spin = goro::make_chan<value_t>(1);
        ledger through_pipeline(static_cast<std::size_t>(n + side_n));
        ledger through_spin(static_cast<std::size_t>(spin_n));

        thread_group threads;
        threads.start([&] {  // t1
            for (int v = 0; v < n; ++v) a.send(static_cast<value_t>(v));
            a.close();
        });
        threads.start([&] {  // t4
            for (int v = 0; v < side_n; ++v) side.send(static_cast<value_t>(n + v));
            side.close();
        });
        threads.start([&] {  // t2
            goro::chan<value_t> from_a = a;
            goro::chan<value_t> from_side = side;
            while (from_a || from_side) {
                value_t v = 0;
                bool ok = false;
                const int chosen = goro::select(goro::recv(from_a, v, ok), goro::recv(from_side, v, ok));
                if (!ok) {
                    (chosen == 0 ? from_a : from_side) = goro::chan<value_t>();
                    continue;
                }
                b.send(v);
            }
            b.close();
        });
        threads.start([&] {  // t3
            for (value_t v : b) through_pipeline.received(v);
        });
        threads.start([&] {  // the non-blocking sender
            for (int v = 0; v < spin_n;) {
                if (spin.try_send(static_cast<value_t>(v)))
                    ++v;
                else
                    goro::yield();
            }
            spin.close();
        });
        threads.start([&] {  // the non-blocking receiver
            for (;;) {
                bool closed = false;
                if (auto v = spin.try_recv(&closed)) {
                    through_spin.received(*v);
                } else if (closed) {
                    break;
                } else {
                    goro::yield();
                }
            }
        });
        threads.join();
        stop.close();
        fibers.wait();

        CHECK(background_errors.load() == 0);
        CHECK(through_pipeline.corrupt() == 0);
        CHECK(through_spin.corrupt() == 0);
        CHECK_MESSAGE(through_pipeline.mismatches([](std::size_t) { return 1; }).first == 0,
                      "pipeline: " << through_pipeline.lost() << " lost, " << through_pipeline.duplicated()
                                   << " duplicated");
        CHECK_MESSAGE(through_spin.mismatches([](std::size_t) { return 1; }).first == 0,
                      "try_send/try_recv: " << through_spin.lost() << " lost, " << through_spin.duplicated()
                                            << " duplicated");
    });
}

}  // TEST_SUITE("chan stress")
