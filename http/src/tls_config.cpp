// http/src/tls_config.cpp — goro::tls's error categories, certificates,
// certificate pools, and the OpenSSL context a config becomes.
//
// Invariants:
//   - certificate_data, cert_pool_data and context are immutable once
//     built (cert_pool::append builds a new cert_pool_data), so sharing
//     them between conns and threads needs no lock.
//   - The system's roots are loaded once per process into one X509_STORE
//     (system_store, built under std::call_once) that every context that
//     trusts them shares by reference: loading them costs milliseconds.
//   - What blocks a thread on the disk (OpenSSL's first initialisation,
//     which reads its configuration file; the system's roots; key files)
//     runs inside a goro::blocking_scope, so other fibers move on.
//   - Nothing here leaves an error on OpenSSL's thread-local queue: every
//     path that can fail takes or clears it, so that a later call on the
//     same thread (which a fiber may share with others) reads only its own.
#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <goro/blocking.hpp>

#include "http/detail/tls_context.hpp"

namespace goro::tls {

namespace {

std::string_view own_message(int value) noexcept {
    switch (static_cast<errc>(value)) {
        case errc::not_tls: return "tls: first record does not look like a TLS handshake";
        case errc::verify_failed: return "tls: failed to verify certificate";
        case errc::unknown_authority: return "tls: certificate signed by unknown authority";
        case errc::hostname_mismatch: return "tls: certificate is not valid for the server name";
        case errc::certificate_invalid: return "tls: certificate is not valid";
        case errc::peer_alert: return "tls: the peer sent an alert";
        case errc::no_server_name: return "tls: either server_name or insecure_skip_verify must be set";
        case errc::no_certificate: return "tls: no certificates configured";
        case errc::bad_pem: return "tls: failed to find any PEM data";
        case errc::key_mismatch: return "tls: private key does not match public key";
        case errc::protocol_error: return "tls: protocol error";
    }
    return "tls: unknown error";
}

class tls_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "goro.tls"; }
    std::string message(int value) const override { return std::string(own_message(value)); }
};

// Which kind an OpenSSL reason is.
bool is_not_tls_reason(int reason) {
    return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
           reason == SSL_R_HTTPS_PROXY_REQUEST || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
           reason == SSL_R_UNKNOWN_PROTOCOL;
}

bool is_alert_reason(int reason) { return reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256; }

class openssl_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "openssl"; }
    std::string message(int value) const override {
        const char* reason = ERR_reason_error_string(static_cast<unsigned long>(value));
        if (reason) return std::string("tls: ") + reason;
        char text[64];
        std::snprintf(text, sizeof text, "tls: OpenSSL error %08x", static_cast<unsigned>(value));
        return text;
    }
    std::error_condition default_error_condition(int value) const noexcept override {
        const int reason = ERR_GET_REASON(static_cast<unsigned long>(value));
        if (ERR_GET_LIB(static_cast<unsigned long>(value)) == ERR_LIB_SSL) {
            if (is_not_tls_reason(reason)) return errc::not_tls;
            if (is_alert_reason(reason)) return errc::peer_alert;
            if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED || reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
                return errc::verify_failed;
        }
        const int lib = ERR_GET_LIB(static_cast<unsigned long>(value));
        if (lib == ERR_LIB_PEM || lib == ERR_LIB_ASN1) return errc::bad_pem;
#ifdef ERR_LIB_OSSL_DECODER
        if (lib == ERR_LIB_OSSL_DECODER) return errc::bad_pem;  // OpenSSL 3's key decoders
#endif
        return errc::protocol_error;
    }
};

bool is_unknown_authority(int v) {
    return v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT || v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
           v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
           v == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE || v == X509_V_ERR_CERT_UNTRUSTED;
}

class verify_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "x509"; }
    std::string message(int value) const override {
        return std::string("tls: failed to verify certificate: ") + X509_verify_cert_error_string(value);
    }
    std::error_condition default_error_condition(int value) const noexcept override {
        if (is_unknown_authority(value)) return errc::unknown_authority;
        if (value == X509_V_ERR_HOSTNAME_MISMATCH || value == X509_V_ERR_IP_ADDRESS_MISMATCH)
            return errc::hostname_mismatch;
        return errc::certificate_invalid;
    }
    // Every verification failure is also errc::verify_failed.
    bool equivalent(int value, const std::error_condition& cond) const noexcept override {
        if (cond == errc::verify_failed) return true;
        return default_error_condition(value) == cond;
    }
};

