// http/src/server.cpp — http::server: the accept loop, a fiber per
// connection reading requests with Beast's parser, and the response_writer
// that frames answers with Beast's serializer. Over TLS (serve_tls) each
// connection's fiber runs the handshake before its first request.
//
// Invariants:
//   - server_state::lock (a goro::mutex: holders may park) guards
//     shutting_down, listeners and conns. It is never held across I/O
//     except close() calls, which do not block.
//   - A connection is in conns from before its fiber starts until just
//     before its net::conn is destroyed, so shutdown and close may close
//     it through the recorded pointer at any time (closing a conn that
//     another fiber reads is safe). For a TLS connection the record is the
//     socket under the tls::conn: closing it wakes the TLS calls too. Its idle flag is true only while it
//     waits for the first byte of a request after answering one: shutdown
//     closes those, and waits for the rest.
//   - One request at a time per connection: the next head is parsed only
//     after the answer to this one is out and its body is drained, so
//     pipelined requests are answered in order.
//   - A request body reader outlives its handler only as a husk: after the
//     handler returns, reads fail with errc::handler_done.
//   - While a handler runs, at most one fiber reads the connection: the
//     handler (through the body) while the body has bytes left, otherwise
//     the client_watch; the connection's fiber reads again only after
//     client_watch::stop has waited for that fiber.
#include <goro/http.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <string>

#include <goro/io.hpp>
#include <goro/select.hpp>
#include <goro/sync.hpp>
#include <goro/time.hpp>

#include "http/detail/beast_stream.hpp"

#include <goro/tls.hpp>

namespace goro::http {

namespace beast_http = boost::beast::http;
using boost::beast::flat_buffer;
using request_parser = beast_http::request_parser<beast_http::buffer_body>;

namespace detail {

// What a serving fiber copies from the server when serve() starts, so that
// connections do not refer to the server object.
struct server_config {
    http::handler handler;
    std::chrono::nanoseconds read_header_timeout{};
    std::chrono::nanoseconds read_timeout{};
    std::chrono::nanoseconds write_timeout{};
    std::chrono::nanoseconds idle_timeout{};
    std::size_t max_header_bytes = 0;
    std::int64_t max_body_bytes = 0;
    std::function<void(std::string_view)> error_log;
};

struct conn_record {
    net::conn* conn;
    bool idle;
};

struct server_state {
    goro::mutex lock;
    bool shutting_down = false;            // guarded by lock: set by shutdown and close, never cleared
    std::vector<net::listener*> listeners;  // guarded by lock: the listeners serve() is accepting on
    std::list<conn_record> conns;           // guarded by lock

    // Cancelled by close(): the parent of every request's context.
    goro::context base;
    goro::cancel_func cancel_base;

    server_state() {
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        base = std::move(ctx);
        cancel_base = std::move(cancel);
    }

    bool closing() {
        std::lock_guard hold(lock);
        return shutting_down;
    }
};

std::shared_ptr<server_state> make_server_state() { return std::make_shared<server_state>(); }

}  // namespace detail

namespace {

using detail::conn_stream;

constexpr std::size_t default_max_header_bytes = 1 << 20;  // Go's DefaultMaxHeaderBytes
constexpr std::size_t write_buffer_size = 4096;              // a handler's writes up to this get a Content-Length
constexpr std::size_t max_drain_bytes = 256 << 10;          // unread body worth reading to keep the connection

net::time_point deadline_after(std::chrono::nanoseconds d) {
    return d.count() > 0 ? std::chrono::steady_clock::now() + d : net::time_point{};
}

// An RFC 7231 date: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[64];
    const std::size_t n = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(text, n);
}

bool body_allowed(int status, bool head) { return !head && status >= 200 && status != 204 && status != 304; }

// A request body read from the connection as the handler asks for it.
struct server_body final : detail::body_source {
    conn_stream* stream;
    flat_buffer* buffer;
    request_parser* parser;
    bool send_continue = false;  // Expect: 100-continue, not yet answered
    bool detached = false;       // the handler returned
    bool failed = false;
    bool too_large = false;

    server_body(conn_stream& s, flat_buffer& b, request_parser& p) : stream(&s), buffer(&b), parser(&p) {}

