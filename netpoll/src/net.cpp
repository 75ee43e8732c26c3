// netpoll/src/net.cpp — conn, listener, packet_conn, dial and listen: system
// calls on non-blocking sockets, parking on the netpoller after EAGAIN.
//
// Every call follows one pattern (Go's netFD): take a reference on the
// socket (fails once closed), poll_prepare (fails when closed or past the
// deadline, and forgets stale readiness), the system call, and on EAGAIN
// poll_wait, then the call again. References keep the descriptor open while
// a call uses it (netpoll/detail/socket.hpp).
//
// A conn may hold an in-memory stream instead of a socket (net::pipe, in
// pipe.cpp): every conn call tests for it first and forwards to it.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <string>
#include <type_traits>

#include <goro/chan.hpp>
#include <goro/context.hpp>
#include <goro/net.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/wait_group.hpp>

#include "netpoll/detail/net_internal.hpp"
#include "netpoll/detail/socket.hpp"
#include "netpoll/detail/stream.hpp"
#include "runtime/detail/faults.hpp"
#include "runtime/detail/park.hpp"

namespace goro::net {

namespace detail {

socket::~socket() { close(); }

bool socket::close() noexcept {
    std::uint32_t v = refs_.load(std::memory_order_relaxed);
    do {
        if (v & closing_bit) return false;
    } while (!refs_.compare_exchange_weak(v, v | closing_bit, std::memory_order_acq_rel, std::memory_order_relaxed));
    poll_evict(pd);
    release();  // the owner's reference
    return true;
}

void socket::destroy() noexcept {
    poll_release(pd);
    ::close(fd);
    if (!unlink_path.empty()) ::unlink(unlink_path.c_str());
}

const char* socket::network() const noexcept {
    if (family == AF_UNIX) return type == SOCK_DGRAM ? "unixgram" : "unix";
    return type == SOCK_DGRAM ? "udp" : "tcp";
}

}  // namespace detail

namespace {

using detail::fd_ref;
using detail::io_mode;
using detail::socket;

std::error_code last_error() noexcept { return {errno, std::system_category()}; }

// Makes a non-blocking socket registered with the poller.
socket* open_socket(int family, int type, std::error_code& ec) noexcept {
    const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ec = last_error();
        return nullptr;
    }
    detail::poll_desc* pd = detail::poll_open(fd, ec);
    if (!pd) {
        ::close(fd);
        return nullptr;
    }
    auto* s = new (std::nothrow) socket(fd, family, type, pd);
    if (!s) {
        detail::poll_release(pd);
        ::close(fd);
        ec = std::make_error_code(std::errc::not_enough_memory);
    }
    return s;
}

// The descriptor's own address (getsockname) or its peer's (getpeername);
// AF_UNSPEC when there is none.
address socket_name(int fd, bool peer) noexcept {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int r = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                       : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (r != 0) return {};
    return address(reinterpret_cast<sockaddr*>(&ss), len);
}

// Records a bound or connected socket's endpoints, before it is handed out.
void record_addresses(socket* s) noexcept {
    s->local = socket_name(s->fd, false);
    s->remote = socket_name(s->fd, true);
}

// "read tcp 127.0.0.1:8080->127.0.0.1:51234", as Go's net.OpError prints;
// the recorded endpoints, so a closed socket's errors still name them.
std::string describe(const char* op, socket* s) {
    std::string text = op;
    if (!s) return text;
    text += ' ';
    text += s->network();
    if (s->local.family() != AF_UNSPEC) text += " " + s->local.to_string();
    if (s->remote.family() != AF_UNSPEC)
        text += (s->local.family() != AF_UNSPEC ? "->" : " ") + s->remote.to_string();
    return text;
}

[[noreturn]] void throw_op(const std::error_code& ec, const char* op, socket* s) {
    throw std::system_error(ec, describe(op, s));
}

// The throwing form of a call: runs its error_code form and throws what it
// reports, described by describe_error() (only called on failure).
template <class Call, class Describe>
auto or_throw(Call call, Describe describe_error) {
    std::error_code ec;
    if constexpr (std::is_void_v<decltype(call(ec))>) {
        call(ec);
        if (ec) throw std::system_error(ec, describe_error());
    } else {
        auto result = call(ec);
        if (ec) throw std::system_error(ec, describe_error());
        return result;
    }
}

// The same for a call on socket s, described as Go's net.OpError.
template <class Call>
auto or_throw_op(const char* op, socket* s, Call call) {
    return or_throw(call, [&] { return describe(op, s); });
}

using detail::deadline_ns;

template <class Syscall>
std::size_t io_loop(socket* s, io_mode mode, std::error_code& ec, Syscall call) noexcept {
    ec.clear();
    for (;;) {
        if (!detail::poll_prepare(s->pd, mode, ec)) return 0;
        const ssize_t n = call();
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ec = last_error();
            return 0;
        }
        if (!detail::poll_wait(s->pd, mode, ec)) return 0;
    }
}