// Reads a whole file; its errno on failure.
bool read_file(const std::string& path, std::string& out, std::error_code& ec) {
    goro::blocking_scope on_disk;
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ec = std::error_code(errno ? errno : ENOENT, std::system_category());
        return false;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        ec = std::make_error_code(std::errc::io_error);
        return false;
    }
    out = std::move(text).str();
    return true;
}

// Every certificate in pem, in order; false (and nothing) if none parses or
// one is malformed.
bool parse_certificates(std::string_view pem, std::vector<X509*>& out, std::error_code& ec) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (!bio) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return false;
    }
    std::vector<X509*> certs;
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) certs.push_back(x);
    const unsigned long last = ERR_peek_last_error();
    BIO_free(bio);
    // The loop ends at the first place with no certificate: clean only if
    // that is the end of the text ("no start line").
    const bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    if (!clean_end || certs.empty()) {
        for (X509* x : certs) X509_free(x);
        ec = certs.empty() && clean_end ? make_code(errc::bad_pem)
                                        : std::error_code(static_cast<int>(last), openssl_category());
        if (last == 0) ec = make_code(errc::bad_pem);
        return false;
    }
    out.insert(out.end(), certs.begin(), certs.end());
    return true;
}

X509_STORE* system_store() {
    static std::once_flag once;
    static X509_STORE* store = nullptr;
    std::call_once(once, [] {
        goro::blocking_scope on_disk;
        store = X509_STORE_new();
        if (store) X509_STORE_set_default_paths(store);
        ERR_clear_error();
    });
    return store;
}

// A store holding the pool's certificates (and the system's, if it says so).
X509_STORE* store_for(const std::optional<cert_pool>& pool) {
    if (!pool || (pool->data()->system && pool->data()->certs.empty())) {
        X509_STORE* s = system_store();
        if (s) X509_STORE_up_ref(s);
        return s;
    }
    X509_STORE* s = X509_STORE_new();
    if (!s) return nullptr;
    if (pool->data()->system) {
        goro::blocking_scope on_disk;
        X509_STORE_set_default_paths(s);
    }
    for (X509* x : pool->data()->certs) X509_STORE_add_cert(s, x);
    ERR_clear_error();  // a duplicate certificate is not an error
    return s;
}

// OpenSSL initialises itself on first use, reading its configuration file.
void ensure_openssl_ready() {
    static std::once_flag once;
    std::call_once(once, [] {
        goro::blocking_scope on_disk;
        OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr);
        ERR_clear_error();
    });
}

int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

// The server's ALPN choice: its own most preferred protocol that the
// client offers too.
int select_protocol(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                    unsigned int inlen, void* arg) {
    const auto* ctx = static_cast<const detail::context*>(arg);
    if (ctx->next_protos.empty()) return SSL_TLSEXT_ERR_NOACK;
    for (const std::string& mine : ctx->next_protos) {
        for (unsigned int i = 0; i < inlen;) {
            const unsigned int len = in[i];
            if (i + 1 + len > inlen) break;
            if (len == mine.size() && std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == mine) {
                *out = in + i + 1;
                *outlen = static_cast<unsigned char>(len);
                return SSL_TLSEXT_ERR_OK;
            }
            i += 1 + len;
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // Go: "client requested unsupported application protocols"
}

}  // namespace

const std::error_category& tls_category() noexcept {
    static const tls_error_category category;
    return category;
}

const std::error_category& openssl_category() noexcept {
    static const openssl_error_category category;
    return category;
}

const std::error_category& verify_category() noexcept {
    static const verify_error_category category;
    return category;
}

std::string version_name(std::uint16_t version) {
    switch (version) {
        case 0x0300: return "SSLv3";
        case 0x0301: return "TLS 1.0";
        case 0x0302: return "TLS 1.1";
        case version_tls12: return "TLS 1.2";
        case version_tls13: return "TLS 1.3";
    }
    char text[16];
    std::snprintf(text, sizeof text, "0x%04X", static_cast<unsigned>(version));
    return text;
}

namespace detail {

std::error_code take_openssl_error(SSL* ssl) noexcept {
    const unsigned long first = ERR_peek_error();
    ERR_clear_error();
    if (first == 0) return {};
    if (ERR_SYSTEM_ERROR(first)) return {static_cast<int>(ERR_GET_REASON(first)), std::system_category()};
    if (ssl && ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        const long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK) return {static_cast<int>(v), verify_category()};
    }
    return {static_cast<int>(first), openssl_category()};
}

std::string one_line(X509_NAME* name) {
    if (!name) return {};
    BIO* bio = BIO_new(BIO_s_mem());
    if (!bio) return {};
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n > 0 ? n : 0));
    BIO_free(bio);
    return out;
}