    bool done() const { return parser->is_done(); }

    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept override {
        ec.clear();
        if (detached) {
            ec = errc::handler_done;
            return 0;
        }
        if (too_large) {
            ec = errc::body_too_large;
            return 0;
        }
        if (failed) {
            ec = std::make_error_code(std::errc::bad_message);
            return 0;
        }
        if (done() || size == 0) return 0;
        boost::system::error_code bec;
        if (send_continue) {
            send_continue = false;
            beast_http::response<beast_http::empty_body> cont{beast_http::status::continue_, 11};
            beast_http::write(*stream, cont, bec);
            if (bec) {
                failed = true;
                ec = stream->last_error ? stream->last_error : std::make_error_code(std::errc::io_error);
                return 0;
            }
        }
        for (;;) {
            auto& body = parser->get().body();
            body.data = data;
            body.size = size;
            // read_some, not read: read goes on past a full buffer to parse
            // the next chunk's size, waiting for bytes the peer may send only
            // after it hears from us.
            beast_http::read_some(*stream, *buffer, *parser, bec);
            const std::size_t got = size - parser->get().body().size;
            body.data = nullptr;
            if (bec == beast_http::error::need_buffer) bec = {};
            if (bec) {
                if (bec == beast_http::error::body_limit) {
                    too_large = true;
                    ec = errc::body_too_large;
                } else if (stream->last_error) {
                    failed = true;
                    ec = stream->last_error;
                } else if (bec == beast_http::error::partial_message || bec == beast_http::error::end_of_stream) {
                    failed = true;
                    ec = goro::io::errc::unexpected_eof;
                } else {
                    failed = true;
                    ec = std::make_error_code(std::errc::bad_message);
                }
                return got;
            }
            if (got > 0 || done()) return got;
        }
    }
};

// The response_writer a server connection hands its handler.
class conn_writer final : public response_writer {
public:
    conn_writer(conn_stream& stream, unsigned version, bool head, bool keep_alive)
        : stream_(stream), version_(version), head_(head), keep_alive_(keep_alive) {}

    http::header_map& header() override { return header_; }

    void write_header(int code) override {
        if (status_ != 0) return;  // Go ignores a superfluous WriteHeader too
        if (code < 100 || code > 999) code = status_internal_server_error;
        status_ = code;
    }

    std::size_t write(const void* data, std::size_t size, std::error_code& ec) override {
        ec.clear();
        if (failed_) {
            ec = failed_;
            return 0;
        }
        if (status_ == 0) write_header(status_ok);
        if (!body_allowed(status_, false)) return size;  // Go's ErrBodyNotAllowed, quietly
        written_ += size;
        if (head_) return size;  // counted for Content-Length, never sent
        buffer_.append(static_cast<const char*>(data), size);
        if (buffer_.size() > write_buffer_size) send_buffered(false);
        if (failed_) {
            ec = failed_;
            return 0;
        }
        return size;
    }

    void flush() override {
        if (status_ == 0) write_header(status_ok);
        send_buffered(false);
    }

    // After the handler: the head if not yet sent, the rest of the body,
    // the last chunk.
    void finish() {
        if (status_ == 0) write_header(status_ok);
        send_buffered(true);
    }

    bool head_sent() const noexcept { return head_sent_; }
    bool keep_alive() const noexcept { return keep_alive_ && !failed_ && !must_close_; }
    bool failed() const noexcept { return static_cast<bool>(failed_); }
    void set_close() noexcept { keep_alive_ = false; }
    // For a handler that threw before sending anything: start again.
    void reset() {
        header_ = {};
        buffer_.clear();
        status_ = 0;
        written_ = 0;
    }

private:
    void fail_if(const boost::system::error_code& bec) {
        if (!bec) return;
        failed_ = stream_.last_error ? stream_.last_error : std::make_error_code(std::errc::io_error);
    }

