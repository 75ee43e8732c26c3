// tests/http/bad_input_test.cpp — the server under malformed and hostile
// requests: each is sent as raw bytes over a net::conn, and the test checks
// the status line the server answers with (and that it stays up).
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <vector>

#include <goro/goro.hpp>

#include "http/http_support.hpp"
#include "support/procs.hpp"

namespace http = goro::http;
using namespace std::chrono_literals;
using namespace std::string_literals;
using goro_test::raw_exchange;
using goro_test::status_line;
using goro_test::test_server;

namespace {

// What a careful handler does: a body it cannot read is the client's fault.
void answer_ok(http::response_writer& w, http::request& r) {
    std::error_code ec;
    const std::string body = goro::io::read_all(r.body, ec);
    if (ec) {
        http::error(w, "bad body: " + ec.message(), http::status_bad_request);
        return;
    }
    w.write("ok " + std::to_string(body.size()));
}

struct bad_case {
    const char* name;
    std::string bytes;
    const char* status;
};

}  // namespace

TEST_CASE("http bad input: malformed heads and framing get 400 (or 501), and the server stays up") {
    const std::vector<bad_case> cases = {
        {"garbage request line", "GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"no version", "GET /\r\nHost: a\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"bad version", "GET / HTTP/9.9\r\nHost: a\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"space in the field name", "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"missing Host on HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"conflicting Content-Length",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "HTTP/1.1 400 Bad Request"},
        {"Content-Length list that disagrees", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd",
         "HTTP/1.1 400 Bad Request"},
        {"negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
         "HTTP/1.1 400 Bad Request"},
        {"Content-Length with Transfer-Encoding",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "HTTP/1.1 400 Bad Request"},
        {"Transfer-Encoding with Content-Length",
         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
         "HTTP/1.1 400 Bad Request"},
        {"bare CR in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\rtwo\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", "HTTP/1.1 400 Bad Request"},
        {"NUL in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: on\0e\r\n\r\n"s,
         "HTTP/1.1 400 Bad Request"},
        {"NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"s, "HTTP/1.1 400 Bad Request"},
        {"bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
         "HTTP/1.1 400 Bad Request"},
        {"unknown transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
         "HTTP/1.1 501 Not Implemented"},
    };
    goro_test::for_each_procs([&](int) {
        test_server ts(http::server{.handler = answer_ok});
        for (const bad_case& c : cases) {
            const std::string reply = raw_exchange(ts.addr, c.bytes);
            const std::string got = status_line(reply);
            const std::string what = std::string(c.name) + ": " + got;
            CHECK_MESSAGE(got.starts_with(c.status), what);
        }
        // Still serving, on a new connection.
        const std::string fine = raw_exchange(ts.addr, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(status_line(fine) == "HTTP/1.1 200 OK");
    });
}

TEST_CASE("http bad input: a head past max_header_bytes gets 431") {
    goro_test::for_each_procs([](int) {
        test_server ts(http::server{.handler = answer_ok, .max_header_bytes = 1024});
        const std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4096, 'b') + "\r\n\r\n";
        CHECK(status_line(raw_exchange(ts.addr, big)) == "HTTP/1.1 431 Request Header Fields Too Large");
        std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
        for (int i = 0; i < 200; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
        many += "\r\n";
        CHECK(status_line(raw_exchange(ts.addr, many)) == "HTTP/1.1 431 Request Header Fields Too Large");
        const std::string small = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        CHECK(status_line(raw_exchange(ts.addr, small)) == "HTTP/1.1 200 OK");
    });
}

TEST_CASE("http bad input: a body past max_body_bytes gets 413") {
    goro_test::for_each_procs([](int) {
        std::atomic<int> handler_saw_limit{0};
        test_server ts(http::server{.handler = [&](http::response_writer& w, http::request& r) {
                                        std::error_code ec;
                                        goro::io::read_all(r.body, ec);
                                        if (ec == http::errc::body_too_large) {
                                            ++handler_saw_limit;
                                            return;  // the server answers 413 for it
                                        }
                                        w.write("fits");
                                    },
                                    .max_body_bytes = 16});
        // Declared too large: refused before the handler runs.
        const std::string declared = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x');
        CHECK(status_line(raw_exchange(ts.addr, declared)) == "HTTP/1.1 413 Request Entity Too Large");
        CHECK(handler_saw_limit.load() == 0);
        // Chunked past the limit: found while the handler reads.
        const std::string chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
        CHECK(status_line(raw_exchange(ts.addr, chunked)) == "HTTP/1.1 413 Request Entity Too Large");
        CHECK(handler_saw_limit.load() == 1);
        const std::string fits = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd";
        const std::string reply = raw_exchange(ts.addr, fits);
        CHECK(status_line(reply) == "HTTP/1.1 200 OK");
        CHECK(reply.ends_with("fits"));
    });
}

TEST_CASE("http bad input: read_header_timeout cuts off a client that sends its head slowly") {
    goro_test::for_each_procs([](int) {
        test_server ts(http::server{.handler = answer_ok, .read_header_timeout = 200ms});
        auto c = goro::net::dial("tcp", ts.addr);
        c.set_deadline(std::chrono::steady_clock::now() + 20s);  // only turns a hang into a failure
        c.write("GET / HTTP/1.1\r\nHost: a\r\n");               // and never the blank line
        std::string reply;
        char buffer[512];
        std::error_code ec;
        while (std::size_t n = c.read(buffer, sizeof buffer, ec)) reply.append(buffer, n);
        CHECK(!ec);  // the server closed: EOF, not our own deadline
        CHECK(status_line(reply) == "HTTP/1.1 408 Request Timeout");

        // A client that connects and says nothing is cut off too.
        auto silent = goro::net::dial("tcp", ts.addr);
        silent.set_deadline(std::chrono::steady_clock::now() + 20s);
        const std::size_t n = silent.read(buffer, sizeof buffer, ec);
        CHECK(n == 0);
        CHECK(!ec);
        CHECK(goro_test::eventually([&] { return ts.srv.open_connections() == 0; }));
    });
}

TEST_CASE("http bad input: a handler that throws is answered 500 and logged; the server stays up") {
    goro_test::for_each_procs([](int) {
        auto logged = goro::make_chan<std::string>(8);
        http::serve_mux mux;
        mux.handle_func("/throw", [](http::response_writer&, http::request&) {
            throw std::runtime_error("handler exploded");
        });
        mux.handle_func("/throw-late", [](http::response_writer& w, http::request&) {
            w.write("partial");
            w.flush();
            throw std::runtime_error("too late for a 500");
        });
        mux.handle_func("/fine", [](http::response_writer& w, http::request&) { w.write("fine"); });
        test_server ts(http::server{.handler = mux,
                                    .error_log = [logged](std::string_view line) { logged.send(std::string(line)); }});
        const std::string reply = raw_exchange(ts.addr, "GET /throw HTTP/1.1\r\nHost: a\r\n\r\n");
        CHECK(status_line(reply) == "HTTP/1.1 500 Internal Server Error");
        CHECK(reply.find("Connection: close") != std::string::npos);
        const std::string line = *logged.recv();
        CHECK(line.find("handler exploded") != std::string::npos);
        CHECK(line.find("http: panic serving 127.0.0.1:") == 0);

        // Once the head is out, the connection is cut: the chunked body never ends.
        const std::string late = raw_exchange(ts.addr, "GET /throw-late HTTP/1.1\r\nHost: a\r\n\r\n");
        CHECK(status_line(late) == "HTTP/1.1 200 OK");
        CHECK(late.find("partial") != std::string::npos);
        CHECK(late.find("0\r\n\r\n") == std::string::npos);
        CHECK(logged.recv()->find("too late for a 500") != std::string::npos);

        http::client c;
        http::response fine = c.get(ts.url("/fine"));
        CHECK(goro::io::read_all(fine.body) == "fine");
    });
}

TEST_CASE("http bad input: a client that goes away mid-body does not take the server down") {
    goro_test::for_each_procs([](int) {
        auto read_error = goro::make_chan<std::error_code>(1);
        test_server ts(http::server{.handler = [&](http::response_writer&, http::request& r) {
            std::error_code ec;
            goro::io::read_all(r.body, ec);
            read_error.send(ec);
        }});
        {
            auto c = goro::net::dial("tcp", ts.addr);
            c.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly some");
        }  // closed here
        const std::error_code ec = *read_error.recv();
        CHECK(ec == goro::io::errc::unexpected_eof);
        const std::string fine = raw_exchange(ts.addr, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(status_line(fine) == "HTTP/1.1 200 OK");
    });
}
