// http/detail/url.hpp — the little URL handling the client and the mux need:
// splitting "http[s]://host[:port]/path?query", percent-decoding a path, and
// cleaning one (Go's path.Clean, as ServeMux uses it). Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace goro::http::detail {

struct parsed_url {
    bool secure = false;    // https
    std::string host;       // "example.com", "::1" (no brackets)
    std::string port;       // "80" (or "443" for https) when the URL gives none
    std::string host_port;  // what the Host header carries: "example.com:8080", or "example.com" for the default port
    std::string dial_addr;  // "example.com:80", "[::1]:8080"
    std::string target;     // "/path?query" ("/" at least)

    std::string scheme() const { return secure ? "https" : "http"; }
    // The pool's key: "https://example.com:443".
    std::string pool_key() const { return scheme() + "://" + dial_addr; }
};

inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// "%2F" and the like become their bytes; a malformed escape stays as it is.
inline std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// True if url starts with scheme, ignoring case.
inline bool has_scheme(std::string_view url, std::string_view scheme) {
    if (url.size() < scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if ((url[i] | 0x20) != scheme[i] && url[i] != scheme[i]) return false;
    return true;
}

// Only http:// and https:// URLs; false for anything else or a missing host.
inline bool parse_url(std::string_view url, parsed_url& out) {
    out.secure = has_scheme(url, "https://");
    if (!out.secure && !has_scheme(url, "http://")) return false;
    std::string_view rest = url.substr(out.secure ? 8 : 7);
    const std::size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (const std::size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
    if (authority.empty()) return false;
    std::string_view host = authority;
    std::string_view port;
    if (authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return false;
            port = after.substr(1);
        }
    } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return false;
    for (char c : port)
        if (c < '0' || c > '9') return false;
    out.host = std::string(host);
    const std::string default_port = out.secure ? "443" : "80";
    out.port = port.empty() ? default_port : std::string(port);
    const bool v6 = out.host.find(':') != std::string::npos;
    const std::string bracketed = v6 ? "[" + out.host + "]" : out.host;
    out.host_port = out.port == default_port ? bracketed : bracketed + ":" + out.port;
    out.dial_addr = bracketed + ":" + out.port;
    if (target.empty()) {
        out.target = "/";
    } else if (target.front() == '?') {
        out.target = "/" + std::string(target);
    } else {
        out.target = std::string(target);
    }
    return true;
}

// Go's path.Clean for a path that starts with '/': no "." or ".." segments,
// no doubled slashes; a trailing slash is kept, as ServeMux keeps it.
inline std::string clean_path(std::string_view p) {
    if (p.empty() || p.front() != '/') return "/" + std::string(p);
    std::vector<std::string_view> parts;
    std::size_t i = 1;
    while (i <= p.size()) {
        std::size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        std::string_view seg = p.substr(i, j - i);
        if (seg == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!seg.empty() && seg != ".") {
            parts.push_back(seg);
        }
        i = j + 1;
    }
    std::string out;
    for (std::string_view seg : parts) {
        out += '/';
        out += seg;
    }
    if (out.empty()) return "/";
    if (p.back() == '/') out += '/';
    return out;
}

}  // namespace goro::http::detail