    void send_head(bool final) {
        head_sent_ = true;
        beast_http::response<beast_http::empty_body> res;
        res.version(version_);
        res.result(static_cast<unsigned>(status_));
        if (const std::string_view text = status_text(status_); !text.empty()) res.reason(std::string(text));  // Go's wording
        const bool allowed = body_allowed(status_, false);
        if (header_.get("Connection") == "close" || header_.get("Connection") == "Close") must_close_ = true;
        for (const auto& [name, values] : header_) {
            if (boost::beast::iequals(name, "Connection") || boost::beast::iequals(name, "Transfer-Encoding")) continue;
            for (const std::string& v : values) res.insert(name, v);
        }
        if (!header_.has("Date")) res.set(beast_http::field::date, http_date());
        if (allowed && !header_.has("Content-Type") && (written_ > 0 || !buffer_.empty()))
            res.set(beast_http::field::content_type, "text/plain; charset=utf-8");
        if (allowed) {
            if (header_.has("Content-Length")) {
                // The handler's length frames the body.
            } else if (final) {
                res.content_length(head_ ? written_ : buffer_.size());
                if (head_ && written_ == 0) res.erase(beast_http::field::content_length);
            } else if (version_ >= 11) {
                chunked_ = true;
                res.chunked(true);
            } else {
                must_close_ = true;  // HTTP/1.0: the end of the body is the end of the connection
            }
        }
        res.keep_alive(keep_alive());
        beast_http::response_serializer<beast_http::empty_body> sr{res};
        boost::system::error_code bec;
        beast_http::write_header(stream_, sr, bec);
        fail_if(bec);
    }

    // The head (if not sent yet), what is buffered and, when final on a
    // chunked answer, the last chunk: in one send when they fit in one (the
    // stream holds each part back until the next joins it).
    void send_buffered(bool final) {
        if (failed_) return;
        stream_.hold();
        if (!head_sent_) send_head(final);
        boost::system::error_code bec;
        if (!failed_ && !buffer_.empty()) {
            if (chunked_) {
                boost::asio::write(stream_, beast_http::make_chunk(boost::asio::buffer(buffer_)), bec);
            } else {
                boost::asio::write(stream_, boost::asio::buffer(buffer_), bec);
            }
            buffer_.clear();
        }
        if (final && chunked_ && !failed_ && !bec) boost::asio::write(stream_, beast_http::make_chunk_last(), bec);
        boost::system::error_code released;
        stream_.release(released);
        fail_if(bec ? bec : released);
    }

