// tests/http/http_support.hpp — what the HTTP tests share: a response
// recorder (Go's httptest.ResponseRecorder), a server on a loopback port
// that closes itself at the end of a test (Go's httptest.Server), and a raw
// exchange that sends bytes over a net::conn and returns all the server said.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include <goro/goro.hpp>

#include "support/procs.hpp"

namespace goro_test {

class recorder final : public goro::http::response_writer {
public:
    goro::http::header_map& header() override { return header_; }
    void write_header(int code) override {
        if (code_ == 0) code_ = code;
    }
    std::size_t write(const void* data, std::size_t size, std::error_code& ec) override {
        ec.clear();
        if (code_ == 0) code_ = 200;
        body.append(static_cast<const char*>(data), size);
        return size;
    }
    void flush() override {
        if (code_ == 0) code_ = 200;
    }
    int code() const { return code_ == 0 ? 200 : code_; }
    std::string body;

private:
    goro::http::header_map header_;
    int code_ = 0;
};

// A request as a server would hand it to a handler.
inline goro::http::request make_request(std::string method, std::string target, std::string host = "example.com") {
    goro::http::request r;
    r.set_line(std::move(method), std::move(target), "HTTP/1.1");
    r.set_host(std::move(host));
    return r;
}

// Serves srv on 127.0.0.1:<free port> until destroyed; then closes it and
// waits for serve() and every connection to end.
class test_server {
public:
    explicit test_server(goro::http::server s) : srv(std::move(s)) {
        auto ln = goro::net::listen("tcp", "127.0.0.1:0");
        addr = ln.local_address().to_string();
        done_.add(1);
        goro::go([this, ln = std::move(ln)]() mutable {
            srv.serve(std::move(ln), serve_error);
            done_.done();
        });
    }
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;
    ~test_server() {
        srv.close();
        done_.wait();
        eventually([this] { return srv.open_connections() == 0; });
    }
    // Waits for serve() to return (after shutdown or close).
    void wait() { done_.wait(); }

    std::string url(std::string_view path) const { return "http://" + addr + std::string(path); }

    goro::http::server srv;
    std::string addr;
    std::error_code serve_error;

private:
    goro::wait_group done_;
};

// Sends bytes and reads until the server closes (or 20 s pass, which only
// turns a hang into a failure).
inline std::string raw_exchange(const std::string& addr, std::string_view bytes) {
    auto c = goro::net::dial("tcp", addr);
    c.set_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(20));
    std::error_code ec;
    c.write(bytes.data(), bytes.size(), ec);
    std::string out;
    char buffer[4096];
    while (std::size_t n = c.read(buffer, sizeof buffer, ec)) out.append(buffer, n);
    return out;
}

inline std::string status_line(const std::string& reply) { return reply.substr(0, reply.find("\r\n")); }

inline int count_of(const std::string& haystack, std::string_view needle) {
    int n = 0;
    for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

}  // namespace goro_test
