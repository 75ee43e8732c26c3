// http_head.hpp: the request-head parser of http_raw (RFC 9112), on its
// own so that tests/fuzz/http_head_fuzz.cpp can feed it arbitrary bytes.
// parse_head() reads in place, allocates nothing, and can be called again
// on the same buffer as more bytes arrive: a prefix of a head reports
// incomplete, never a different answer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace example {

constexpr std::size_t max_head_bytes = 8 * 1024;  // request line and headers

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// a equals lower_b, ignoring ASCII case; lower_b is in lower case.
inline bool iequals(std::string_view a, std::string_view lower_b) {
    if (a.size() != lower_b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != lower_b[i]) return false;
    return true;
}

// RFC 9110 token characters: method and header names.
inline bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
    }
    return true;
}

// Printable ASCII without spaces: a request target.
inline bool is_visible(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 127; });
}

// A header's value (RFC 9110 §5.5): visible characters, spaces and tabs,
// and bytes from 0x80 (obs-text). CR (a bare one: the line's own CR is gone
// by now), LF, NUL and other controls are invalid, and dangerous: a
// proxy or log that reads the value differently could be fooled.
inline bool is_field_value(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= ' ' && u != 127);
    });
}

// A Host header's value, uri-host [":" port] (RFC 9110 §7.2): a name, an
// IPv4 address or a bracketed IPv6 one, so only these characters; empty is
// allowed (a target without an authority).
inline bool is_host(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        return alnum || std::string_view("-._~%!$&'()*+,;=:[]").find(c) != std::string_view::npos;
    });
}

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Does the comma-separated list (a Connection header) hold lower_token?
inline bool has_token(std::string_view list, std::string_view lower_token) {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), lower_token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// A Content-Length: digits only, and few enough that they cannot overflow.
inline bool parse_length(std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 18) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
}

// The next line of data from pos, without its LF or CRLF (a bare LF is
// accepted, as RFC 9112 §2.2 allows); false when no whole line is there yet.
inline bool next_line(std::string_view data, std::size_t& pos, std::string_view& line) {
    const void* lf = std::memchr(data.data() + pos, '\n', data.size() - pos);
    if (!lf) return false;
    const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(lf) - data.data());
    line = data.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    return true;
}

enum class parse_status { complete, incomplete, bad_request, not_implemented };

struct request {
    std::size_t head_length = 0;  // bytes up to and including the empty line
    std::uint64_t content_length = 0;
    bool http10 = false;
    bool is_head = false;
    bool wants_close = false;       // Connection: close
    bool wants_keep_alive = false;  // Connection: keep-alive
    bool expects_continue = false;  // Expect: 100-continue
};

// METHOD SP TARGET SP HTTP/1.x — anything else (HTTP/0.9's "GET /" included)
// is a bad request.
inline bool parse_request_line(std::string_view line, request& req) {
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return false;
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return false;
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method) || !is_visible(target)) return false;
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return false;
    req.http10 = version == "HTTP/1.0";
    req.is_head = method == "HEAD";
    return true;
}

// Parses the request head at the start of data. Lines are checked as they
// arrive, so a bad one is refused before the head is complete.
inline parse_status parse_head(std::string_view data, request& req) {
    req = request{};
    // Without its empty line yet, a head must still have room to finish.
    const parse_status unfinished = data.size() > max_head_bytes ? parse_status::bad_request : parse_status::incomplete;
    std::size_t pos = 0;
    std::string_view line;
    do {  // empty lines before a request are ignored (RFC 9112 §2.2)
        if (!next_line(data, pos, line)) return unfinished;
    } while (line.empty());
    if (!parse_request_line(line, req)) return parse_status::bad_request;

    bool seen_length = false;
    int hosts = 0;
    for (;;) {
        if (!next_line(data, pos, line)) return unfinished;
        if (pos > max_head_bytes) return parse_status::bad_request;
        if (line.empty()) break;
        if (line.front() == ' ' || line.front() == '\t') return parse_status::bad_request;  // obsolete line folding
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return parse_status::bad_request;
        const std::string_view name = line.substr(0, colon);
        if (!is_token(name)) return parse_status::bad_request;  // "Name :" included (RFC 9112 §5.1)
        const std::string_view value = trim(line.substr(colon + 1));
        if (!is_field_value(value)) return parse_status::bad_request;  // a bare CR, a NUL, ...
        if (iequals(name, "host")) {
            if (++hosts > 1 || !is_host(value)) return parse_status::bad_request;
        } else if (iequals(name, "content-length")) {
            std::uint64_t n = 0;
            if (!parse_length(value, n) || (seen_length && n != req.content_length)) return parse_status::bad_request;
            req.content_length = n;
            seen_length = true;
        } else if (iequals(name, "connection")) {
            req.wants_close = req.wants_close || has_token(value, "close");
            req.wants_keep_alive = req.wants_keep_alive || has_token(value, "keep-alive");
        } else if (iequals(name, "transfer-encoding")) {
            return parse_status::not_implemented;  // chunked bodies are beyond this server
        } else if (iequals(name, "expect")) {
            req.expects_continue = iequals(value, "100-continue");
        }
    }
    // HTTP/1.1 requires exactly one Host header (RFC 9112 §3.2).
    if (!req.http10 && hosts == 0) return parse_status::bad_request;
    req.head_length = pos;
    return parse_status::complete;
}

}  // namespace example