    conn_stream& stream_;
    unsigned version_;
    bool head_;
    bool keep_alive_;
    http::header_map header_;
    std::string buffer_;
    int status_ = 0;
    std::size_t written_ = 0;
    bool head_sent_ = false;
    bool chunked_ = false;
    bool must_close_ = false;
    std::error_code failed_;
};

// A short answer for a request the server refuses before any handler runs;
// the connection closes after it.
void reply_error(conn_stream& stream, unsigned version, int code, std::string_view text) {
    beast_http::response<beast_http::empty_body> res;
    res.version(version >= 10 && version <= 11 ? version : 11);
    res.result(static_cast<unsigned>(code));
    res.reason(std::string(status_text(code)));
    res.set(beast_http::field::content_type, "text/plain; charset=utf-8");
    res.set(beast_http::field::connection, "close");
    std::string body = std::to_string(code) + " " + std::string(status_text(code));
    if (!text.empty()) body += ": " + std::string(text);
    res.content_length(body.size());
    beast_http::response_serializer<beast_http::empty_body> sr{res};
    boost::system::error_code bec;
    beast_http::write_header(stream, sr, bec);
    if (!bec) boost::asio::write(stream, boost::asio::buffer(body), bec);
}

// Bare CR, LF or NUL in a field; Beast rejects most, this makes sure.
bool bad_field_bytes(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

void log_error(const detail::server_config& cfg, const std::string& text) {
    if (cfg.error_log) {
        cfg.error_log(text);
    } else {
        std::fprintf(stderr, "%s\n", text.c_str());
    }
}

// Go's background read: while a handler runs whose request has no body left
// to read, one fiber reads the connection, so that a client that goes away
// (EOF, a reset) cancels the request's context. What it reads instead (the
// next pipelined request) is kept for the next parse. stop() ends the read
// by moving the read deadline into the past, which wakes it at once.
class client_watch {
public:
    client_watch(detail::any_conn& c, goro::cancel_func cancel) : conn_(c), cancel_(std::move(cancel)) {}
    client_watch(const client_watch&) = delete;
    client_watch& operator=(const client_watch&) = delete;
    ~client_watch() { finished_.wait(); }

    void start() {
        finished_.add(1);
        goro::go([this] {
            char bytes[4096];
            std::error_code ec;
            const std::size_t n = conn_.read(bytes, sizeof bytes, ec);
            if (n > 0) {
                stash_.assign(bytes, n);
            } else if (ec != net::errc::timeout) {
                gone_ = true;
                cancel_();
            }
            finished_.done();
        });
    }

    // Ends the read and waits for it; moves what it read into buffer.
    // True if the client went away.
    bool stop(flat_buffer& buffer) {
        std::error_code ec;
        conn_.set_read_deadline(net::time_point(std::chrono::nanoseconds(1)), ec);  // long ago; zero means none
        finished_.wait();  // orders the fiber's writes to stash_ and gone_ before the reads below
        if (!stash_.empty()) {
            auto space = buffer.prepare(stash_.size());
            std::memcpy(space.data(), stash_.data(), stash_.size());
            buffer.commit(stash_.size());
            stash_.clear();
        }
        return gone_;
    }

private:
    detail::any_conn& conn_;
    goro::cancel_func cancel_;
    goro::wait_group finished_;
    std::string stash_;  // written by the reading fiber, read after finished_
    bool gone_ = false;  // likewise
};

class connection {
public:
    connection(std::shared_ptr<detail::server_state> st, std::shared_ptr<const detail::server_config> cfg,
               detail::any_conn c)
        : state_(std::move(st)), cfg_(std::move(cfg)), conn_(std::move(c)), stream_(conn_) {}

    // Registers the connection; false if the server is already closing.
    bool enlist() {
        std::lock_guard hold(state_->lock);
        if (state_->shutting_down) return false;
        record_ = state_->conns.insert(state_->conns.end(), detail::conn_record{&conn_.socket(), false});
        return true;
    }

    void serve() {
        try {
            if (!conn_.is_tls() || handshake()) serve_requests();
        } catch (const std::exception& e) {
            log_error(*cfg_, "http: connection from " + remote_ + ": " + e.what());
        }
        std::lock_guard hold(state_->lock);
        state_->conns.erase(record_);
        std::error_code ec;
        conn_.close(ec);
    }

private:
    // Go's TLS handshake step: bounded by the shorter of the header (or
    // read) timeout and the write timeout; a client that speaks plain HTTP
    // is told so in plain HTTP. False when the connection should close.
    bool handshake() {
        remote_ = conn_.remote_address().to_string();
        const auto read_wait = cfg_->read_header_timeout.count() > 0 ? cfg_->read_header_timeout : cfg_->read_timeout;
        auto wait = read_wait;
        if (cfg_->write_timeout.count() > 0 && (wait.count() == 0 || cfg_->write_timeout < wait))
            wait = cfg_->write_timeout;
        std::error_code ec;
        conn_.set_deadline(deadline_after(wait), ec);
        conn_.secure().handshake(ec);
        if (ec) {
            if (ec == tls::errc::not_tls) {
                constexpr std::string_view reply =
                    "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
                std::error_code write_ec;
                conn_.socket().set_write_deadline(deadline_after(std::chrono::seconds(1)), write_ec);
                conn_.socket().write(reply, write_ec);
            }
            log_error(*cfg_, "http: TLS handshake error from " + remote_ + ": " + ec.message());
            return false;
        }
        conn_.set_deadline(net::time_point{}, ec);
        tls_state_ = conn_.secure().connection_state();
        return true;
    }

    // Marks the connection idle (waiting for a request) or active; false
    // when it should close instead: the server is shutting down.
    bool set_idle(bool idle) {
        std::lock_guard hold(state_->lock);
        record_->idle = idle;
        return !state_->shutting_down;
    }

    // Waits for the first byte of the next request; false if none comes.
    bool await_request(bool first) {
        if (buffer_.size() > 0) return true;
        const auto wait = first ? (cfg_->read_header_timeout.count() > 0 ? cfg_->read_header_timeout : cfg_->read_timeout)
                                : (cfg_->idle_timeout.count() > 0 ? cfg_->idle_timeout : cfg_->read_timeout);
        std::error_code ec;
        conn_.set_read_deadline(deadline_after(wait), ec);
        auto space = buffer_.prepare(4096);
        const std::size_t n = conn_.read(space.data(), space.size(), ec);
        if (n == 0) return false;
        buffer_.commit(n);
        return true;
    }

    void serve_requests() {
        std::error_code ec;
        remote_ = conn_.remote_address().to_string();
        for (bool first = true;; first = false) {
            if (!first && !set_idle(true)) return;
            if (!await_request(first)) return;
            if (!first) set_idle(false);
            if (!serve_one()) return;
        }
    }

    // Reads one request and answers it; false when the connection must close.
    bool serve_one() {
        const auto started = std::chrono::steady_clock::now();
        const auto header_wait = cfg_->read_header_timeout.count() > 0 ? cfg_->read_header_timeout : cfg_->read_timeout;
        std::error_code ec;
        conn_.set_read_deadline(deadline_after(header_wait), ec);

        request_parser parser;
        parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
            cfg_->max_header_bytes > 0 ? cfg_->max_header_bytes : default_max_header_bytes,
            std::numeric_limits<std::uint32_t>::max())));
        if (cfg_->max_body_bytes > 0) {
            parser.body_limit(static_cast<std::uint64_t>(cfg_->max_body_bytes));
        } else {
            parser.body_limit(detail::no_body_limit);
        }
        boost::system::error_code bec;
        beast_http::read_header(stream_, buffer_, parser, bec);
        if (bec) {
            if (bec == beast_http::error::header_limit) {
                reply_error(stream_, 11, status_request_header_fields_too_large, "");
            } else if (bec == beast_http::error::body_limit) {  // a declared length past max_body_bytes
                reply_error(stream_, 11, status_request_entity_too_large, "");
            } else if (stream_.last_error == net::errc::timeout) {
                reply_error(stream_, 11, status_request_timeout, "");
            } else if (stream_.last_error || bec == beast_http::error::end_of_stream ||
                       bec == beast_http::error::partial_message) {
                // The client went away part-way: nobody to answer.
            } else {
                reply_error(stream_, 11, status_bad_request, bec.message());
            }
            return false;
        }
        auto& msg = parser.get();
        const unsigned version = msg.version();
        if (version != 10 && version != 11) {
            reply_error(stream_, 11, 505, "");
            return false;
        }
        // What Beast lets through and Go refuses.
        std::size_t hosts = 0;
        for (const auto& field : msg) {
            if (bad_field_bytes(detail::to_std(field.name_string())) || bad_field_bytes(detail::to_std(field.value()))) {
                reply_error(stream_, version, status_bad_request, "invalid header field");
                return false;
            }
            if (field.name() == beast_http::field::host) ++hosts;
        }
        if (bad_field_bytes(detail::to_std(msg.target()))) {
            reply_error(stream_, version, status_bad_request, "invalid request target");
            return false;
        }
        if (hosts > 1 || (version == 11 && hosts == 0)) {
            reply_error(stream_, version, status_bad_request, hosts ? "too many Host headers" : "missing required Host header");
            return false;
        }
        if (msg.count(beast_http::field::transfer_encoding) > 0 && !parser.chunked()) {
            reply_error(stream_, version, status_not_implemented, "unsupported transfer encoding");
            return false;
        }
        if (cfg_->max_body_bytes > 0 && parser.content_length() &&
            *parser.content_length() > static_cast<std::uint64_t>(cfg_->max_body_bytes)) {
            reply_error(stream_, version, status_request_entity_too_large, "");
            return false;
        }

