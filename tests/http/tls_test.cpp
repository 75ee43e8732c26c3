// tests/http/tls_test.cpp — goro::tls over loopback with certificates made
// at test time (tests/http/tls_support.hpp): the handshake and its state,
// echo, verification (unknown CA, wrong name, insecure_skip_verify), ALPN,
// SNI, deadlines on the handshake and on reads, a read and a write at once
// on one conn, close_notify and EOF, a reset, plaintext on either side,
// client certificates, bad key files, and HTTPS through goro::http.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <goro/goro.hpp>

#include "http/http_support.hpp"
#include "http/tls_support.hpp"
#include "support/procs.hpp"

namespace http = goro::http;
namespace net = goro::net;
namespace tls = goro::tls;
using namespace std::chrono_literals;

namespace {

std::string port_of(const net::listener& ln) { return std::to_string(ln.local_address().port()); }

net::time_point in(std::chrono::nanoseconds d) { return std::chrono::steady_clock::now() + d; }

// A TLS echo server on 127.0.0.1: each connection's handshake result and
// state are recorded by the order of accepting (a client that has finished
// its handshake may start the next before the server has finished this
// one's); a connection that shook hands echoes until EOF and
// then closes with close_notify. Destroy the clients first.
class echo_server {
public:
    explicit echo_server(tls::config cfg) : cfg_(std::move(cfg)), ln_(net::listen("tcp", "127.0.0.1:0")) {
        port = port_of(ln_);
        running_.add(1);
        goro::go([this] {
            for (std::size_t index = 0;; ++index) {
                std::error_code ec;
                net::conn raw = ln_.accept(ec);
                if (ec) break;
                running_.add(1);
                goro::go([this, index, raw = std::move(raw)]() mutable {
                    tls::conn c = tls::server(std::move(raw), cfg_);
                    c.set_deadline(in(20s));  // only turns a hang into a failure
                    std::error_code hec;
                    c.handshake(hec);
                    {
                        std::lock_guard hold(lock_);
                        if (errors_.size() <= index) {
                            errors_.resize(index + 1);
                            states_.resize(index + 1);
                            done_.resize(index + 1);
                        }
                        errors_[index] = hec;
                        states_[index] = c.connection_state();
                        done_[index] = true;
                    }
                    if (!hec) {
                        c.set_deadline({});
                        std::error_code copy_ec;
                        goro::io::copy(c, c, copy_ec);
                    }
                    c.close(hec);
                    running_.done();
                });
            }
            running_.done();
        });
    }
    echo_server(const echo_server&) = delete;
    echo_server& operator=(const echo_server&) = delete;
    ~echo_server() {
        ln_.close();
        running_.wait();
    }

    // The n-th connection's handshake error and state, once it has one.
    std::error_code error(std::size_t n) {
        goro_test::eventually([&] {
            std::lock_guard hold(lock_);
            return done_.size() > n && done_[n];
        });
        std::lock_guard hold(lock_);
        return done_.size() > n && done_[n] ? errors_[n] : std::make_error_code(std::errc::timed_out);
    }
    tls::connection_state state(std::size_t n) {
        error(n);
        std::lock_guard hold(lock_);
        return states_.size() > n ? states_[n] : tls::connection_state{};
    }

    std::string port;

private:
    tls::config cfg_;
    net::listener ln_;
    goro::wait_group running_;
    goro::mutex lock_;
    std::vector<std::error_code> errors_;
    std::vector<tls::connection_state> states_;
    std::vector<bool> done_;
};

// Writes text and reads it back.
bool echoes(tls::conn& c, const std::string& text) {
    std::error_code ec;
    c.write(text, ec);
    if (ec) return false;
    std::string back(text.size(), '\0');
    c.read_full(back.data(), back.size(), ec);
    return !ec && back == text;
}

}  // namespace

