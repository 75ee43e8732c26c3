// http/src/tls_conn.cpp — tls::conn: an OpenSSL session over memory BIOs,
// its bytes carried by a goro net::conn, and tls::listen and tls::dial.
//
// OpenSSL never does I/O here: it reads records from in_bio and writes
// records to out_bio, two memory buffers. When it wants input, the caller
// reads the socket (parking its fiber) and feeds in_bio; whatever lands in
// out_bio is taken out and written to the socket. So no SSL_* call blocks,
// and the SSL object is locked only for the length of one call.
//
// Locks, in the order they may be taken:
//   handshake_lock (goro::mutex) — guards handshake_error; held across the
//       whole handshake, socket I/O included; only taken while
//       handshake_done is false.
//   in_lock (goro::mutex) — one reader at a time; guards in_buffer,
//       read_error, read_eof. Held across socket reads.
//   out_lock (goro::mutex) — one sender of socket bytes at a time; guards
//       out_buffer, write_error, close_notify_sent. Held across socket
//       writes, so bytes leave in the order OpenSSL produced them.
//   ssl_lock (std::mutex) — guards ssl, in_bio and out_bio. Held only
//       inside calls into OpenSSL, never across a park.
// Bytes that OpenSSL put in out_bio are taken out only under out_lock and
// ssl_lock together and sent before out_lock is released, so their order on
// the socket is OpenSSL's (TLS's sequence numbers need that).
//
// active_calls is Go's activeCall: bit 0 says closed; each write adds 2
// while it runs. close() sends close_notify only when no write runs (else
// it would wait behind that write's out_lock); otherwise it just closes the
// socket, which wakes the write.
#include <arpa/inet.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <goro/io.hpp>
#include <goro/sync.hpp>

#include "http/detail/tls_context.hpp"

namespace goro::tls {

namespace detail {

// The socket read size: one full record (16 KiB of data and its overhead).
inline constexpr std::size_t record_buffer_size = 16 * 1024 + 512;
// A write goes into OpenSSL this much at a time, so out_bio never holds more
// than about this much.
inline constexpr std::size_t write_chunk = 64 * 1024;
// How long close() waits for close_notify to go out (Go's 5 s).
inline constexpr std::chrono::seconds close_notify_wait{5};

struct conn_state {
    net::conn raw;
    std::shared_ptr<const context> ctx;
    SSL* ssl = nullptr;
    BIO* in_bio = nullptr;   // network -> OpenSSL; owned by ssl
    BIO* out_bio = nullptr;  // OpenSSL -> network; owned by ssl
    std::error_code setup_error;  // the handshake fails with this (no server name, no certificate)

    goro::mutex handshake_lock;
    std::atomic<bool> handshake_done{false};
    std::error_code handshake_error;  // guarded by handshake_lock

    goro::mutex in_lock;
    std::vector<char> in_buffer;  // guarded by in_lock
    std::error_code read_error;   // guarded by in_lock; sticky (timeouts are not recorded)
    bool read_eof = false;        // guarded by in_lock

    goro::mutex out_lock;
    std::string out_buffer;        // guarded by out_lock
    std::error_code write_error;   // guarded by out_lock; sticky, timeouts included
    bool close_notify_sent = false;  // guarded by out_lock

    std::mutex ssl_lock;

    std::atomic<unsigned> active_calls{0};

    conn_state() = default;
    conn_state(const conn_state&) = delete;
    conn_state& operator=(const conn_state&) = delete;
    ~conn_state() { SSL_free(ssl); }

    // ssl_lock held: moves what OpenSSL wrote into out_buffer (out_lock held too).
    void take_output() {
        const std::size_t n = BIO_ctrl_pending(out_bio);
        if (n == 0) return;
        const std::size_t old = out_buffer.size();
        out_buffer.resize(old + n);
        const int got = BIO_read(out_bio, out_buffer.data() + old, static_cast<int>(n));
        out_buffer.resize(old + static_cast<std::size_t>(got > 0 ? got : 0));
    }

    bool output_pending() {
        std::lock_guard hold(ssl_lock);
        return BIO_ctrl_pending(out_bio) > 0;
    }