std::size_t read_some(socket* s, void* data, std::size_t size, std::error_code& ec) noexcept {
    fd_ref ref(s);
    if (!ref) {
        ec = errc::closed;
        return 0;
    }
    ec.clear();
    if (size == 0) return 0;
    std::lock_guard<goro::mutex> g(s->read_lock);
    return io_loop(s, io_mode::read, ec, [&] { return ::recv(s->fd, data, size, 0); });
}

std::size_t write_all(socket* s, const void* data, std::size_t size, std::error_code& ec) noexcept {
    fd_ref ref(s);
    if (!ref) {
        ec = errc::closed;
        return 0;
    }
    ec.clear();
    std::lock_guard<goro::mutex> g(s->write_lock);
    const char* bytes = static_cast<const char*>(data);
    std::size_t done = 0;
    while (done < size) {
        const std::size_t n =
            io_loop(s, io_mode::write, ec, [&] { return ::send(s->fd, bytes + done, size - done, MSG_NOSIGNAL); });
        if (ec) break;
        done += n;
    }
    return done;
}

void set_deadline(socket* s, int modes, time_point t, std::error_code& ec) noexcept {
    ec.clear();
    fd_ref ref(s);
    if (!ref) {
        ec = errc::closed;
        return;
    }
    const std::int64_t ns = deadline_ns(t);
    if (modes & 1) detail::poll_set_deadline(s->pd, io_mode::read, ns);
    if (modes & 2) detail::poll_set_deadline(s->pd, io_mode::write, ns);
}

void set_deadline(socket* s, int modes, time_point t) {
    or_throw_op("set deadline", s, [&](std::error_code& ec) { set_deadline(s, modes, t, ec); });
}

void close_socket(socket* s, std::error_code& ec) noexcept {
    ec.clear();
    if (!s || !s->close()) ec = errc::closed;
}

address local_of(const socket* s) { return s ? s->local : address{}; }
address remote_of(const socket* s) { return s ? s->remote : address{}; }

}  // namespace

// ------------------------------------------------------------------ conn

conn::conn() noexcept = default;
conn::conn(std::unique_ptr<detail::socket> s) noexcept : socket_(std::move(s)) {}
conn::conn(std::unique_ptr<detail::stream> s) noexcept : stream_(std::move(s)) {}
conn::conn(conn&&) noexcept = default;
conn& conn::operator=(conn&&) noexcept = default;
conn::~conn() = default;
conn::operator bool() const noexcept { return socket_ != nullptr || stream_ != nullptr; }

// An in-memory conn (stream_ set) forwards every call to its stream; the
// branch is the only cost on the socket path.
namespace {

template <class Call>
auto or_throw_stream(const char* op, const detail::stream& s, Call call) {
    return or_throw(call, [&] { return s.describe(op); });
}

}  // namespace

std::size_t conn::read(void* data, std::size_t size, std::error_code& ec) noexcept {
    if (stream_) [[unlikely]]
        return stream_->read(data, size, ec);
    return read_some(socket_.get(), data, size, ec);
}

std::size_t conn::read(void* data, std::size_t size) {
    if (stream_) [[unlikely]]
        return or_throw_stream("read", *stream_, [&](std::error_code& ec) { return read(data, size, ec); });
    return or_throw_op("read", socket_.get(), [&](std::error_code& ec) { return read(data, size, ec); });
}

std::size_t conn::read_full(void* data, std::size_t size, std::error_code& ec) noexcept {
    ec.clear();
    std::size_t done = 0;
    while (done < size) {
        const std::size_t n = read(static_cast<char*>(data) + done, size - done, ec);
        if (ec) return done;
        if (n == 0) {
            ec = done == 0 ? errc::eof : errc::unexpected_eof;
            return done;
        }
        done += n;
    }
    return done;
}

std::size_t conn::read_full(void* data, std::size_t size) {
    if (stream_) [[unlikely]]
        return or_throw_stream("read", *stream_, [&](std::error_code& ec) { return read_full(data, size, ec); });
    return or_throw_op("read", socket_.get(), [&](std::error_code& ec) { return read_full(data, size, ec); });
}

