// goro/http.hpp — HTTP/1.1 servers and clients for fibers, after Go's
// package net/http.
//
//   goro::http::serve_mux mux;
//   mux.handle_func("GET /items/{id}", [](auto& w, auto& r) {
//       w.header().set("Content-Type", "text/plain");
//       w.write("item " + std::string(r.path_value("id")));
//   });
//   goro::http::server srv{.handler = mux, .read_header_timeout = 5s};
//   srv.serve(goro::net::listen("tcp", "127.0.0.1:8080"));
//
//   goro::http::client c;
//   goro::http::response resp = c.get("http://127.0.0.1:8080/items/7");
//   std::string text = goro::io::read_all(resp.body);
//
// A server runs a fiber per connection, reads requests one after another
// (keep-alive and pipelining), calls the handler for each and writes its
// answer before reading the next. Request bodies and response bodies are
// goro readers that stream: nothing is read from the socket before someone
// asks for it. Parsing and framing are Boost.Beast's; this header does not
// include Beast (see docs/design.md, "HTTP on Beast").
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <goro/context.hpp>
#include <goro/net.hpp>
#include <goro/tls.hpp>

namespace goro::http {

// ---------------------------------------------------------------- errors

enum class errc {
    server_closed = 1,  // "http: Server closed" (Go's ErrServerClosed)
    body_too_large,     // "http: request body too large"
    handler_done,       // "http: invalid Read on closed Body": the body outlived its handler
    bad_url,            // "http: invalid URL" (the client takes http:// and https:// only)
    too_many_redirects, // "stopped after 10 redirects"
    bad_response,       // "http: malformed response from server"
};

const std::error_category& http_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), http_category()}; }

}  // namespace goro::http

template <>
struct std::is_error_code_enum<goro::http::errc> : std::true_type {};

namespace goro::http {

// ---------------------------------------------------------------- status codes

inline constexpr int status_continue = 100;
inline constexpr int status_ok = 200;
inline constexpr int status_created = 201;
inline constexpr int status_no_content = 204;
inline constexpr int status_moved_permanently = 301;
inline constexpr int status_found = 302;
inline constexpr int status_see_other = 303;
inline constexpr int status_not_modified = 304;
inline constexpr int status_temporary_redirect = 307;
inline constexpr int status_permanent_redirect = 308;
inline constexpr int status_bad_request = 400;
inline constexpr int status_not_found = 404;
inline constexpr int status_method_not_allowed = 405;
inline constexpr int status_request_timeout = 408;
inline constexpr int status_request_entity_too_large = 413;
inline constexpr int status_request_header_fields_too_large = 431;
inline constexpr int status_internal_server_error = 500;
inline constexpr int status_not_implemented = 501;
inline constexpr int status_service_unavailable = 503;

// Go's http.StatusText: "Not Found" for 404; "" for a code it does not know.
std::string_view status_text(int code) noexcept;

// ---------------------------------------------------------------- header_map

// Go's http.Header: field names compare without regard to case; a name may
// carry several values, kept in the order they were added. Iteration is in
// name order (case-insensitively), each value of a name in turn.
class header_map {
public:
    struct less_nocase {
        bool operator()(std::string_view a, std::string_view b) const noexcept;
        using is_transparent = void;
    };
    using map_type = std::map<std::string, std::vector<std::string>, less_nocase>;

    // The first value of name, or "".
    std::string_view get(std::string_view name) const noexcept;
    std::vector<std::string> values(std::string_view name) const;
    bool has(std::string_view name) const noexcept;
    // Replaces every value of name.
    void set(std::string_view name, std::string_view value);
    void add(std::string_view name, std::string_view value);
    void del(std::string_view name);
    bool empty() const noexcept { return fields_.empty(); }
    std::size_t size() const noexcept { return fields_.size(); }  // distinct names

    map_type::const_iterator begin() const noexcept { return fields_.begin(); }
    map_type::const_iterator end() const noexcept { return fields_.end(); }

private:
    map_type fields_;
};

// ---------------------------------------------------------------- body_reader

namespace detail {
// What a body_reader reads from: a request body on a server connection, a
// response body on a client connection, or a string.
struct body_source {
    virtual ~body_source() = default;
    virtual std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept = 0;
    virtual void close() noexcept {}
};
}  // namespace detail

// A message body, as a goro reader (goro::io::read_all(r.body) and
// goro::io::copy take it). 0 with no error is the end of the body. Copies
// share one stream. A default-constructed body is empty.
class body_reader {
public:
    body_reader() noexcept = default;
    explicit body_reader(std::shared_ptr<detail::body_source> source) noexcept : source_(std::move(source)) {}
    // A body that reads text.
    static body_reader from_string(std::string text);

    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept;
    std::size_t read(void* data, std::size_t size);
    // Done with the body: a client connection whose body was not read to
    // its end is closed instead of going back to the pool.
    void close() noexcept;

private:
    std::shared_ptr<detail::body_source> source_;
};

// ---------------------------------------------------------------- request

// Go's http.Request, for both sides: a server hands one to its handler; a
// client sends one (client::send).
class request {
public:
    request() = default;
    // A request for a client: method "GET", "POST", ...; url "http://host[:port]/path?query".
    request(std::string method, std::string url, std::string body_text = {});