    // out_lock held: sends out_buffer; a failure sticks.
    std::error_code send_output() {
        if (write_error) {
            out_buffer.clear();
            return write_error;
        }
        if (out_buffer.empty()) return {};
        std::error_code ec;
        raw.write(out_buffer.data(), out_buffer.size(), ec);
        out_buffer.clear();
        if (ec) write_error = ec;
        return ec;
    }

    // out_lock held: takes and sends what OpenSSL has written.
    std::error_code flush() {
        {
            std::lock_guard hold(ssl_lock);
            take_output();
        }
        return send_output();
    }

    // in_lock held: reads the socket into in_bio. 0 at EOF.
    std::size_t fill(std::error_code& ec) {
        if (in_buffer.empty()) in_buffer.resize(record_buffer_size);
        const std::size_t n = raw.read(in_buffer.data(), in_buffer.size(), ec);
        if (n > 0) {
            std::lock_guard hold(ssl_lock);
            BIO_write(in_bio, in_buffer.data(), static_cast<int>(n));
        }
        return n;
    }

    // ssl_lock held: the error of a failed SSL_* call.
    std::error_code call_error(int err) {
        std::error_code ec = take_openssl_error(ssl);
        if (ec) return ec;
        if (err == SSL_ERROR_SYSCALL) return goro::io::errc::unexpected_eof;
        return make_code(errc::protocol_error);
    }

    void run_handshake(std::error_code& ec) {
        if (setup_error) {
            ec = setup_error;
            return;
        }
        std::lock_guard hold_in(in_lock);
        for (;;) {
            int rc, err = SSL_ERROR_NONE;
            std::error_code ssl_ec;
            bool pending;
            {
                std::lock_guard hold(ssl_lock);
                ERR_clear_error();
                rc = SSL_do_handshake(ssl);
                if (rc != 1) {
                    err = SSL_get_error(ssl, rc);
                    if (err != SSL_ERROR_WANT_READ) ssl_ec = call_error(err);
                }
                pending = BIO_ctrl_pending(out_bio) > 0;
            }
            // Our flight, or the alert that says why we give up.
            if (pending) {
                std::lock_guard hold_out(out_lock);
                const std::error_code sent = flush();
                if (sent && !ssl_ec) {
                    ec = sent;
                    return;
                }
            }
            if (rc == 1) return;
            if (err != SSL_ERROR_WANT_READ) {
                ec = ssl_ec;
                return;
            }
            const std::size_t n = fill(ec);
            if (ec) return;
            if (n == 0) {
                ec = goro::io::errc::unexpected_eof;
                return;
            }
        }
    }

    void handshake(std::error_code& ec) {
        ec.clear();
        if (handshake_done.load(std::memory_order_acquire)) return;
        std::lock_guard hold(handshake_lock);
        if (handshake_done.load(std::memory_order_relaxed)) return;
        if (!handshake_error) {
            run_handshake(handshake_error);
            if (!handshake_error) {
                handshake_done.store(true, std::memory_order_release);
                return;
            }
        }
        ec = handshake_error;
    }

    std::size_t read(void* data, std::size_t size, std::error_code& ec) {
        handshake(ec);
        if (ec || size == 0) return 0;
        std::lock_guard hold_in(in_lock);
        if (read_error) {
            ec = read_error;
            return 0;
        }
        if (read_eof) return 0;
        for (;;) {
            std::size_t got = 0;
            int rc, err = SSL_ERROR_NONE;
            std::error_code ssl_ec;
            bool pending;
            {
                std::lock_guard hold(ssl_lock);
                ERR_clear_error();
                rc = SSL_read_ex(ssl, data, size, &got);
                if (rc != 1) {
                    err = SSL_get_error(ssl, rc);
                    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_ZERO_RETURN) ssl_ec = call_error(err);
                }
                pending = BIO_ctrl_pending(out_bio) > 0;
            }
            // A reply OpenSSL owes the peer (a key update, an alert). Its
            // failure is the writer's business: reading goes on.
            if (pending) {
                std::lock_guard hold_out(out_lock);
                flush();
            }
            if (rc == 1) return got;
            if (err == SSL_ERROR_ZERO_RETURN) {  // close_notify
                read_eof = true;
                return 0;
            }
            if (err != SSL_ERROR_WANT_READ) {
                read_error = ec = ssl_ec;
                return 0;
            }
            const std::size_t n = fill(ec);
            if (ec) {
                if (ec != net::errc::timeout) read_error = ec;
                return 0;
            }
            if (n == 0) {
                // Between records, an end as good as close_notify (Go takes
                // it too); inside one, a cut.
                bool partial;
                {
                    std::lock_guard hold(ssl_lock);
                    partial = SSL_has_pending(ssl) || BIO_ctrl_pending(in_bio) > 0;
                }
                if (partial) {
                    read_error = ec = goro::io::errc::unexpected_eof;
                } else {
                    read_eof = true;
                }
                return 0;
            }
        }
    }

