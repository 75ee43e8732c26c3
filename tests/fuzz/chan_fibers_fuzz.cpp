// chan_fibers_fuzz: many fibers on shared channels, checked for Go's central
// promise: every value whose send completed is received exactly once. The
// input chooses the worker count, the channels' capacities and a crowd of
// fibers: plain senders, senders that select over two channels (blocking,
// or with a default case and a yield), receivers that range over a channel,
// and receivers that select over two until both are closed, each yielding
// at chosen moments. Every channel always has one ranging receiver of its
// own, so every send completes; once all senders are done main closes the
// channels, the receivers drain them and stop, and the values received are
// compared with the values sent.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <goro/goro.hpp>

namespace {

struct program_reader {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t at = 0;
    bool done() const { return at >= size; }
    unsigned next() { return at < size ? data[at++] : 0; }
};

struct value_log {
    std::mutex lock;  // held for a push only, never across a goro call
    std::vector<int> values;
    void add(int v) {
        std::lock_guard<std::mutex> g(lock);
        values.push_back(v);
    }
};

void maybe_yield(unsigned every, int i) {
    if (every != 0 && i % static_cast<int>(every) == 0) goro::yield();
}

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "chan_fibers_fuzz: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    program_reader in{data, size};
    goro::config cfg;
    cfg.procs = 1 + static_cast<int>(in.next() % 2);
    const int channels = 1 + static_cast<int>(in.next() % 3);
    std::vector<std::size_t> caps;
    for (int i = 0; i < channels; ++i) caps.push_back(in.next() % 4);

    goro::run(cfg, [&] {
        std::vector<goro::chan<int>> chans;
        for (std::size_t cap : caps) chans.push_back(goro::make_chan<int>(cap));
        value_log sent, received;
        goro::wait_group senders, receivers;
        auto pick = [&](unsigned b) { return chans[b % chans.size()]; };

        // One ranging receiver per channel, so that every send completes.
        for (auto& ch : chans)
            receivers.go([ch, &received] {
                for (int v : ch) received.add(v);
            });

        for (int fiber = 0; fiber < 8 && !in.done(); ++fiber) {
            const unsigned kind = in.next() % 4;
            const goro::chan<int> a = pick(in.next()), b = pick(in.next());
            const int count = 1 + static_cast<int>(in.next() % 16);
            const unsigned yield_every = in.next() % 4;
            const int base = (fiber + 1) << 16;
            switch (kind) {
            case 0:  // a plain sender
                senders.go([=, &sent] {
                    for (int i = 0; i < count; ++i) {
                        a.send(base + i);
                        sent.add(base + i);
                        maybe_yield(yield_every, i);
                    }
                });
                break;
            case 1:  // a sender selecting over two channels, blocking or polling
                senders.go([=, &sent] {
                    for (int i = 0; i < count; ++i) {
                        const int v = base + i;
                        if (yield_every % 2 == 0) {
                            (void)goro::select(goro::send(a, v), goro::send(b, v));
                        } else {
                            while (goro::select(goro::send(a, v), goro::send(b, v), goro::default_case()) == 2)
                                goro::yield();
                        }
                        sent.add(v);
                        maybe_yield(yield_every, i);
                    }
                });
                break;
            case 2:  // another ranging receiver
                receivers.go([a, &received] {
                    for (int v : a) received.add(v);
                });
                break;
            case 3:  // a receiver selecting over two channels until both close
                receivers.go([=, &received] {
                    goro::chan<int> x = a, y = b == a ? goro::chan<int>{} : b;
                    int i = 0;
                    while (x || y) {
                        int v = 0;
                        bool ok = false;
                        const int chosen = goro::select(goro::recv(x, v, ok), goro::recv(y, v, ok));
                        if (!ok) {
                            (chosen == 0 ? x : y) = goro::chan<int>{};  // closed: never ready again
                            continue;
                        }
                        received.add(v);
                        maybe_yield(yield_every, ++i);
                    }
                });
                break;
            }
        }
        senders.wait();
        for (auto& ch : chans) ch.close();
        receivers.wait();

        std::sort(sent.values.begin(), sent.values.end());
        std::sort(received.values.begin(), received.values.end());
        if (std::adjacent_find(sent.values.begin(), sent.values.end()) != sent.values.end())
            fail("a value was reported sent twice");
        if (received.values != sent.values) fail("the values received are not exactly the values sent");
    });
    return 0;
}
