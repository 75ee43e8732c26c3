// metrics_server: goro's runtime metrics over HTTP, in the Prometheus text
// format, for `curl` or a Prometheus scrape — Go's expvar or promhttp handler.
//
//   metrics_server [--listen HOST:PORT]     default 127.0.0.1:9100; port 0 picks a free port
//   curl 127.0.0.1:9100/metrics             fibers, threads, parks, steals, latency, ...
//
// A fiber per connection reads one request head and answers GET /metrics
// (anything else: 404), then closes, as HTTP/1.0 does. A background fiber
// ticks every 10 ms so that the counters move between two scrapes. The first
// line of stdout is the bound address; SIGINT or SIGTERM ends it with 0
// (server.hpp).
#include <cstddef>
#include <sstream>
#include <string>
#include <system_error>
#include <variant>

#include <goro/goro.hpp>

#include "server.hpp"  // the listen / accept / shut-down skeleton the example servers share

namespace {

constexpr std::size_t max_head_bytes = 8192;

void answer(goro::net::conn& c, const char* status, const std::string& type, const std::string& body) {
    std::string response = std::string("HTTP/1.0 ") + status + "\r\nContent-Type: " + type +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    std::error_code ec;
    c.write(response.data(), response.size(), ec);
}

void serve(goro::net::conn& c) {
    std::string head;
    char buffer[1024];
    while (head.find("\r\n\r\n") == std::string::npos) {
        if (head.size() > max_head_bytes) return answer(c, "431 Request Header Fields Too Large", "text/plain", "");
        std::error_code ec;
        const std::size_t n = c.read(buffer, sizeof buffer, ec);
        if (ec || n == 0) return;
        head.append(buffer, n);
    }
    const std::string line = head.substr(0, head.find("\r\n"));
    if (line.rfind("GET /metrics ", 0) == 0) {
        std::ostringstream out;
        goro::write_metrics(out);
        return answer(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", out.str());
    }
    answer(c, "404 Not Found", "text/plain", "not found: try GET /metrics\n");
}

}  // namespace

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
        const int status = example::serve_until_signal("metrics_server", listen_address, serve);
        stop.close();
        ticking.wait();
        return status;
    });
}