    std::string_view method() const noexcept { return method_; }
    // The request target as sent: "/items/7?color=red".
    std::string_view target() const noexcept { return target_; }
    // The target's path, percent-decoded: "/items/7".
    std::string_view path() const noexcept { return path_; }
    // The target's query, without '?': "color=red".
    std::string_view raw_query() const noexcept { return raw_query_; }
    // The Host header (or, for a client request, the URL's host and port).
    std::string_view host() const noexcept { return host_; }
    // "HTTP/1.1", "HTTP/1.0".
    std::string_view proto() const noexcept { return proto_; }
    // The declared body length; -1 when unknown (chunked).
    std::int64_t content_length() const noexcept { return content_length_; }
    // The peer's "ip:port" (server side).
    std::string_view remote_addr() const noexcept { return remote_addr_; }
    // The URL the client sends to (client side).
    std::string_view url() const noexcept { return url_; }
    // Go's Request.TLS: what the connection's handshake settled, on a
    // server serving TLS; null otherwise.
    const goro::tls::connection_state* tls() const noexcept { return tls_ ? &*tls_ : nullptr; }

    http::header_map& header() noexcept { return header_; }
    const http::header_map& header() const noexcept { return header_; }

    // The body: on a server, streams from the connection (an empty reader
    // when there is none); on a client, what send() writes.
    body_reader body;

    // The value the matched serve_mux pattern's wildcard {name} took, or "".
    std::string_view path_value(std::string_view name) const noexcept;
    void set_path_value(std::string_view name, std::string_view value);

    // On a server: cancelled when the client goes away (seen while the
    // handler runs once the body has been read), when the handler returns,
    // and when the server is closed (close()). Background on a client
    // request unless set.
    const goro::context& context() const noexcept { return ctx_; }
    void set_context(goro::context ctx) { ctx_ = std::move(ctx); }

    // internal: filled by the server and the client.
    void set_line(std::string method, std::string target, std::string proto);
    void set_host(std::string host) { host_ = std::move(host); }
    void set_remote_addr(std::string addr) { remote_addr_ = std::move(addr); }
    void set_content_length(std::int64_t n) noexcept { content_length_ = n; }
    void set_url(std::string url) { url_ = std::move(url); }
    void set_tls(goro::tls::connection_state state) { tls_ = std::move(state); }
    // internal: the client's copy of the body text, for redirects and retries.
    const std::string& body_text() const noexcept { return body_text_; }

private:
    std::string method_ = "GET";
    std::string target_ = "/";
    std::string path_ = "/";
    std::string raw_query_;
    std::string host_;
    std::string proto_ = "HTTP/1.1";
    std::string remote_addr_;
    std::string url_;
    std::string body_text_;
    std::int64_t content_length_ = 0;
    http::header_map header_;
    std::vector<std::pair<std::string, std::string>> path_values_;
    goro::context ctx_;
    std::optional<goro::tls::connection_state> tls_;
};

// ---------------------------------------------------------------- response_writer

// Go's http.ResponseWriter: what a handler answers through.
//   - header() may be changed until the head is sent: by write_header, by
//     the first flush, or by writes beyond the writer's buffer.
//   - write_header(code) sends the status (200 if the handler writes first);
//     later calls are ignored.
//   - write(...) buffers; a handler that returns having written less than
//     the buffer is answered with a Content-Length; a larger or flushed
//     answer without a Content-Length header goes chunked (HTTP/1.1) or ends
//     by closing the connection (HTTP/1.0). Writes fail once the client is
//     gone (and the rest of the handler's writes fail the same way).
//   - flush() sends the head and what is buffered now.
class response_writer {
public:
    virtual ~response_writer() = default;
    virtual http::header_map& header() = 0;
    virtual void write_header(int code) = 0;
    virtual std::size_t write(const void* data, std::size_t size, std::error_code& ec) = 0;
    std::size_t write(const void* data, std::size_t size);
    std::size_t write(std::string_view text, std::error_code& ec) { return write(text.data(), text.size(), ec); }
    std::size_t write(std::string_view text) { return write(text.data(), text.size()); }
    virtual void flush() = 0;
};

// Go's http.Error: replies code with text as a plain-text body.
void error(response_writer& w, std::string_view text, int code);
// Go's http.NotFound.
void not_found(response_writer& w, request& r);
// Go's http.Redirect: code is a 3xx; location may be relative to r's path.
void redirect(response_writer& w, request& r, std::string_view location, int code);

// ---------------------------------------------------------------- handler

class serve_mux;

// Go's http.Handler: anything called as f(response_writer&, request&). Built
// from a callable (which it copies) or from a serve_mux (which it refers
// to: the mux must outlive the handler, as Go's *ServeMux is a pointer). A
// null handler answers 404.
class handler {
public:
    using function_type = std::function<void(response_writer&, request&)>;

