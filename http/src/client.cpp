// http/src/client.cpp — http::client: requests written and responses read
// with Beast over pooled keep-alive connections.
//
// Invariants:
//   - transport::lock (a goro::mutex) guards transport::idle, the pool:
//     connections nobody uses, each with nothing left unread of the last
//     response. It is never held across a dial, a read or a write.
//   - transport::tls_lock (a std::mutex, held for no I/O) guards the TLS
//     context built from the client's tls_config and the config it was
//     built from; a changed config builds a new one.
//   - The pool is keyed by scheme and host ("https://host:port"): an http
//     connection never carries an https request, nor the reverse.
//   - A connection is either in the pool or owned by exactly one exchange:
//     the send that dialled or took it, then the body of its response. That
//     body puts it back when it has read the response to its end and both
//     sides allow keep-alive; otherwise the connection is closed.
#include <goro/http.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <goro/io.hpp>
#include <goro/sync.hpp>
#include <goro/tls.hpp>

#include "http/detail/beast_stream.hpp"
#include "http/detail/url.hpp"

namespace goro::http {

namespace beast_http = boost::beast::http;
using response_parser = beast_http::response_parser<beast_http::buffer_body>;

namespace detail {

// A client connection and what it has read past the last response. Never
// moves (stream refers to conn): held by unique_ptr.
struct pooled_conn {
    explicit pooled_conn(any_conn c) : conn(std::move(c)), stream(conn) {}
    any_conn conn;
    conn_stream stream;
    boost::beast::flat_buffer buffer;
    std::chrono::steady_clock::time_point idle_since{};
};

struct transport {
    goro::mutex lock;
    std::map<std::string, std::vector<std::unique_ptr<pooled_conn>>> idle;  // guarded by lock; by pool_key()

    std::mutex tls_lock;
    tls::config tls_built_from;                         // guarded by tls_lock
    std::shared_ptr<const tls::detail::context> tls_context;  // guarded by tls_lock

    // The client context for cfg, built once per distinct config.
    std::shared_ptr<const tls::detail::context> tls_for(const tls::config& cfg, std::error_code& ec) {
        std::lock_guard hold(tls_lock);
        if (tls_context && tls_built_from == cfg) return tls_context;
        tls::config effective = cfg;
        if (effective.next_protos.empty()) effective.next_protos = {"http/1.1"};
        auto built = tls::detail::make_context(effective, false, ec);
        if (ec) return nullptr;
        tls_built_from = cfg;
        tls_context = built;
        return built;
    }

    // The most recently pooled live connection for key, or null.
    std::unique_ptr<pooled_conn> take(const std::string& key, std::chrono::nanoseconds max_idle) {
        std::lock_guard hold(lock);
        auto it = idle.find(key);
        if (it == idle.end()) return nullptr;
        const auto now = std::chrono::steady_clock::now();
        while (!it->second.empty()) {
            std::unique_ptr<pooled_conn> pc = std::move(it->second.back());
            it->second.pop_back();
            if (max_idle.count() <= 0 || now - pc->idle_since < max_idle) return pc;
            // Expired: destroying it closes it.
        }
        return nullptr;
    }

    void put(const std::string& key, std::unique_ptr<pooled_conn> pc, int max_per_host) {
        std::error_code ec;
        pc->conn.set_deadline(net::time_point{}, ec);
        pc->idle_since = std::chrono::steady_clock::now();
        std::lock_guard hold(lock);
        auto& list = idle[key];
        if (static_cast<int>(list.size()) >= max_per_host) return;  // pc closes as it goes
        list.push_back(std::move(pc));
    }
};

}  // namespace detail

namespace {

using detail::pooled_conn;

// A response body, streamed from its connection.
struct client_body final : detail::body_source {
    std::shared_ptr<detail::transport> transport;
    std::string key;
    std::unique_ptr<pooled_conn> pc;
    std::unique_ptr<response_parser> parser;
    bool keep_alive = false;
    int max_idle_per_host = 0;
    std::error_code failed;

    ~client_body() override { close(); }

