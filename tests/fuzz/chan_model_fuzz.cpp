// chan_model_fuzz: channels and select against a reference model. The input
// is a program of operations on five channels of int (unbuffered, buffered
// of capacity 1, 2 and 3, and nil), run by one fiber inside goro::run with
// one P; every result is compared with a std::deque per channel.
//
// One fiber means nobody ever waits on the other side, so Go's semantics
// reduce to: an unbuffered channel never accepts a try_send; a buffered one
// accepts while it has room; a receive takes the oldest value, or reports
// closed once the channel is closed and drained; a send on a closed
// channel panics "send on closed channel"; close of a closed (nil) channel
// panics. A select with several ready cases may pick any of them, so the
// model checks that the chosen case was ready and then applies its effect.
// Blocking operations run only where the model says they cannot block.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <goro/goro.hpp>

namespace {

constexpr int channel_count = 5;  // caps 0, 1, 2, 3, and the nil channel last

struct model {
    std::deque<int> buffer;
    std::size_t cap = 0;
    bool closed = false;
    bool nil = false;

    bool send_ready() const { return !nil && (closed || buffer.size() < cap); }  // closed: ready to panic
    bool recv_ready() const { return !nil && (closed || !buffer.empty()); }
};

// The program's bytes, read one at a time; zeros once they run out.
struct reader {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t at = 0;
    bool done() const { return at >= size; }
    unsigned next() { return at < size ? data[at++] : 0; }
};

[[noreturn]] void fail(const char* what, std::size_t step) {
    std::fprintf(stderr, "chan_model_fuzz: %s (operation at byte %zu)\n", what, step);
    std::abort();
}

void check(bool ok, const char* what, std::size_t step) {
    if (!ok) fail(what, step);
}

// Runs `op`, which must throw goro::panic_error with `message` exactly when
// `should_panic`; true if it returned normally.
template <class Op>
bool expect_panic(bool should_panic, const char* message, std::size_t step, Op op) {
    try {
        op();
    } catch (const goro::panic_error& e) {
        check(should_panic, "an unexpected panic", step);
        check(std::string(e.what()) == message, "a panic with the wrong message", step);
        return false;
    }
    check(!should_panic, "no panic where Go panics", step);
    return true;
}

// A received value against the model's oldest one (the model pops it).
void check_received(model& m, std::optional<int> got, bool closed_flag, std::size_t step) {
    if (!m.buffer.empty()) {
        check(got.has_value() && *got == m.buffer.front(), "received the wrong value", step);
        check(!closed_flag, "closed reported with values buffered", step);
        m.buffer.pop_front();
    } else {
        check(!got.has_value(), "received a value from an empty channel", step);
    }
}

struct select_spec {
    bool is_send;
    int ch;
};

// A select with a default over 2 or 3 cases, in its dynamic form
// (goro::select_case) or, for two cases, the variadic one.
void run_select(reader& in, std::vector<goro::chan<int>>& chans, std::vector<model>& models, int& next_value,
                std::size_t step) {
    const int count = 2 + static_cast<int>(in.next() % 2);
    const bool variadic = count == 2 && in.next() % 2 == 0;
    std::vector<select_spec> specs;
    for (int i = 0; i < count; ++i) {
        const unsigned b = in.next();
        specs.push_back({(b & 1) != 0, static_cast<int>((b >> 1) % channel_count)});
    }
    int values[3] = {};
    int outs[3] = {-1, -1, -1};
    bool oks[3] = {true, true, true};
    bool any_ready = false, any_closed_send = false;
    for (int i = 0; i < count; ++i) {
        const model& m = models[static_cast<std::size_t>(specs[static_cast<std::size_t>(i)].ch)];
        if (specs[static_cast<std::size_t>(i)].is_send) {
            values[i] = next_value++;
            any_ready = any_ready || m.send_ready();
            any_closed_send = any_closed_send || (!m.nil && m.closed);
        } else {
            any_ready = any_ready || m.recv_ready();
        }
    }

    int chosen = -2;
    bool panicked = false;
    try {
        if (variadic) {
            // The variadic form wants the case types at compile time: spell the four mixes.
            const select_spec& a = specs[0];
            const select_spec& b = specs[1];
            const goro::chan<int>& ca = chans[static_cast<std::size_t>(a.ch)];
            const goro::chan<int>& cb = chans[static_cast<std::size_t>(b.ch)];
            if (!a.is_send && !b.is_send)
                chosen = goro::select(goro::recv(ca, outs[0], oks[0]), goro::recv(cb, outs[1], oks[1]), goro::default_case());
            else if (!a.is_send)
                chosen = goro::select(goro::recv(ca, outs[0], oks[0]), goro::send(cb, values[1]), goro::default_case());
            else if (!b.is_send)
                chosen = goro::select(goro::send(ca, values[0]), goro::recv(cb, outs[1], oks[1]), goro::default_case());
            else
                chosen = goro::select(goro::send(ca, values[0]), goro::send(cb, values[1]), goro::default_case());
        } else {
            std::vector<goro::select_case> cases;
            for (int i = 0; i < count; ++i) {
                const select_spec& s = specs[static_cast<std::size_t>(i)];
                const goro::chan<int>& c = chans[static_cast<std::size_t>(s.ch)];
                if (s.is_send) cases.emplace_back(goro::send(c, values[i]));
                else cases.emplace_back(goro::recv(c, outs[i], oks[i]));
            }
            cases.emplace_back(goro::default_case());
            chosen = goro::select(cases);
        }
    } catch (const goro::panic_error& e) {
        check(std::string(e.what()) == "send on closed channel", "select panicked with the wrong message", step);
        panicked = true;
    }
    if (panicked) {
        // Go panics when it picks a send case on a closed channel, with no other effect.
        check(any_closed_send, "select panicked without a send case on a closed channel", step);
        return;
    }
    if (chosen == count) {
        check(!any_ready, "select took default with a case ready", step);
        return;
    }
    check(chosen >= 0 && chosen < count, "select returned no case's index", step);
    const select_spec& s = specs[static_cast<std::size_t>(chosen)];
    model& m = models[static_cast<std::size_t>(s.ch)];
    if (s.is_send) {
        check(m.send_ready() && !m.closed, "select sent on a channel that was not ready", step);
        m.buffer.push_back(values[chosen]);
    } else {
        check(m.recv_ready(), "select received from a channel that was not ready", step);
        if (!m.buffer.empty()) {
            check(oks[chosen] && outs[chosen] == m.buffer.front(), "select received the wrong value", step);
            m.buffer.pop_front();
        } else {
            check(!oks[chosen] && outs[chosen] == 0, "select on a closed channel did not give 0, false", step);
        }
    }
}

void run_program(reader& in) {
    std::vector<goro::chan<int>> chans;
    std::vector<model> models(channel_count);
    for (int i = 0; i < channel_count - 1; ++i) {
        chans.push_back(goro::make_chan<int>(static_cast<std::size_t>(i)));
        models[static_cast<std::size_t>(i)].cap = static_cast<std::size_t>(i);
    }
    chans.emplace_back();  // nil
    models.back().nil = true;
    int next_value = 1;

    while (!in.done()) {
        const std::size_t step = in.at;
        const unsigned op = in.next() % 8;
        const std::size_t ch = in.next() % channel_count;
        const goro::chan<int>& c = chans[ch];
        model& m = models[ch];
        switch (op) {
        case 0: {  // select { case c <- v: ...; default: }
            const int v = next_value++;
            bool sent = false;
            if (expect_panic(!m.nil && m.closed, "send on closed channel", step, [&] { sent = c.try_send(v); })) {
                check(sent == m.send_ready(), "try_send disagrees with the model", step);
                if (sent) m.buffer.push_back(v);
            }
            break;
        }
        case 1: {  // select { case v, ok := <-c: ...; default: }
            bool closed = false;
            const std::optional<int> got = c.try_recv(&closed);
            const bool drained_closed = !m.nil && m.closed && m.buffer.empty();
            check(closed == drained_closed, "try_recv's closed flag disagrees with the model", step);
            check_received(m, got, closed, step);
            break;
        }
        case 2:  // len(c), cap(c)
            check(c.len() == m.buffer.size(), "len disagrees with the model", step);
            check(c.cap() == m.cap, "cap disagrees with the model", step);
            break;
        case 3: {  // close(c)
            const bool should_panic = m.nil || m.closed;
            const char* message = m.nil ? "close of nil channel" : "close of closed channel";
            if (expect_panic(should_panic, message, step, [&] { c.close(); })) m.closed = true;
            break;
        }
        case 4:
        case 5:
            run_select(in, chans, models, next_value, step);
            break;
        case 6:  // v, ok := <-c, only where it cannot block
            if (m.recv_ready()) {
                const bool drained_closed = m.closed && m.buffer.empty();
                const std::optional<int> got = c.recv();
                check(got.has_value() != drained_closed, "recv disagrees with the model", step);
                check_received(m, got, drained_closed, step);
            }
            break;
        case 7:  // c <- v, only where it cannot block; or a range over a closed channel
            if (m.recv_ready() && m.closed) {
                for (int v : c) {
                    check(!m.buffer.empty() && v == m.buffer.front(), "range received the wrong value", step);
                    m.buffer.pop_front();
                }
                check(m.buffer.empty(), "range stopped before the channel was drained", step);
            } else if (m.send_ready() && !m.closed) {
                const int v = next_value++;
                c.send(v);
                m.buffer.push_back(v);
            }
            break;
        }
    }
    for (std::size_t i = 0; i < chans.size(); ++i)
        check(chans[i].len() == models[i].buffer.size(), "len at the end disagrees with the model", in.at);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) return 0;  // a longer program finds nothing a short one does not, slower
    reader in{data, size};
    goro::run(goro::config{.procs = 1}, [&in] { run_program(in); });
    return 0;
}