std::size_t conn::write(const void* data, std::size_t size, std::error_code& ec) noexcept {
    if (stream_) [[unlikely]]
        return stream_->write(data, size, ec);
    return write_all(socket_.get(), data, size, ec);
}

std::size_t conn::write(const void* data, std::size_t size) {
    if (stream_) [[unlikely]]
        return or_throw_stream("write", *stream_, [&](std::error_code& ec) { return write(data, size, ec); });
    return or_throw_op("write", socket_.get(), [&](std::error_code& ec) { return write(data, size, ec); });
}

void conn::close(std::error_code& ec) noexcept {
    if (stream_) [[unlikely]]
        return stream_->close(ec);
    close_socket(socket_.get(), ec);
}

void conn::close() {
    if (stream_) [[unlikely]]
        return or_throw_stream("close", *stream_, [&](std::error_code& ec) { close(ec); });
    or_throw_op("close", socket_.get(), [&](std::error_code& ec) { close(ec); });
}

void conn::shutdown(shutdown_how how, std::error_code& ec) noexcept {
    if (stream_) [[unlikely]]
        return stream_->shutdown(how, ec);
    ec.clear();
    fd_ref ref(socket_.get());
    if (!ref) {
        ec = errc::closed;
        return;
    }
    if (::shutdown(socket_->fd, static_cast<int>(how)) != 0) ec = last_error();
}

void conn::shutdown(shutdown_how how) {
    if (stream_) [[unlikely]]
        return or_throw_stream("shutdown", *stream_, [&](std::error_code& ec) { shutdown(how, ec); });
    or_throw_op("shutdown", socket_.get(), [&](std::error_code& ec) { shutdown(how, ec); });
}

namespace {

void set_conn_deadline(socket* s, detail::stream* st, int modes, time_point t, std::error_code& ec) noexcept {
    if (st) [[unlikely]]
        return st->set_deadline(modes, t, ec);
    set_deadline(s, modes, t, ec);
}

void set_conn_deadline(socket* s, detail::stream* st, int modes, time_point t) {
    if (st) [[unlikely]]
        return or_throw_stream("set deadline", *st, [&](std::error_code& ec) { st->set_deadline(modes, t, ec); });
    set_deadline(s, modes, t);
}

}  // namespace

void conn::set_deadline(time_point t) { set_conn_deadline(socket_.get(), stream_.get(), 3, t); }
void conn::set_deadline(time_point t, std::error_code& ec) noexcept {
    set_conn_deadline(socket_.get(), stream_.get(), 3, t, ec);
}
void conn::set_read_deadline(time_point t) { set_conn_deadline(socket_.get(), stream_.get(), 1, t); }
void conn::set_read_deadline(time_point t, std::error_code& ec) noexcept {
    set_conn_deadline(socket_.get(), stream_.get(), 1, t, ec);
}
void conn::set_write_deadline(time_point t) { set_conn_deadline(socket_.get(), stream_.get(), 2, t); }
void conn::set_write_deadline(time_point t, std::error_code& ec) noexcept {
    set_conn_deadline(socket_.get(), stream_.get(), 2, t, ec);
}

void conn::set_no_delay(bool on) {
    if (stream_) [[unlikely]]
        return;  // nothing to delay in memory, as for a Unix socket
    fd_ref ref(socket_.get());
    if (!ref) throw_op(errc::closed, "set no delay", socket_.get());
    if (socket_->family == AF_UNIX) return;
    int value = on ? 1 : 0;
    if (setsockopt(socket_->fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) != 0)
        throw_op(last_error(), "set no delay", socket_.get());
}

namespace {

// Go's default keep-alive for accepted and dialled TCP connections.
constexpr int default_keep_alive_seconds = 15;

bool set_int_option(int fd, int level, int name, int value) noexcept {
    return setsockopt(fd, level, name, &value, sizeof value) == 0;
}

bool set_keep_alive_period_on(int fd, int seconds) noexcept {
    return set_int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE, seconds) &&
           set_int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, seconds);
}

void enable_default_keep_alive(int fd) noexcept {
    set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    set_keep_alive_period_on(fd, default_keep_alive_seconds);
}