    std::size_t write(const void* data, std::size_t size, std::error_code& ec) {
        ec.clear();
        // Go's activeCall interlock with close().
        unsigned x = active_calls.load();
        do {
            if (x & 1) {
                ec = net::errc::closed;
                return 0;
            }
        } while (!active_calls.compare_exchange_weak(x, x + 2));
        struct leave {
            std::atomic<unsigned>& calls;
            ~leave() { calls.fetch_sub(2); }
        } left{active_calls};

        handshake(ec);
        if (ec || size == 0) return 0;
        std::lock_guard hold_out(out_lock);
        if (write_error) {
            ec = write_error;
            return 0;
        }
        if (close_notify_sent) {
            ec = net::errc::closed;
            return 0;
        }
        const char* bytes = static_cast<const char*>(data);
        std::size_t done = 0;
        while (done < size) {
            const std::size_t chunk = std::min(size - done, write_chunk);
            std::size_t put = 0;
            std::error_code ssl_ec;
            {
                std::lock_guard hold(ssl_lock);
                ERR_clear_error();
                const int rc = SSL_write_ex(ssl, bytes + done, chunk, &put);
                if (rc != 1) ssl_ec = call_error(SSL_get_error(ssl, rc));
                take_output();
            }
            if (ssl_ec) {
                send_output();  // an alert, if OpenSSL wrote one
                write_error = ec = ssl_ec;
                return done;
            }
            if ((ec = send_output())) return done;
            done += put;
        }
        return done;
    }

    // out_lock held, handshake done: close_notify, once.
    std::error_code send_close_notify() {
        if (close_notify_sent) return {};
        close_notify_sent = true;
        {
            std::lock_guard hold(ssl_lock);
            ERR_clear_error();
            SSL_shutdown(ssl);
            ERR_clear_error();
            take_output();
        }
        return send_output();
    }

    void close(std::error_code& ec) {
        ec.clear();
        unsigned x = active_calls.load();
        do {
            if (x & 1) {
                ec = net::errc::closed;
                return;
            }
        } while (!active_calls.compare_exchange_weak(x, x | 1));
        if (x == 0 && handshake_done.load(std::memory_order_acquire)) {
            // Bounded: a peer that reads nothing must not hold close up. The
            // deadline is set first, so that a reader's flush stuck on the
            // socket (holding out_lock) gives up too.
            std::error_code ignored;
            raw.set_write_deadline(std::chrono::steady_clock::now() + close_notify_wait, ignored);
            std::lock_guard hold_out(out_lock);
            send_close_notify();
        }
        raw.close(ec);
    }

    void close_write(std::error_code& ec) {
        ec.clear();
        if (!handshake_done.load(std::memory_order_acquire)) {
            ec = std::make_error_code(std::errc::not_connected);
            return;
        }
        std::lock_guard hold_out(out_lock);
        ec = send_close_notify();
    }
};

}  // namespace detail