std::shared_ptr<const context> make_context(const config& cfg, bool server, std::error_code& ec) noexcept {
    ec.clear();
    ensure_openssl_ready();
    try {
        auto c = std::make_shared<context>();
        c->server = server;
        c->insecure_skip_verify = cfg.insecure_skip_verify;
        c->server_name = cfg.server_name;
        c->next_protos = cfg.next_protos;
        c->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
        if (!c->ctx) {
            ec = take_openssl_error(nullptr);
            if (!ec) ec = make_code(errc::protocol_error);
            return nullptr;
        }
        SSL_CTX* ctx = c->ctx;
        // Renegotiation would make a write need a read (and the reverse),
        // which the two-lock design does not allow; Go refuses it too.
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
        SSL_CTX_set_min_proto_version(ctx, cfg.min_version ? cfg.min_version : version_tls12);
        if (cfg.max_version) SSL_CTX_set_max_proto_version(ctx, cfg.max_version);
        if (server) {
            // No session tickets: each conn's context is its own, so a ticket
            // could not be taken back anyway, and none means no
            // post-handshake messages for the client to read.
            SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
            SSL_CTX_set_num_tickets(ctx, 0);
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        }

        if (!cfg.certificates.empty() && cfg.certificates.front()) {
            const certificate_data* cert = cfg.certificates.front().data();
            if (SSL_CTX_use_certificate(ctx, cert->leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, cert->key) != 1) {
                ec = take_openssl_error(nullptr);
                if (!ec) ec = make_code(errc::key_mismatch);
                return nullptr;
            }
            for (X509* x : cert->chain) SSL_CTX_add1_chain_cert(ctx, x);
        } else if (server) {
            c->setup_error = make_code(errc::no_certificate);
        }

        if (server) {
            int mode = SSL_VERIFY_NONE;
            bool verify = false;
            switch (cfg.client_auth) {
                case client_auth_type::no_client_cert: break;
                case client_auth_type::request_client_cert: mode = SSL_VERIFY_PEER; break;
                case client_auth_type::require_any_client_cert:
                    mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
                    break;
                case client_auth_type::verify_client_cert_if_given:
                    mode = SSL_VERIFY_PEER;
                    verify = true;
                    break;
                case client_auth_type::require_and_verify_client_cert:
                    mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
                    verify = true;
                    break;
            }
            SSL_CTX_set_verify(ctx, mode, verify || mode == SSL_VERIFY_NONE ? nullptr : accept_any_certificate);
            if (verify) {
                X509_STORE* store = store_for(cfg.client_cas);
                if (store) SSL_CTX_set0_verify_cert_store(ctx, store);  // takes the reference
                if (cfg.client_cas)
                    for (X509* x : cfg.client_cas->data()->certs) SSL_CTX_add_client_CA(ctx, x);
            }
            SSL_CTX_set_alpn_select_cb(ctx, select_protocol, c.get());
        } else {
            if (cfg.insecure_skip_verify) {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
            } else {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
                X509_STORE* store = store_for(cfg.root_cas);
                if (store) SSL_CTX_set_cert_store(ctx, store);  // takes the reference
            }
            if (!cfg.next_protos.empty()) {
                std::string wire;
                for (const std::string& p : cfg.next_protos) {
                    if (p.empty() || p.size() > 255) continue;
                    wire += static_cast<char>(p.size());
                    wire += p;
                }
                SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                        static_cast<unsigned>(wire.size()));
            }
        }
        ERR_clear_error();
        return c;
    } catch (const std::bad_alloc&) {
        ERR_clear_error();
        ec = std::make_error_code(std::errc::not_enough_memory);
        return nullptr;
    }
}

}  // namespace detail

// ---------------------------------------------------------------- certificate

certificate::certificate() noexcept = default;
certificate::certificate(std::shared_ptr<const detail::certificate_data> d) noexcept : data_(std::move(d)) {}

std::string certificate::subject() const {
    return data_ ? detail::one_line(X509_get_subject_name(data_->leaf)) : std::string();
}

