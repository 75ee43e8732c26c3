// tests/soak/churn.cpp — the runtime's own traffic for scripts/soak.sh:
// generation after generation of short-lived pipelines that use channels of
// every kind, select with timers and contexts, errgroups, semaphores,
// mutexes, conds and wait groups, with cancellations at random moments.
//
// It checks what Go promises: every value whose send completed is received
// exactly once (by a consumer, or found in a channel's buffer when the
// generation ends); a cancelled generation leaves no fiber behind. Once a
// second it prints "fibers N generations G values V" to stdout for the soak's
// samples; on SIGTERM or SIGINT it prints a last line and exits 0, or 1 at
// the first broken promise.
#include <goro/goro.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct tally {
    std::atomic<std::uint64_t> sent_count{0}, sent_sum{0};
    std::atomic<std::uint64_t> got_count{0}, got_sum{0};
    void sent(std::uint64_t v) {
        sent_count.fetch_add(1, std::memory_order_relaxed);
        sent_sum.fetch_add(v, std::memory_order_relaxed);
    }
    void got(std::uint64_t v) {
        got_count.fetch_add(1, std::memory_order_relaxed);
        got_sum.fetch_add(v, std::memory_order_relaxed);
    }
};

[[noreturn]] void broken(const char* what, unsigned long long generation) {
    std::printf("churn: FAIL in generation %llu: %s\n", generation, what);
    std::fflush(stdout);
    std::_Exit(1);
}

// One generation: producers feed consumers through channels of random
// capacity until the generation's context ends (a timeout, or a cancel from
// a random fiber), with a semaphore bounding the producers in flight.
void generation(unsigned long long number, std::uint64_t& values) {
    std::mt19937_64 rng(number * 0x9e3779b97f4a7c15ull + 1);
    const int channels = 1 + static_cast<int>(rng() % 4);
    const int producers = 2 + static_cast<int>(rng() % 6);
    const int consumers = 1 + static_cast<int>(rng() % 4);
    auto timeout = std::chrono::microseconds(200 + rng() % 5000);

    auto [ctx_pair, cancel_pair] = goro::with_timeout(goro::background(), timeout);
    const goro::context ctx = ctx_pair;
    const goro::cancel_func cancel = cancel_pair;
    std::vector<goro::chan<std::uint64_t>> chans;
    for (int i = 0; i < channels; ++i) chans.push_back(goro::make_chan<std::uint64_t>(rng() % 4));

    tally t;
    goro::semaphore in_flight(3);
    goro::mutex lock;
    goro::cond changed(lock);
    int producers_left = producers;

    goro::errgroup g(ctx);
    for (int p = 0; p < producers; ++p) {
        const std::uint64_t seed = rng();
        g.go([&, p, seed, ctx] {
            std::mt19937_64 local(seed);
            goro::send_chan<std::uint64_t> out = chans[static_cast<std::size_t>(p) % chans.size()];
            for (std::uint64_t i = 1;; ++i) {
                if (in_flight.acquire(ctx)) break;  // the context ended while waiting
                const std::uint64_t v = (static_cast<std::uint64_t>(p) << 40) | i;
                int chosen = goro::select(goro::send(out, v), goro::recv(ctx.done()));
                in_flight.release();
                if (chosen == 1) break;
                t.sent(v);
                if (local() % 64 == 0) goro::yield();
                if (local() % 512 == 0) cancel();  // a cancel from inside, as a failing request would
            }
            std::lock_guard<goro::mutex> hold(lock);
            --producers_left;
            changed.broadcast();
        });
    }
    for (int c = 0; c < consumers; ++c) {
        g.go([&, c, ctx] {
            goro::recv_chan<std::uint64_t> in = chans[static_cast<std::size_t>(c) % chans.size()];
            goro::ticker tick(std::chrono::microseconds(300));
            std::uint64_t v = 0;
            bool ok = false;
            for (;;) {
                switch (goro::select(goro::recv(in, v, ok), goro::recv(ctx.done()), goro::recv(tick.c))) {
                case 0: t.got(v); break;
                case 1: return;
                case 2: break;  // a tick: a timer on the same select
                }
            }
        });
    }
    // A waiter on the cond, as a supervisor would wait for its workers.
    goro::wait_group supervisor;
    supervisor.go([&] {
        std::unique_lock<goro::mutex> hold(lock);
        while (producers_left > 0) changed.wait();
    });
    g.wait();
    supervisor.wait();
    cancel();

    // Whatever is still buffered was sent and not received: it counts.
    for (auto& ch : chans)
        while (auto v = ch.try_recv()) t.got(*v);
    if (t.sent_count.load() != t.got_count.load() || t.sent_sum.load() != t.got_sum.load())
        broken("a value whose send completed was lost or received twice", number);
    values += t.got_count.load();
}

}  // namespace

int main() {
    return goro::run([]() -> int {
        auto stop = goro::make_chan<int>(1);
        goro::signal_notify(stop, {SIGTERM, SIGINT});
        std::atomic<unsigned long long> generations{0};
        std::atomic<std::uint64_t> values{0};
        auto done = goro::make_chan<int>();

        goro::go([&] {
            std::uint64_t mine = 0;
            for (unsigned long long n = 1; !stop.len(); ++n) {
                generation(n, mine);
                values.store(mine, std::memory_order_relaxed);
                generations.store(n, std::memory_order_relaxed);
            }
            done.close();
        });
        goro::ticker report(1s);
        for (;;) {
            if (goro::select(goro::recv(report.c), goro::recv(done)) == 1) break;
            std::printf("fibers %zu generations %llu values %llu\n", goro::num_fibers(), generations.load(),
                        static_cast<unsigned long long>(values.load()));
            std::fflush(stdout);
        }
        // The generation loop has returned: only this fiber and the signal
        // loop are left.
        for (int i = 0; i < 100 && goro::num_fibers() > 2; ++i) goro::sleep_for(10ms);
        const std::size_t left = goro::num_fibers();
        std::printf("churn: %llu generations, %llu values, each delivered exactly once; %zu fibers at the end\n",
                    generations.load(), static_cast<unsigned long long>(values.load()), left);
        return left <= 2 ? 0 : 1;
    });
}
