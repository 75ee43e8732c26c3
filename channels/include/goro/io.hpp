// goro/io.hpp — Go's package io for goro: the reader and writer shapes that
// goro::net::conn and pipes share, io::copy, io::copy_n, io::read_all,
// io::write_string, and io::pipe (Go's io.Pipe).
//
// Reader and writer (the contract every goro stream keeps, net::conn too):
//   - read(data, size, ec) returns up to size bytes; 0 with no error is the
//     end of the stream (or size 0). write(data, size, ec) writes all of
//     data or fails. Each also comes as a throwing overload
//     (std::system_error). Goro's streams also have close().
//
// io::pipe() — a synchronous in-memory pipe:
//   - No buffer: a write parks its fiber (or blocks its plain thread) until
//     readers have taken every byte of it; a read returns what one write
//     still offers, up to its size. Writes are serialised, so the bytes of
//     one write reach readers in order and are never mixed with another's.
//   - Closing the writer ends the stream: readers get EOF (or, after
//     close_with_error(e), the error e). Closing the reader makes writes fail
//     with io::errc::closed_pipe (or the e given to close_with_error). The
//     first close's error sticks, as in Go.
//   - Destroying an end closes it, as destroying a net::conn does; as for a
//     conn, destroying one while another fiber is inside one of its calls is
//     a use-after-free: close() first, then let the others return.
//   - Empty reads and writes return 0 at once: a 0-byte write that reached a
//     reader would look like EOF to it.
//   - Both ends may be used by several fibers and threads at once; waiting
//     parks the fiber, never a worker thread.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace goro::io {

// ---------------------------------------------------------------- errors

enum class errc {
    closed_pipe = 1,  // "io: read/write on closed pipe" (Go's ErrClosedPipe);
                      // equivalent to std::errc::broken_pipe
    eof,              // "EOF": copy_n found the stream ended early
    unexpected_eof,   // "unexpected EOF"
    short_write,      // "short write": a writer took less than it was given
};

const std::error_category& io_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), io_category()}; }

}  // namespace goro::io

template <>
struct std::is_error_code_enum<goro::io::errc> : std::true_type {};

namespace goro::io {

// ---------------------------------------------------------------- concepts

template <class R>
concept reader = requires(R& r, void* data, std::size_t size, std::error_code& ec) {
    { r.read(data, size, ec) } -> std::same_as<std::size_t>;
    { r.read(data, size) } -> std::same_as<std::size_t>;
};

template <class W>
concept writer = requires(W& w, const void* data, std::size_t size, std::error_code& ec) {
    { w.write(data, size, ec) } -> std::same_as<std::size_t>;
    { w.write(data, size) } -> std::same_as<std::size_t>;
};

template <class C>
concept closer = requires(C& c) { c.close(); };

// ---------------------------------------------------------------- helpers

namespace detail {

// Go's io.Copy buffer size. The buffer is on the heap: fiber stacks are small.
inline constexpr std::size_t copy_buffer_size = 32 * 1024;

[[noreturn]] void throw_io_error(const std::error_code& ec, const char* what);

// Copies until EOF, an error, or limit bytes (limit < 0: no limit). With
// ec null it calls the streams' throwing overloads, so what they throw
// names the endpoint ("read tcp 127.0.0.1:80->...: i/o timeout").
template <class W, class R>
std::int64_t copy_some(W& dst, R& src, std::int64_t limit, std::error_code* ec) {
    if (ec) ec->clear();
    const std::size_t buffer_size =
        limit >= 0 && static_cast<std::uint64_t>(limit) < copy_buffer_size ? static_cast<std::size_t>(limit)
                                                                            : copy_buffer_size;
    if (buffer_size == 0) return 0;
    std::unique_ptr<char[]> buffer(new char[buffer_size]);
    std::int64_t written = 0;
    while (limit < 0 || written < limit) {
        std::size_t want = buffer_size;
        if (limit >= 0 && static_cast<std::uint64_t>(limit - written) < want)
            want = static_cast<std::size_t>(limit - written);
        std::error_code read_ec;
        const std::size_t got = ec ? src.read(buffer.get(), want, read_ec) : src.read(buffer.get(), want);
        if (got > 0) {  // bytes that came with an error are still written, as Go does
            const std::size_t put = ec ? dst.write(buffer.get(), got, *ec) : dst.write(buffer.get(), got);
            written += static_cast<std::int64_t>(put);
            if (ec && *ec) return written;
            if (put != got) {
                if (!ec) throw_io_error(errc::short_write, "write");
                *ec = errc::short_write;
                return written;
            }
        }
        if (read_ec) {
            *ec = read_ec;
            return written;
        }
        if (got == 0) break;  // EOF
    }
    return written;
}

}  // namespace detail

// Go's io.Copy: copies from src to dst until src ends, and returns the bytes
// written. EOF is not an error; the first read or write error ends the copy.
template <writer W, reader R>
std::int64_t copy(W& dst, R& src, std::error_code& ec) {
    return detail::copy_some(dst, src, -1, &ec);
}

// Throws what the failing read or write throws.
template <writer W, reader R>
std::int64_t copy(W& dst, R& src) {
    return detail::copy_some(dst, src, -1, nullptr);
}

// Go's io.CopyN: copies exactly n bytes, or fails; a source that ends first
// is errc::eof. Returns the bytes written. A negative n is
// std::errc::invalid_argument.
template <writer W, reader R>
std::int64_t copy_n(W& dst, R& src, std::int64_t n, std::error_code& ec) {
    if (n < 0) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return 0;
    }
    const std::int64_t written = detail::copy_some(dst, src, n, &ec);
    if (!ec && written < n) ec = errc::eof;
    return written;
}

