// tests/http/server_test.cpp — http::server and http::client end to end over
// loopback: routing, keep-alive, pipelining, chunked bodies both ways,
// streaming, HEAD, shutdown, and the client's pool, redirects and timeout.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <vector>

#include <goro/goro.hpp>

#include "http/http_support.hpp"
#include "support/procs.hpp"

namespace http = goro::http;
using namespace std::chrono_literals;
using goro_test::count_of;
using goro_test::raw_exchange;
using goro_test::status_line;
using goro_test::test_server;

TEST_CASE("http: the API example, server and client over loopback") {
    goro_test::for_each_procs([](int) {
        http::serve_mux mux;
        mux.handle_func("GET /items/{id}", [](http::response_writer& w, http::request& r) {
            w.header().set("Content-Type", "text/plain");
            w.write("item " + std::string(r.path_value("id")));
        });
        mux.handle_func("POST /echo", [](http::response_writer& w, http::request& r) {
            w.header().set("Content-Type", std::string(r.header().get("Content-Type")));
            w.write(goro::io::read_all(r.body));
        });
        test_server ts(http::server{.handler = mux, .read_header_timeout = 5s});
        http::client c;
        http::response resp = c.get(ts.url("/items/7"));
        CHECK(resp.status_code == 200);
        CHECK(resp.status == "200 OK");
        CHECK(resp.header.get("Content-Type") == "text/plain");
        CHECK(resp.header.get("Content-Length") == "6");
        CHECK(goro::io::read_all(resp.body) == "item 7");

        http::response echoed = c.post(ts.url("/echo"), "application/json", "{\"a\":1}");
        CHECK(echoed.status_code == 200);
        CHECK(echoed.header.get("Content-Type") == "application/json");
        CHECK(goro::io::read_all(echoed.body) == "{\"a\":1}");

        http::response missing = c.get(ts.url("/nowhere"));
        CHECK(missing.status_code == 404);
        CHECK(goro::io::read_all(missing.body) == "404 page not found\n");
        http::response wrong = c.post(ts.url("/items/7"), "text/plain", "x");
        CHECK(wrong.status_code == 405);
        CHECK(wrong.header.get("Allow") == "GET, HEAD");
        goro::io::read_all(wrong.body);
    });
}

