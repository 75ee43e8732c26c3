// netpoll/src/poller_epoll.cpp — the Linux netpoller: one epoll instance for
// the process, edge-triggered, and the poll_desc wait protocol on top of it
// (Go's netpoll_epoll.go and netpoll.go).
//
// Invariants (see also netpoll/detail/poll_desc.hpp):
//   - The epoll instance and its eventfd are made on first use and live for
//     the process; they serve every goro::run in turn.
//   - epoll's data word names a poll_desc and its sequence number (the top
//     16 bits); the eventfd's word is 0.
//   - `interrupt_pending` coalesces interrupts: whoever sets it writes the
//     eventfd; the poll that reads the eventfd clears it. The eventfd is
//     level-triggered, so an interrupt written before a poll starts still
//     ends that poll at once.
//   - Every poll_desc ever made is on `chunks` (under pool_lock), so the
//     runtime can walk them when a run ends.

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <mutex>
#include <new>
#include <optional>
#include <vector>

#include <goro/net.hpp>

#include <goro/runtime.hpp>

#include "netpoll/detail/poll_desc.hpp"

#if defined(__SANITIZE_THREAD__)
#define GORO_NETPOLL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORO_NETPOLL_TSAN 1
#endif
#endif
#include "runtime/detail/fatal.hpp"
#include "runtime/detail/faults.hpp"
#include "runtime/detail/io_poller.hpp"
#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"

namespace goro::net::detail {

namespace rt = goro::detail;

namespace {

static_assert(sizeof(void*) == 8, "the epoll data word packs a pointer and a sequence");
constexpr int sequence_shift = 48;
constexpr std::uint64_t pointer_mask = (std::uint64_t{1} << sequence_shift) - 1;
constexpr int plain_thread_slice_ms = 50;  // how often a plain thread re-checks close and deadlines
constexpr std::size_t chunk_size = 64;

fiber* take_waiter(poll_desc::direction& d) noexcept;

class epoll_poller final : public rt::io_poller {
public:
    epoll_poller() {
        epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0) GORO_FATAL("runtime: netpoll: epoll_create1 failed");
        event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (event_fd_ < 0) GORO_FATAL("runtime: netpoll: eventfd failed");
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = 0;
        if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0)
            GORO_FATAL("runtime: netpoll: cannot register the eventfd");
    }

    int epoll_fd() const noexcept { return epoll_fd_; }

    // Each event may ready two fibers (a reader and a writer): ask for half
    // as many events as `out` holds.
    static constexpr int max_events = max_batch / 2;

    int poll(std::int64_t deadline_ns, fiber** out) noexcept override {
        epoll_event events[max_events];
        int n;
        for (;;) {
            n = wait(deadline_ns, events);
            if (n >= 0) break;
            if (errno != EINTR) GORO_FATAL("runtime: netpoll: epoll_wait failed");
            if (deadline_ns == 0) return 0;
            // A signal: go round again; a passed deadline returns at once.
        }
        int readied = 0;
        for (int i = 0; i < n; ++i) {
            const std::uint64_t word = events[i].data.u64;
            if (word == 0) {
                // Only a blocking poll consumes an interrupt: one that did
                // not block may run beside the poll waiter the interrupt is
                // meant for, and would leave it asleep.
                if (deadline_ns == 0) continue;
                std::uint64_t count;
                while (read(event_fd_, &count, sizeof count) > 0) {
                }
                interrupt_pending_.store(false, std::memory_order_release);
                continue;
            }
            auto* pd = reinterpret_cast<poll_desc*>(word & pointer_mask);
            const auto sequence = static_cast<std::uint16_t>(word >> sequence_shift);
            const std::uint32_t e = events[i].events;
            const bool readable = e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
            const bool writable = e & (EPOLLOUT | EPOLLHUP | EPOLLERR);
            std::lock_guard<spinlock> g(pd->lock);
            if (pd->sequence != sequence) continue;  // its socket is gone
            if (readable) take_ready(pd->dir(io_mode::read), out, readied);
            if (writable) take_ready(pd->dir(io_mode::write), out, readied);
        }
        return readied;
    }

