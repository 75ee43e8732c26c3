// goro/net.hpp — sockets for fibers: TCP (IPv4, IPv6), Unix-domain stream
// sockets and UDP, after Go's package net.
//
// Every blocking call parks only the calling fiber: the socket is
// non-blocking underneath and the runtime's netpoller (epoll) readies the
// fiber when the socket is ready. Each fallible call comes twice: one throws
// std::system_error, the other takes a std::error_code& and is noexcept.
// The thrown error's what() names the operation and the endpoints as Go's
// net.OpError does: "read tcp 127.0.0.1:8080->127.0.0.1:51234: i/o timeout".
//
//   - EOF is a read that returns 0 bytes with no error.
//   - write writes everything or fails; a partial write is retried until the
//     whole buffer is out, the deadline passes or the connection fails.
//   - Deadlines are absolute steady_clock times, as Go's SetDeadline; a zero
//     time_point (the default) means none. A call blocked past its deadline
//     fails with goro::net::errc::timeout (equal to std::errc::timed_out),
//     and moving the deadline makes later calls work again.
//   - close() wakes every fiber blocked on the socket; they fail with
//     errc::closed ("use of closed network connection"). A socket may be
//     read by one fiber, written by another and closed by a third at once.
//   - Addresses are recorded when a socket is accepted, dialled or bound,
//     and kept: local_address() and remote_address() answer the same after
//     close() or a reset as before (Go keeps them too), and so do the
//     endpoints in error messages.
//   - SIGPIPE never fires: sends use MSG_NOSIGNAL; a write to a reset
//     connection fails with EPIPE or ECONNRESET.
//
// Addresses are Go's: "host:port", "[v6-host]:port", ":port" (every local
// address), a Unix path for "unix" ("@name" for the abstract namespace).
// Host names are resolved without stalling a worker (getaddrinfo runs under
// goro::blocking).
//
// Called from a plain thread (not a fiber), the calls block that thread.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace goro {
class context;
}

namespace goro::net {

// ---------------------------------------------------------------- errors

enum class errc {
    closed = 1,            // "use of closed network connection"
    timeout,               // "i/o timeout"; equal to std::errc::timed_out
    invalid_address,       // "missing port in address" and the like
    unknown_network,       // not "tcp", "tcp4", "tcp6", "unix" or "udp*"
    host_not_found,        // "no such host"
    canceled,              // a dial's context was cancelled
    eof,                   // "EOF": read_full found the stream ended before any byte
    unexpected_eof,        // "unexpected EOF": read_full found it ended part-way
};

const std::error_category& net_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), net_category()}; }

}  // namespace goro::net

template <>
struct std::is_error_code_enum<goro::net::errc> : std::true_type {};

namespace goro::net {

using time_point = std::chrono::steady_clock::time_point;

namespace detail {
struct socket;
class stream;
}

// ---------------------------------------------------------------- address

// A socket address: IPv4, IPv6 or Unix. Prints as Go prints it.
class address {
public:
    address() noexcept;
    address(const sockaddr* sa, socklen_t len) noexcept;

    // A numeric "ip:port" or "[ip]:port" ("" and ":port" mean every local
    // address); no name lookup. Throws std::system_error on malformed input.
    static address parse(std::string_view host_port);
    static address parse(std::string_view host_port, std::error_code& ec) noexcept;
    static address unix_path(std::string_view path);  // "@name": abstract
    // Either end of a net::pipe (Go's pipeAddr): family AF_UNSPEC, no IP,
    // prints "pipe".
    static address pipe() noexcept;

    int family() const noexcept;  // AF_INET, AF_INET6, AF_UNIX or AF_UNSPEC
    int port() const noexcept;    // 0 for Unix
    std::string ip() const;       // "127.0.0.1", "::1"; the path for Unix
    std::string to_string() const;  // "127.0.0.1:80", "[::1]:80", "/tmp/s"

    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t size() const noexcept { return size_; }

    friend bool operator==(const address& a, const address& b) noexcept;

private:
    sockaddr_storage storage_;
    socklen_t size_;
};

// Resolve "host:port" for network ("tcp", "tcp4", "tcp6", "udp", "udp4",
// "udp6"). Numeric hosts need no lookup; names use getaddrinfo on the
// blocking pool. IPv4 results come first, as Go's dialer prefers them.
std::vector<address> resolve(std::string_view network, std::string_view host_port);
std::vector<address> resolve(std::string_view network, std::string_view host_port, std::error_code& ec);

enum class shutdown_how { read = SHUT_RD, write = SHUT_WR, both = SHUT_RDWR };

// ---------------------------------------------------------------- conn

// A connected stream socket (TCP or Unix), or one end of a net::pipe.
// Move-only; the destructor closes.
class conn {
public:
    conn() noexcept;
    conn(conn&&) noexcept;
    conn& operator=(conn&&) noexcept;
    ~conn();

