// resp.hpp: kv_server's request parser (RESP2 multibulk and inline
// commands, as Redis reads them), on its own so that
// tests/fuzz/resp_fuzz.cpp can feed it arbitrary bytes in arbitrary pieces.
#pragma once

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace example {

// Redis's limits: bulk strings up to 512 MB, header and inline lines up to
// 64 KB, and (client-query-buffer-limit) 1 GB of request per connection.
constexpr std::size_t max_bulk_bytes = std::size_t{512} << 20;
constexpr std::size_t max_line_bytes = 64 << 10;
constexpr std::size_t max_request_bytes = std::size_t{1} << 30;
constexpr std::size_t initial_buffer_bytes = 16 << 10;

// A decimal integer as Redis reads one: no '+', no spaces, no leading zeros,
// no "-0", and within the range of long long.
inline bool parse_integer(std::string_view text, long long& value) {
    if (text == "0") {
        value = 0;
        return true;
    }
    const bool negative = !text.empty() && text[0] == '-';
    if (negative) text.remove_prefix(1);
    if (text.empty() || text.size() > 19 || text[0] < '1' || text[0] > '9') return false;
    unsigned long long magnitude = 0;  // 19 digits cannot overflow it
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        magnitude = magnitude * 10 + static_cast<unsigned>(c - '0');
    }
    if (magnitude > (negative ? 1ULL + LLONG_MAX : LLONG_MAX)) return false;
    value = negative ? static_cast<long long>(0 - magnitude) : static_cast<long long>(magnitude);
    return true;
}

