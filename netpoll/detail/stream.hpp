// netpoll/detail/stream.hpp — the interface behind a conn that is not a
// socket: an in-memory conn (net::pipe) implements it, and conn forwards
// each call to it when it holds one. Sockets do not go through it: conn
// calls them directly, so the TCP path pays one predictable branch.
//
// Every method is safe to call from several fibers and threads at once,
// and after close() (which fails with errc::closed the second time, as a
// socket's does).
#pragma once

#include <cstddef>
#include <string>
#include <system_error>

#include <goro/net.hpp>

namespace goro::net::detail {

enum deadline_modes : int { read_deadline = 1, write_deadline = 2 };

class stream {
public:
    virtual ~stream() = default;

    virtual std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept = 0;
    virtual std::size_t write(const void* data, std::size_t size, std::error_code& ec) noexcept = 0;
    virtual void close(std::error_code& ec) noexcept = 0;
    virtual void shutdown(shutdown_how how, std::error_code& ec) noexcept = 0;
    // modes: deadline_modes, or'ed.
    virtual void set_deadline(int modes, time_point t, std::error_code& ec) noexcept = 0;
    virtual address local_address() const = 0;
    virtual address remote_address() const = 0;
    // What a thrown error says before ": <message>", as Go's OpError: "read pipe".
    virtual std::string describe(const char* op) const = 0;
};

}  // namespace goro::net::detail
