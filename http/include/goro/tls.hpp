// goro/tls.hpp — TLS for fibers, after Go's package crypto/tls, on OpenSSL.
//
//   auto cert = goro::tls::load_x509_key_pair("server.pem", "server.key");
//   goro::tls::listener ln = goro::tls::listen("tcp", ":8443", {.certificates = {cert}});
//   goro::tls::conn c = ln.accept();            // the handshake runs on first read or write
//
//   goro::tls::conn d = goro::tls::dial("tcp", "example.com:443", {});   // system roots, SNI "example.com"
//   d.write("ping");
//
// A tls::conn wraps a net::conn and has its shape: read, write, close and
// deadlines as net::conn has them (see <goro/net.hpp>), so goro::io::copy and
// goro::io::read_all take it. Every call parks only its fiber: OpenSSL never
// touches the socket; it reads and writes memory buffers, and the bytes move
// between those and the net::conn by the conn's own parking calls.
//
//   - Verified by default: a client checks the server's chain against the
//     system's roots (or config::root_cas) and its name against
//     config::server_name (dial fills that in from the address). A client
//     with neither server_name nor insecure_skip_verify fails its handshake,
//     as Go's does.
//   - The handshake runs on the first read or write, or on handshake(); the
//     conn's deadlines apply to it. Its failure sticks: later calls fail the
//     same way.
//   - A read returns 0 at the end of the stream: after the peer's
//     close_notify, or when the peer closes the connection between records
//     (Go accepts that too); a stream cut inside a record is
//     io::errc::unexpected_eof.
//   - A read timeout leaves the conn usable once the deadline moves; a write
//     timeout does not (part of a record may be out): later writes fail
//     with the same error, as in Go.
//   - close() sends close_notify (waiting at most 5 s for the socket) and
//     closes the socket; if a write is in progress it only closes the
//     socket, which wakes that write. The destructor only closes the socket.
//   - Threads: one fiber may read while another writes and a third closes,
//     as with Go's tls.Conn. Reads are serialised among themselves, writes
//     among themselves (a write's bytes are never interleaved with
//     another's). See docs/http.md, "TLS".
//
// Errors are std::system_error (or a std::error_code in the noexcept forms),
// as net's: what the socket said passes through unchanged (net::errc::timeout,
// net::errc::closed, ECONNRESET, ...). What TLS says carries OpenSSL's reason
// text ("tls: wrong version number", "tls: failed to verify certificate:
// Hostname mismatch") and compares equal to a tls::errc kind:
//   if (ec == goro::tls::errc::hostname_mismatch) ...
// The thrown forms' what() also names the operation and the endpoints, as
// net's: "handshake tcp 127.0.0.1:51234->127.0.0.1:8443: tls: ...".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <goro/net.hpp>

namespace goro::tls {

// ---------------------------------------------------------------- errors

// Kinds of failure: an error_condition enum, so that an error from any of
// tls's categories compares equal to its kind.
enum class errc {
    not_tls = 1,           // the peer does not speak TLS (Go's RecordHeaderError)
    verify_failed,         // the peer's certificate was not accepted (any of the three below)
    unknown_authority,     // no chain to a trusted root (x509.UnknownAuthorityError)
    hostname_mismatch,     // the certificate is not for server_name (x509.HostnameError)
    certificate_invalid,   // expired, not yet valid, wrong use... (x509.CertificateInvalidError)
    peer_alert,            // the peer ended the handshake or the session with an alert
    no_server_name,        // "tls: either server_name or insecure_skip_verify must be set"
    no_certificate,        // a server (or the key pair loader) has no certificate
    bad_pem,               // "tls: failed to find any PEM data"
    key_mismatch,          // "tls: private key does not match public key"
    protocol_error,        // anything else OpenSSL reports
};

// goro::tls's own errors and the kinds above.
const std::error_category& tls_category() noexcept;
// Errors from OpenSSL's error queue; the value is OpenSSL's packed error
// code, the message its reason text.
const std::error_category& openssl_category() noexcept;
// Certificate verification results; the value is OpenSSL's X509_V_ERR_*
// number, the message X509_verify_cert_error_string's text.
const std::error_category& verify_category() noexcept;

inline std::error_condition make_error_condition(errc e) noexcept { return {static_cast<int>(e), tls_category()}; }
// An error of tls's own (no_server_name, bad_pem, ...), as a code.
inline std::error_code make_code(errc e) noexcept { return {static_cast<int>(e), tls_category()}; }

}  // namespace goro::tls

template <>
struct std::is_error_condition_enum<goro::tls::errc> : std::true_type {};