    handler() = default;
    handler(serve_mux& mux);  // NOLINT: implicit, so that .handler = mux reads as Go's
    template <class F>
        requires(!std::same_as<std::remove_cvref_t<F>, handler> &&
                 !std::same_as<std::remove_cvref_t<F>, serve_mux> &&
                 std::invocable<F&, response_writer&, request&>)
    handler(F f) : fn_(std::move(f)) {}  // NOLINT: implicit, as Go's HandlerFunc conversion

    void operator()(response_writer& w, request& r) const;
    explicit operator bool() const noexcept { return static_cast<bool>(fn_); }

private:
    function_type fn_;
};

// ---------------------------------------------------------------- serve_mux

// Go 1.22's http.ServeMux. A pattern is "[METHOD ][HOST]/PATH":
//   - METHOD: a pattern with GET also matches HEAD; without one it matches
//     every method.
//   - HOST: matched against the request's Host without its port; a pattern
//     with a host wins over one without.
//   - PATH: segments between slashes; a segment may be a wildcard "{name}"
//     (one whole segment), the last may be "{name...}" (the rest of the
//     path). A path ending in "/" matches every path below it; "/{$}" at
//     the end matches the slash alone.
// The most specific matching pattern wins: one that matches a strict subset
// of another's requests. Registering two patterns of which neither is more
// specific but that match a request in common (or the same pattern twice)
// throws goro::panic_error naming both, as do malformed patterns.
// Without a match: 405 with Allow if another method would match, a 301 to
// the path with a trailing slash when that matches a subtree, a 301 to the
// cleaned path for a path with "." or ".." segments or doubled slashes, and
// otherwise 404. Registration and serving may run concurrently.
class serve_mux {
public:
    serve_mux();
    ~serve_mux();
    serve_mux(const serve_mux&) = delete;
    serve_mux& operator=(const serve_mux&) = delete;

    void handle(std::string_view pattern, http::handler h);
    template <class F>
    void handle_func(std::string_view pattern, F f) {
        handle(pattern, http::handler(std::move(f)));
    }

    // Dispatches r to the handler of its best pattern (setting r's path
    // values), or answers 404, 405 or 301 itself.
    void serve_http(response_writer& w, request& r) const;
    void operator()(response_writer& w, request& r) const { serve_http(w, r); }

    // The pattern that would serve r ("" for none), and its handler (null for
    // none, or for a mux-made 301 or 405); sets r's path values (Go's
    // ServeMux.Handler).
    std::pair<http::handler, std::string> find(request& r) const;

    struct state;

private:
    std::unique_ptr<state> state_;
};

// ---------------------------------------------------------------- server

namespace detail {
struct server_state;
std::shared_ptr<server_state> make_server_state();
}  // namespace detail

// Go's http.Server. An aggregate: set the fields by name, then serve.
// Durations of zero mean no limit, as in Go.
//   - read_header_timeout: from the first byte of a request to the end of
//     its head, and a new connection's wait for that byte (read_timeout if
//     zero). A client that sends its head slower is cut off: the
//     connection closes, with a 408 if part of a head had come.
//   - read_timeout: from the first byte of a request to the end of its body.
//   - write_timeout: from the end of the head to the end of the answer.
//   - idle_timeout: how long a kept-alive connection may wait for its next
//     request (read_timeout if zero).
//   - max_header_bytes: the most a request head may take (1 MiB if zero);
//     past it, 431.
//   - max_body_bytes: the most a request body may take (no limit if zero);
//     past it the body's read fails with errc::body_too_large, a declared
//     Content-Length above it is answered 413 before the handler runs, and a
//     handler that had not answered yet is answered 413.
//   - error_log: where a handler's exception is reported (stderr if null),
//     and a failed TLS handshake.
//   - tls_config: for serve_tls and listen_and_serve_tls (Go's TLSConfig).
//     They add "http/1.1" to its next_protos; the certificate files they
//     are given replace its certificates. The handshake runs on the
//     connection's fiber, bounded by the shorter of read_header_timeout (or
//     read_timeout) and write_timeout. A client that speaks plain HTTP to
//     it is answered 400 in plain HTTP, as Go does.
struct server {
    // Every field has an initializer: designated initializers may leave any
    // out without -Wmissing-field-initializers noise.
    http::handler handler{};
    std::chrono::nanoseconds read_header_timeout{};
    std::chrono::nanoseconds read_timeout{};
    std::chrono::nanoseconds write_timeout{};
    std::chrono::nanoseconds idle_timeout{};
    std::size_t max_header_bytes = 0;
    std::int64_t max_body_bytes = 0;
    std::function<void(std::string_view)> error_log{};
    tls::config tls_config{};