TEST_CASE("tls: handshake, echo, connection state, close_notify both ways") {
    const auto& pki = goro_test::test_pki();
    goro_test::for_each_procs([&](int) {
        tls::config scfg = pki.server_config();
        scfg.next_protos = {"h2", "goro-test"};
        echo_server srv(scfg);
        {
            tls::config ccfg = pki.trusting_ca();
            ccfg.next_protos = {"goro-test", "other"};
            tls::conn c = tls::dial("tcp", "localhost:" + srv.port, ccfg);
            const tls::connection_state st = c.connection_state();
            CHECK(st.handshake_complete);
            CHECK(st.version == tls::version_tls13);
            CHECK(tls::version_name(st.version) == "TLS 1.3");
            CHECK(!st.cipher_suite.empty());
            CHECK(st.negotiated_protocol == "goro-test");
            CHECK(st.server_name == "localhost");
            CHECK(st.peer_certificate_present);
            CHECK(st.peer_subject == "CN=localhost");
            CHECK(st.peer_issuer == "CN=goro test CA");
            CHECK(echoes(c, "hello over tls"));
            CHECK(echoes(c, std::string(100000, 'x')));
            // close_write sends close_notify: the server's read ends, it
            // closes with its own close_notify, and this read ends cleanly.
            c.close_write();
            std::error_code ec;
            char more[16];
            CHECK(c.read(more, sizeof more, ec) == 0);
            CHECK(!ec);
            CHECK(c.read(more, sizeof more, ec) == 0);  // and stays ended
            CHECK(!ec);
            c.write("after close_write", ec);
            CHECK(ec == net::errc::closed);
            c.close(ec);
            CHECK(!ec);
            c.close(ec);
            CHECK(ec == net::errc::closed);
        }
        const tls::connection_state seen = srv.state(0);
        CHECK(!srv.error(0));
        CHECK(seen.server_name == "localhost");  // SNI
        CHECK(seen.negotiated_protocol == "goro-test");
        CHECK(!seen.peer_certificate_present);

        // An IP address is verified against the certificate's IP SAN and
        // not sent as SNI.
        {
            tls::conn c = tls::dial("tcp", "127.0.0.1:" + srv.port, pki.trusting_ca());
            CHECK(echoes(c, "by address"));
            c.close();
        }
        CHECK(!srv.error(1));
        CHECK(srv.state(1).server_name.empty());
    });
}

TEST_CASE("tls: verification: an unknown CA, a wrong name, no name; insecure_skip_verify") {
    const auto& pki = goro_test::test_pki();
    goro_test::for_each_procs([&](int) {
        tls::config other;
        other.certificates = {tls::load_x509_key_pair(pki.other_server_pem, pki.other_server_key)};
        echo_server stranger(other);
        echo_server good(pki.server_config());
        std::error_code ec;

        tls::conn c = tls::dial("tcp", "localhost:" + stranger.port, pki.trusting_ca(), ec);
        CHECK(ec == tls::errc::unknown_authority);
        CHECK(ec == tls::errc::verify_failed);
        CHECK(ec != tls::errc::hostname_mismatch);
        CHECK(ec.message().find("failed to verify certificate") != std::string::npos);
        CHECK(!c);
        const std::error_code told = stranger.error(0);
        CHECK(told == tls::errc::peer_alert);  // the client's "unknown ca" alert
        CHECK(told.message().find("unknown ca") != std::string::npos);

        // The system's roots do not know the test CA either.
        tls::conn d = tls::dial("tcp", "localhost:" + good.port, tls::config{}, ec);
        CHECK(ec == tls::errc::unknown_authority);

        tls::config wrong_name = pki.trusting_ca();
        wrong_name.server_name = "wrong.example";
        tls::conn e = tls::dial("tcp", "localhost:" + good.port, wrong_name, ec);
        CHECK(ec == tls::errc::hostname_mismatch);
        CHECK(ec == tls::errc::verify_failed);
        const std::string mismatch = ec.message();
        CHECK_MESSAGE(mismatch.find("ostname mismatch") != std::string::npos, mismatch);

        // The thrown form says what and where.
        bool threw = false;
        try {
            tls::conn f = tls::client(net::dial("tcp", "127.0.0.1:" + good.port), wrong_name);
            f.handshake();
        } catch (const std::system_error& x) {
            threw = true;
            const std::string what = x.what();
            CHECK(what.find("handshake tcp 127.0.0.1:") != std::string::npos);
            CHECK(what.find("->127.0.0.1:" + good.port) != std::string::npos);
            CHECK(x.code() == tls::errc::hostname_mismatch);
        }
        CHECK(threw);

        // A client with neither a name nor insecure_skip_verify.
        tls::conn g = tls::client(net::dial("tcp", "127.0.0.1:" + good.port), pki.trusting_ca());
        g.handshake(ec);
        CHECK(ec == tls::errc::no_server_name);
        g.write("x", ec);  // the failure sticks
        CHECK(ec == tls::errc::no_server_name);
        g.close(ec);

        tls::config anything;
        anything.insecure_skip_verify = true;
        tls::conn h = tls::dial("tcp", "localhost:" + stranger.port, anything);
        CHECK(echoes(h, "unverified"));
        CHECK(h.connection_state().peer_issuer == "CN=goro other CA");
        h.close();
    });
}