namespace goro::tls {

using net::time_point;

// ---------------------------------------------------------------- versions

inline constexpr std::uint16_t version_tls12 = 0x0303;
inline constexpr std::uint16_t version_tls13 = 0x0304;
// Go's VersionName: "TLS 1.3"; "0x0302" for one it does not name.
std::string version_name(std::uint16_t version);

// ---------------------------------------------------------------- certificates

namespace detail {
struct certificate_data;
struct cert_pool_data;
struct context;
struct conn_state;
}  // namespace detail

// Go's tls.Certificate: a chain (leaf first) and the leaf's private key.
// A cheap copy: copies share the parsed data, which never changes.
class certificate {
public:
    certificate() noexcept;
    explicit operator bool() const noexcept { return data_ != nullptr; }
    // The leaf's subject and issuer, one-line ("CN=localhost").
    std::string subject() const;
    std::string issuer() const;

    friend bool operator==(const certificate& a, const certificate& b) noexcept { return a.data_ == b.data_; }

    explicit certificate(std::shared_ptr<const detail::certificate_data> d) noexcept;  // internal
    const detail::certificate_data* data() const noexcept { return data_.get(); }     // internal

private:
    std::shared_ptr<const detail::certificate_data> data_;
};

// Go's tls.LoadX509KeyPair: a PEM certificate chain and a PEM private key
// (PKCS#8, PKCS#1 or SEC1). A missing file fails with its errno (and the
// file's name in what()); bad contents with bad_pem, or OpenSSL's reason;
// a key that is not the certificate's with key_mismatch.
certificate load_x509_key_pair(const std::string& cert_file, const std::string& key_file);
certificate load_x509_key_pair(const std::string& cert_file, const std::string& key_file,
                               std::error_code& ec) noexcept;
// Go's tls.X509KeyPair: the same from PEM text in memory.
certificate x509_key_pair(std::string_view cert_pem, std::string_view key_pem);
certificate x509_key_pair(std::string_view cert_pem, std::string_view key_pem, std::error_code& ec) noexcept;

// Go's x509.CertPool: certificates to trust as roots (or, on a server, to
// accept client certificates from). A value; copies made before an append
// do not see it.
class cert_pool {
public:
    cert_pool();
    // Go's AppendCertsFromPEM: every certificate in pem; false (and nothing
    // added) if there is none or one does not parse.
    bool append_certs_from_pem(std::string_view pem);
    // Reads a PEM file and appends what it holds: false if the file cannot
    // be read or holds no certificate.
    bool append_certs_from_file(const std::string& path);
    std::size_t size() const noexcept;
    // The system's roots (Go's SystemCertPool): OpenSSL's default paths.
    static cert_pool system();

    friend bool operator==(const cert_pool& a, const cert_pool& b) noexcept { return a.data_ == b.data_; }

    const detail::cert_pool_data* data() const noexcept { return data_.get(); }  // internal

private:
    std::shared_ptr<const detail::cert_pool_data> data_;
};

// Go's tls.ClientAuthType: what a server asks of clients' certificates.
enum class client_auth_type {
    no_client_cert,               // asks for none (the default)
    request_client_cert,          // asks; takes any, or none, unverified
    require_any_client_cert,      // needs one; does not verify it
    verify_client_cert_if_given,  // asks; verifies one if given
    require_and_verify_client_cert,
};

// Go's tls.Config: an aggregate; set fields by name. A conn copies what it
// needs when it is made, so changing a config later does not affect it.
struct config {
    // What this side presents: a server's certificate (the first is used),
    // or a client's certificate for servers that ask for one.
    std::vector<certificate> certificates{};
    // The roots a client verifies servers against; none: the system's.
    std::optional<cert_pool> root_cas{};
    // The roots a server verifies client certificates against; none: the
    // system's.
    std::optional<cert_pool> client_cas{};
    // A client's SNI and the name its server's certificate must carry (an
    // IP address is checked against the certificate's IP addresses and not
    // sent as SNI, as in Go).
    std::string server_name{};
    // A client that skips verification accepts any certificate: for tests.
    bool insecure_skip_verify = false;
    // ALPN, most preferred first. A server that has some and shares none
    // with a client that offers some fails the handshake, as Go's does.
    std::vector<std::string> next_protos{};
    std::uint16_t min_version = version_tls12;  // Go's default
    std::uint16_t max_version = 0;              // 0: the newest (TLS 1.3)
    client_auth_type client_auth = client_auth_type::no_client_cert;

    friend bool operator==(const config&, const config&) = default;
};

// Go's tls.ConnectionState, the parts a program asks about.
struct connection_state {
    bool handshake_complete = false;
    std::uint16_t version = 0;          // version_tls12, version_tls13
    std::string cipher_suite{};         // OpenSSL's name: "TLS_AES_128_GCM_SHA256"
    std::string negotiated_protocol{};  // ALPN's choice; "" for none
    std::string server_name{};          // the SNI the client sent (either side)
    bool peer_certificate_present = false;
    std::string peer_subject{};         // the peer's leaf, one-line: "CN=localhost"
    std::string peer_issuer{};
};

// ---------------------------------------------------------------- conn

// Go's tls.Conn. Move-only. See the top of this header for the rules.
class conn {
public:
    conn() noexcept;
    conn(conn&&) noexcept;
    conn& operator=(conn&&) noexcept;
    ~conn();