    // Accepts on ln until shutdown() or close(), serving each connection on
    // its own fiber; takes the listener and closes it on return. Returns
    // normally after shutdown or close (the error_code form then sets
    // errc::server_closed, as Go's Serve returns ErrServerClosed); an accept
    // failure throws (or is set).
    void serve(net::listener ln);
    void serve(net::listener ln, std::error_code& ec);
    // net::listen("tcp", addr), then serve.
    void listen_and_serve(std::string_view addr);
    void listen_and_serve(std::string_view addr, std::error_code& ec);
    // Go's ServeTLS and ListenAndServeTLS: as serve and listen_and_serve,
    // every connection TLS. A PEM certificate (chain) file and its key; both
    // empty: tls_config's certificates. Bad files throw (are set) before
    // anything is accepted.
    void serve_tls(net::listener ln, const std::string& cert_file, const std::string& key_file);
    void serve_tls(net::listener ln, const std::string& cert_file, const std::string& key_file, std::error_code& ec);
    void listen_and_serve_tls(std::string_view addr, const std::string& cert_file, const std::string& key_file);
    void listen_and_serve_tls(std::string_view addr, const std::string& cert_file, const std::string& key_file,
                              std::error_code& ec);

    // Go's Shutdown: stops accepting, closes idle connections, asks active
    // ones to close after their answer (Connection: close) and waits for
    // them, or until ctx is done: then throws (sets) ctx's error and leaves
    // what is left running, as Go does (close() ends it).
    void shutdown(const goro::context& ctx);
    void shutdown(const goro::context& ctx, std::error_code& ec);
    // Go's Close: closes every listener and connection now.
    void close();

    // Connections open now (being read, served or idle).
    std::size_t open_connections() const;

    // internal: listeners, connections and their states (shared by copies).
    std::shared_ptr<detail::server_state> state_ = detail::make_server_state();
};

// ---------------------------------------------------------------- client

// Go's http.Response. The body streams from the connection; reading it to
// its end (or closing it) hands the connection back to the client's pool.
struct response {
    int status_code = 0;
    std::string status{};  // "200 OK"
    std::string proto{};   // "HTTP/1.1"
    http::header_map header{};
    body_reader body{};
    std::int64_t content_length = -1;  // -1: unknown
    std::string url{};                  // the URL that answered (after redirects)
};

namespace detail {
struct transport;
}

// Go's http.Client with its default transport: keep-alive connections pooled
// per scheme and host ("https://host:port"), reused when a response body has been read to its
// end. Copies share the pool. Safe for many fibers at once.
//   - timeout: for the whole exchange, from the dial to the end of the
//     response body (zero: none); past it, calls and body reads fail with
//     net::errc::timeout.
//   - max_idle_conns_per_host: idle connections kept per host (Go's 2).
//   - idle_conn_timeout: an idle connection older than this is closed
//     rather than reused (Go's 90 s).
//   - max_redirects: 301, 302 and 303 are followed with GET (no body), 307
//     and 308 with the same method and body, at most this many times; past
//     it, errc::too_many_redirects. 0 follows none and returns the 3xx.
//   - tls_config: for https:// URLs (Go's Transport.TLSClientConfig). The
//     server's certificate is verified against root_cas (the system's by
//     default) and the URL's host, which is also the SNI, unless
//     server_name says otherwise; ALPN offers next_protos ("http/1.1" if
//     empty). The pool keeps http and https connections apart.
// http:// and https:// URLs.
class client {
public:
    client();

    std::chrono::nanoseconds timeout{};
    int max_idle_conns_per_host = 2;
    std::chrono::nanoseconds idle_conn_timeout = std::chrono::seconds(90);
    int max_redirects = 10;
    tls::config tls_config{};

    response get(std::string_view url);
    response get(std::string_view url, std::error_code& ec);
    response post(std::string_view url, std::string_view content_type, std::string_view body);
    response post(std::string_view url, std::string_view content_type, std::string_view body, std::error_code& ec);
    // Go's Client.Do.
    response send(request& req);
    response send(request& req, std::error_code& ec);

    // Idle connections in the pool now, over every host.
    std::size_t idle_connections() const;
    void close_idle_connections();

private:
    std::shared_ptr<detail::transport> transport_;
};

}  // namespace goro::http