namespace {

bool is_ip_literal(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// "host" from "host:port" or "[v6]:port" (Go's SplitHostPort, leniently).
std::string host_of(std::string_view address) {
    if (!address.empty() && address.front() == '[') {
        const std::size_t close = address.find(']');
        if (close != std::string_view::npos) return std::string(address.substr(1, close - 1));
    }
    const std::size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return std::string(address);
    return std::string(address.substr(0, colon));
}

std::string network_of(const net::address& a) {
    if (a.family() == AF_UNIX) return "unix";
    if (a.family() == AF_INET || a.family() == AF_INET6) return "tcp";
    return "pipe";
}

// "handshake tcp 127.0.0.1:5000->127.0.0.1:443", as net describes its ops.
std::string describe(const char* op, const net::conn& raw) {
    const net::address local = raw ? raw.local_address() : net::address();
    const net::address remote = raw ? raw.remote_address() : net::address();
    std::string text = op;
    text += ' ';
    text += network_of(remote.family() != AF_UNSPEC ? remote : local);
    if (local.family() != AF_UNSPEC) text += " " + local.to_string();
    if (remote.family() != AF_UNSPEC) text += (local.family() != AF_UNSPEC ? "->" : " ") + remote.to_string();
    return text;
}

}  // namespace

namespace detail {

// A conn whose handshake fails with why: its config could not be used.
conn failed_conn(net::conn c, std::error_code why) {
    auto s = std::make_unique<conn_state>();
    s->raw = std::move(c);
    s->setup_error = why ? why : make_code(errc::protocol_error);
    return conn(std::move(s));
}

conn make_conn(net::conn c, std::shared_ptr<const context> ctx, std::string_view server_name) {
    if (!ctx) return failed_conn(std::move(c), {});
    auto s = std::make_unique<conn_state>();
    s->raw = std::move(c);
    s->ctx = std::move(ctx);
    s->setup_error = s->ctx->setup_error;
    s->ssl = SSL_new(s->ctx->ctx);
    s->in_bio = BIO_new(BIO_s_mem());
    s->out_bio = BIO_new(BIO_s_mem());
    if (!s->ssl || !s->in_bio || !s->out_bio) {
        BIO_free(s->in_bio);
        BIO_free(s->out_bio);
        s->in_bio = s->out_bio = nullptr;
        ERR_clear_error();
        // The setup error keeps every call away from the half-made SSL.
        if (!s->setup_error) s->setup_error = std::make_error_code(std::errc::not_enough_memory);
        return conn(std::move(s));
    }
    SSL_set_bio(s->ssl, s->in_bio, s->out_bio);
    if (s->ctx->server) {
        SSL_set_accept_state(s->ssl);
    } else {
        SSL_set_connect_state(s->ssl);
        const std::string name = server_name.empty() ? s->ctx->server_name : std::string(server_name);
        const bool ip = is_ip_literal(name);
        if (!name.empty() && !ip) SSL_set_tlsext_host_name(s->ssl, name.c_str());
        if (!s->ctx->insecure_skip_verify) {
            if (name.empty()) {
                if (!s->setup_error) s->setup_error = make_code(errc::no_server_name);
            } else if (ip) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), name.c_str());
            } else {
                SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                SSL_set1_host(s->ssl, name.c_str());
            }
        }
    }
    ERR_clear_error();
    return conn(std::move(s));
}

}  // namespace detail

// ---------------------------------------------------------------- conn

conn::conn() noexcept = default;
conn::conn(conn&&) noexcept = default;
conn& conn::operator=(conn&&) noexcept = default;
conn::~conn() = default;
conn::conn(std::unique_ptr<detail::conn_state> s) noexcept : state_(std::move(s)) {}

namespace {
template <class Call>
auto or_throw(const char* op, detail::conn_state* s, Call call) {
    std::error_code ec;
    if constexpr (std::is_void_v<decltype(call(ec))>) {
        call(ec);
        if (ec) throw std::system_error(ec, s ? describe(op, s->raw) : std::string(op));
    } else {
        auto result = call(ec);
        if (ec) throw std::system_error(ec, s ? describe(op, s->raw) : std::string(op));
        return result;
    }
}
}  // namespace

void conn::handshake(std::error_code& ec) noexcept {
    if (!state_) {
        ec = net::errc::closed;
        return;
    }
    state_->handshake(ec);
}

void conn::handshake() {
    or_throw("handshake", state_.get(), [&](std::error_code& ec) { handshake(ec); });
}