TEST_CASE("tls: ALPN picks the server's preference; no overlap fails the handshake") {
    const auto& pki = goro_test::test_pki();
    goro_test::for_each_procs([&](int) {
        tls::config scfg = pki.server_config();
        scfg.next_protos = {"b", "a"};
        echo_server srv(scfg);
        tls::config ccfg = pki.trusting_ca();
        ccfg.next_protos = {"a", "b"};
        tls::conn c = tls::dial("tcp", "localhost:" + srv.port, ccfg);
        CHECK(c.connection_state().negotiated_protocol == "b");
        c.close();

        tls::conn none = tls::dial("tcp", "localhost:" + srv.port, pki.trusting_ca());
        CHECK(none.connection_state().negotiated_protocol.empty());
        none.close();

        ccfg.next_protos = {"c"};
        std::error_code ec;
        tls::conn d = tls::dial("tcp", "localhost:" + srv.port, ccfg, ec);
        CHECK(ec == tls::errc::peer_alert);
        CHECK(srv.error(2));
    });
}

TEST_CASE("tls: deadlines bound the handshake on both sides and reads") {
    const auto& pki = goro_test::test_pki();
    goro_test::for_each_procs([&](int) {
        // A peer that accepts and never says a word.
        auto silent = net::listen("tcp", "127.0.0.1:0");
        std::vector<net::conn> held;
        goro::wait_group accepted;
        accepted.add(1);
        goro::go([&] {
            held.push_back(silent.accept());
            accepted.done();
        });
        tls::config ccfg = pki.trusting_ca();
        ccfg.server_name = "localhost";
        tls::conn c = tls::client(net::dial("tcp", silent.local_address().to_string()), ccfg);
        c.set_deadline(in(30ms));
        std::error_code ec;
        c.handshake(ec);
        CHECK(ec == net::errc::timeout);
        c.write("late", ec);  // a failed handshake stays failed
        CHECK(ec == net::errc::timeout);
        accepted.wait();

        // A client that connects and never says a word.
        auto ln = net::listen("tcp", "127.0.0.1:0");
        net::conn mute = net::dial("tcp", ln.local_address().to_string());
        tls::conn s = tls::server(ln.accept(), pki.server_config());
        s.set_read_deadline(in(30ms));
        s.handshake(ec);
        CHECK(ec == net::errc::timeout);

        // A read that times out leaves the conn working.
        echo_server srv(pki.server_config());
        {
            tls::conn e = tls::dial("tcp", "localhost:" + srv.port, pki.trusting_ca());
            e.set_read_deadline(in(30ms));
            char byte;
            CHECK(e.read(&byte, 1, ec) == 0);
            CHECK(ec == net::errc::timeout);
            e.set_read_deadline({});
            CHECK(echoes(e, "still here"));
            e.close();
        }
    });
}

