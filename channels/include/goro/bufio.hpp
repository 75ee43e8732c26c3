// goro/bufio.hpp — Go's package bufio for goro readers: a buffered reader
// (bufio.Reader) and a scanner of lines, words or bytes (bufio.Scanner), over
// any goro::io::reader: a net::conn, a pipe end, or your own.
//
//   goro::io::scanner lines(conn);
//   while (lines.scan()) handle(lines.text());   // text() has no "\n" or "\r\n"
//   if (lines.error()) ...;                      // empty at end of stream
//
//   goro::io::buffered_reader in(conn);
//   std::string header = in.read_string('\n');   // up to and including '\n'
//
// Neither owns its source, which must outlive it. Neither is safe for use by
// two fibers at once (as Go's are not): each call may park its fiber in the
// source's read.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <goro/io.hpp>

namespace goro::io {

// bufio's errors.
enum class bufio_errc {
    buffer_full = 1,  // "bufio: buffer full": peek asked for more than the buffer holds
    token_too_long,   // "bufio.Scanner: token too long"
    no_progress,      // "bufio.Scanner: too many empty tokens without progressing"
};

const std::error_category& bufio_category() noexcept;

inline std::error_code make_error_code(bufio_errc e) noexcept { return {static_cast<int>(e), bufio_category()}; }

}  // namespace goro::io

template <>
struct std::is_error_code_enum<goro::io::bufio_errc> : std::true_type {};

namespace goro::io {

// bufio.Reader: reads from its source in chunks of its buffer's size.
template <reader R>
class buffered_reader {
public:
    static constexpr std::size_t default_size = 4096;

    explicit buffered_reader(R& source, std::size_t size = default_size)
        : source_(&source), buffer_(std::max<std::size_t>(size, 16), '\0') {}

    // A reader itself: what is buffered, else one read of the source (into
    // data directly when data is at least as large as the buffer).
    std::size_t read(void* data, std::size_t size, std::error_code& ec) {
        ec.clear();
        if (size == 0) return 0;
        if (start_ == end_) {
            if (size >= buffer_.size()) return source_->read(data, size, ec);
            if (!fill(ec)) return 0;
        }
        const std::size_t n = std::min(size, end_ - start_);
        std::memcpy(data, buffer_.data() + start_, n);
        start_ += n;
        return n;
    }
    std::size_t read(void* data, std::size_t size) { return or_throw([&](std::error_code& ec) { return read(data, size, ec); }); }

    // ReadByte: the next byte; nullopt at the end of the stream (ec empty)
    // or on an error (ec set).
    std::optional<char> read_byte(std::error_code& ec) {
        ec.clear();
        if (start_ == end_ && !fill(ec)) return std::nullopt;
        return buffer_[start_++];
    }

    // ReadString(delim): everything up to and including the next delim.
    // At the end of the stream, what is left (maybe nothing) without delim,
    // with ec == io::errc::eof, as Go returns io.EOF. The throwing overload
    // throws for errors other than the end: a result that does not end in
    // delim means the stream ended.
    std::string read_string(char delim, std::error_code& ec) {
        ec.clear();
        std::string out;
        for (;;) {
            const char* from = buffer_.data() + start_;
            if (const void* hit = std::memchr(from, delim, end_ - start_)) {
                const std::size_t n = static_cast<std::size_t>(static_cast<const char*>(hit) - from) + 1;
                out.append(from, n);
                start_ += n;
                return out;
            }
            out.append(from, end_ - start_);
            start_ = end_;
            if (!fill(ec)) {
                if (!ec) ec = errc::eof;
                return out;
            }
        }
    }
    std::string read_string(char delim) {
        std::error_code ec;
        std::string out = read_string(delim, ec);
        if (ec && ec != errc::eof) throw std::system_error(ec, "bufio: read_string");
        return out;
    }

    // Peek(n): the next n bytes, not consumed; valid until the next call.
    // Fewer at the end of the stream (ec == io::errc::eof) or when n is
    // over the buffer's size (bufio_errc::buffer_full).
    std::string_view peek(std::size_t n, std::error_code& ec) {
        ec.clear();
        if (n > buffer_.size()) {
            ec = bufio_errc::buffer_full;
            n = buffer_.size();
        }
        while (end_ - start_ < n) {
            std::error_code read_ec;
            if (!fill(read_ec)) {
                ec = read_ec ? read_ec : std::error_code(errc::eof);
                break;
            }
        }
        return {buffer_.data() + start_, std::min(n, end_ - start_)};
    }

    // Discard(n): skips n bytes; returns how many it skipped (fewer only at
    // the end of the stream, ec == io::errc::eof, or on an error).
    std::size_t discard(std::size_t n, std::error_code& ec) {
        ec.clear();
        std::size_t done = 0;
        while (done < n) {
            if (start_ == end_ && !fill(ec)) {
                if (!ec) ec = errc::eof;
                break;
            }
            const std::size_t k = std::min(n - done, end_ - start_);
            start_ += k;
            done += k;
        }
        return done;
    }

    std::size_t buffered() const noexcept { return end_ - start_; }  // bytes read ahead
    std::size_t size() const noexcept { return buffer_.size(); }

private:
    template <class Call>
    static std::size_t or_throw(Call call) {
        std::error_code ec;
        const std::size_t n = call(ec);
        if (ec) throw std::system_error(ec, "bufio: read");
        return n;
    }