template <writer W, reader R>
std::int64_t copy_n(W& dst, R& src, std::int64_t n) {
    if (n < 0) detail::throw_io_error(std::make_error_code(std::errc::invalid_argument), "copy_n: negative count");
    const std::int64_t written = detail::copy_some(dst, src, n, nullptr);
    if (written < n) detail::throw_io_error(errc::eof, "copy_n");
    return written;
}

namespace detail {

template <class R>
std::string read_all(R& src, std::error_code* ec) {
    if (ec) ec->clear();
    std::string out;
    std::size_t used = 0;
    out.resize(512);
    for (;;) {
        if (used == out.size()) out.resize(out.size() * 2);
        const std::size_t room = out.size() - used;
        const std::size_t got = ec ? src.read(out.data() + used, room, *ec) : src.read(out.data() + used, room);
        used += got;
        if ((ec && *ec) || got == 0) break;
    }
    out.resize(used);
    return out;
}

}  // namespace detail

// Go's io.ReadAll: everything until EOF. On error, what was read so far
// comes back with ec set.
template <reader R>
std::string read_all(R& src, std::error_code& ec) {
    return detail::read_all(src, &ec);
}

// Throws what the failing read throws.
template <reader R>
std::string read_all(R& src) {
    return detail::read_all(src, nullptr);
}

// Go's io.WriteString.
template <writer W>
std::size_t write_string(W& dst, std::string_view text, std::error_code& ec) {
    return dst.write(text.data(), text.size(), ec);
}

template <writer W>
std::size_t write_string(W& dst, std::string_view text) {
    return dst.write(text.data(), text.size());
}

// ---------------------------------------------------------------- pipe

namespace detail {
struct pipe_core;
}

// The read end of an io::pipe. Move-only; the destructor closes it.
class pipe_reader {
public:
    pipe_reader() noexcept;
    pipe_reader(pipe_reader&&) noexcept;
    pipe_reader& operator=(pipe_reader&&) noexcept;
    ~pipe_reader();

    explicit operator bool() const noexcept { return core_ != nullptr; }

    // Up to size bytes of the write in progress, parking until one comes;
    // 0 with no error once the writer closed (EOF). After this end's own
    // close, errc::closed_pipe; after the writer's close_with_error(e), e.
    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept;
    std::size_t read(void* data, std::size_t size);

    // Later and blocked writes fail with errc::closed_pipe. Closing twice is
    // harmless (Go's PipeReader.Close).
    void close() noexcept;
    void close(std::error_code& ec) noexcept;
    // Later and blocked writes fail with why (closed_pipe if why is empty).
    void close_with_error(std::error_code why) noexcept;

    explicit pipe_reader(std::shared_ptr<detail::pipe_core> core) noexcept;  // internal

private:
    std::shared_ptr<detail::pipe_core> core_;
};

// The write end of an io::pipe. Move-only; the destructor closes it.
class pipe_writer {
public:
    pipe_writer() noexcept;
    pipe_writer(pipe_writer&&) noexcept;
    pipe_writer& operator=(pipe_writer&&) noexcept;
    ~pipe_writer();

    explicit operator bool() const noexcept { return core_ != nullptr; }

    // All of data, parking until readers have taken it, or fails: after the
    // reader's close, errc::closed_pipe (or its close_with_error's e); after
    // this end's own close, errc::closed_pipe. Returns the bytes taken.
    std::size_t write(const void* data, std::size_t size, std::error_code& ec) noexcept;
    std::size_t write(const void* data, std::size_t size);
    std::size_t write(std::string_view text) { return write(text.data(), text.size()); }
    std::size_t write(std::string_view text, std::error_code& ec) noexcept {
        return write(text.data(), text.size(), ec);
    }

    // Readers get EOF once the write in progress (if any) is done with.
    void close() noexcept;
    void close(std::error_code& ec) noexcept;
    // Readers get why instead of EOF (EOF if why is empty: Go's nil).
    void close_with_error(std::error_code why) noexcept;

    explicit pipe_writer(std::shared_ptr<detail::pipe_core> core) noexcept;  // internal

private:
    std::shared_ptr<detail::pipe_core> core_;
};

// Go's io.Pipe: auto [r, w] = goro::io::pipe();
std::pair<pipe_reader, pipe_writer> pipe();

}  // namespace goro::io