TEST_CASE("tls: one fiber reads while another writes, on one conn") {
    const auto& pki = goro_test::test_pki();
    goro_test::for_each_procs([&](int) {
        echo_server srv(pki.server_config());
        tls::conn c = tls::dial("tcp", "localhost:" + srv.port, pki.trusting_ca());
        // More than the sockets buffer: the echo only drains if this side
        // reads while it writes.
        const std::size_t total = goro_test::sanitized ? (1u << 20) : (8u << 20);
        std::atomic<bool> write_failed{false};
        goro::wait_group wrote;
        wrote.add(1);
        goro::go([&] {
            std::string block(16384, '\0');
            for (std::size_t sent = 0; sent < total; sent += block.size()) {
                for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>((sent + i) * 7 % 251);
                std::error_code ec;
                c.write(block, ec);
                if (ec) {
                    write_failed = true;
                    break;
                }
            }
            wrote.done();
        });
        std::size_t got = 0;
        bool same = true;
        std::vector<char> buffer(10000);
        while (got < total) {
            std::error_code ec;
            const std::size_t n = c.read(buffer.data(), buffer.size(), ec);
            if (ec || n == 0) break;
            for (std::size_t i = 0; i < n; ++i)
                if (buffer[i] != static_cast<char>((got + i) * 7 % 251)) same = false;
            got += n;
        }
        wrote.wait();
        CHECK(!write_failed);
        CHECK(got == total);
        CHECK(same);
        c.close();
    });
}

TEST_CASE("tls: EOF without close_notify between records, and a reset") {
    const auto& pki = goro_test::test_pki();
    goro_test::for_each_procs([&](int) {
        auto ln = net::listen("tcp", "127.0.0.1:0");
        const std::string addr = "localhost:" + port_of(ln);
        goro::wait_group done;
        done.add(1);
        goro::go([&] {
            // The first closes its socket after "bye", no close_notify.
            tls::conn a = tls::server(ln.accept(), pki.server_config());
            std::error_code ec;
            a.write("bye", ec);
            CHECK(!ec);
            a.net_conn().close();
            // The second resets the connection.
            tls::conn b = tls::server(ln.accept(), pki.server_config());
            b.handshake(ec);
            CHECK(!ec);
            char byte;
            b.read(&byte, 1, ec);  // waits for the client's go-ahead
            b.net_conn().set_linger(0);
            b.net_conn().close();
            done.done();
        });
        tls::conn c = tls::dial("tcp", addr, pki.trusting_ca());
        std::error_code ec;
        CHECK(goro::io::read_all(c, ec) == "bye");
        CHECK(!ec);
        c.close();

        tls::conn d = tls::dial("tcp", addr, pki.trusting_ca());
        d.write("!");
        char byte;
        CHECK(d.read(&byte, 1, ec) == 0);
        CHECK(ec == std::errc::connection_reset);
        CHECK(d.read(&byte, 1, ec) == 0);  // and it sticks
        CHECK(ec == std::errc::connection_reset);
        done.wait();
    });
}

