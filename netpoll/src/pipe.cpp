// netpoll/src/pipe.cpp — net::pipe (Go's net.Pipe): two conns joined by two
// io pipe cores, one per direction, each end with its own deadlines.
//
// Invariants:
//   - An end reads from `rx` and writes to `tx`; its peer holds the same two
//     cores the other way round, and the shared pair keeps them alive while
//     either end exists.
//   - close() marks the end closed (`closed`, atomic: read without a lock on
//     every call) and then closes its sides of both cores: the peer's reads
//     see EOF, the peer's writes closed_pipe. A call that finds `closed`
//     set, before or after it waited, fails with errc::closed, as on a
//     socket closed locally.
//   - shutdown(write) closes the writer side of tx (the peer reads EOF, our
//     writes fail with closed_pipe, as EPIPE after SHUT_WR); shutdown(read)
//     closes the reader side of rx (the peer's writes fail) and sets
//     `read_shut`, after which our reads end in EOF, as after SHUT_RD.
//   - A deadline (pipe_deadline) is a channel closed when it passes; its
//     lock guards the channel, whether it is closed, the timer that will
//     close it and the timer's generation. Setting a deadline stops the old
//     timer; a closed channel is replaced by a fresh one, an open one is
//     kept, so calls already waiting on it see the new deadline (Go's
//     pipeDeadline). A timer that fires after it was superseded finds a
//     newer generation and does nothing; it holds only a weak reference, so
//     a pending timer never keeps a dropped end alive.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <variant>

#include <goro/panic.hpp>
#include <goro/chan.hpp>
#include <goro/io.hpp>
#include <goro/mutex.hpp>
#include <goro/net.hpp>
#include <goro/time.hpp>

#include "channels/detail/pipe_core.hpp"
#include "netpoll/detail/net_internal.hpp"
#include "netpoll/detail/stream.hpp"

namespace goro::net {

namespace {

class pipe_deadline : public std::enable_shared_from_this<pipe_deadline> {
public:
    ~pipe_deadline() {
        if (timer_) {
            goro::detail::timer_stop(timer_);
            goro::detail::timer_release(timer_);
        }
    }

    // The channel a call waits on: closed once the deadline has passed.
    chan<std::monostate> wait() {
        std::lock_guard<goro::mutex> g(lock_);
        return cancel_;
    }

    void set(time_point t) {
        const std::int64_t when = detail::deadline_ns(t);
        std::lock_guard<goro::mutex> g(lock_);
        ++generation_;
        if (timer_) {
            goro::detail::timer_stop(timer_);
            goro::detail::timer_release(timer_);
            timer_ = nullptr;
        }
        if (when == 0) {  // no deadline
            reopen_locked();
            return;
        }
        if (when <= goro::detail::steady_now_ns()) {  // already past
            expire_locked();
            return;
        }
        reopen_locked();
        std::weak_ptr<pipe_deadline> self = weak_from_this();
        const std::uint64_t generation = generation_;
        timer_ = goro::detail::func_timer_make(when, [self, generation] {
            if (auto d = self.lock()) {
                std::lock_guard<goro::mutex> g(d->lock_);
                if (d->generation_ == generation) d->expire_locked();
            }
        });
    }

private:
    void reopen_locked() {
        if (!expired_) return;
        cancel_ = make_chan<std::monostate>();
        expired_ = false;
    }
    void expire_locked() {
        if (expired_) return;
        expired_ = true;
        cancel_.close();
    }

    goro::mutex lock_;
    chan<std::monostate> cancel_ = make_chan<std::monostate>();
    bool expired_ = false;
    goro::detail::timer_state* timer_ = nullptr;
    std::uint64_t generation_ = 0;
};

struct pipe_pair {
    io::detail::pipe_core a_to_b;
    io::detail::pipe_core b_to_a;
};

class pipe_end final : public detail::stream {
public:
    pipe_end(std::shared_ptr<pipe_pair> pair, io::detail::pipe_core& rx, io::detail::pipe_core& tx)
        : pair_(std::move(pair)),
          rx_(rx),
          tx_(tx),
          read_deadline_(std::make_shared<pipe_deadline>()),
          write_deadline_(std::make_shared<pipe_deadline>()) {}