std::string certificate::issuer() const {
    return data_ ? detail::one_line(X509_get_issuer_name(data_->leaf)) : std::string();
}

certificate x509_key_pair(std::string_view cert_pem, std::string_view key_pem, std::error_code& ec) noexcept {
    ec.clear();
    try {
        auto d = std::make_shared<detail::certificate_data>();
        std::vector<X509*> certs;
        if (!parse_certificates(cert_pem, certs, ec)) return {};
        d->leaf = certs.front();
        d->chain.assign(certs.begin() + 1, certs.end());
        BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
        if (!bio) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return {};
        }
        d->key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        if (!d->key) {
            const unsigned long e = ERR_peek_error();
            ERR_clear_error();
            // OpenSSL 3 reports a file without a key as its decoders'
            // "unsupported"; no PEM block at all is Go's plain bad_pem.
            const bool no_block = key_pem.find("-----BEGIN") == std::string_view::npos;
            ec = e == 0 || no_block || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                     ? make_code(errc::bad_pem)
                     : std::error_code(static_cast<int>(e), openssl_category());
            return {};
        }
        if (X509_check_private_key(d->leaf, d->key) != 1) {
            ERR_clear_error();
            ec = make_code(errc::key_mismatch);
            return {};
        }
        return certificate(std::move(d));
    } catch (const std::bad_alloc&) {
        ERR_clear_error();
        ec = std::make_error_code(std::errc::not_enough_memory);
        return {};
    }
}

certificate x509_key_pair(std::string_view cert_pem, std::string_view key_pem) {
    std::error_code ec;
    certificate c = x509_key_pair(cert_pem, key_pem, ec);
    if (ec) throw std::system_error(ec, "tls: x509_key_pair");
    return c;
}

namespace {

// The file a failure is about, for what(): the certificate's unless the key
// is to blame.
certificate load_pair(const std::string& cert_file, const std::string& key_file, std::error_code& ec,
                      std::string* blamed) noexcept {
    ec.clear();
    try {
        std::string cert_pem, key_pem;
        if (!read_file(cert_file, cert_pem, ec)) {
            if (blamed) *blamed = cert_file;
            return {};
        }
        if (!read_file(key_file, key_pem, ec)) {
            if (blamed) *blamed = key_file;
            return {};
        }
        std::vector<X509*> probe;
        if (!parse_certificates(cert_pem, probe, ec)) {
            if (blamed) *blamed = cert_file;
            return {};
        }
        for (X509* x : probe) X509_free(x);
        certificate c = x509_key_pair(cert_pem, key_pem, ec);
        if (ec && blamed) *blamed = ec == errc::key_mismatch ? cert_file + " and " + key_file : key_file;
        return c;
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return {};
    }
}

}  // namespace

certificate load_x509_key_pair(const std::string& cert_file, const std::string& key_file,
                               std::error_code& ec) noexcept {
    return load_pair(cert_file, key_file, ec, nullptr);
}

certificate load_x509_key_pair(const std::string& cert_file, const std::string& key_file) {
    std::error_code ec;
    std::string blamed;
    certificate c = load_pair(cert_file, key_file, ec, &blamed);
    if (ec) throw std::system_error(ec, "tls: load_x509_key_pair " + blamed);
    return c;
}

// ---------------------------------------------------------------- cert_pool

cert_pool::cert_pool() : data_(std::make_shared<const detail::cert_pool_data>()) {}

bool cert_pool::append_certs_from_pem(std::string_view pem) {
    std::vector<X509*> added;
    std::error_code ec;
    if (!parse_certificates(pem, added, ec)) return false;
    auto next = std::make_shared<detail::cert_pool_data>();
    next->system = data_->system;
    for (X509* x : data_->certs) {
        X509_up_ref(x);
        next->certs.push_back(x);
    }
    next->certs.insert(next->certs.end(), added.begin(), added.end());
    data_ = std::move(next);
    return true;
}

bool cert_pool::append_certs_from_file(const std::string& path) {
    std::string pem;
    std::error_code ec;
    if (!read_file(path, pem, ec)) return false;
    return append_certs_from_pem(pem);
}

std::size_t cert_pool::size() const noexcept { return data_->certs.size(); }

cert_pool cert_pool::system() {
    cert_pool p;
    auto d = std::make_shared<detail::cert_pool_data>();
    d->system = true;
    p.data_ = std::move(d);
    return p;
}

}  // namespace goro::tls