    explicit operator bool() const noexcept;  // holds a socket (open or closed)

    // Up to size bytes; 0 at EOF (or when size is 0).
    std::size_t read(void* data, std::size_t size);
    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept;
    std::size_t read(std::span<char> buffer) { return read(buffer.data(), buffer.size()); }
    // Exactly size bytes, or fails (Go's io.ReadFull): a stream that ends
    // before the first byte is errc::eof, part-way errc::unexpected_eof.
    // Returns the bytes read, which is less than size only on failure.
    std::size_t read_full(void* data, std::size_t size);
    std::size_t read_full(void* data, std::size_t size, std::error_code& ec) noexcept;

    // All of data, or fails. Returns size.
    std::size_t write(const void* data, std::size_t size);
    std::size_t write(const void* data, std::size_t size, std::error_code& ec) noexcept;
    std::size_t write(std::string_view text) { return write(text.data(), text.size()); }
    std::size_t write(std::string_view text, std::error_code& ec) noexcept {
        return write(text.data(), text.size(), ec);
    }

    void close();
    void close(std::error_code& ec) noexcept;
    // Half-close: shutdown_how::write sends FIN (Go's CloseWrite).
    void shutdown(shutdown_how how = shutdown_how::write);
    void shutdown(shutdown_how how, std::error_code& ec) noexcept;

    void set_deadline(time_point t);
    void set_deadline(time_point t, std::error_code& ec) noexcept;
    void set_read_deadline(time_point t);
    void set_read_deadline(time_point t, std::error_code& ec) noexcept;
    void set_write_deadline(time_point t);
    void set_write_deadline(time_point t, std::error_code& ec) noexcept;
    void set_no_delay(bool on);  // TCP only; on by default, as in Go

    // Go's TCPConn.SetKeepAlive and SetKeepAlivePeriod: on by default for
    // accepted and dialled TCP connections, probing after 15 s idle and
    // every 15 s after that, as Go does; the period is rounded up to whole
    // seconds. Go's SetLinger: a negative value (the default) lets close
    // return at once and the kernel send what is left; 0 discards unsent
    // data and resets the connection; n > 0 makes close wait up to n
    // seconds for it to be sent. On a Unix socket or a net::pipe these do
    // nothing, as set_no_delay.
    void set_keep_alive(bool on);
    void set_keep_alive(bool on, std::error_code& ec) noexcept;
    void set_keep_alive_period(std::chrono::nanoseconds period);
    void set_keep_alive_period(std::chrono::nanoseconds period, std::error_code& ec) noexcept;
    void set_linger(int seconds);
    void set_linger(int seconds, std::error_code& ec) noexcept;
    // Go's SetReadBuffer and SetWriteBuffer: the kernel's receive and send
    // buffer sizes (SO_RCVBUF, SO_SNDBUF; Linux doubles the value and caps
    // it at net.core.rmem_max / wmem_max). Nothing on a net::pipe.
    void set_read_buffer(int bytes);
    void set_read_buffer(int bytes, std::error_code& ec) noexcept;
    void set_write_buffer(int bytes);
    void set_write_buffer(int bytes, std::error_code& ec) noexcept;

    address local_address() const;
    address remote_address() const;
    int native_handle() const noexcept;  // -1 once closed

    explicit conn(std::unique_ptr<detail::socket> s) noexcept;  // internal
    explicit conn(std::unique_ptr<detail::stream> s) noexcept;  // internal: an in-memory conn

private:
    std::unique_ptr<detail::socket> socket_;
    std::unique_ptr<detail::stream> stream_;  // instead of socket_ for an in-memory conn (net::pipe)
};

// Go's net.Pipe: two connected in-memory conns, full duplex. What one writes
// the other reads, with nothing buffered: a write parks until the peer has
// read all of it (as io::pipe, one in each direction). Deadlines work as on
// TCP (errc::timeout, and a later deadline makes calls work again); close()
// fails later and blocked calls on this end with errc::closed, and the peer
// then reads EOF and its writes fail with io::errc::closed_pipe (equal to
// std::errc::broken_pipe, as a TCP write to a closed peer's EPIPE).
// shutdown(write) ends what the peer reads; shutdown(read) fails the peer's
// writes. Both addresses are address::pipe() ("pipe"); native_handle() is -1
// and set_no_delay does nothing.
std::pair<conn, conn> pipe();

// ---------------------------------------------------------------- listener

// A listening stream socket. accept() parks until a connection arrives.
// When the process is out of file descriptors (EMFILE, ENFILE) or kernel
// memory, accept backs off (5 ms doubling to 1 s, as Go's http server) and
// retries instead of failing or spinning; the connection waits in the
// backlog meanwhile.
class listener {
public:
    listener() noexcept;
    listener(listener&&) noexcept;
    listener& operator=(listener&&) noexcept;
    ~listener();