    explicit operator bool() const noexcept { return state_ != nullptr; }

    // Runs the handshake if it has not run (Go's Handshake): parks until it
    // is done, it fails or a deadline passes. Idempotent.
    void handshake();
    void handshake(std::error_code& ec) noexcept;

    std::size_t read(void* data, std::size_t size);
    std::size_t read(void* data, std::size_t size, std::error_code& ec) noexcept;
    std::size_t read(std::span<char> buffer) { return read(buffer.data(), buffer.size()); }
    // Exactly size bytes, or fails, as net::conn::read_full.
    std::size_t read_full(void* data, std::size_t size);
    std::size_t read_full(void* data, std::size_t size, std::error_code& ec) noexcept;

    std::size_t write(const void* data, std::size_t size);
    std::size_t write(const void* data, std::size_t size, std::error_code& ec) noexcept;
    std::size_t write(std::string_view text) { return write(text.data(), text.size()); }
    std::size_t write(std::string_view text, std::error_code& ec) noexcept {
        return write(text.data(), text.size(), ec);
    }

    // Sends close_notify if the handshake is done and no write is in
    // progress, then closes the socket. A second close fails with
    // net::errc::closed, as net::conn's.
    void close();
    void close(std::error_code& ec) noexcept;
    // Go's CloseWrite: sends close_notify and fails later writes; reading
    // goes on. Only after the handshake.
    void close_write();
    void close_write(std::error_code& ec) noexcept;

    void set_deadline(time_point t) { net_conn().set_deadline(t); }
    void set_deadline(time_point t, std::error_code& ec) noexcept;
    void set_read_deadline(time_point t) { net_conn().set_read_deadline(t); }
    void set_read_deadline(time_point t, std::error_code& ec) noexcept;
    void set_write_deadline(time_point t) { net_conn().set_write_deadline(t); }
    void set_write_deadline(time_point t, std::error_code& ec) noexcept;

    net::address local_address() const;
    net::address remote_address() const;
    // What the handshake settled; handshake_complete false before it.
    tls::connection_state connection_state() const;
    // The net::conn underneath (Go's NetConn). Closing it ends the TLS conn
    // without close_notify; reading or writing it corrupts the session.
    net::conn& net_conn();
    const net::conn& net_conn() const;

    explicit conn(std::unique_ptr<detail::conn_state> s) noexcept;  // internal

private:
    std::unique_ptr<detail::conn_state> state_;
};

// Go's tls.Server and tls.Client: wrap a connected net::conn. Nothing is
// sent until the handshake. A server config needs a certificate (else the
// handshake fails with no_certificate).
conn server(net::conn c, const config& cfg);
conn client(net::conn c, const config& cfg);

// ---------------------------------------------------------------- listener

// Go's tls.NewListener / tls.Listen: accept() returns server conns whose
// handshake runs on first use (in the fiber that uses it, so a slow client
// never holds up accept).
class listener {
public:
    listener() noexcept;
    listener(net::listener ln, const config& cfg);  // Go's NewListener
    listener(listener&&) noexcept;
    listener& operator=(listener&&) noexcept;
    ~listener();

    explicit operator bool() const noexcept { return static_cast<bool>(inner_); }

    conn accept();
    conn accept(std::error_code& ec) noexcept;
    void close();
    void close(std::error_code& ec) noexcept;
    void set_deadline(time_point t) { inner_.set_deadline(t); }
    net::address local_address() const { return inner_.local_address(); }
    net::listener& net_listener() noexcept { return inner_; }

private:
    net::listener inner_;
    std::shared_ptr<const detail::context> context_;
};

listener listen(std::string_view network, std::string_view address, const config& cfg);
listener listen(std::string_view network, std::string_view address, const config& cfg,
                std::error_code& ec) noexcept;

// Go's tls.Dial: net::dial, then the handshake. An empty cfg.server_name
// becomes the address's host.
conn dial(std::string_view network, std::string_view address, const config& cfg);
conn dial(std::string_view network, std::string_view address, const config& cfg, std::error_code& ec) noexcept;
// Go's tls.DialWithDialer with a Timeout: the timeout covers the dial and
// the handshake.
conn dial_timeout(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout,
                  const config& cfg);
conn dial_timeout(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout,
                  const config& cfg, std::error_code& ec) noexcept;

// ---------------------------------------------------------------- internal

namespace detail {
// An OpenSSL context built once from a config, for many conns (a listener's,
// the HTTP client's): building one loads certificates and roots.
std::shared_ptr<const context> make_context(const config& cfg, bool server, std::error_code& ec) noexcept;
// A conn on a prepared context; server_name overrides the config's (the
// HTTP client's per-host name).
conn make_conn(net::conn c, std::shared_ptr<const context> ctx, std::string_view server_name);
}  // namespace detail

}  // namespace goro::tls
