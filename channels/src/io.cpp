// channels/src/io.cpp — io::pipe on channels (Go's io/pipe.go), and io's
// error category. The invariants and locking are in
// channels/detail/pipe_core.hpp.
#include <cstring>
#include <mutex>
#include <new>

#include <goro/io.hpp>
#include <goro/select.hpp>

#include "channels/detail/pipe_core.hpp"

namespace goro::io {

namespace {

class io_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "goro.io"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::closed_pipe: return "io: read/write on closed pipe";
        case errc::eof: return "EOF";
        case errc::unexpected_eof: return "unexpected EOF";
        case errc::short_write: return "short write";
        }
        return "unknown io error";
    }
    // A closed pipe is a broken pipe: code that checks for EPIPE from a TCP
    // write (ec == std::errc::broken_pipe) handles pipes alike.
    std::error_condition default_error_condition(int value) const noexcept override {
        if (static_cast<errc>(value) == errc::closed_pipe) return std::errc::broken_pipe;
        return {value, *this};
    }
};

}  // namespace

const std::error_category& io_category() noexcept {
    static const io_error_category category;
    return category;
}

namespace detail {

void throw_io_error(const std::error_code& ec, const char* what) { throw std::system_error(ec, what); }

pipe_core::pipe_core()
    : offers(make_chan<std::span<const std::byte>>()),
      taken(make_chan<std::size_t>()),
      done(make_chan<std::monostate>()) {}

bool pipe_core::is_done() {
    std::lock_guard<goro::mutex> g(state_lock);
    return done_closed;
}

void pipe_core::close_done_locked() {
    if (done_closed) return;
    done_closed = true;
    done.close();
}

void pipe_core::close_read(std::error_code why) {
    std::lock_guard<goro::mutex> g(state_lock);
    if (!read_closed) {
        read_closed = true;
        read_error = why ? why : make_error_code(errc::closed_pipe);
    }
    close_done_locked();
}

void pipe_core::close_write(std::error_code why) {
    std::lock_guard<goro::mutex> g(state_lock);
    if (!write_closed) {
        write_closed = true;
        write_error = why;
    }
    close_done_locked();
}

// Go's readCloseError: the writer's error if only the writer closed; a
// reader that closed its own end reads closed_pipe.
std::error_code pipe_core::read_close_error() {
    std::lock_guard<goro::mutex> g(state_lock);
    if (!read_closed && write_closed) return write_error;
    return errc::closed_pipe;
}

std::error_code pipe_core::write_close_error() {
    std::lock_guard<goro::mutex> g(state_lock);
    if (!write_closed && read_closed) return read_error;
    return errc::closed_pipe;
}

namespace {

// True once the deadline channel is closed (never for a nil one).
bool passed(const chan<std::monostate>& deadline) {
    if (!deadline) return false;
    bool closed = false;
    deadline.try_recv(&closed);
    return closed;
}

}  // namespace

std::size_t pipe_core::read(void* data, std::size_t size, const chan<std::monostate>& deadline,
                            std::error_code& ec) {
    ec.clear();
    // Closed and expired first, as Go does, so that a read after close or
    // past the deadline fails even while a writer is offering bytes.
    if (is_done()) {
        ec = read_close_error();
        return 0;
    }
    if (passed(deadline)) {
        ec = std::make_error_code(std::errc::timed_out);
        return 0;
    }
    if (size == 0) return 0;
    std::span<const std::byte> offer;
    bool ok = false;
    switch (goro::select(goro::recv(offers, offer, ok), goro::recv(done), goro::recv(deadline))) {
    case 0: {
        const std::size_t n = offer.size() < size ? offer.size() : size;
        std::memcpy(data, offer.data(), n);
        taken.send(n);  // the writer waits for this answer, so it never blocks long
        return n;
    }
    case 1: ec = read_close_error(); return 0;
    default: ec = std::make_error_code(std::errc::timed_out); return 0;
    }
}

std::size_t pipe_core::write(const void* data, std::size_t size, const chan<std::monostate>& deadline,
                             std::error_code& ec) {
    ec.clear();
    if (is_done()) {
        ec = write_close_error();
        return 0;
    }
    if (passed(deadline)) {
        ec = std::make_error_code(std::errc::timed_out);
        return 0;
    }
    if (size == 0) return 0;  // a 0-byte offer would read as EOF
    std::lock_guard<goro::mutex> g(write_lock);
    std::span<const std::byte> rest(static_cast<const std::byte*>(data), size);
    std::size_t written = 0;
    while (!rest.empty()) {
        switch (goro::select(goro::send(offers, rest), goro::recv(done), goro::recv(deadline))) {
        case 0: {
            const std::size_t n = taken.recv().value_or(0);
            rest = rest.subspan(n);
            written += n;
            break;
        }
        case 1: ec = write_close_error(); return written;
        default: ec = std::make_error_code(std::errc::timed_out); return written;
        }
    }
    return written;
}

}  // namespace detail