    ~pipe_end() override {
        std::error_code ignored;
        close(ignored);
    }

    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept override {
        if (closed_.load(std::memory_order_acquire)) {
            ec = errc::closed;
            return 0;
        }
        const std::size_t n = rx_.read(data, size, read_deadline_->wait(), ec);
        fix_error(ec);
        if (ec && read_shut_.load(std::memory_order_acquire)) ec.clear();  // EOF, as after SHUT_RD
        return n;
    }

    std::size_t write(const void* data, std::size_t size, std::error_code& ec) noexcept override {
        if (closed_.load(std::memory_order_acquire)) {
            ec = errc::closed;
            return 0;
        }
        const std::size_t n = tx_.write(data, size, write_deadline_->wait(), ec);
        fix_error(ec);
        return n;
    }

    void close(std::error_code& ec) noexcept override {
        ec.clear();
        if (closed_.exchange(true, std::memory_order_acq_rel)) {
            ec = errc::closed;
            return;
        }
        rx_.close_read({});
        tx_.close_write({});
    }

    void shutdown(shutdown_how how, std::error_code& ec) noexcept override {
        ec.clear();
        if (closed_.load(std::memory_order_acquire)) {
            ec = errc::closed;
            return;
        }
        if (how == shutdown_how::read || how == shutdown_how::both) {
            read_shut_.store(true, std::memory_order_release);
            rx_.close_read({});
        }
        if (how == shutdown_how::write || how == shutdown_how::both) tx_.close_write({});
    }

    void set_deadline(int modes, time_point t, std::error_code& ec) noexcept override {
        ec.clear();
        if (closed_.load(std::memory_order_acquire)) {
            ec = errc::closed;
            return;
        }
        try {
            if (modes & detail::read_deadline) read_deadline_->set(t);
            if (modes & detail::write_deadline) write_deadline_->set(t);
        } catch (const std::system_error& e) {
            ec = e.code();
        } catch (const std::bad_alloc&) {
            ec = std::make_error_code(std::errc::not_enough_memory);
        } catch (const goro::panic_error&) {
            // A future deadline needs the runtime's timers: outside a run
            // there are none (clearing one, or one already past, works).
            ec = std::make_error_code(std::errc::operation_not_permitted);
        }
    }

    address local_address() const override { return address::pipe(); }
    address remote_address() const override { return address::pipe(); }
    std::string describe(const char* op) const override { return std::string(op) + " pipe"; }

private:
    // The cores speak io's language; a conn speaks net's.
    void fix_error(std::error_code& ec) const noexcept {
        if (!ec) return;
        if (closed_.load(std::memory_order_acquire))
            ec = errc::closed;  // closed under us while we waited
        else if (ec == std::errc::timed_out)
            ec = errc::timeout;
    }

    std::shared_ptr<pipe_pair> pair_;
    io::detail::pipe_core& rx_;
    io::detail::pipe_core& tx_;
    std::shared_ptr<pipe_deadline> read_deadline_;
    std::shared_ptr<pipe_deadline> write_deadline_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> read_shut_{false};  // shutdown(read): reads end in EOF
};

}  // namespace

std::pair<conn, conn> pipe() {
    auto pair = std::make_shared<pipe_pair>();
    std::unique_ptr<detail::stream> a = std::make_unique<pipe_end>(pair, pair->b_to_a, pair->a_to_b);
    std::unique_ptr<detail::stream> b = std::make_unique<pipe_end>(pair, pair->a_to_b, pair->b_to_a);
    return {conn(std::move(a)), conn(std::move(b))};
}

}  // namespace goro::net