    explicit operator bool() const noexcept;

    conn accept();
    conn accept(std::error_code& ec) noexcept;
    // Wakes fibers blocked in accept (errc::closed). A Unix listener
    // removes its socket file, as Go's does.
    void close();
    void close(std::error_code& ec) noexcept;
    void set_deadline(time_point t);  // for accept
    void set_deadline(time_point t, std::error_code& ec) noexcept;
    address local_address() const;
    int native_handle() const noexcept;
    // How many times accept has backed off for lack of descriptors.
    std::uint64_t accept_backoffs() const noexcept;

    explicit listener(std::unique_ptr<detail::socket> s) noexcept;  // internal

private:
    std::unique_ptr<detail::socket> socket_;
};

// network: "tcp" (dual-stack when the host is empty or "::"), "tcp4",
// "tcp6" or "unix". SO_REUSEADDR is set on TCP listeners. Port 0 picks a
// free port: local_address() tells which.
listener listen(std::string_view network, std::string_view address);
listener listen(std::string_view network, std::string_view address, std::error_code& ec) noexcept;

// Connects to address over network ("tcp", "tcp4", "tcp6", "unix"),
// trying each resolved address in turn. TCP connections get TCP_NODELAY.
conn dial(std::string_view network, std::string_view address);
conn dial(std::string_view network, std::string_view address, std::error_code& ec) noexcept;
// Gives up with errc::timeout once timeout has passed (over all attempts).
conn dial_timeout(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout);
conn dial_timeout(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout,
                  std::error_code& ec) noexcept;
// Gives up when ctx is cancelled (errc::canceled) or its deadline passes
// (errc::timeout).
conn dial(const context& ctx, std::string_view network, std::string_view address);
conn dial(const context& ctx, std::string_view network, std::string_view address, std::error_code& ec) noexcept;

// ---------------------------------------------------------------- UDP

// A UDP socket (Go's UDPConn): bound by listen_packet, or connected by
// dial_udp (then read and write use the connected peer).
class packet_conn {
public:
    packet_conn() noexcept;
    packet_conn(packet_conn&&) noexcept;
    packet_conn& operator=(packet_conn&&) noexcept;
    ~packet_conn();

    explicit operator bool() const noexcept;

    // One datagram each; a datagram longer than size is truncated.
    std::size_t read_from(void* data, std::size_t size, address& from);
    std::size_t read_from(void* data, std::size_t size, address& from, std::error_code& ec) noexcept;
    std::size_t write_to(const void* data, std::size_t size, const address& to);
    std::size_t write_to(const void* data, std::size_t size, const address& to, std::error_code& ec) noexcept;
    std::size_t read(void* data, std::size_t size);
    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept;
    std::size_t write(const void* data, std::size_t size);
    std::size_t write(const void* data, std::size_t size, std::error_code& ec) noexcept;

    void close();
    void close(std::error_code& ec) noexcept;
    void set_deadline(time_point t);
    void set_deadline(time_point t, std::error_code& ec) noexcept;
    void set_read_deadline(time_point t);
    void set_read_deadline(time_point t, std::error_code& ec) noexcept;
    void set_write_deadline(time_point t);
    void set_write_deadline(time_point t, std::error_code& ec) noexcept;
    address local_address() const;
    address remote_address() const;  // AF_UNSPEC unless connected
    int native_handle() const noexcept;

    explicit packet_conn(std::unique_ptr<detail::socket> s) noexcept;  // internal

private:
    std::unique_ptr<detail::socket> socket_;
};

// network: "udp", "udp4" or "udp6".
packet_conn listen_packet(std::string_view network, std::string_view address);
packet_conn listen_packet(std::string_view network, std::string_view address, std::error_code& ec) noexcept;
packet_conn dial_udp(std::string_view network, std::string_view address);
packet_conn dial_udp(std::string_view network, std::string_view address, std::error_code& ec) noexcept;

}  // namespace goro::net