// A socket option on conn c's socket: nothing for an in-memory conn, or
// (with tcp_only) a Unix socket; errc::closed once closed.
template <class Apply>
void apply_option(socket* s, bool in_memory, bool tcp_only, std::error_code& ec, Apply apply) noexcept {
    ec.clear();
    if (in_memory) return;
    fd_ref ref(s);
    if (!ref) {
        ec = errc::closed;
        return;
    }
    if (tcp_only && s->family == AF_UNIX) return;
    if (!apply(s->fd)) ec = last_error();
}

}  // namespace

void conn::set_keep_alive(bool on, std::error_code& ec) noexcept {
    apply_option(socket_.get(), stream_ != nullptr, true, ec,
                 [&](int fd) { return set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0); });
}
void conn::set_keep_alive(bool on) {
    or_throw_op("set keep alive", socket_.get(), [&](std::error_code& ec) { set_keep_alive(on, ec); });
}

void conn::set_keep_alive_period(std::chrono::nanoseconds period, std::error_code& ec) noexcept {
    // Whole seconds, at least one, as Go rounds.
    const auto ns = period.count();
    const long long seconds = ns <= 0 ? 1 : std::min<long long>((ns + 999'999'999) / 1'000'000'000, 32767);
    apply_option(socket_.get(), stream_ != nullptr, true, ec,
                 [&](int fd) { return set_keep_alive_period_on(fd, static_cast<int>(seconds)); });
}
void conn::set_keep_alive_period(std::chrono::nanoseconds period) {
    or_throw_op("set keep alive period", socket_.get(),
                [&](std::error_code& ec) { set_keep_alive_period(period, ec); });
}

void conn::set_linger(int seconds, std::error_code& ec) noexcept {
    apply_option(socket_.get(), stream_ != nullptr, true, ec, [&](int fd) {
        linger l{};
        l.l_onoff = seconds >= 0 ? 1 : 0;
        l.l_linger = seconds >= 0 ? seconds : 0;
        return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0;
    });
}
void conn::set_linger(int seconds) {
    or_throw_op("set linger", socket_.get(), [&](std::error_code& ec) { set_linger(seconds, ec); });
}

void conn::set_read_buffer(int bytes, std::error_code& ec) noexcept {
    apply_option(socket_.get(), stream_ != nullptr, false, ec,
                 [&](int fd) { return set_int_option(fd, SOL_SOCKET, SO_RCVBUF, bytes); });
}
void conn::set_read_buffer(int bytes) {
    or_throw_op("set read buffer", socket_.get(), [&](std::error_code& ec) { set_read_buffer(bytes, ec); });
}

void conn::set_write_buffer(int bytes, std::error_code& ec) noexcept {
    apply_option(socket_.get(), stream_ != nullptr, false, ec,
                 [&](int fd) { return set_int_option(fd, SOL_SOCKET, SO_SNDBUF, bytes); });
}
void conn::set_write_buffer(int bytes) {
    or_throw_op("set write buffer", socket_.get(), [&](std::error_code& ec) { set_write_buffer(bytes, ec); });
}

address conn::local_address() const { return stream_ ? stream_->local_address() : local_of(socket_.get()); }
address conn::remote_address() const { return stream_ ? stream_->remote_address() : remote_of(socket_.get()); }
int conn::native_handle() const noexcept { return socket_ ? socket_->open_fd() : -1; }

// ------------------------------------------------------------------ listener

namespace {

constexpr std::int64_t first_backoff_ns = 5'000'000;
constexpr std::int64_t last_backoff_ns = 1'000'000'000;
constexpr std::int64_t backoff_slice_ns = 50'000'000;  // how often a backing-off accept looks for close

bool out_of_resources(int error) noexcept {
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

void set_no_delay_on(int fd) noexcept { set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1); }

}  // namespace

listener::listener() noexcept = default;
listener::listener(std::unique_ptr<detail::socket> s) noexcept : socket_(std::move(s)) {}
listener::listener(listener&&) noexcept = default;
listener& listener::operator=(listener&&) noexcept = default;
listener::~listener() = default;
listener::operator bool() const noexcept { return socket_ != nullptr; }

conn listener::accept(std::error_code& ec) noexcept {
    socket* s = socket_.get();
    fd_ref ref(s);
    if (!ref) {
        ec = errc::closed;
        return {};
    }
    ec.clear();
    std::lock_guard<goro::mutex> g(s->read_lock);
    std::int64_t backoff = 0;
    for (;;) {
        if (!detail::poll_prepare(s->pd, io_mode::read, ec)) return {};
        sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int injected = 0;  // GORO_FAULTS=accept (runtime/detail/faults.hpp)
        const int fd = goro::detail::inject_fault(goro::detail::fault_site::accept, &injected)
                           ? (errno = injected, -1)
                           : ::accept4(s->fd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (s->family != AF_UNIX) {
                set_no_delay_on(fd);
                enable_default_keep_alive(fd);
            }
            detail::poll_desc* pd = detail::poll_open(fd, ec);
            if (!pd) {
                ::close(fd);
                return {};
            }
            auto* accepted = new (std::nothrow) socket(fd, s->family, SOCK_STREAM, pd);
            if (!accepted) {
                detail::poll_release(pd);
                ::close(fd);
                ec = std::make_error_code(std::errc::not_enough_memory);
                return {};
            }
            accepted->local = socket_name(fd, false);
            accepted->remote = address(reinterpret_cast<sockaddr*>(&peer), peer_len);
            return conn(std::unique_ptr<socket>(accepted));
        }
        const int error = errno;
        if (error == EINTR || error == ECONNABORTED || error == EPROTO) continue;  // the client gave up: next
        if (error == EAGAIN || error == EWOULDBLOCK) {
            if (!detail::poll_wait(s->pd, io_mode::read, ec)) return {};
            continue;
        }
        if (!out_of_resources(error)) {
            ec.assign(error, std::system_category());
            return {};
        }
        // Out of descriptors or memory: the connection stays in the backlog.
        // Wait and retry, longer each time, as Go's http server does; an
        // edge-triggered poller would not tell us when descriptors free up.
        backoff = backoff == 0 ? first_backoff_ns : std::min(backoff * 2, last_backoff_ns);
        s->accept_backoffs.fetch_add(1, std::memory_order_relaxed);
        for (std::int64_t slept = 0; slept < backoff && !s->closed(); slept += backoff_slice_ns)
            goro::sleep_for(std::chrono::nanoseconds(std::min(backoff_slice_ns, backoff - slept)));
    }
}

conn listener::accept() {
    return or_throw_op("accept", socket_.get(), [&](std::error_code& ec) { return accept(ec); });
}

void listener::close(std::error_code& ec) noexcept { close_socket(socket_.get(), ec); }

void listener::close() {
    or_throw_op("close", socket_.get(), [&](std::error_code& ec) { close(ec); });
}

void listener::set_deadline(time_point t) { net::set_deadline(socket_.get(), 1, t); }
void listener::set_deadline(time_point t, std::error_code& ec) noexcept { net::set_deadline(socket_.get(), 1, t, ec); }
address listener::local_address() const { return local_of(socket_.get()); }
int listener::native_handle() const noexcept { return socket_ ? socket_->open_fd() : -1; }
std::uint64_t listener::accept_backoffs() const noexcept {
    return socket_ ? socket_->accept_backoffs.load(std::memory_order_relaxed) : 0;
}

listener listen(std::string_view network, std::string_view where, std::error_code& ec) noexcept {
    ec.clear();
    try {
        address addr;
        int family;
        if (network == "unix") {
            addr = address::unix_path(where);
            family = AF_UNIX;
        } else if (detail::is_stream_network(network)) {
            std::vector<address> found = detail::resolve_for(network, where, true, ec);
            if (ec) return {};
            addr = found.front();
            family = addr.family();
        } else {
            ec = errc::unknown_network;
            return {};
        }
        socket* s = open_socket(family, SOCK_STREAM, ec);
        if (!s) return {};
        std::unique_ptr<socket> owned(s);
        int one = 1;
        if (family != AF_UNIX) setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (family == AF_INET6) {
            // "tcp" on "::" serves IPv4 too; "tcp6" only IPv6.
            int v6only = network == "tcp6" ? 1 : 0;
            setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        }
        if (::bind(s->fd, addr.data(), addr.size()) != 0 || ::listen(s->fd, SOMAXCONN) != 0) {
            ec = last_error();
            return {};
        }
        if (family == AF_UNIX && !where.empty() && where[0] != '@') s->unlink_path = std::string(where);
        s->local = socket_name(s->fd, false);  // port 0 resolved
        return listener(std::move(owned));
    } catch (const std::system_error& e) {
        ec = e.code();
    } catch (...) {
        ec = std::make_error_code(std::errc::not_enough_memory);
    }
    return {};
}

listener listen(std::string_view network, std::string_view where) {
    return or_throw([&](std::error_code& ec) { return listen(network, where, ec); },
                    [&] { return "listen " + std::string(network) + " " + std::string(where); });
}

// ------------------------------------------------------------------ dial

namespace {

// One connection attempt to addr, until deadline (0: none). Returns the
// connected socket, or null with ec set.
std::unique_ptr<socket> connect_to(const address& addr, std::int64_t deadline, socket** attempt,
                                   goro::mutex* attempt_lock, const bool* canceled, std::error_code& ec) {
    socket* s = open_socket(addr.family(), SOCK_STREAM, ec);
    if (!s) return nullptr;
    std::unique_ptr<socket> owned(s);
    if (deadline != 0) detail::poll_set_deadline(s->pd, io_mode::write, deadline);
    if (attempt) {
        // Published under the lock the canceller takes: a cancel either sees
        // this attempt or is seen here.
        std::lock_guard<goro::mutex> g(*attempt_lock);
        if (*canceled) {
            ec = errc::canceled;
            return nullptr;
        }
        *attempt = s;
    }
    struct clear_attempt {
        socket** attempt;
        goro::mutex* lock;
        ~clear_attempt() {
            if (!attempt) return;
            std::lock_guard<goro::mutex> g(*lock);
            *attempt = nullptr;
        }
    } clear{attempt, attempt_lock};

    if (!detail::poll_prepare(s->pd, io_mode::write, ec)) return nullptr;
    int r;
    do {
        r = ::connect(s->fd, addr.data(), addr.size());
    } while (r != 0 && errno == EINTR);
    if (r != 0 && errno != EINPROGRESS && errno != EALREADY) {
        ec = last_error();
        return nullptr;
    }
    if (r != 0) {
        for (;;) {
            if (!detail::poll_wait(s->pd, io_mode::write, ec)) return nullptr;
            int error = 0;
            socklen_t len = sizeof error;
            if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
            if (error == EINPROGRESS || error == EALREADY || error == EINTR) continue;
            if (error != 0 && error != EISCONN) {
                ec.assign(error, std::system_category());
                return nullptr;
            }
            // The wake-up may be stale: registering an unconnected socket
            // reports it writable (EPOLLOUT|EPOLLHUP) before connect runs.
            // Connected means there is a peer, which is then recorded.
            s->remote = socket_name(s->fd, true);
            if (s->remote.family() != AF_UNSPEC) break;
            if (errno != ENOTCONN) {
                ec = last_error();
                return nullptr;
            }
        }
    } else {
        s->remote = socket_name(s->fd, true);
    }
    if (s->remote.family() == AF_UNSPEC) s->remote = addr;  // reset already: what was dialled
    s->local = socket_name(s->fd, false);
    if (deadline != 0) detail::poll_set_deadline(s->pd, io_mode::write, 0);
    if (addr.family() != AF_UNIX) {
        set_no_delay_on(s->fd);
        enable_default_keep_alive(s->fd);
    }
    return owned;
}

conn dial_impl(std::string_view network, std::string_view where, std::int64_t deadline, const context* ctx,
               std::error_code& ec) {
    ec.clear();
    std::vector<address> addrs;
    if (network == "unix") {
        addrs.push_back(address::unix_path(where));
    } else if (detail::is_stream_network(network)) {
        addrs = detail::resolve_for(network, where, false, ec);
        if (ec) return {};
    } else {
        ec = errc::unknown_network;
        return {};
    }

    // A context: its deadline bounds the dial, and a watcher fiber turns its
    // cancellation into a past deadline on the attempt in progress, as Go's
    // dialer does.
    socket* attempt = nullptr;
    goro::mutex attempt_lock;
    bool canceled = false;
    goro::wait_group watcher;
    chan<std::monostate> stop_watching;
    if (ctx) {
        if (auto d = ctx->deadline()) {
            const std::int64_t ns = deadline_ns(*d);
            if (deadline == 0 || ns < deadline) deadline = ns;
        }
        if (ctx->err()) {
            ec = ctx->err() == context_errc::canceled ? make_error_code(errc::canceled) : make_error_code(errc::timeout);
            return {};
        }
        if (ctx->done() && goro::detail::current_fiber()) {
            stop_watching = make_chan<std::monostate>();
            watcher.add(1);
            chan<std::monostate> done = ctx->done();
            goro::go([&, done] {
                if (goro::select(goro::recv(done), goro::recv(stop_watching)) == 0) {
                    std::lock_guard<goro::mutex> g(attempt_lock);
                    canceled = true;
                    if (attempt) detail::poll_set_deadline(attempt->pd, io_mode::write, 1);
                }
                watcher.done();
            });
        }
    }
    std::unique_ptr<socket> connected;
    for (const address& addr : addrs) {
        {
            std::lock_guard<goro::mutex> g(attempt_lock);
            if (canceled) break;
        }
        connected = connect_to(addr, deadline, stop_watching ? &attempt : nullptr, &attempt_lock, &canceled, ec);
        if (connected || ec == errc::timeout || ec == errc::canceled) break;
    }
    if (stop_watching) {
        stop_watching.close();
        watcher.wait();
    }
    // A cancel that raced with a successful connect may have expired its
    // write direction: the connection is not handed out, as in Go.
    if (canceled) connected.reset();
    if (ctx && ctx->err() && !connected) {
        ec = ctx->err() == context_errc::canceled ? make_error_code(errc::canceled) : make_error_code(errc::timeout);
        return {};
    }
    if (!connected) return {};
    ec.clear();
    return conn(std::move(connected));
}

conn dial_checked(std::string_view network, std::string_view where, std::int64_t deadline, const context* ctx,
                  std::error_code& ec) noexcept {
    try {
        return dial_impl(network, where, deadline, ctx, ec);
    } catch (const std::system_error& e) {
        ec = e.code();
    } catch (...) {
        ec = std::make_error_code(std::errc::not_enough_memory);
    }
    return {};
}

std::string dial_description(std::string_view network, std::string_view where) {
    return "dial " + std::string(network) + " " + std::string(where);
}

}  // namespace

conn dial(std::string_view network, std::string_view where, std::error_code& ec) noexcept {
    return dial_checked(network, where, 0, nullptr, ec);
}

conn dial(std::string_view network, std::string_view where) {
    return or_throw([&](std::error_code& ec) { return dial(network, where, ec); },
                    [&] { return dial_description(network, where); });
}

conn dial_timeout(std::string_view network, std::string_view where, std::chrono::nanoseconds timeout,
                  std::error_code& ec) noexcept {
    return dial_checked(network, where, goro::detail::deadline_after(goro::detail::saturating_ns(timeout)), nullptr, ec);
}

conn dial_timeout(std::string_view network, std::string_view where, std::chrono::nanoseconds timeout) {
    return or_throw([&](std::error_code& ec) { return dial_timeout(network, where, timeout, ec); },
                    [&] { return dial_description(network, where); });
}

conn dial(const context& ctx, std::string_view network, std::string_view where, std::error_code& ec) noexcept {
    return dial_checked(network, where, 0, &ctx, ec);
}

conn dial(const context& ctx, std::string_view network, std::string_view where) {
    return or_throw([&](std::error_code& ec) { return dial(ctx, network, where, ec); },
                    [&] { return dial_description(network, where); });
}

// ------------------------------------------------------------------ UDP

packet_conn::packet_conn() noexcept = default;
packet_conn::packet_conn(std::unique_ptr<detail::socket> s) noexcept : socket_(std::move(s)) {}
packet_conn::packet_conn(packet_conn&&) noexcept = default;
packet_conn& packet_conn::operator=(packet_conn&&) noexcept = default;
packet_conn::~packet_conn() = default;
packet_conn::operator bool() const noexcept { return socket_ != nullptr; }

std::size_t packet_conn::read_from(void* data, std::size_t size, address& from, std::error_code& ec) noexcept {
    socket* s = socket_.get();
    fd_ref ref(s);
    if (!ref) {
        ec = errc::closed;
        return 0;
    }
    std::lock_guard<goro::mutex> g(s->read_lock);
    sockaddr_storage ss{};
    socklen_t len = 0;
    const std::size_t n = io_loop(s, io_mode::read, ec, [&] {
        len = sizeof ss;
        return ::recvfrom(s->fd, data, size, 0, reinterpret_cast<sockaddr*>(&ss), &len);
    });
    if (!ec) from = address(reinterpret_cast<sockaddr*>(&ss), len);
    return n;
}

std::size_t packet_conn::read_from(void* data, std::size_t size, address& from) {
    return or_throw_op("read", socket_.get(), [&](std::error_code& ec) { return read_from(data, size, from, ec); });
}

std::size_t packet_conn::write_to(const void* data, std::size_t size, const address& to, std::error_code& ec) noexcept {
    socket* s = socket_.get();
    fd_ref ref(s);
    if (!ref) {
        ec = errc::closed;
        return 0;
    }
    std::lock_guard<goro::mutex> g(s->write_lock);
    return io_loop(s, io_mode::write, ec,
                   [&] { return ::sendto(s->fd, data, size, MSG_NOSIGNAL, to.data(), to.size()); });
}

std::size_t packet_conn::write_to(const void* data, std::size_t size, const address& to) {
    return or_throw_op("write", socket_.get(), [&](std::error_code& ec) { return write_to(data, size, to, ec); });
}

std::size_t packet_conn::read(void* data, std::size_t size, std::error_code& ec) noexcept {
    socket* s = socket_.get();
    fd_ref ref(s);
    if (!ref) {
        ec = errc::closed;
        return 0;
    }
    std::lock_guard<goro::mutex> g(s->read_lock);
    return io_loop(s, io_mode::read, ec, [&] { return ::recv(s->fd, data, size, 0); });
}

std::size_t packet_conn::read(void* data, std::size_t size) {
    return or_throw_op("read", socket_.get(), [&](std::error_code& ec) { return read(data, size, ec); });
}

std::size_t packet_conn::write(const void* data, std::size_t size, std::error_code& ec) noexcept {
    socket* s = socket_.get();
    fd_ref ref(s);
    if (!ref) {
        ec = errc::closed;
        return 0;
    }
    std::lock_guard<goro::mutex> g(s->write_lock);
    return io_loop(s, io_mode::write, ec, [&] { return ::send(s->fd, data, size, MSG_NOSIGNAL); });
}

std::size_t packet_conn::write(const void* data, std::size_t size) {
    return or_throw_op("write", socket_.get(), [&](std::error_code& ec) { return write(data, size, ec); });
}

void packet_conn::close(std::error_code& ec) noexcept { close_socket(socket_.get(), ec); }

void packet_conn::close() {
    or_throw_op("close", socket_.get(), [&](std::error_code& ec) { close(ec); });
}

void packet_conn::set_deadline(time_point t) { net::set_deadline(socket_.get(), 3, t); }
void packet_conn::set_deadline(time_point t, std::error_code& ec) noexcept { net::set_deadline(socket_.get(), 3, t, ec); }
void packet_conn::set_read_deadline(time_point t) { net::set_deadline(socket_.get(), 1, t); }
void packet_conn::set_read_deadline(time_point t, std::error_code& ec) noexcept { net::set_deadline(socket_.get(), 1, t, ec); }
void packet_conn::set_write_deadline(time_point t) { net::set_deadline(socket_.get(), 2, t); }
void packet_conn::set_write_deadline(time_point t, std::error_code& ec) noexcept { net::set_deadline(socket_.get(), 2, t, ec); }
address packet_conn::local_address() const { return local_of(socket_.get()); }
address packet_conn::remote_address() const { return remote_of(socket_.get()); }
int packet_conn::native_handle() const noexcept { return socket_ ? socket_->open_fd() : -1; }

namespace {

packet_conn open_udp(std::string_view network, std::string_view where, bool connect, std::error_code& ec) noexcept {
    ec.clear();
    try {
        if (!detail::is_packet_network(network)) {
            ec = errc::unknown_network;
            return {};
        }
        std::vector<address> found = detail::resolve_for(network, where, !connect, ec);
        if (ec) return {};
        const address& addr = found.front();
        socket* s = open_socket(addr.family(), SOCK_DGRAM, ec);
        if (!s) return {};
        std::unique_ptr<socket> owned(s);
        if (!connect && addr.family() == AF_INET6) {
            int v6only = network == "udp6" ? 1 : 0;
            setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        }
        const int r = connect ? ::connect(s->fd, addr.data(), addr.size()) : ::bind(s->fd, addr.data(), addr.size());
        if (r != 0) {
            ec = last_error();
            return {};
        }
        record_addresses(s);
        return packet_conn(std::move(owned));
    } catch (const std::system_error& e) {
        ec = e.code();
    } catch (...) {
        ec = std::make_error_code(std::errc::not_enough_memory);
    }
    return {};
}

}  // namespace

packet_conn listen_packet(std::string_view network, std::string_view where, std::error_code& ec) noexcept {
    return open_udp(network, where, false, ec);
}

packet_conn listen_packet(std::string_view network, std::string_view where) {
    return or_throw([&](std::error_code& ec) { return listen_packet(network, where, ec); },
                    [&] { return "listen " + std::string(network) + " " + std::string(where); });
}

packet_conn dial_udp(std::string_view network, std::string_view where, std::error_code& ec) noexcept {
    return open_udp(network, where, true, ec);
}

packet_conn dial_udp(std::string_view network, std::string_view where) {
    return or_throw([&](std::error_code& ec) { return dial_udp(network, where, ec); },
                    [&] { return dial_description(network, where); });
}

}  // namespace goro::net