    // Reads more into the buffer, keeping what is unread. False at the end
    // of the stream (ec empty) or on an error (ec set).
    bool fill(std::error_code& ec) {
        if (start_ > 0) {
            std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
            end_ -= start_;
            start_ = 0;
        }
        if (end_ == buffer_.size()) return true;  // full already: the caller takes from it
        const std::size_t n = source_->read(buffer_.data() + end_, buffer_.size() - end_, ec);
        end_ += n;
        return n > 0 && !ec;
    }

    R* source_;
    std::string buffer_;
    std::size_t start_ = 0, end_ = 0;  // unread bytes are [start_, end_)
};

// What a split function returns (Go's SplitFunc): how many bytes to consume,
// and the token, if one is complete. A token views the data it was given.
struct split_result {
    std::size_t advance = 0;
    std::optional<std::string_view> token;
};

// Go's ScanLines: a line without its "\n" or "\r\n"; the last line of a
// stream needs no newline.
inline split_result scan_lines(std::string_view data, bool at_eof) {
    if (const std::size_t nl = data.find('\n'); nl != std::string_view::npos) {
        std::string_view line = data.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return {nl + 1, line};
    }
    if (at_eof && !data.empty()) {
        if (data.back() == '\r') return {data.size(), data.substr(0, data.size() - 1)};
        return {data.size(), data};
    }
    return {};
}

// Go's ScanWords: runs of bytes separated by ASCII white space (Go also
// splits on Unicode spaces; goro leaves multi-byte characters in words).
inline split_result scan_words(std::string_view data, bool at_eof) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    std::size_t start = 0;
    while (start < data.size() && space(data[start])) ++start;
    for (std::size_t i = start; i < data.size(); ++i)
        if (space(data[i])) return {i + 1, data.substr(start, i - start)};
    if (at_eof && start < data.size()) return {data.size(), data.substr(start)};
    return {start, std::nullopt};  // skip the spaces; wait for the rest of the word
}

// Go's ScanBytes: one byte at a time.
inline split_result scan_bytes(std::string_view data, bool) {
    if (data.empty()) return {};
    return {1, data.substr(0, 1)};
}

// bufio.Scanner: tokens (lines by default) from a reader, until the end of
// the stream or an error.
template <reader R>
class scanner {
public:
    static constexpr std::size_t max_token_size = 64 * 1024;  // bufio.MaxScanTokenSize

    using split_func = std::function<split_result(std::string_view data, bool at_eof)>;

    explicit scanner(R& source) : source_(&source) {}

    // Buffer(buf, max): the initial buffer size and the largest token.
    void buffer(std::size_t initial, std::size_t max) {
        initial_ = std::max<std::size_t>(initial, 1);
        max_ = std::max(max, initial_);
    }
    void split(split_func f) { split_ = std::move(f); }

    // Scan: the next token into text(); false at the end of the stream or
    // on an error (then error() says which).
    bool scan() {
        if (done_) return false;
        for (;;) {
            if (end_ > start_ || eof_) {
                const std::string_view data(buffer_.data() + start_, end_ - start_);
                split_result r = split_(data, eof_);
                if (r.advance > data.size()) r.advance = data.size();
                start_ += r.advance;
                if (r.token) {
                    token_ = *r.token;
                    // Go panics after 100 empty tokens in a row that consume
                    // nothing; goro stops with an error instead.
                    if (r.advance > 0 || !r.token->empty())
                        empty_tokens_ = 0;
                    else if (++empty_tokens_ > 100)
                        return stop(bufio_errc::no_progress);
                    return true;
                }
                if (eof_) return stop({});
                if (r.advance > 0) continue;
            }
            // Need more data: keep the unread bytes at the front, grow if full.
            if (start_ > 0) {
                std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
                end_ -= start_;
                start_ = 0;
            }
            if (end_ == buffer_.size()) {
                if (buffer_.size() >= max_) return stop(bufio_errc::token_too_long);
                buffer_.resize(std::min(max_, std::max(initial_, buffer_.size() * 2)));
            }
            std::error_code ec;
            const std::size_t n = source_->read(buffer_.data() + end_, buffer_.size() - end_, ec);
            end_ += n;
            if (ec) {
                error_ = ec;
                eof_ = true;  // what is buffered may still hold tokens
            } else if (n == 0) {
                eof_ = true;
            }
        }
    }

    // The last token; valid until the next scan().
    std::string_view text() const noexcept { return token_; }
    // Err(): empty at the end of the stream; else what stopped the scan.
    std::error_code error() const noexcept { return error_; }

private:
    bool stop(std::error_code why) {
        done_ = true;
        token_ = {};
        if (why && !error_) error_ = why;
        return false;
    }

    R* source_;
    split_func split_ = scan_lines;
    std::string buffer_;
    std::size_t start_ = 0, end_ = 0;
    std::size_t initial_ = 4096, max_ = max_token_size;
    std::string_view token_;
    std::error_code error_;
    int empty_tokens_ = 0;  // in a row, consuming nothing
    bool eof_ = false, done_ = false;
};

}  // namespace goro::io