    // The response is read to its end: the connection may carry another.
    void release() {
        if (!pc) return;
        if (keep_alive && max_idle_per_host > 0 && pc->buffer.size() == 0) {
            transport->put(key, std::move(pc), max_idle_per_host);
        } else {
            pc.reset();
        }
    }

    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept override {
        ec.clear();
        if (failed) {
            ec = failed;
            return 0;
        }
        if (parser->is_done()) return 0;
        if (!pc) {
            ec = net::errc::closed;
            return 0;
        }
        for (;;) {
            auto& body = parser->get().body();
            body.data = data;
            body.size = size;
            boost::system::error_code bec;
            // read_some, not read: read goes on past a full buffer to parse
            // the next chunk's size, waiting for bytes the peer may send only
            // after it hears from us.
            beast_http::read_some(pc->stream, pc->buffer, *parser, bec);
            const std::size_t got = size - parser->get().body().size;
            parser->get().body().data = nullptr;
            if (bec == beast_http::error::need_buffer) bec = {};
            if (bec) {
                if (pc->stream.last_error) {
                    failed = pc->stream.last_error;
                } else if (bec == beast_http::error::partial_message || bec == beast_http::error::end_of_stream) {
                    failed = goro::io::errc::unexpected_eof;
                } else {
                    failed = errc::bad_response;
                }
                pc.reset();
                if (got == 0) ec = failed;
                return got;
            }
            if (parser->is_done()) release();
            if (got > 0 || parser->is_done()) return got;
        }
    }