    void interrupt() noexcept override {
        if (interrupt_pending_.exchange(true, std::memory_order_acq_rel)) return;
        const std::uint64_t one = 1;
        while (write(event_fd_, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }

    bool has_waiters() const noexcept override { return waiting_fibers.load(std::memory_order_seq_cst) > 0; }

    void forget_fibers() noexcept override {
        std::lock_guard<std::mutex> g(pool_lock);
        for (poll_desc* chunk : chunks)
            for (std::size_t i = 0; i < chunk_size; ++i) {
                poll_desc& pd = chunk[i];
                std::lock_guard<spinlock> pg(pd.lock);
                for (auto& d : pd.dirs) (void)take_waiter(d);  // abandoned: not readied
            }
    }

    // Fibers in wait slots (see poll_desc.hpp).
    std::atomic<int> waiting_fibers{0};

    std::mutex pool_lock;
    std::vector<poll_desc*> chunks;  // every poll_desc ever made
    poll_desc* free_list = nullptr;

private:
    static void take_ready(poll_desc::direction& d, fiber** out, int& readied) noexcept;

    int wait(std::int64_t deadline_ns, epoll_event* events) noexcept {
        if (deadline_ns == 0) return epoll_wait(epoll_fd_, events, max_events, 0);
        if (deadline_ns == INT64_MAX) return epoll_wait(epoll_fd_, events, max_events, -1);
        std::int64_t left = deadline_ns - rt::steady_now_ns();
        if (left <= 0) return epoll_wait(epoll_fd_, events, max_events, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35)) && !defined(GORO_NETPOLL_TSAN)
        // (Not under TSan: GCC 12's TSan intercepts epoll_wait but not
        // epoll_pwait2, so it would not see that epoll_ctl's registration
        // happens before the wait that returns it, and would report the
        // poll_desc's first use as a race.)
        if (pwait2_works_.load(std::memory_order_relaxed)) {
            timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
            int n = epoll_pwait2(epoll_fd_, events, max_events, &ts, nullptr);
            if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
            // A kernel older than 5.11, or a seccomp filter that refuses it.
            pwait2_works_.store(false, std::memory_order_relaxed);
        }
#endif
        // Milliseconds, rounded up so a timer is never woken for too early.
        const std::int64_t ms = std::min<std::int64_t>((left + 999'999) / 1'000'000, INT_MAX);
        return epoll_wait(epoll_fd_, events, max_events, static_cast<int>(ms));
    }

    int epoll_fd_ = -1;
    int event_fd_ = -1;
    std::atomic<bool> interrupt_pending_{false};
    std::atomic<bool> pwait2_works_{true};
};

epoll_poller* the_poller() {
    // Made on first use, never destroyed: the Ms of a later run use it,
    // and events may name poll_descs until the process ends.
    static epoll_poller* const poller = [] {
        auto* p = new epoll_poller;
        rt::install_io_poller(p);
        return p;
    }();
    return poller;
}

// Takes d's waiter (pd->lock held); the caller readies it after unlocking.
fiber* take_waiter(poll_desc::direction& d) noexcept {
    fiber* w = d.waiter;
    if (w) {
        d.waiter = nullptr;
        the_poller()->waiting_fibers.fetch_sub(1, std::memory_order_seq_cst);
    }
    return w;
}

void epoll_poller::take_ready(poll_desc::direction& d, fiber** out, int& readied) noexcept {
    d.ready = true;
    if (fiber* w = take_waiter(d)) out[readied++] = w;
}

void deadline_fired(rt::timer_node* node) {
    auto* t = static_cast<deadline_timer*>(node);
    poll_desc* pd = t->owner;
    fiber* w;
    {
        std::lock_guard<spinlock> g(pd->lock);
        poll_desc::direction& d = pd->dir(t->mode);
        d.expired = true;
        w = take_waiter(d);
    }
    if (w) rt::ready(w);
}

std::uint64_t event_word(poll_desc* pd) noexcept {
    return (static_cast<std::uint64_t>(pd->sequence) << sequence_shift) | reinterpret_cast<std::uintptr_t>(pd);
}

bool past(std::int64_t deadline_ns) noexcept { return deadline_ns != 0 && deadline_ns <= rt::steady_now_ns(); }

// With pd->lock held: false, with errc::closed or errc::timeout, when a call
// in this direction must fail rather than try or wait. The clock is read
// too, not only the timer's flag: a deadline set while no runtime ran (or in
// an earlier run) has no timer in this one.
bool usable_locked(poll_desc* pd, poll_desc::direction& d, std::error_code& ec) noexcept {
    if (pd->closing) {
        ec = errc::closed;
        return false;
    }
    if (d.expired || past(d.deadline_ns)) {
        ec = errc::timeout;
        return false;
    }
    return true;
}

// A plain thread waits with poll(2), in slices.
bool wait_as_thread(poll_desc* pd, io_mode mode, std::error_code& ec) noexcept {
    for (;;) {
        std::int64_t deadline;
        {
            std::lock_guard<spinlock> g(pd->lock);
            poll_desc::direction& d = pd->dir(mode);
            if (!usable_locked(pd, d, ec)) return false;
            if (d.ready) {
                d.ready = false;
                return true;
            }
            deadline = d.deadline_ns;
        }
        int slice = plain_thread_slice_ms;
        if (deadline != 0) {
            const std::int64_t left_ms = (deadline - rt::steady_now_ns() + 999'999) / 1'000'000;
            slice = static_cast<int>(std::clamp<std::int64_t>(left_ms, 0, slice));
        }
        pollfd p{pd->fd, static_cast<short>(mode == io_mode::read ? POLLIN : POLLOUT), 0};
        const int n = ::poll(&p, 1, slice);
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) {
            ec.assign(errno, std::system_category());
            return false;
        }
    }
}

}  // namespace

poll_desc* poll_open(int fd, std::error_code& ec) noexcept {
    epoll_poller* poller = the_poller();
    poll_desc* pd = nullptr;
    {
        std::lock_guard<std::mutex> g(poller->pool_lock);
        if (!poller->free_list) {
            auto* chunk = new (std::nothrow) poll_desc[chunk_size];
            if (!chunk) {
                ec = std::make_error_code(std::errc::not_enough_memory);
                return nullptr;
            }
            try {
                poller->chunks.push_back(chunk);
            } catch (...) {
                delete[] chunk;
                ec = std::make_error_code(std::errc::not_enough_memory);
                return nullptr;
            }
            for (std::size_t i = chunk_size; i-- > 0;) {
                chunk[i].next_free = poller->free_list;
                poller->free_list = &chunk[i];
            }
        }
        pd = poller->free_list;
        poller->free_list = pd->next_free;
        pd->next_free = nullptr;
    }
    {
        std::lock_guard<spinlock> g(pd->lock);
        pd->fd = fd;
        pd->closing = false;
        for (int m = 0; m < 2; ++m) {
            poll_desc::direction& d = pd->dirs[m];
            d.ready = false;
            d.expired = false;
            d.deadline_ns = 0;
            d.timer.owner = pd;
            d.timer.mode = static_cast<io_mode>(m);
            d.timer.fire = &deadline_fired;
        }
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = event_word(pd);
    int injected = 0;
    if (rt::inject_fault(rt::fault_site::epoll_ctl, &injected) ||
        epoll_ctl(poller->epoll_fd(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        ec.assign(injected ? injected : errno, std::system_category());
        poll_release(pd);
        return nullptr;
    }
    return pd;
}

void poll_release(poll_desc* pd) noexcept {
    epoll_poller* poller = the_poller();
    {
        std::lock_guard<spinlock> g(pd->deadline_lock);
        for (auto& d : pd->dirs) {
            rt::remove_timer(&d.timer, d.timer.armed_heap, d.timer.run_id);
            d.timer.armed_heap = nullptr;
        }
    }
    if (pd->fd >= 0) epoll_ctl(poller->epoll_fd(), EPOLL_CTL_DEL, pd->fd, nullptr);
    {
        std::lock_guard<spinlock> g(pd->lock);
        ++pd->sequence;  // events still in flight for the old socket are dropped
        pd->fd = -1;
        for (auto& d : pd->dirs)
            if (d.waiter) GORO_FATAL("runtime: netpoll: a socket was released with a fiber waiting on it");
    }
    std::lock_guard<std::mutex> g(poller->pool_lock);
    pd->next_free = poller->free_list;
    poller->free_list = pd;
}

void poll_evict(poll_desc* pd) noexcept {
    // A plain thread may close a socket while goro::run returns: hold the
    // scheduler across the hand-off, and with none left the waiters are
    // abandoned fibers (forget_fibers would drop them), not to be readied.
    std::optional<rt::plain_thread_scope> scope;
    if (!rt::current_machine()) scope.emplace();
    fiber* woken[2];
    {
        std::lock_guard<spinlock> g(pd->lock);
        pd->closing = true;
        woken[0] = take_waiter(pd->dir(io_mode::read));
        woken[1] = take_waiter(pd->dir(io_mode::write));
    }
    if (scope && !scope->sched) return;
    for (fiber* w : woken)
        if (w) rt::ready(w);
}

bool poll_prepare(poll_desc* pd, io_mode mode, std::error_code& ec) noexcept {
    std::lock_guard<spinlock> g(pd->lock);
    poll_desc::direction& d = pd->dir(mode);
    if (!usable_locked(pd, d, ec)) return false;
    // Readiness seen before this point is readiness the coming system call
    // sees for itself; forgetting it spares a wasted call after EAGAIN.
    d.ready = false;
    return true;
}

bool poll_wait(poll_desc* pd, io_mode mode, std::error_code& ec) noexcept {
    if (!rt::current_fiber()) return wait_as_thread(pd, mode, ec);
    pd->lock.lock();
    for (;;) {
        poll_desc::direction& d = pd->dir(mode);
        if (!usable_locked(pd, d, ec)) {
            pd->lock.unlock();
            return false;
        }
        if (d.ready) {
            d.ready = false;
            pd->lock.unlock();
            return true;
        }
        if (d.waiter) GORO_FATAL("runtime: netpoll: two fibers wait on one socket in the same direction");
        d.waiter = rt::current_fiber();
        the_poller()->waiting_fibers.fetch_add(1, std::memory_order_seq_cst);
        // The lock is released on the scheduler stack, after the switch: only
        // then may an event ready this fiber (the park protocol).
        rt::park(
            rt::wait_reason::io_wait,
            [](void* arg) {
                static_cast<poll_desc*>(arg)->lock.unlock();
                rt::note_io_park();
                return true;
            },
            pd);
        pd->lock.lock();
    }
}

void poll_set_deadline(poll_desc* pd, io_mode mode, std::int64_t deadline_ns) noexcept {
    fiber* woken = nullptr;
    {
        std::lock_guard<spinlock> dg(pd->deadline_lock);
        poll_desc::direction& d = pd->dir(mode);
        rt::remove_timer(&d.timer, d.timer.armed_heap, d.timer.run_id);
        d.timer.armed_heap = nullptr;
        const bool expired = past(deadline_ns);
        {
            std::lock_guard<spinlock> g(pd->lock);
            d.deadline_ns = deadline_ns;
            d.expired = expired;
            if (expired) woken = take_waiter(d);
        }
        if (!expired && deadline_ns != 0) {
            // Without a running runtime there is no heap: a plain thread
            // then checks the deadline itself between poll(2) slices.
            d.timer.when_ns = deadline_ns;
            d.timer.period_ns = 0;
            d.timer.armed_heap = rt::add_timer(&d.timer, &d.timer.run_id);
        }
    }
    if (woken) rt::ready(woken);
}

}  // namespace goro::net::detail