        // The head is in: the body's clock and the answer's.
        conn_.set_read_deadline(cfg_->read_timeout.count() > 0 ? started + cfg_->read_timeout : net::time_point{}, ec);
        conn_.set_write_deadline(deadline_after(cfg_->write_timeout), ec);

        request req;
        req.set_line(std::string(msg.method_string()), std::string(msg.target()), version == 10 ? "HTTP/1.0" : "HTTP/1.1");
        for (const auto& field : msg) req.header().add(detail::to_std(field.name_string()), detail::to_std(field.value()));
        req.set_host(std::string(msg[beast_http::field::host]));
        req.set_remote_addr(remote_);
        if (tls_state_) req.set_tls(*tls_state_);
        req.set_content_length(parser.content_length() ? static_cast<std::int64_t>(*parser.content_length())
                                                        : (parser.chunked() ? -1 : 0));
        auto body = std::make_shared<server_body>(stream_, buffer_, parser);
        body->send_continue = version == 11 && boost::beast::iequals(msg[beast_http::field::expect], "100-continue");
        req.body = body_reader(body);
        auto [ctx, cancel] = goro::with_cancel(state_->base);
        req.set_context(ctx);

        const bool head = msg.method() == beast_http::verb::head;
        conn_writer w(stream_, version, head, msg.keep_alive() && !state_->closing());
        client_watch watch(conn_, cancel);
        // Only with nothing left to read: the body's reads and the watch's
        // would race for the bytes. Bytes already buffered mean the client
        // is still there.
        const bool watching = parser.is_done() && buffer_.size() == 0;
        if (watching) watch.start();
        bool handler_failed = false;
        try {
            cfg_->handler(w, req);
        } catch (const std::exception& e) {
            handler_failed = true;
            log_error(*cfg_, "http: panic serving " + remote_ + ": " + e.what());
        } catch (...) {
            handler_failed = true;
            log_error(*cfg_, "http: panic serving " + remote_ + ": unknown exception");
        }
        // A client that went away (or half-closed: Go cancels then too) may
        // still take the answer; the connection ends after it.
        if (watching && watch.stop(buffer_)) w.set_close();
        cancel();
        body->detached = true;
        if (handler_failed) {
            w.set_close();
            if (w.head_sent()) return false;  // a half-sent answer: the cut tells the client
            w.reset();
            error(w, status_text(status_internal_server_error), status_internal_server_error);
        } else if (body->too_large && !w.head_sent()) {
            w.set_close();
            w.reset();
            error(w, status_text(status_request_entity_too_large), status_request_entity_too_large);
        }
        if (state_->closing()) w.set_close();
        // A body the handler left unread is drained, if small, so that the
        // connection can carry the next request; not one whose client still
        // waits for 100 Continue (it may never send it): that closes, as in Go.
        const bool drainable = !body->send_continue && !body->failed && !body->too_large;
        if (!parser.is_done() && !w.head_sent() && (!drainable || !drain(parser))) w.set_close();
        w.finish();
        if (!w.keep_alive() || w.failed()) return false;
        if (!parser.is_done() && (!drainable || !drain(parser))) return false;
        return true;
    }

    bool drain(request_parser& parser) {
        if (parser.is_done()) return true;
        if (parser.content_length_remaining() && *parser.content_length_remaining() > max_drain_bytes) return false;
        server_body reader(stream_, buffer_, parser);
        char scratch[4096];
        std::size_t total = 0;
        while (!parser.is_done()) {
            std::error_code ec;
            const std::size_t n = reader.read(scratch, sizeof scratch, ec);
            total += n;
            if (ec || total > max_drain_bytes) return false;
        }
        return true;
    }

    std::shared_ptr<detail::server_state> state_;
    std::shared_ptr<const detail::server_config> cfg_;
    detail::any_conn conn_;
    conn_stream stream_;
    flat_buffer buffer_;
    std::list<detail::conn_record>::iterator record_;
    std::string remote_;
    std::optional<tls::connection_state> tls_state_;  // set by a TLS connection's handshake
};

}  // namespace

