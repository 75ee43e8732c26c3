// http/src/message.cpp — the parts of goro::http that need no parser: the
// error category, status texts, header_map, body_reader, request, handler,
// and error, not_found and redirect (Go's Error, NotFound and Redirect).
//
// Invariants: a request's path_ and raw_query_ are always derived from its
// target_ (set_line is the only writer of the three). Nothing here locks:
// these are values owned by one fiber at a time.
#include <goro/http.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "http/detail/url.hpp"

namespace goro::http {

namespace {

class http_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "goro.http"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::server_closed: return "http: Server closed";
            case errc::body_too_large: return "http: request body too large";
            case errc::handler_done: return "http: invalid Read on closed Body";
            case errc::bad_url: return "http: invalid URL";
            case errc::too_many_redirects: return "stopped after too many redirects";
            case errc::bad_response: return "http: malformed response from server";
        }
        return "http: unknown error";
    }
};

char lower(char c) noexcept { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// A body that reads a string held with it.
struct string_source final : detail::body_source {
    explicit string_source(std::string t) : text(std::move(t)) {}
    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept override {
        ec.clear();
        const std::size_t n = std::min(size, text.size() - offset);
        std::memcpy(data, text.data() + offset, n);
        offset += n;
        return n;
    }
    std::string text;
    std::size_t offset = 0;
};

}  // namespace

const std::error_category& http_category() noexcept {
    static const http_error_category category;
    return category;
}

std::string_view status_text(int code) noexcept {
    switch (code) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 411: return "Length Required";
        case 413: return "Request Entity Too Large";
        case 414: return "Request URI Too Long";
        case 417: return "Expectation Failed";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "";
    }
}

// ---------------------------------------------------------------- header_map

bool header_map::less_nocase::operator()(std::string_view a, std::string_view b) const noexcept {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](char x, char y) { return lower(x) < lower(y); });
}

std::string_view header_map::get(std::string_view name) const noexcept {
    auto it = fields_.find(name);
    if (it == fields_.end() || it->second.empty()) return {};
    return it->second.front();
}

std::vector<std::string> header_map::values(std::string_view name) const {
    auto it = fields_.find(name);
    return it == fields_.end() ? std::vector<std::string>{} : it->second;
}

bool header_map::has(std::string_view name) const noexcept { return fields_.find(name) != fields_.end(); }

void header_map::set(std::string_view name, std::string_view value) {
    auto it = fields_.find(name);
    if (it == fields_.end()) it = fields_.emplace(std::string(name), std::vector<std::string>{}).first;
    it->second.assign(1, std::string(value));
}

void header_map::add(std::string_view name, std::string_view value) {
    auto it = fields_.find(name);
    if (it == fields_.end()) it = fields_.emplace(std::string(name), std::vector<std::string>{}).first;
    it->second.emplace_back(value);
}

void header_map::del(std::string_view name) {
    auto it = fields_.find(name);
    if (it != fields_.end()) fields_.erase(it);
}

// ---------------------------------------------------------------- body_reader

body_reader body_reader::from_string(std::string text) {
    return body_reader(std::make_shared<string_source>(std::move(text)));
}

std::size_t body_reader::read(void* data, std::size_t size, std::error_code& ec) noexcept {
    ec.clear();
    if (!source_ || size == 0) return 0;
    return source_->read(data, size, ec);
}

std::size_t body_reader::read(void* data, std::size_t size) {
    std::error_code ec;
    const std::size_t n = read(data, size, ec);
    if (ec) throw std::system_error(ec, "http: read body");
    return n;
}

void body_reader::close() noexcept {
    if (source_) source_->close();
}

// ---------------------------------------------------------------- request

request::request(std::string method, std::string url, std::string body_text)
    : method_(std::move(method)), url_(std::move(url)), body_text_(std::move(body_text)) {
    content_length_ = static_cast<std::int64_t>(body_text_.size());
    body = body_reader::from_string(body_text_);
    detail::parsed_url u;
    if (detail::parse_url(url_, u)) {
        host_ = u.host_port;
        set_line(method_, u.target, "HTTP/1.1");
    }
}

void request::set_line(std::string method, std::string target, std::string proto) {
    method_ = std::move(method);
    target_ = std::move(target);
    proto_ = std::move(proto);
    std::string_view t = target_;
    // An absolute-form target ("http://host/path") routes by its path.
    if (!t.empty() && t.front() != '/' && t != "*") {
        const std::size_t scheme = t.find("://");
        if (scheme != std::string_view::npos) {
            const std::size_t slash = t.find('/', scheme + 3);
            t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
        }
    }
    const std::size_t q = t.find('?');
    raw_query_ = q == std::string_view::npos ? std::string() : std::string(t.substr(q + 1));
    path_ = detail::percent_decode(q == std::string_view::npos ? t : t.substr(0, q));
}

std::string_view request::path_value(std::string_view name) const noexcept {
    for (const auto& [key, value] : path_values_)
        if (key == name) return value;
    return {};
}

void request::set_path_value(std::string_view name, std::string_view value) {
    for (auto& [key, old] : path_values_)
        if (key == name) {
            old = std::string(value);
            return;
        }
    path_values_.emplace_back(std::string(name), std::string(value));
}

// ---------------------------------------------------------------- writers and handlers

std::size_t response_writer::write(const void* data, std::size_t size) {
    std::error_code ec;
    const std::size_t n = write(data, size, ec);
    if (ec) throw std::system_error(ec, "http: write response");
    return n;
}

void error(response_writer& w, std::string_view text, int code) {
    w.header().del("Content-Length");
    w.header().set("Content-Type", "text/plain; charset=utf-8");
    w.header().set("X-Content-Type-Options", "nosniff");
    w.write_header(code);
    std::error_code ec;  // a client that went away needs no answer
    w.write(std::string(text) + "\n", ec);
}

void not_found(response_writer& w, request&) { error(w, "404 page not found", status_not_found); }

void redirect(response_writer& w, request& r, std::string_view location, int code) {
    std::string target(location);
    // A relative location is resolved against the request's directory, as Go does.
    if (target.find("://") == std::string::npos && (target.empty() || target.front() != '/')) {
        std::string_view dir = r.path();
        dir = dir.substr(0, dir.rfind('/') + 1);
        target = std::string(dir) + target;
    }
    w.header().set("Location", target);
    if (r.method() == "GET" || r.method() == "HEAD") w.header().set("Content-Type", "text/html; charset=utf-8");
    w.write_header(code);
    if (r.method() == "GET") {
        std::error_code ec;
        w.write("<a href=\"" + target + "\">" + std::string(status_text(code)) + "</a>.\n\n", ec);
    }
}

handler::handler(serve_mux& mux) : fn_([m = &mux](response_writer& w, request& r) { m->serve_http(w, r); }) {}

void handler::operator()(response_writer& w, request& r) const {
    if (fn_) {
        fn_(w, r);
    } else {
        not_found(w, r);
    }
}

}  // namespace goro::http
