// http/detail/beast_stream.hpp — a goro connection (plain or TLS: any_conn) as a Beast SyncReadStream
// and SyncWriteStream, so that Beast's synchronous parser and serializer run
// on a fiber: each read_some and write_some parks the fiber in the conn's
// call, never the worker thread. Included only by the .cpp files that use
// Beast (server.cpp, client.cpp): Beast compiles slowly.
//
// Errors: Beast speaks boost::system::error_code, goro std::error_code. A
// read at the end of the stream gives asio's eof (which Beast turns into
// end_of_stream or partial_message); any other failure gives a Boost code
// and leaves the conn's own std::error_code in last_error, so that callers
// report what the conn said (an i/o timeout, a reset) rather than Beast's
// translation. One fiber at a time uses a conn_stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "http/detail/any_conn.hpp"
#include "http/detail/beast.hpp"

#include <goro/net.hpp>

namespace goro::http::detail {

// "No body limit" for a Beast parser. Not boost::none: Boost 1.74's parser
// compares a Content-Length against the optional limit directly, and every
// length compares greater than none, so none refuses every sized body.
inline constexpr std::uint64_t no_body_limit = std::numeric_limits<std::uint64_t>::max();

// Beast's string_view (Boost's) as the standard one.
inline std::string_view to_std(boost::beast::string_view s) noexcept { return {s.data(), s.size()}; }

class conn_stream {
public:
    explicit conn_stream(any_conn& c) noexcept : conn_(&c) {}

    any_conn& conn() noexcept { return *conn_; }

    // The conn's error behind the last failed call; empty after a success
    // or at EOF.
    std::error_code last_error;
    // Bytes read so far, over every call (a client knows from it whether a
    // reused connection had answered anything).
    std::size_t bytes_read = 0;

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
        ec = {};
        last_error.clear();
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
             ++it) {
            boost::asio::mutable_buffer b = *it;
            if (b.size() == 0) continue;
            const std::size_t n = conn_->read(b.data(), b.size(), last_error);
            bytes_read += n;
            if (n > 0) return n;  // an error that came with bytes shows up on the next call
            ec = last_error ? to_boost(last_error) : boost::system::error_code(boost::asio::error::eof);
            return 0;
        }
        return 0;
    }

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers) {
        boost::system::error_code ec;
        const std::size_t n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

    // While held, small writes collect in one buffer instead of leaving: a
    // response writer holds Beast's serialized head until it knows the
    // body's first bytes, so head and a short body leave in one segment
    // (one send, not two). release() sends what is held.
    void hold() noexcept { holding_ = true; }
    void release(boost::system::error_code& ec) {
        holding_ = false;
        send_held(ec);
    }

    // Writes everything it is given, gathered into one write when small.
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
        ec = {};
        last_error.clear();
        const std::size_t total = boost::asio::buffer_size(buffers);
        if (holding_) {
            if (held_.size() + total <= gather_limit) {
                const std::size_t at = held_.size();
                held_.resize(at + total);
                boost::asio::buffer_copy(boost::asio::buffer(held_.data() + at, total), buffers);
                return total;
            }
            send_held(ec);  // too much to hold: what is held goes first, then this
            if (ec) return 0;
        }
        if (total <= gather_limit) {
            gather_.resize(total);
            boost::asio::buffer_copy(boost::asio::buffer(gather_), buffers);
            conn_->write(gather_.data(), gather_.size(), last_error);
        } else {
            for (auto it = boost::asio::buffer_sequence_begin(buffers);
                 it != boost::asio::buffer_sequence_end(buffers) && !last_error; ++it) {
                boost::asio::const_buffer b = *it;
                if (b.size() > 0) conn_->write(b.data(), b.size(), last_error);
            }
        }
        if (last_error) {
            ec = to_boost(last_error);
            return 0;
        }
        return total;
    }

    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers) {
        boost::system::error_code ec;
        const std::size_t n = write_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

private:
    static constexpr std::size_t gather_limit = 16 * 1024;

    void send_held(boost::system::error_code& ec) {
        ec = {};
        if (held_.empty()) return;
        last_error.clear();
        conn_->write(held_.data(), held_.size(), last_error);
        held_.clear();
        if (last_error) ec = to_boost(last_error);
    }

    static boost::system::error_code to_boost(const std::error_code& e) {
        if (e == std::errc::timed_out) return boost::asio::error::timed_out;
        if (e.category() == std::system_category()) return {e.value(), boost::system::system_category()};
        return boost::asio::error::connection_aborted;  // closed, a pipe's end: last_error has the detail
    }

    any_conn* conn_;
    std::string gather_;
    std::string held_;      // what hold() has kept back
    bool holding_ = false;
};

}  // namespace goro::http::detail