TEST_CASE("http: keep-alive, many fibers share the client's pool") {
    goro_test::for_each_procs([](int) {
        std::atomic<int> served{0};
        test_server ts(http::server{.handler = [&](http::response_writer& w, http::request& r) {
            ++served;
            w.write(std::string(r.path()));
        }});
        http::client c;
        for (int i = 0; i < 5; ++i) {
            http::response resp = c.get(ts.url("/seq/" + std::to_string(i)));
            CHECK(goro::io::read_all(resp.body) == "/seq/" + std::to_string(i));
        }
        // One connection carried all five, one after another.
        CHECK(c.idle_connections() == 1);
        CHECK(ts.srv.open_connections() == 1);

        const int fibers = 8, each = goro_test::sanitized ? 3 : 10;
        goro::wait_group wg;
        std::atomic<int> good{0};
        for (int f = 0; f < fibers; ++f) {
            wg.add(1);
            goro::go([&, f] {
                for (int i = 0; i < each; ++i) {
                    const std::string path = "/f" + std::to_string(f) + "/" + std::to_string(i);
                    std::error_code ec;
                    http::response resp = c.get(ts.url(path), ec);
                    if (!ec && resp.status_code == 200 && goro::io::read_all(resp.body) == path) ++good;
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(good.load() == fibers * each);
        CHECK(served.load() == 5 + fibers * each);
        CHECK(c.idle_connections() <= 2);  // max_idle_conns_per_host
    });
}

TEST_CASE("http: pipelined requests are answered in order on one connection") {
    goro_test::for_each_procs([](int) {
        test_server ts(http::server{.handler = [](http::response_writer& w, http::request& r) {
            w.write("<" + std::string(r.path()) + ">");
        }});
        const std::string reply = raw_exchange(ts.addr,
                                               "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                                               "GET /two HTTP/1.1\r\nHost: a\r\n\r\n"
                                               "GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(count_of(reply, "HTTP/1.1 200 OK") == 3);
        const auto one = reply.find("</one>"), two = reply.find("</two>"), three = reply.find("</three>");
        CHECK(one != std::string::npos);
        CHECK(two != std::string::npos);
        CHECK(three != std::string::npos);
        CHECK(one < two);
        CHECK(two < three);
        CHECK(count_of(reply, "Connection: close") == 1);
    });
}

TEST_CASE("http: a chunked request body streams to the handler; an unread body is drained") {
    goro_test::for_each_procs([](int) {
        test_server ts(http::server{.handler = [](http::response_writer& w, http::request& r) {
            if (r.path() == "/ignore") {
                w.write("ignored");
                return;
            }
            const std::string body = goro::io::read_all(r.body);
            w.write(std::to_string(r.content_length()) + ":" + body);
        }});
        const std::string reply = raw_exchange(ts.addr,
                                               "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                               "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
                                               "POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd"
                                               "GET /up HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(reply.find("-1:hello world") != std::string::npos);
        CHECK(reply.find("ignored") != std::string::npos);
        CHECK(reply.find("\r\n\r\n0:") != std::string::npos);  // the third request, body-less, still parsed
        CHECK(count_of(reply, "HTTP/1.1 200 OK") == 3);
    });
}

TEST_CASE("http: flush streams a chunked response; HEAD gets the head alone") {
    goro_test::for_each_procs([](int) {
        goro::chan<int> step = goro::make_chan<int>();
        http::serve_mux mux;
        mux.handle_func("GET /stream", [step](http::response_writer& w, http::request&) {
            for (int i = 0; i < 3; ++i) {
                w.write("part" + std::to_string(i) + ";");
                w.flush();
                step.recv();  // the client has read the part: it really was sent
            }
        });
        mux.handle_func("GET /fixed", [](http::response_writer& w, http::request&) { w.write("twelve bytes"); });
        mux.handle_func("GET /big", [](http::response_writer& w, http::request&) {
            w.write(std::string(100000, 'x'));  // beyond the writer's buffer, no Content-Length: chunked
        });
        test_server ts(http::server{.handler = mux});
        http::client c;
        http::response resp = c.get(ts.url("/stream"));
        CHECK(resp.header.get("Transfer-Encoding") == "chunked");
        std::string seen;
        for (int i = 0; i < 3; ++i) {
            const std::string want = "part" + std::to_string(i) + ";";
            char buffer[64];
            std::string got;
            while (got.size() < want.size()) {
                const std::size_t n = resp.body.read(buffer, want.size() - got.size());
                if (n == 0) break;
                got.append(buffer, n);
            }
            seen += got;
            step.send(i);
        }
        CHECK(seen == "part0;part1;part2;");
        CHECK(goro::io::read_all(resp.body).empty());

        http::response big = c.get(ts.url("/big"));
        CHECK(big.header.get("Transfer-Encoding") == "chunked");
        CHECK(goro::io::read_all(big.body) == std::string(100000, 'x'));

        http::request head("HEAD", ts.url("/fixed"));
        http::response h = c.send(head);
        CHECK(h.status_code == 200);
        CHECK(h.header.get("Content-Length") == "12");
        CHECK(goro::io::read_all(h.body).empty());
        // The connection is still good after a HEAD.
        http::response after = c.get(ts.url("/fixed"));
        CHECK(goro::io::read_all(after.body) == "twelve bytes");
    });
}

TEST_CASE("http: HTTP/1.0 closes after the answer unless it asks for keep-alive") {
    goro_test::for_each_procs([](int) {
        test_server ts(http::server{.handler = [](http::response_writer& w, http::request& r) {
            w.write(std::string(r.proto()));
        }});
        const std::string plain = raw_exchange(ts.addr, "GET / HTTP/1.0\r\n\r\n");
        CHECK(status_line(plain) == "HTTP/1.0 200 OK");
        CHECK(plain.find("HTTP/1.0", 10) != std::string::npos);
        const std::string kept =
            raw_exchange(ts.addr, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
        CHECK(count_of(kept, "HTTP/1.0 200 OK") == 2);
        CHECK(count_of(kept, "Connection: keep-alive") == 1);
    });
}

TEST_CASE("http: Expect: 100-continue is answered when the handler reads the body") {
    goro_test::for_each_procs([](int) {
        test_server ts(http::server{.handler = [](http::response_writer& w, http::request& r) {
            w.write(goro::io::read_all(r.body));
        }});
        auto c = goro::net::dial("tcp", ts.addr);
        c.set_deadline(std::chrono::steady_clock::now() + 20s);
        c.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
        char buffer[256];
        const std::size_t n = c.read(buffer, sizeof buffer);
        CHECK(std::string(buffer, n).starts_with("HTTP/1.1 100 Continue\r\n"));
        c.write("abc");
        std::string rest;
        while (rest.find("abc") == std::string::npos) {
            const std::size_t m = c.read(buffer, sizeof buffer);
            if (m == 0) break;
            rest.append(buffer, m);
        }
        CHECK(rest.find("HTTP/1.1 200 OK") != std::string::npos);
    });
}

TEST_CASE("http: shutdown loses no accepted request, and closes idle connections") {
    goro_test::for_each_procs([](int) {
        const int clients = 4;
        auto entered = goro::make_chan<int>(clients);
        auto release = goro::make_chan<int>();
        test_server ts(http::server{.handler = [&](http::response_writer& w, http::request& r) {
            if (r.path() == "/slow") {
                entered.send(1);
                release.recv();  // until closed
            }
            w.write("done");
        }});
        // An idle kept-alive connection, which shutdown closes at once.
        http::client idle_client;
        http::response quick = idle_client.get(ts.url("/quick"));
        goro::io::read_all(quick.body);
        CHECK(idle_client.idle_connections() == 1);

        std::vector<std::string> replies(clients);
        goro::wait_group wg;
        for (int i = 0; i < clients; ++i) {
            wg.add(1);
            goro::go([&, i] {
                replies[static_cast<std::size_t>(i)] =
                    raw_exchange(ts.addr, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
                wg.done();
            });
        }
        for (int i = 0; i < clients; ++i) entered.recv();  // every request is in a handler

        std::error_code shutdown_ec = std::make_error_code(std::errc::interrupted);
        goro::wait_group stopped;
        stopped.add(1);
        goro::go([&] {
            ts.srv.shutdown(goro::background(), shutdown_ec);
            stopped.done();
        });
        ts.wait();  // the listener is closed: serve returned
        CHECK(ts.serve_error == http::errc::server_closed);
        CHECK(goro_test::eventually([&] { return ts.srv.open_connections() == static_cast<std::size_t>(clients); }));
        release.close();
        stopped.wait();
        wg.wait();
        CHECK(!shutdown_ec);
        for (const std::string& reply : replies) {
            CHECK(status_line(reply) == "HTTP/1.1 200 OK");
            CHECK(reply.find("Connection: close") != std::string::npos);
            CHECK(reply.ends_with("done"));
        }
        CHECK(ts.srv.open_connections() == 0);
        // Accepting has stopped.
        std::error_code dial_ec;
        goro::net::dial("tcp", ts.addr, dial_ec);
        CHECK(dial_ec);
    });
}

TEST_CASE("http: shutdown gives up when its context ends; close cancels request contexts") {
    goro_test::for_each_procs([](int) {
        auto entered = goro::make_chan<int>(1);
        auto cancelled = goro::make_chan<int>(1);
        test_server ts(http::server{.handler = [&](http::response_writer&, http::request& r) {
            entered.send(1);
            r.context().done().recv();
            cancelled.send(1);
        }});
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
            raw_exchange(ts.addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            wg.done();
        });
        entered.recv();
        auto [ctx, cancel] = goro::with_timeout(goro::background(), 100ms);
        std::error_code ec;
        ts.srv.shutdown(ctx, ec);
        cancel();
        CHECK(ec == goro::context_errc::deadline_exceeded);
        CHECK(ts.srv.open_connections() == 1);  // still serving, as Go leaves it
        ts.srv.close();
        cancelled.recv();
        wg.wait();
    });
}

TEST_CASE("http: client follows redirects as Go does") {
    goro_test::for_each_procs([](int) {
        http::serve_mux mux;
        mux.handle_func("/start", [](http::response_writer& w, http::request& r) {
            http::redirect(w, r, "/middle", http::status_found);
        });
        mux.handle_func("/middle", [](http::response_writer& w, http::request& r) {
            http::redirect(w, r, "end", http::status_temporary_redirect);
        });
        mux.handle_func("/end", [](http::response_writer& w, http::request& r) {
            w.write(std::string(r.method()) + " " + goro::io::read_all(r.body));
        });
        mux.handle_func("/loop", [](http::response_writer& w, http::request& r) {
            http::redirect(w, r, "/loop", http::status_moved_permanently);
        });
        mux.handle_func("/keep", [](http::response_writer& w, http::request& r) {
            http::redirect(w, r, "/end", http::status_permanent_redirect);
        });
        test_server ts(http::server{.handler = mux});
        http::client c;
        http::response got = c.post(ts.url("/start"), "text/plain", "payload");
        CHECK(got.status_code == 200);
        CHECK(goro::io::read_all(got.body) == "GET ");  // 302 turns POST into GET; 307 keeps it
        CHECK(got.url == ts.url("/end"));
        http::response kept = c.post(ts.url("/keep"), "text/plain", "payload");
        CHECK(goro::io::read_all(kept.body) == "POST payload");

        std::error_code ec;
        c.get(ts.url("/loop"), ec);
        CHECK(ec == http::errc::too_many_redirects);
        http::client no_follow;
        no_follow.max_redirects = 0;
        http::response raw = no_follow.get(ts.url("/start"));
        CHECK(raw.status_code == 302);
        CHECK(raw.header.get("Location") == "/middle");
    });
}

TEST_CASE("http: client timeout covers the whole exchange; bad URLs are refused") {
    goro_test::for_each_procs([](int) {
        auto release = goro::make_chan<int>();
        test_server ts(http::server{.handler = [&](http::response_writer& w, http::request&) {
            release.recv();
            w.write("late");
        }});
        http::client c;
        c.timeout = 200ms;
        std::error_code ec;
        c.get(ts.url("/"), ec);
        CHECK(ec == std::errc::timed_out);
        release.close();

        c.get("ftp://example.com/", ec);
        CHECK(ec == http::errc::bad_url);
        c.get("http:///nohost", ec);
        CHECK(ec == http::errc::bad_url);
        CHECK_THROWS_AS(c.get("nonsense"), std::system_error);
    });
}

TEST_CASE("http: a pooled connection the server closed is replaced without an error") {
    goro_test::for_each_procs([](int) {
        test_server ts(http::server{.handler = [](http::response_writer& w, http::request&) { w.write("ok"); },
                                    .idle_timeout = 50ms});
        http::client c;
        http::response first = c.get(ts.url("/"));
        CHECK(goro::io::read_all(first.body) == "ok");
        CHECK(c.idle_connections() == 1);
        // The server drops the idle connection after 50 ms; the pool has not noticed.
        CHECK(goro_test::eventually([&] { return ts.srv.open_connections() == 0; }));
        std::error_code ec;
        http::response again = c.get(ts.url("/"), ec);
        CHECK(!ec);
        CHECK(goro::io::read_all(again.body) == "ok");
    });
}

TEST_CASE("http: a client that goes away cancels its request's context") {
    goro_test::for_each_procs([](int) {
        auto entered = goro::make_chan<int>(1);
        auto cancelled = goro::make_chan<std::error_code>(1);
        test_server ts(http::server{.handler = [&](http::response_writer&, http::request& r) {
            entered.send(1);
            r.context().done().recv();
            cancelled.send(r.context().err());
        }});
        {
            auto c = goro::net::dial("tcp", ts.addr);
            c.write("GET /wait HTTP/1.1\r\nHost: a\r\n\r\n");
            entered.recv();
        }  // the client closes its end
        const std::error_code why = *cancelled.recv();
        CHECK(why == goro::context_errc::canceled);
        CHECK(goro_test::eventually([&] { return ts.srv.open_connections() == 0; }));
    });
}
