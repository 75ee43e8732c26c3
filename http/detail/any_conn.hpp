// http/detail/any_conn.hpp — a connection that the HTTP server and client
// use the same way whether it is plain (net::conn) or TLS (tls::conn).
//
// Holds exactly one of the two, fixed at construction. socket() is the
// net::conn underneath either way: closing it from another fiber (server
// shutdown and close do) is safe and wakes every call blocked on the
// connection, TLS or not. close() on the TLS form sends close_notify first.
#pragma once

#include <cstddef>
#include <system_error>
#include <utility>

#include <goro/net.hpp>
#include <goro/tls.hpp>

namespace goro::http::detail {

class any_conn {
public:
    any_conn() = default;
    explicit any_conn(net::conn c) noexcept : plain_(std::move(c)) {}
    explicit any_conn(tls::conn c) noexcept : secure_(std::move(c)), is_tls_(true) {}

    bool is_tls() const noexcept { return is_tls_; }
    tls::conn& secure() noexcept { return secure_; }
    net::conn& socket() { return is_tls_ ? secure_.net_conn() : plain_; }

    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept {
        return is_tls_ ? secure_.read(data, size, ec) : plain_.read(data, size, ec);
    }
    std::size_t write(const void* data, std::size_t size, std::error_code& ec) noexcept {
        return is_tls_ ? secure_.write(data, size, ec) : plain_.write(data, size, ec);
    }
    void set_deadline(net::time_point t, std::error_code& ec) noexcept {
        is_tls_ ? secure_.set_deadline(t, ec) : plain_.set_deadline(t, ec);
    }
    void set_read_deadline(net::time_point t, std::error_code& ec) noexcept {
        is_tls_ ? secure_.set_read_deadline(t, ec) : plain_.set_read_deadline(t, ec);
    }
    void set_write_deadline(net::time_point t, std::error_code& ec) noexcept {
        is_tls_ ? secure_.set_write_deadline(t, ec) : plain_.set_write_deadline(t, ec);
    }
    void close(std::error_code& ec) noexcept { is_tls_ ? secure_.close(ec) : plain_.close(ec); }
    net::address remote_address() const { return is_tls_ ? secure_.remote_address() : plain_.remote_address(); }

private:
    net::conn plain_;
    tls::conn secure_;
    bool is_tls_ = false;
};

}  // namespace goro::http::detail