namespace {

// serve()'s loop; a non-null tls_context makes every connection a TLS server.
void serve_loop(server& srv, net::listener& ln, std::shared_ptr<const tls::detail::context> tls_context,
                std::error_code& ec) {
    ec.clear();
    auto st = srv.state_;
    auto cfg = std::make_shared<const detail::server_config>(detail::server_config{
        srv.handler, srv.read_header_timeout, srv.read_timeout, srv.write_timeout, srv.idle_timeout,
        srv.max_header_bytes, srv.max_body_bytes, srv.error_log});
    {
        std::lock_guard hold(st->lock);
        if (st->shutting_down) {
            ec = errc::server_closed;
            return;
        }
        st->listeners.push_back(&ln);
    }
    for (;;) {
        std::error_code accept_ec;
        net::conn c = ln.accept(accept_ec);
        if (accept_ec) {
            std::lock_guard hold(st->lock);
            st->listeners.erase(std::find(st->listeners.begin(), st->listeners.end(), &ln));
            ec = st->shutting_down ? std::error_code(errc::server_closed) : accept_ec;
            std::error_code close_ec;
            ln.close(close_ec);
            return;
        }
        detail::any_conn wrapped = tls_context ? detail::any_conn(tls::detail::make_conn(std::move(c), tls_context, {}))
                                               : detail::any_conn(std::move(c));
        auto conn = std::make_shared<connection>(st, cfg, std::move(wrapped));
        if (!conn->enlist()) continue;  // closing: the conn goes with its object
        goro::go([conn] { conn->serve(); });
    }
}

}  // namespace

