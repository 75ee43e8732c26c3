// tests/e2e/http_server.cpp — a goro::http server for http_server_test.sh
// and https_test.sh to drive with curl.
//
//   http_server [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]
//       HOST:PORT: default 127.0.0.1:8080; port 0 picks a free port.
//       With a PEM certificate and key: HTTPS (serve_tls).
//
//   GET  /              "Hello, World!"
//   GET  /items/{id}    "item <id>"
//   POST /upload        "<bytes> bytes, sum <sum of the bytes mod 2^32>"
//   GET  /stream        three flushed parts, chunked
//
// The first line of stdout is the bound address. SIGINT or SIGTERM shuts the
// server down (Go's Shutdown, 5 s at most) and exits 0.
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <goro/goro.hpp>

using namespace std::chrono_literals;
namespace http = goro::http;

int main(int argc, char** argv) {
    std::string listen_address = "127.0.0.1:8080";
    std::string cert_file, key_file;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_address = argv[++i];
        } else if (std::strcmp(argv[i], "--tls-cert") == 0 && i + 1 < argc) {
            cert_file = argv[++i];
        } else if (std::strcmp(argv[i], "--tls-key") == 0 && i + 1 < argc) {
            key_file = argv[++i];
        } else {
            std::fprintf(stderr, "usage: %s [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]\n", argv[0]);
            return 2;
        }
    }
    if (cert_file.empty() != key_file.empty()) {
        std::fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", argv[0]);
        return 2;
    }
    return goro::run([&] {
        http::serve_mux mux;
        mux.handle_func("GET /{$}", [](http::response_writer& w, http::request&) {
            w.header().set("Content-Type", "text/plain");
            w.write("Hello, World!");
        });
        mux.handle_func("GET /items/{id}", [](http::response_writer& w, http::request& r) {
            w.write("item " + std::string(r.path_value("id")));
        });
        mux.handle_func("POST /upload", [](http::response_writer& w, http::request& r) {
            std::uint64_t bytes = 0;
            std::uint32_t sum = 0;
            char buffer[16384];
            std::error_code ec;
            while (std::size_t n = r.body.read(buffer, sizeof buffer, ec)) {
                bytes += n;
                for (std::size_t i = 0; i < n; ++i) sum += static_cast<unsigned char>(buffer[i]);
            }
            if (ec) {
                http::error(w, ec.message(), http::status_bad_request);
                return;
            }
            w.write(std::to_string(bytes) + " bytes, sum " + std::to_string(sum));
        });
        mux.handle_func("GET /stream", [](http::response_writer& w, http::request&) {
            for (int i = 0; i < 3; ++i) {
                w.write("part " + std::to_string(i) + "\n");
                w.flush();
            }
        });
        http::server srv{.handler = mux, .read_header_timeout = 5s, .idle_timeout = 30s};
        auto ln = goro::net::listen("tcp", listen_address);
        std::printf("%s\n", ln.local_address().to_string().c_str());
        std::fflush(stdout);

        auto [signalled, stop_signals] = goro::signal_notify_context(goro::background(), {SIGINT, SIGTERM});
        goro::wait_group served;
        served.add(1);
        goro::go([&, ln = std::move(ln)]() mutable {
            if (cert_file.empty()) {
                srv.serve(std::move(ln));
            } else {
                srv.serve_tls(std::move(ln), cert_file, key_file);
            }
            served.done();
        });
        signalled.done().recv();
        auto [ctx, cancel] = goro::with_timeout(goro::background(), 5s);
        std::error_code ec;
        srv.shutdown(ctx, ec);
        cancel();
        if (ec) srv.close();
        served.wait();
        stop_signals();
    });
}