    void close() noexcept override {
        if (parser && parser->is_done()) return;
        pc.reset();  // unread bytes would confuse the next response: close it
        if (!failed) failed = net::errc::closed;
    }
};

bool replayable(std::string_view method) {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

std::error_code stream_error(const pooled_conn& pc, const boost::system::error_code& bec) {
    if (pc.stream.last_error) return pc.stream.last_error;
    if (bec == beast_http::error::end_of_stream || bec == beast_http::error::partial_message)
        return goro::io::errc::unexpected_eof;
    return errc::bad_response;
}

struct exchange_settings {
    net::time_point deadline;
    std::chrono::nanoseconds idle_conn_timeout;
    int max_idle_conns_per_host;
    const tls::config* tls_config;
};

// One request and the head of its response.
response exchange(const std::shared_ptr<detail::transport>& transport, const exchange_settings& settings,
                  std::string_view method, const std::string& url, const header_map& header, const std::string& body,
                  std::error_code& ec) {
    ec.clear();
    detail::parsed_url u;
    if (!detail::parse_url(url, u)) {
        ec = errc::bad_url;
        return {};
    }
    beast_http::request<beast_http::string_body> out;
    out.method_string(boost::beast::string_view(method.data(), method.size()));
    out.target(u.target);
    out.version(11);
    out.set(beast_http::field::host, u.host_port);
    out.set(beast_http::field::user_agent, "goro-http-client/1.1");
    for (const auto& [name, values] : header)
        for (const std::string& v : values) out.insert(name, v);
    out.body() = body;
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") out.prepare_payload();

    const std::string key = u.pool_key();
    std::shared_ptr<const tls::detail::context> tls_context;
    if (u.secure) {
        tls_context = transport->tls_for(*settings.tls_config, ec);
        if (ec) return {};
    }
    for (int attempt = 0;; ++attempt) {
        std::unique_ptr<pooled_conn> pc = transport->take(key, settings.idle_conn_timeout);
        const bool reused = pc != nullptr;
        if (!pc) {
            net::conn c;
            if (settings.deadline != net::time_point{}) {
                const auto left = settings.deadline - std::chrono::steady_clock::now();
                if (left <= std::chrono::nanoseconds::zero()) {
                    ec = net::errc::timeout;
                    return {};
                }
                c = net::dial_timeout("tcp", u.dial_addr, left, ec);
            } else {
                c = net::dial("tcp", u.dial_addr, ec);
            }
            if (ec) return {};
            if (tls_context) {
                const std::string& name =
                    settings.tls_config->server_name.empty() ? u.host : settings.tls_config->server_name;
                pc = std::make_unique<pooled_conn>(
                    detail::any_conn(tls::detail::make_conn(std::move(c), tls_context, name)));
            } else {
                pc = std::make_unique<pooled_conn>(detail::any_conn(std::move(c)));
            }
        }
        pc->conn.set_deadline(settings.deadline, ec);
        ec.clear();
        if (!reused && pc->conn.is_tls()) {
            // Here rather than inside the first write: its failure (a
            // certificate, a name) is reported as itself.
            pc->conn.secure().handshake(ec);
            if (ec) return {};
        }
        const bool retry_allowed = reused && attempt == 0;

        boost::system::error_code bec;
        beast_http::write(pc->stream, out, bec);
        if (bec) {
            if (retry_allowed) continue;  // the server closed it while it sat in the pool
            ec = stream_error(*pc, bec);
            return {};
        }
        const std::size_t read_before = pc->stream.bytes_read;
        auto parser = std::make_unique<response_parser>();
        parser->body_limit(detail::no_body_limit);
        if (method == "HEAD") parser->skip(true);
        beast_http::read_header(pc->stream, pc->buffer, *parser, bec);
        if (bec) {
            if (retry_allowed && pc->stream.bytes_read == read_before && replayable(method)) continue;
            ec = stream_error(*pc, bec);
            return {};
        }
        auto& msg = parser->get();
        response resp;
        resp.status_code = static_cast<int>(msg.result_int());
        resp.status = std::to_string(resp.status_code) + " " + std::string(msg.reason());
        resp.proto = msg.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
        for (const auto& field : msg) resp.header.add(detail::to_std(field.name_string()), detail::to_std(field.value()));
        resp.content_length = parser->content_length() ? static_cast<std::int64_t>(*parser->content_length())
                                                       : (parser->is_done() ? 0 : -1);
        resp.url = url;
        auto source = std::make_shared<client_body>();
        source->transport = transport;
        source->key = key;
        source->keep_alive = msg.keep_alive();
        source->max_idle_per_host = settings.max_idle_conns_per_host;
        source->pc = std::move(pc);
        source->parser = std::move(parser);
        if (source->parser->is_done()) source->release();
        resp.body = body_reader(std::move(source));
        return resp;
    }
}

// The URL a Location header names, from the URL that answered.
std::string resolve_location(const std::string& base, std::string_view location) {
    if (location.find("://") != std::string_view::npos) return std::string(location);
    detail::parsed_url u;
    detail::parse_url(base, u);
    const std::string origin = u.scheme() + "://" + u.host_port;
    if (location.starts_with("//")) return u.scheme() + ":" + std::string(location);
    if (location.starts_with("/")) return origin + std::string(location);
    std::string dir = u.target.substr(0, u.target.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    return origin + dir + std::string(location);
}

}  // namespace

client::client() : transport_(std::make_shared<detail::transport>()) {}

response client::send(request& req, std::error_code& ec) {
    ec.clear();
    const exchange_settings settings{
        timeout.count() > 0 ? std::chrono::steady_clock::now() + timeout : net::time_point{}, idle_conn_timeout,
        max_idle_conns_per_host, &tls_config};
    std::string method(req.method());
    std::string url(req.url());
    std::string body = req.body_text();
    if (body.empty()) {
        body = goro::io::read_all(req.body, ec);
        if (ec) return {};
    }
    header_map header = req.header();
    for (int redirects = 0;; ++redirects) {
        response resp = exchange(transport_, settings, method, url, header, body, ec);
        if (ec) return {};
        const int code = resp.status_code;
        const bool is_redirect = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
        if (!is_redirect || max_redirects <= 0 || !resp.header.has("Location")) return resp;
        if (redirects == max_redirects) {
            ec = errc::too_many_redirects;
            return {};
        }
        url = resolve_location(url, resp.header.get("Location"));
        // Go reads a little of the old body so its connection can be reused.
        char scratch[2048];
        std::error_code drain_ec;
        resp.body.read(scratch, sizeof scratch, drain_ec);
        resp.body.close();
        if (code == 301 || code == 302 || code == 303) {
            if (method != "HEAD") method = "GET";
            body.clear();
            header.del("Content-Type");
            header.del("Content-Length");
        }
    }
}

response client::send(request& req) {
    std::error_code ec;
    response resp = send(req, ec);
    if (ec) throw std::system_error(ec, std::string(req.method()) + " " + std::string(req.url()));
    return resp;
}

response client::get(std::string_view url, std::error_code& ec) {
    request req("GET", std::string(url));
    return send(req, ec);
}

response client::get(std::string_view url) {
    request req("GET", std::string(url));
    return send(req);
}

response client::post(std::string_view url, std::string_view content_type, std::string_view body,
                      std::error_code& ec) {
    request req("POST", std::string(url), std::string(body));
    req.header().set("Content-Type", content_type);
    return send(req, ec);
}

response client::post(std::string_view url, std::string_view content_type, std::string_view body) {
    request req("POST", std::string(url), std::string(body));
    req.header().set("Content-Type", content_type);
    return send(req);
}

std::size_t client::idle_connections() const {
    std::lock_guard hold(transport_->lock);
    std::size_t n = 0;
    for (const auto& [key, list] : transport_->idle) n += list.size();
    return n;
}

void client::close_idle_connections() {
    std::lock_guard hold(transport_->lock);
    transport_->idle.clear();
}

}  // namespace goro::http