std::size_t conn::read(void* data, std::size_t size, std::error_code& ec) noexcept {
    if (!state_) {
        ec = net::errc::closed;
        return 0;
    }
    return state_->read(data, size, ec);
}

std::size_t conn::read(void* data, std::size_t size) {
    return or_throw("read", state_.get(), [&](std::error_code& ec) { return read(data, size, ec); });
}

std::size_t conn::read_full(void* data, std::size_t size, std::error_code& ec) noexcept {
    ec.clear();
    std::size_t got = 0;
    while (got < size) {
        const std::size_t n = read(static_cast<char*>(data) + got, size - got, ec);
        got += n;
        if (ec) return got;
        if (n == 0) {
            ec = got == 0 ? net::errc::eof : net::errc::unexpected_eof;
            return got;
        }
    }
    return got;
}

std::size_t conn::read_full(void* data, std::size_t size) {
    return or_throw("read", state_.get(), [&](std::error_code& ec) { return read_full(data, size, ec); });
}

std::size_t conn::write(const void* data, std::size_t size, std::error_code& ec) noexcept {
    if (!state_) {
        ec = net::errc::closed;
        return 0;
    }
    return state_->write(data, size, ec);
}

std::size_t conn::write(const void* data, std::size_t size) {
    return or_throw("write", state_.get(), [&](std::error_code& ec) { return write(data, size, ec); });
}

void conn::close(std::error_code& ec) noexcept {
    if (!state_) {
        ec = net::errc::closed;
        return;
    }
    state_->close(ec);
}

void conn::close() {
    or_throw("close", state_.get(), [&](std::error_code& ec) { close(ec); });
}

void conn::close_write(std::error_code& ec) noexcept {
    if (!state_) {
        ec = net::errc::closed;
        return;
    }
    state_->close_write(ec);
}

void conn::close_write() {
    or_throw("close write", state_.get(), [&](std::error_code& ec) { close_write(ec); });
}

void conn::set_deadline(time_point t, std::error_code& ec) noexcept {
    if (!state_) {
        ec = net::errc::closed;
        return;
    }
    state_->raw.set_deadline(t, ec);
}

void conn::set_read_deadline(time_point t, std::error_code& ec) noexcept {
    if (!state_) {
        ec = net::errc::closed;
        return;
    }
    state_->raw.set_read_deadline(t, ec);
}

void conn::set_write_deadline(time_point t, std::error_code& ec) noexcept {
    if (!state_) {
        ec = net::errc::closed;
        return;
    }
    state_->raw.set_write_deadline(t, ec);
}

net::address conn::local_address() const { return state_ ? state_->raw.local_address() : net::address(); }
net::address conn::remote_address() const { return state_ ? state_->raw.remote_address() : net::address(); }

net::conn& conn::net_conn() {
    if (!state_) throw std::system_error(net::errc::closed, "tls: net_conn of an empty conn");
    return state_->raw;
}

const net::conn& conn::net_conn() const {
    if (!state_) throw std::system_error(net::errc::closed, "tls: net_conn of an empty conn");
    return state_->raw;
}

tls::connection_state conn::connection_state() const {
    tls::connection_state out;
    if (!state_ || !state_->ssl) return out;
    out.handshake_complete = state_->handshake_done.load(std::memory_order_acquire);
    std::lock_guard hold(state_->ssl_lock);
    SSL* ssl = state_->ssl;
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) out.server_name = name;
    if (!out.handshake_complete) return out;
    out.version = static_cast<std::uint16_t>(SSL_version(ssl));
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) out.cipher_suite = SSL_CIPHER_get_name(cipher);
    const unsigned char* proto = nullptr;
    unsigned int proto_len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &proto_len);
    if (proto) out.negotiated_protocol.assign(reinterpret_cast<const char*>(proto), proto_len);
    if (X509* peer = SSL_get1_peer_certificate(ssl)) {
        out.peer_certificate_present = true;
        out.peer_subject = detail::one_line(X509_get_subject_name(peer));
        out.peer_issuer = detail::one_line(X509_get_issuer_name(peer));
        X509_free(peer);
    }
    ERR_clear_error();
    return out;
}

