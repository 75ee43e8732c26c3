// http/detail/tls_context.hpp — what goro::tls's public types hold, in
// OpenSSL's terms. Included only by tls_config.cpp and tls_conn.cpp, so
// that OpenSSL's headers stay out of <goro/tls.hpp>.
//
// Every object here is immutable once built and shared by shared_ptr: a
// certificate's data, a pool's certificates, a context's SSL_CTX. OpenSSL
// allows an SSL_CTX (and the X509s and keys it holds) to be used by many
// SSL objects on many threads at once as long as nobody changes it, which
// is what these never do after construction.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <system_error>
#include <vector>

#include <goro/tls.hpp>

namespace goro::tls::detail {

struct certificate_data {
    X509* leaf = nullptr;
    std::vector<X509*> chain;  // after the leaf, in the order the PEM gave them
    EVP_PKEY* key = nullptr;

    certificate_data() = default;
    certificate_data(const certificate_data&) = delete;
    certificate_data& operator=(const certificate_data&) = delete;
    ~certificate_data() {
        X509_free(leaf);
        for (X509* x : chain) X509_free(x);
        EVP_PKEY_free(key);
    }
};

struct cert_pool_data {
    bool system = false;       // OpenSSL's default paths as well
    std::vector<X509*> certs;  // each holds a reference of its own

    cert_pool_data() = default;
    cert_pool_data(const cert_pool_data&) = delete;
    cert_pool_data& operator=(const cert_pool_data&) = delete;
    ~cert_pool_data() {
        for (X509* x : certs) X509_free(x);
    }
};

// An SSL_CTX built from a config, and the parts of the config that each
// connection applies on its own SSL (server_name) or that OpenSSL's
// callbacks read (the server's ALPN list).
struct context {
    SSL_CTX* ctx = nullptr;
    bool server = false;
    bool insecure_skip_verify = false;
    std::string server_name;
    std::vector<std::string> next_protos;
    std::error_code setup_error;  // a context that cannot work: every handshake on it fails so

    context() = default;
    context(const context&) = delete;
    context& operator=(const context&) = delete;
    ~context() { SSL_CTX_free(ctx); }
};

// The error OpenSSL's queue holds after a failed call on ssl (null: none),
// as a std::error_code of tls's categories; clears the queue. A failed
// verification becomes its X509_V_ERR in verify_category.
std::error_code take_openssl_error(SSL* ssl) noexcept;

// "CN=localhost": an X509 name on one line.
std::string one_line(X509_NAME* name);

}  // namespace goro::tls::detail
