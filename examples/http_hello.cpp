// http_hello: "Hello, World!" over HTTP/1.1 on goro::http, as a Go programmer
// writes it with net/http: a ServeMux with one route and an http.Server with
// timeouts. bench/go/http_nethttp is its Go twin in the benchmarks;
// examples/http_raw is the same answer written by hand on goro::net, to show
// what the layer costs.
//
//   http_hello [--listen HOST:PORT] [--read-header-timeout DURATION] [--idle-timeout DURATION]
//       --listen: default 127.0.0.1:8080; port 0 picks a free port
//       --read-header-timeout: how long a client has to send a request head
//         (default 10s; Go's http.Server.ReadHeaderTimeout)
//       --idle-timeout: how long a kept-alive connection may wait for its
//         next request (default 60s)
//   curl -i http://127.0.0.1:8080/
//   wrk -t1 -c100 -d10s http://127.0.0.1:8080/
//
// Everything HTTP/1.1 asks of a server is goro::http's: keep-alive and
// pipelining, HEAD, chunked request bodies, 100-continue, and the hardened
// answers to bad input (400 for malformed heads and smuggling attempts, 431
// for oversized heads, a slow head cut off). A POST to /echo answers its own
// body, which shows a request body as a goro reader.
//
// The first line of stdout is the bound address. SIGINT or SIGTERM shuts the
// server down as Go's Server.Shutdown does, and it exits 0 (server.hpp).
#include <chrono>
#include <string>

#include <goro/goro.hpp>

#include "server.hpp"  // flags, and serving until a signal

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    std::string listen_address = "127.0.0.1:8080";
    std::chrono::nanoseconds read_header_timeout = 10s;
    std::chrono::nanoseconds idle_timeout = 60s;
    if (!example::parse_flags(argc, argv, listen_address,
                              {{"read-header-timeout", &read_header_timeout}, {"idle-timeout", &idle_timeout}}))
        return 2;

    goro::http::serve_mux mux;
    mux.handle_func("/", [](goro::http::response_writer& w, goro::http::request&) {
        w.header().set("Content-Type", "text/plain");
        w.write("Hello, World!");
    });
    // Go 1.22's method pattern: a POST to /echo comes here, any other request
    // to /echo falls through to "/".
    mux.handle_func("POST /echo", [](goro::http::response_writer& w, goro::http::request& r) {
        w.header().set("Content-Type", "application/octet-stream");
        goro::io::copy(w, r.body);
    });

    goro::http::server srv{.handler = mux,
                           .read_header_timeout = read_header_timeout,
                           .idle_timeout = idle_timeout,
                           .max_body_bytes = 16 << 20};
    return goro::run([&] { return example::serve_http_until_signal("http_hello", listen_address, srv); });
}
