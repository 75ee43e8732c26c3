// netpoll/detail/socket.hpp — the state behind conn, listener and
// packet_conn (Go's netFD with its fdMutex, simplified).
//
// Invariants:
//   - `refs` counts the calls using the descriptor, plus one for the
//     owning object until close(); its low bit says "closing". A call takes
//     a reference (fails with errc::closed once closing) and drops it when
//     it returns. close() sets the bit, wakes every waiter, and drops the
//     owner's reference; whoever drops the last one unregisters the
//     descriptor and closes it. So a descriptor number is never reused while
//     a call that could still use it runs.
//   - read_lock and write_lock serialise calls in each direction, so several
//     fibers may read, write and accept on one socket at once, as on a Go
//     net.Conn, and one write's bytes are never interleaved with another's.
//     They are held across parks; close() needs neither.
//   - local and remote are recorded once, when the socket is bound,
//     accepted or connected and before it is handed to its conn, listener
//     or packet_conn, and never written again: they need no lock, and they
//     outlive close() (Go's netFD keeps laddr and raddr), so a closed conn
//     still tells its endpoints and its errors still name the peer.
//   - The object itself belongs to its conn/listener/packet_conn and is
//     freed with it: destroying one while another fiber is inside one of
//     its calls is a use-after-free, as for any C++ object.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <system_error>

#include <goro/mutex.hpp>
#include <goro/net.hpp>

#include "netpoll/detail/poll_desc.hpp"

namespace goro::net::detail {

struct socket {
    socket(int fd_, int family_, int type_, poll_desc* pd_) noexcept : fd(fd_), family(family_), type(type_), pd(pd_) {}
    ~socket();

    const int fd;
    const int family;  // AF_INET, AF_INET6, AF_UNIX
    const int type;    // SOCK_STREAM or SOCK_DGRAM
    poll_desc* const pd;
    std::string unlink_path;  // a Unix listener's socket file, removed at close
    address local;   // getsockname once bound or connected
    address remote;  // the peer; AF_UNSPEC for a listener or an unconnected UDP socket
    std::atomic<std::uint64_t> accept_backoffs{0};
    goro::mutex read_lock;   // one reader (or acceptor) at a time
    goro::mutex write_lock;  // one writer at a time

    bool acquire() noexcept {
        std::uint32_t v = refs_.load(std::memory_order_relaxed);
        do {
            if (v & closing_bit) return false;
        } while (!refs_.compare_exchange_weak(v, v + one_ref, std::memory_order_acquire, std::memory_order_relaxed));
        return true;
    }
    void release() noexcept {
        if (refs_.fetch_sub(one_ref, std::memory_order_acq_rel) - one_ref == closing_bit) destroy();
    }
    // False if already closed.
    bool close() noexcept;
    bool closed() const noexcept { return refs_.load(std::memory_order_acquire) & closing_bit; }
    int open_fd() const noexcept { return closed() ? -1 : fd; }

    // The network name Go prints in errors: "tcp", "udp", "unix".
    const char* network() const noexcept;

private:
    static constexpr std::uint32_t closing_bit = 1;
    static constexpr std::uint32_t one_ref = 2;
    void destroy() noexcept;
    std::atomic<std::uint32_t> refs_{one_ref};  // the owner's reference
};

// A call's reference on a socket (see above).
class fd_ref {
public:
    explicit fd_ref(socket* s) noexcept : s_(s && s->acquire() ? s : nullptr) {}
    ~fd_ref() {
        if (s_) s_->release();
    }
    fd_ref(const fd_ref&) = delete;
    fd_ref& operator=(const fd_ref&) = delete;
    explicit operator bool() const noexcept { return s_ != nullptr; }

private:
    socket* s_;
};

}  // namespace goro::net::detail
