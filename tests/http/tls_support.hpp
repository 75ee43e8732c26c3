// tests/http/tls_support.hpp — certificates for the TLS tests, made when the
// tests run by the `openssl` command in a temporary directory (removed at
// exit): a test CA, a server certificate it signed for "localhost" and
// 127.0.0.1, a client certificate it signed, and a second CA with a server
// certificate of its own, for "unknown authority". P-256 keys: quick to
// make and to use. Call test_pki() from a test case's body outside
// goro::run: making them runs a shell, which blocks its thread.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include <goro/tls.hpp>

namespace goro_test {

struct pki {
    std::string dir;
    std::string ca_pem, ca_key;
    std::string server_pem, server_key;  // CN=localhost, DNS:localhost, IP:127.0.0.1
    std::string client_pem, client_key;  // CN=goro test client
    std::string other_ca_pem;            // a CA nobody trusts
    std::string other_server_pem, other_server_key;
    bool ok = false;

    ~pki() {
        if (!dir.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    }

    // A config trusting the test CA only.
    goro::tls::config trusting_ca() const {
        goro::tls::cert_pool pool;
        pool.append_certs_from_file(ca_pem);
        goro::tls::config cfg;
        cfg.root_cas = pool;
        return cfg;
    }
    goro::tls::config server_config() const {
        goro::tls::config cfg;
        cfg.certificates = {goro::tls::load_x509_key_pair(server_pem, server_key)};
        return cfg;
    }
};

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The shell script that makes the certificates in the current directory.
inline const char* make_pki_script() {
    return R"(set -e
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj "/CN=goro test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
openssl req -x509 $ec -keyout other_ca.key -out other_ca.pem -days 2 -subj "/CN=goro other CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext
printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >client.ext
openssl req $ec -keyout server.key -out server.csr -subj "/CN=localhost"
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 -extfile server.ext -out server.pem
openssl req $ec -keyout client.key -out client.csr -subj "/CN=goro test client"
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -set_serial 3 -days 2 -extfile client.ext -out client.pem
openssl req $ec -keyout other_server.key -out other_server.csr -subj "/CN=localhost"
openssl x509 -req -in other_server.csr -CA other_ca.pem -CAkey other_ca.key -set_serial 4 -days 2 \
  -extfile server.ext -out other_server.pem
)";
}

// Made once per test binary.
inline const pki& test_pki() {
    static pki p = [] {
        pki out;
        const char* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/goro_tls_test.XXXXXX";
        if (!mkdtemp(templ.data())) return out;
        out.dir = templ;
        const std::string script = out.dir + "/make.sh";
        std::ofstream(script) << make_pki_script();
        const std::string command = "cd '" + out.dir + "' && sh make.sh >make.log 2>&1";
        if (std::system(command.c_str()) != 0) {
            std::fprintf(stderr, "tls tests: making certificates failed:\n%s\n", read_text(out.dir + "/make.log").c_str());
            return out;
        }
        auto at = [&](const char* name) { return out.dir + "/" + name; };
        out.ca_pem = at("ca.pem");
        out.ca_key = at("ca.key");
        out.server_pem = at("server.pem");
        out.server_key = at("server.key");
        out.client_pem = at("client.pem");
        out.client_key = at("client.key");
        out.other_ca_pem = at("other_ca.pem");
        out.other_server_pem = at("other_server.pem");
        out.other_server_key = at("other_server.key");
        out.ok = true;
        return out;
    }();
    REQUIRE_MESSAGE(p.ok, "the openssl command could not make the test certificates");
    return p;
}

}  // namespace goro_test