// Splits an inline command line (SET k "two words") as Redis does: words
// may be "quoted" (with \n \r \t \b \a \xHH escapes) or 'quoted' (with \'),
// and a closing quote must end its word. False on unbalanced quotes.
inline bool split_inline(std::string_view line, std::vector<std::string>& words) {
    auto space = [](char ch) { return ch != '\0' && std::strchr(" \t\r\n\v\f", ch); };
    auto hex = [](char h) {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
    };
    words.clear();
    for (std::size_t i = 0;;) {
        while (i < line.size() && space(line[i])) ++i;
        if (i == line.size()) return true;
        std::string& word = words.emplace_back();
        char quote = 0;  // the quote we are inside, if any
        for (; i < line.size() && (quote || !space(line[i])); ++i) {
            const char ch = line[i];
            const char next = i + 1 < line.size() ? line[i + 1] : '\0';
            if (!quote && (ch == '"' || ch == '\'')) {
                quote = ch;
            } else if (quote && ch == quote) {
                if (next && !space(next)) return false;  // "a"b
                quote = 0;
            } else if (quote == '"' && ch == '\\' && next == 'x' && i + 3 < line.size() && hex(line[i + 2]) >= 0 &&
                       hex(line[i + 3]) >= 0) {
                word += static_cast<char>(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                i += 3;
            } else if (quote == '"' && ch == '\\' && i + 1 < line.size()) {
                const char* letters = "nrtba";
                const char* letter = next ? std::strchr(letters, next) : nullptr;
                word += letter ? "\n\r\t\b\a"[letter - letters] : next;
                ++i;
            } else if (quote == '\'' && ch == '\\' && next == '\'') {
                word += line[++i];
            } else {
                word += ch;
            }
        }
        if (quote) return false;  // the line ended inside quotes
    }
}

// A connection's read side: one buffer, reused for the connection's life,
// filled by the socket and parsed in place. A command that arrives over many
// reads is parsed as it comes, never rescanned: the arguments seen so far are
// kept as offsets, since the buffer may move. Argument views handed out stay
// valid until the next room() call.
class request_reader {
public:
    enum class result { command, need_more, malformed };

    // Where the next read goes: at least 4 KB. The buffer doubles as a large
    // request arrives (not when it is announced: announcing costs a client
    // nothing) and shrinks back once it has been answered.
    std::span<char> room() {
        constexpr std::size_t min_room = 4096;
        if (start_ > 0) compact();
        if (capacity_ - end_ < min_room) resize(std::max(end_ + min_room, std::min(2 * capacity_, max_request_bytes)));
        else if (capacity_ > 4 * initial_buffer_bytes && end_ + min_room <= initial_buffer_bytes) resize(initial_buffer_bytes);
        return {buffer_.get() + end_, capacity_ - end_};
    }
    void filled(std::size_t n) { end_ += n; }

    // The next complete command, need_more, or malformed with the reason in
    // `error` (then the connection must go: where the next command starts is
    // unknowable).
    result next(std::vector<std::string_view>& words, std::string& error) {
        while (args_left_ == 0) {  // between commands
            if (start_ == end_) return result::need_more;
            if (buffer_[start_] != '*') {
                const result r = next_inline(words, error);
                if (r != result::command || !words.empty()) return r;
                continue;  // an empty line is ignored
            }
            std::string_view line;
            if (!header_line(start_, line, error, "too big mbulk count string")) return failed(error);
            long long count;
            if (!parse_integer(line.substr(1), count) || count > INT_MAX)
                return error = "Protocol error: invalid multibulk length", result::malformed;
            pos_ = start_ + line.size() + 2;
            if (count <= 0) {  // "*0" and "*-1" are empty commands
                start_ = pos_;
                continue;
            }
            args_left_ = count;
            spans_.clear();
        }
        while (args_left_ > 0) {
            if (bulk_len_ < 0) {
                std::string_view line;
                if (!header_line(pos_, line, error, "too big bulk count string")) return failed(error);
                if (line.empty() || line[0] != '$')
                    return error = "Protocol error: expected '$', got '" + std::string(1, line.empty() ? ' ' : line[0]) + "'",
                           result::malformed;
                long long len;
                if (!parse_integer(line.substr(1), len) || len < 0 || static_cast<std::size_t>(len) > max_bulk_bytes)
                    return error = "Protocol error: invalid bulk length", result::malformed;
                pos_ += line.size() + 2;
                // Refuse a request that would outgrow its budget before reading it.
                const std::size_t size = pos_ - start_ + static_cast<std::size_t>(len) + (spans_.size() + 1) * sizeof(span);
                if (size > max_request_bytes) return error = "Protocol error: request too large", result::malformed;
                bulk_len_ = len;
            }
            const auto len = static_cast<std::size_t>(bulk_len_);
            if (end_ - pos_ < len + 2) return result::need_more;
            if (buffer_[pos_ + len] != '\r' || buffer_[pos_ + len + 1] != '\n')
                return error = "Protocol error: bulk string not followed by CRLF", result::malformed;
            spans_.push_back({pos_, len});
            pos_ += len + 2;
            bulk_len_ = -1;
            --args_left_;
        }
        words.clear();
        for (const span& s : spans_) words.emplace_back(buffer_.get() + s.offset, s.length);
        start_ = pos_;
        return result::command;
    }

private:
    struct span {
        std::size_t offset, length;
    };

    static result failed(const std::string& error) { return error.empty() ? result::need_more : result::malformed; }

    // The "\r\n"-terminated line at `from`, without its terminator. False
    // with `error` left empty while the line is incomplete.
    bool header_line(std::size_t from, std::string_view& line, std::string& error, const char* too_long) {
        const char* begin = buffer_.get() + from;
        const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', end_ - from));
        if (!lf && end_ - from > max_line_bytes) error = std::string("Protocol error: ") + too_long;
        if (lf && (lf == begin || lf[-1] != '\r')) error = "Protocol error: line not terminated by CRLF";
        if (!lf || !error.empty()) return false;
        line = std::string_view(begin, static_cast<std::size_t>(lf - 1 - begin));
        return true;
    }

    // A command typed by hand (telnet, nc): one line of words, maybe none.
    result next_inline(std::vector<std::string_view>& words, std::string& error) {
        const char* begin = buffer_.get() + start_;
        const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', end_ - start_));
        if (!lf && end_ - start_ > max_line_bytes) return error = "Protocol error: too big inline request", result::malformed;
        if (!lf) return result::need_more;
        std::string_view line(begin, static_cast<std::size_t>(lf - begin));
        if (line.ends_with('\r')) line.remove_suffix(1);
        start_ = pos_ = static_cast<std::size_t>(lf + 1 - buffer_.get());
        if (!split_inline(line, inline_words_)) return error = "Protocol error: unbalanced quotes in request", result::malformed;
        words.assign(inline_words_.begin(), inline_words_.end());
        return result::command;
    }

    void compact() {  // moves the unparsed bytes to the front
        std::memmove(buffer_.get(), buffer_.get() + start_, end_ - start_);
        for (span& s : spans_) s.offset -= start_;
        pos_ -= start_;
        end_ -= start_;
        start_ = 0;
    }

    void resize(std::size_t capacity) {
        auto fresh = std::make_unique_for_overwrite<char[]>(capacity);
        std::memcpy(fresh.get(), buffer_.get(), end_);
        buffer_ = std::move(fresh);
        capacity_ = capacity;
    }

    std::unique_ptr<char[]> buffer_ = std::make_unique_for_overwrite<char[]>(initial_buffer_bytes);
    std::size_t capacity_ = initial_buffer_bytes;
    std::size_t start_ = 0;    // the first byte of the command being parsed
    std::size_t pos_ = 0;      // where parsing it continues
    std::size_t end_ = 0;      // one past the last byte read
    long long args_left_ = 0;  // bulk strings of the current command still to come
    long long bulk_len_ = -1;  // the announced length of the bulk string at pos_, or -1
    std::vector<span> spans_;  // the current command's arguments so far
    std::vector<std::string> inline_words_;
};

}  // namespace example