TEST_CASE("tls: plaintext against TLS, either way, is a clear error and the server stays up") {
    const auto& pki = goro_test::test_pki();
    goro_test::for_each_procs([&](int) {
        echo_server srv(pki.server_config());
        const std::string reply = goro_test::raw_exchange("127.0.0.1:" + srv.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(reply.find("HTTP/") == std::string::npos);  // an alert at most
        const std::error_code told = srv.error(0);
        CHECK(told == tls::errc::not_tls);
        {
            tls::conn c = tls::dial("tcp", "localhost:" + srv.port, pki.trusting_ca());
            CHECK(echoes(c, "still serving"));
            c.close();
        }
        CHECK(!srv.error(1));

        // A TLS client against a plaintext HTTP server.
        auto ln = net::listen("tcp", "127.0.0.1:0");
        goro::wait_group done;
        done.add(1);
        goro::go([&] {
            net::conn p = ln.accept();
            char buffer[2048];
            std::error_code ec;
            p.read(buffer, sizeof buffer, ec);
            p.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", ec);
            p.close(ec);
            done.done();
        });
        std::error_code ec;
        tls::conn c = tls::dial("tcp", "localhost:" + port_of(ln), pki.trusting_ca(), ec);
        CHECK(ec == tls::errc::not_tls);
        CHECK(ec.message().find("tls: ") == 0);
        done.wait();
    });
}

TEST_CASE("tls: a server that requires and verifies client certificates") {
    const auto& pki = goro_test::test_pki();
    goro_test::for_each_procs([&](int) {
        tls::config scfg = pki.server_config();
        scfg.client_auth = tls::client_auth_type::require_and_verify_client_cert;
        tls::cert_pool cas;
        CHECK(cas.append_certs_from_file(pki.ca_pem));
        CHECK(cas.size() == 1);
        scfg.client_cas = cas;
        echo_server srv(scfg);

        // Without a certificate: TLS 1.3 lets the client finish first, so
        // its first read (if not its handshake) meets the server's alert.
        {
            std::error_code ec;
            tls::conn c = tls::dial("tcp", "localhost:" + srv.port, pki.trusting_ca(), ec);
            if (!ec) {
                char byte;
                c.write("x", ec);
                c.read(&byte, 1, ec);
            }
            CHECK(ec == tls::errc::peer_alert);
        }
        CHECK(srv.error(0) == tls::errc::verify_failed);

        tls::config ccfg = pki.trusting_ca();
        ccfg.certificates = {tls::load_x509_key_pair(pki.client_pem, pki.client_key)};
        {
            tls::conn c = tls::dial("tcp", "localhost:" + srv.port, ccfg);
            CHECK(echoes(c, "with a certificate"));
            c.close();
        }
        CHECK(!srv.error(1));
        CHECK(srv.state(1).peer_subject == "CN=goro test client");

        // A certificate from a CA the server does not trust.
        tls::config stranger = pki.trusting_ca();
        stranger.certificates = {tls::load_x509_key_pair(pki.other_server_pem, pki.other_server_key)};
        {
            std::error_code ec;
            tls::conn c = tls::dial("tcp", "localhost:" + srv.port, stranger, ec);
            if (!ec) {
                char byte;
                c.write("x", ec);
                c.read(&byte, 1, ec);
            }
            CHECK(ec == tls::errc::peer_alert);
        }
        CHECK(srv.error(2) == tls::errc::unknown_authority);
    });
}

TEST_CASE("tls: bad key files and configs fail clearly") {
    const auto& pki = goro_test::test_pki();
    std::error_code ec;
    tls::load_x509_key_pair(pki.dir + "/missing.pem", pki.server_key, ec);
    CHECK(ec == std::errc::no_such_file_or_directory);
    bool threw = false;
    try {
        tls::load_x509_key_pair(pki.dir + "/missing.pem", pki.server_key);
    } catch (const std::system_error& e) {
        threw = true;
        CHECK(std::string(e.what()).find("missing.pem") != std::string::npos);
    }
    CHECK(threw);
    tls::load_x509_key_pair(pki.dir + "/make.sh", pki.server_key, ec);  // no PEM in it
    CHECK(ec == tls::errc::bad_pem);
    tls::load_x509_key_pair(pki.server_pem, pki.dir + "/make.sh", ec);
    CHECK(ec == tls::errc::bad_pem);
    tls::load_x509_key_pair(pki.server_pem, pki.client_key, ec);
    CHECK(ec == tls::errc::key_mismatch);
    CHECK(ec.message() == "tls: private key does not match public key");
    const tls::certificate good = tls::load_x509_key_pair(pki.server_pem, pki.server_key, ec);
    CHECK(!ec);
    CHECK(good.subject() == "CN=localhost");
    CHECK(good.issuer() == "CN=goro test CA");
    const std::string pem = goro_test::read_text(pki.server_pem);
    tls::x509_key_pair(pem.substr(0, pem.size() / 2), goro_test::read_text(pki.server_key), ec);  // cut short
    CHECK(ec);

    tls::cert_pool pool;
    CHECK(!pool.append_certs_from_pem("not a certificate"));
    CHECK(!pool.append_certs_from_file(pki.dir + "/missing.pem"));
    CHECK(pool.size() == 0);

    goro_test::for_each_procs([&](int) {
        // A server without a certificate, over an in-memory pipe.
        auto [a, b] = net::pipe();
        tls::conn s = tls::server(std::move(a), tls::config{});
        std::error_code hec;
        s.handshake(hec);
        CHECK(hec == tls::errc::no_certificate);
        std::error_code lec;
        tls::listen("tcp", "127.0.0.1:0", tls::config{}, lec);
        CHECK(lec == tls::errc::no_certificate);
        b.close();
    });
}

TEST_CASE("tls: HTTPS through goro::http, server and client") {
    const auto& pki = goro_test::test_pki();
    goro_test::for_each_procs([&](int) {
        http::serve_mux mux;
        mux.handle_func("GET /hello", [](http::response_writer& w, http::request& r) {
            const tls::connection_state* st = r.tls();
            w.write(st ? "hello " + st->server_name + " " + st->negotiated_protocol : std::string("no tls"));
        });
        mux.handle_func("POST /echo", [](http::response_writer& w, http::request& r) { w.write(goro::io::read_all(r.body)); });
        // The log is shared with the server's connection fibers: one that is
        // still ending (a handshake that failed as the server closed) may log
        // after this body has returned, so the log must outlive it.
        struct error_lines {
            goro::mutex lock;
            std::vector<std::string> lines;
        };
        auto log = std::make_shared<error_lines>();
        http::server srv{.handler = mux, .read_header_timeout = 10s, .error_log = [log](std::string_view line) {
                             std::lock_guard hold(log->lock);
                             log->lines.emplace_back(line);
                         }};
        auto ln = net::listen("tcp", "127.0.0.1:0");
        const std::string port = port_of(ln);
        goro::wait_group served;
        served.add(1);
        std::error_code serve_ec;
        goro::go([&, ln = std::move(ln)]() mutable {
            srv.serve_tls(std::move(ln), pki.server_pem, pki.server_key, serve_ec);
            served.done();
        });

        http::client c;
        c.tls_config = pki.trusting_ca();
        http::response resp = c.get("https://localhost:" + port + "/hello");
        CHECK(resp.status_code == 200);
        CHECK(goro::io::read_all(resp.body) == "hello localhost http/1.1");
        http::response echoed = c.post("https://localhost:" + port + "/echo", "text/plain", std::string(50000, 'e'));
        CHECK(goro::io::read_all(echoed.body) == std::string(50000, 'e'));
        CHECK(c.idle_connections() == 1);  // kept alive: one connection carried both
        CHECK(srv.open_connections() == 1);
        http::response by_ip = c.get("https://127.0.0.1:" + port + "/hello");
        CHECK(goro::io::read_all(by_ip.body) == "hello  http/1.1");  // no SNI for an address

        // The system's roots do not know the test CA.
        http::client stranger;
        std::error_code ec;
        stranger.get("https://localhost:" + port + "/hello", ec);
        CHECK(ec == tls::errc::unknown_authority);

        // Plain HTTP to the HTTPS port is answered in plain HTTP, and logged.
        const std::string reply = goro_test::raw_exchange("127.0.0.1:" + port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(goro_test::status_line(reply) == "HTTP/1.0 400 Bad Request");
        CHECK(goro_test::eventually([&] {
            std::lock_guard hold(log->lock);
            for (const std::string& line : log->lines)
                if (line.find("TLS handshake error") != std::string::npos) return true;
            return false;
        }));
        http::response again = c.get("https://localhost:" + port + "/hello");
        CHECK(again.status_code == 200);
        goro::io::read_all(again.body);

        c.close_idle_connections();
        srv.close();
        served.wait();
        CHECK(serve_ec == http::errc::server_closed);

        // Bad files: serve_tls fails before accepting.
        http::server bad;
        std::error_code bad_ec;
        bad.serve_tls(net::listen("tcp", "127.0.0.1:0"), pki.dir + "/missing.pem", pki.server_key, bad_ec);
        CHECK(bad_ec == std::errc::no_such_file_or_directory);
    });
}