conn server(net::conn c, const config& cfg) {
    std::error_code ec;
    auto ctx = detail::make_context(cfg, true, ec);
    if (ec) return detail::failed_conn(std::move(c), ec);
    return detail::make_conn(std::move(c), std::move(ctx), {});
}

conn client(net::conn c, const config& cfg) {
    std::error_code ec;
    auto ctx = detail::make_context(cfg, false, ec);
    if (ec) return detail::failed_conn(std::move(c), ec);
    return detail::make_conn(std::move(c), std::move(ctx), {});
}

// ---------------------------------------------------------------- listener

listener::listener() noexcept = default;
listener::listener(listener&&) noexcept = default;
listener& listener::operator=(listener&&) noexcept = default;
listener::~listener() = default;

listener::listener(net::listener ln, const config& cfg) : inner_(std::move(ln)) {
    std::error_code ec;
    context_ = detail::make_context(cfg, true, ec);
    if (ec) throw std::system_error(ec, "tls: listener");
}

conn listener::accept(std::error_code& ec) noexcept {
    net::conn c = inner_.accept(ec);
    if (ec) return {};
    try {
        return detail::make_conn(std::move(c), context_, {});
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return {};
    }
}

conn listener::accept() {
    net::conn c = inner_.accept();
    return detail::make_conn(std::move(c), context_, {});
}

void listener::close(std::error_code& ec) noexcept { inner_.close(ec); }
void listener::close() { inner_.close(); }

listener listen(std::string_view network, std::string_view address, const config& cfg, std::error_code& ec) noexcept {
    ec.clear();
    if (cfg.certificates.empty()) {
        ec = make_code(errc::no_certificate);
        return {};
    }
    net::listener ln = net::listen(network, address, ec);
    if (ec) return {};
    try {
        return listener(std::move(ln), cfg);
    } catch (const std::system_error& e) {
        ec = e.code();
        return {};
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return {};
    }
}

listener listen(std::string_view network, std::string_view address, const config& cfg) {
    std::error_code ec;
    listener ln = listen(network, address, cfg, ec);
    if (ec) throw std::system_error(ec, "tls: listen " + std::string(network) + " " + std::string(address));
    return ln;
}

namespace {

conn dial_with(net::conn raw, std::string_view address, const config& cfg, net::time_point deadline,
               std::error_code& ec) noexcept {
    try {
        auto ctx = detail::make_context(cfg, false, ec);
        if (ec) return {};
        const std::string name = cfg.server_name.empty() ? host_of(address) : cfg.server_name;
        conn c = detail::make_conn(std::move(raw), std::move(ctx), name);
        if (deadline != net::time_point{}) c.set_deadline(deadline, ec);
        c.handshake(ec);
        if (ec) {
            std::error_code ignored;
            c.net_conn().close(ignored);
            return {};
        }
        if (deadline != net::time_point{}) c.set_deadline(net::time_point{}, ec);
        return c;
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return {};
    }
}

}  // namespace

conn dial(std::string_view network, std::string_view address, const config& cfg, std::error_code& ec) noexcept {
    net::conn raw = net::dial(network, address, ec);
    if (ec) return {};
    return dial_with(std::move(raw), address, cfg, {}, ec);
}

conn dial(std::string_view network, std::string_view address, const config& cfg) {
    std::error_code ec;
    conn c = dial(network, address, cfg, ec);
    if (ec) throw std::system_error(ec, "tls: dial " + std::string(network) + " " + std::string(address));
    return c;
}

conn dial_timeout(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout,
                  const config& cfg, std::error_code& ec) noexcept {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    net::conn raw = net::dial_timeout(network, address, timeout, ec);
    if (ec) return {};
    return dial_with(std::move(raw), address, cfg, deadline, ec);
}

conn dial_timeout(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout,
                  const config& cfg) {
    std::error_code ec;
    conn c = dial_timeout(network, address, timeout, cfg, ec);
    if (ec) throw std::system_error(ec, "tls: dial " + std::string(network) + " " + std::string(address));
    return c;
}

}  // namespace goro::tls
