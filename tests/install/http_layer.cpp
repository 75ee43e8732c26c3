// tests/install/http_layer.cpp — scripts/install-check.sh builds this against
// the installed library with both compilers, as every_layer.cpp: a
// goro::http server and client over loopback, through the installed
// umbrella header. Given a PEM certificate (self-signed, for localhost) and
// its key as arguments, also over HTTPS (goro::tls), trusting that
// certificate. Prints what failed and exits 1, or exits 0.
#include <cstdio>
#include <string>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

namespace {

int https_round_trip(const std::string& cert_file, const std::string& key_file) {
    goro::http::server srv{.handler = [](goro::http::response_writer& w, goro::http::request& r) {
        w.write(r.tls() ? r.tls()->negotiated_protocol : std::string("plain"));
    }};
    auto ln = goro::net::listen("tcp", "127.0.0.1:0");
    const std::string url = "https://localhost:" + std::to_string(ln.local_address().port()) + "/";
    goro::wait_group served;
    served.add(1);
    goro::go([&, ln = std::move(ln)]() mutable {
        std::error_code ec;
        srv.serve_tls(std::move(ln), cert_file, key_file, ec);
        served.done();
    });
    goro::tls::cert_pool roots;
    roots.append_certs_from_file(cert_file);
    goro::http::client c;
    c.tls_config.root_cas = roots;
    std::error_code ec;
    goro::http::response resp = c.get(url, ec);
    const std::string body = ec ? std::string() : goro::io::read_all(resp.body);
    srv.close();
    served.wait();
    if (ec || body != "http/1.1") {
        std::fprintf(stderr, "http_layer: https: got '%s' (%s), expected 'http/1.1'\n", body.c_str(),
                     ec ? ec.message().c_str() : "no error");
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string cert_file = argc == 3 ? argv[1] : "";
    const std::string key_file = argc == 3 ? argv[2] : "";
    return goro::run([&]() -> int {
        goro::http::serve_mux mux;
        mux.handle_func("GET /items/{id}", [](goro::http::response_writer& w, goro::http::request& r) {
            w.header().set("Content-Type", "text/plain");
            w.write("item " + std::string(r.path_value("id")));
        });
        goro::http::server srv{.handler = mux, .read_header_timeout = 5s};
        auto ln = goro::net::listen("tcp", "127.0.0.1:0");
        const std::string url = "http://" + ln.local_address().to_string() + "/items/7";
        goro::wait_group served;
        served.add(1);
        goro::go([&srv, &served, ln = std::move(ln)]() mutable {
            srv.serve(std::move(ln));
            served.done();
        });
        goro::http::client c;
        goro::http::response resp = c.get(url);
        const std::string body = goro::io::read_all(resp.body);
        srv.close();
        served.wait();
        if (resp.status_code != 200 || body != "item 7") {
            std::fprintf(stderr, "http_layer: got %d '%s', expected 200 'item 7'\n", resp.status_code, body.c_str());
            return 1;
        }
        return cert_file.empty() ? 0 : https_round_trip(cert_file, key_file);
    });
}