// ------------------------------------------------------------------ ends

namespace {
const chan<std::monostate> no_deadline;
}

pipe_reader::pipe_reader() noexcept = default;
pipe_reader::pipe_reader(std::shared_ptr<detail::pipe_core> core) noexcept : core_(std::move(core)) {}
pipe_reader::pipe_reader(pipe_reader&&) noexcept = default;
pipe_reader& pipe_reader::operator=(pipe_reader&& o) noexcept {
    if (this != &o) {
        close();  // the end this one held, as conn's move closes its old socket
        core_ = std::move(o.core_);
    }
    return *this;
}
pipe_reader::~pipe_reader() { close(); }

std::size_t pipe_reader::read(void* data, std::size_t size, std::error_code& ec) noexcept {
    if (!core_) {
        ec = errc::closed_pipe;
        return 0;
    }
    return core_->read(data, size, no_deadline, ec);
}

std::size_t pipe_reader::read(void* data, std::size_t size) {
    std::error_code ec;
    const std::size_t n = read(data, size, ec);
    if (ec) throw std::system_error(ec, "read pipe");
    return n;
}

void pipe_reader::close() noexcept {
    if (core_) core_->close_read({});
}

void pipe_reader::close(std::error_code& ec) noexcept {
    ec.clear();
    if (!core_) ec = errc::closed_pipe;
    close();
}

void pipe_reader::close_with_error(std::error_code why) noexcept {
    if (core_) core_->close_read(why);
}

pipe_writer::pipe_writer() noexcept = default;
pipe_writer::pipe_writer(std::shared_ptr<detail::pipe_core> core) noexcept : core_(std::move(core)) {}
pipe_writer::pipe_writer(pipe_writer&&) noexcept = default;
pipe_writer& pipe_writer::operator=(pipe_writer&& o) noexcept {
    if (this != &o) {
        close();
        core_ = std::move(o.core_);
    }
    return *this;
}
pipe_writer::~pipe_writer() { close(); }

std::size_t pipe_writer::write(const void* data, std::size_t size, std::error_code& ec) noexcept {
    if (!core_) {
        ec = errc::closed_pipe;
        return 0;
    }
    return core_->write(data, size, no_deadline, ec);
}

std::size_t pipe_writer::write(const void* data, std::size_t size) {
    std::error_code ec;
    const std::size_t n = write(data, size, ec);
    if (ec) throw std::system_error(ec, "write pipe");
    return n;
}

void pipe_writer::close() noexcept {
    if (core_) core_->close_write({});
}

void pipe_writer::close(std::error_code& ec) noexcept {
    ec.clear();
    if (!core_) ec = errc::closed_pipe;
    close();
}

void pipe_writer::close_with_error(std::error_code why) noexcept {
    if (core_) core_->close_write(why);
}

std::pair<pipe_reader, pipe_writer> pipe() {
    auto core = std::make_shared<detail::pipe_core>();
    return {pipe_reader(core), pipe_writer(core)};
}

}  // namespace goro::io
