// metrics_server: goro's runtime metrics over HTTP, in the Prometheus text
// format, for `curl` or a Prometheus scrape — Go's expvar or promhttp handler.
//
//   metrics_server [--listen HOST:PORT]     default 127.0.0.1:9100; port 0 picks a free port
//   curl 127.0.0.1:9100/metrics             fibers, threads, parks, steals, latency, ...
//
// A goro::http server with one route: GET /metrics (HEAD too, as Go's GET
// patterns). A background fiber ticks every 10 ms so that the counters move
// between two scrapes. The first line of stdout is the bound address; SIGINT
// or SIGTERM shuts it down and it exits 0 (server.hpp).
#include <sstream>
#include <string>
#include <variant>

#include <goro/goro.hpp>

#include "server.hpp"  // the listen / accept / shut-down skeleton the example servers share

int main(int argc, char** argv) {
    std::string listen_address = "127.0.0.1:9100";
    if (!example::parse_flags(argc, argv, listen_address)) return 2;
    return goro::run([&] {
        goro::chan<std::monostate> stop = goro::make_chan<std::monostate>();
        goro::wait_group ticking;
        ticking.add(1);
        goro::go([&] {
            goro::ticker tick(std::chrono::milliseconds(10));
            while (goro::select(goro::recv(stop), goro::recv(tick.c)) == 1) {
            }
            ticking.done();
        });
        goro::http::serve_mux mux;
        mux.handle_func("GET /metrics", [](goro::http::response_writer& w, goro::http::request&) {
            std::ostringstream out;
            goro::write_metrics(out);
            w.header().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            w.write(out.str());
        });
        goro::http::server srv{.handler = mux, .read_header_timeout = std::chrono::seconds(10)};
        const int status = example::serve_http_until_signal("metrics_server", listen_address, srv);
        stop.close();
        ticking.wait();
        return status;
    });
}
