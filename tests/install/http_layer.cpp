// tests/install/http_layer.cpp — scripts/install-check.sh builds this against
// the installed library with both compilers, as every_layer.cpp: a
// goro::http server and client over loopback, through the installed
// umbrella header. Prints what failed and exits 1, or exits 0.
#include <cstdio>
#include <string>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

int main() {
    return goro::run([]() -> int {
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
        return 0;
    });
}