void server::serve(net::listener ln, std::error_code& ec) { serve_loop(*this, ln, nullptr, ec); }

void server::serve_tls(net::listener ln, const std::string& cert_file, const std::string& key_file,
                       std::error_code& ec) {
    ec.clear();
    tls::config cfg = tls_config;
    // Go's ServeTLS: the files, when given, replace the config's certificates.
    if (cfg.certificates.empty() || !cert_file.empty() || !key_file.empty()) {
        tls::certificate cert = tls::load_x509_key_pair(cert_file, key_file, ec);
        if (ec) return;
        cfg.certificates = {cert};
    }
    if (std::find(cfg.next_protos.begin(), cfg.next_protos.end(), "http/1.1") == cfg.next_protos.end())
        cfg.next_protos.push_back("http/1.1");
    auto context = tls::detail::make_context(cfg, true, ec);
    if (ec) return;
    serve_loop(*this, ln, std::move(context), ec);
}

void server::serve_tls(net::listener ln, const std::string& cert_file, const std::string& key_file) {
    std::error_code ec;
    serve_tls(std::move(ln), cert_file, key_file, ec);
    if (ec && ec != errc::server_closed) throw std::system_error(ec, "http: serve tls");
}

void server::listen_and_serve_tls(std::string_view addr, const std::string& cert_file, const std::string& key_file,
                                  std::error_code& ec) {
    net::listener ln = net::listen("tcp", addr, ec);
    if (ec) return;
    serve_tls(std::move(ln), cert_file, key_file, ec);
}

void server::listen_and_serve_tls(std::string_view addr, const std::string& cert_file, const std::string& key_file) {
    std::error_code ec;
    listen_and_serve_tls(addr, cert_file, key_file, ec);
    if (ec && ec != errc::server_closed) throw std::system_error(ec, "http: listen and serve tls");
}

void server::serve(net::listener ln) {
    std::error_code ec;
    serve(std::move(ln), ec);
    if (ec && ec != errc::server_closed) throw std::system_error(ec, "http: serve");
}

void server::listen_and_serve(std::string_view addr, std::error_code& ec) {
    net::listener ln = net::listen("tcp", addr, ec);
    if (ec) return;
    serve(std::move(ln), ec);
}

void server::listen_and_serve(std::string_view addr) {
    std::error_code ec;
    listen_and_serve(addr, ec);
    if (ec && ec != errc::server_closed) throw std::system_error(ec, "http: listen and serve");
}

void server::shutdown(const goro::context& ctx, std::error_code& ec) {
    ec.clear();
    auto st = state_;
    {
        std::lock_guard hold(st->lock);
        st->shutting_down = true;
        for (net::listener* ln : st->listeners) {
            std::error_code close_ec;
            ln->close(close_ec);
        }
    }
    // Go polls too, from 1 ms doubling to 500 ms: connections finish at
    // their own pace, and nothing else needs to wake this fiber.
    auto poll = std::chrono::milliseconds(1);
    for (;;) {
        bool any = false;
        {
            std::lock_guard hold(st->lock);
            for (detail::conn_record& r : st->conns) {
                if (r.idle) {
                    std::error_code close_ec;
                    r.conn->close(close_ec);
                }
                any = true;
            }
        }
        if (!any) return;
        if (goro::select(goro::recv(ctx.done()), goro::recv(goro::after(poll))) == 0) {
            ec = ctx.err();
            return;
        }
        poll = std::min(poll * 2, std::chrono::milliseconds(500));
    }
}

void server::shutdown(const goro::context& ctx) {
    std::error_code ec;
    shutdown(ctx, ec);
    if (ec) throw std::system_error(ec, "http: shutdown");
}

void server::close() {
    auto st = state_;
    std::lock_guard hold(st->lock);
    st->shutting_down = true;
    for (net::listener* ln : st->listeners) {
        std::error_code ec;
        ln->close(ec);
    }
    for (detail::conn_record& r : st->conns) {
        std::error_code ec;
        r.conn->close(ec);
    }
    st->cancel_base();
}

std::size_t server::open_connections() const {
    std::lock_guard hold(state_->lock);
    return state_->conns.size();
}

}  // namespace goro::http
