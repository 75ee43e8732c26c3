// tests/http/mux_test.cpp — serve_mux against Go 1.22's documented routing
// rules. Each case is named after the Go test (net/http pattern_test.go,
// routing_tree_test.go, server_test.go) whose rule it checks; the cases are
// written from the rules, not copied.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <goro/goro.hpp>

#include "http/http_support.hpp"

namespace http = goro::http;
using goro_test::make_request;
using goro_test::recorder;

namespace {

// A handler that answers with its own pattern, so a test sees which won.
http::handler named(std::string pattern) {
    return [pattern](http::response_writer& w, http::request&) { w.write(pattern); };
}

// Registers every pattern; the pattern that serves method+target ("" when
// the mux answers by itself), with the response.
struct routed {
    std::string pattern;
    int code;
    std::string body;
    std::string location;
    std::string allow;
};

routed route(http::serve_mux& mux, std::string method, std::string target, std::string host = "example.com") {
    http::request r = make_request(method, target, host);
    recorder w;
    mux.serve_http(w, r);
    http::request probe = make_request(method, target, host);
    return {mux.find(probe).second, w.code(), w.body, std::string(w.header().get("Location")),
            std::string(w.header().get("Allow"))};
}

bool registers(http::serve_mux& mux, const std::string& pattern) {
    try {
        mux.handle(pattern, named(pattern));
        return true;
    } catch (const goro::panic_error&) {
        return false;
    }
}

std::string conflict_message(const std::vector<std::string>& patterns) {
    http::serve_mux mux;
    try {
        for (const std::string& p : patterns) mux.handle(p, named(p));
    } catch (const goro::panic_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("TestParsePatternError: malformed patterns are refused") {
    for (const char* bad : {"", "a", "GET", "GET a", "/{w}x", "/x{w}", "/{wx", "/{a$}", "/{}", "/{...}",
                            "/{a...}/b", "/{$}/x", "/{a}/{a}", "/{a}/b/{a...}", "/{1x}",
                            "{host}/path"}) {
        http::serve_mux mux;
        const bool ok = registers(mux, bad);
        CHECK_MESSAGE(!ok, "pattern accepted: \"" << bad << "\"");
    }
    for (const char* good : {"/", "/a", "/a/", "/a/{x}", "/a/{x...}", "/a/{$}", "GET /a", "example.com/a",
                             "POST example.com/{id}", "/{_x1}/{y}"}) {
        http::serve_mux mux;
        const bool ok = registers(mux, good);
        CHECK_MESSAGE(ok, "pattern refused: \"" << good << "\"");
    }
}

TEST_CASE("TestConflictsWith: overlapping patterns of which neither is more specific panic, naming both") {
    // Go's documented example: neither matches a subset of the other.
    const std::string msg = conflict_message({"/a/{x}/c", "/a/b/{y}"});
    CHECK(msg.find("\"/a/b/{y}\"") != std::string::npos);
    CHECK(msg.find("\"/a/{x}/c\"") != std::string::npos);
    // The same requests, spelled twice.
    CHECK(!conflict_message({"/a/{x}", "/a/{y}"}).empty());
    CHECK(!conflict_message({"GET /a", "GET /a"}).empty());
    // A method on one side, a more specific path on the other.
    CHECK(!conflict_message({"GET /{x}", "/a"}).empty());
    CHECK(!conflict_message({"/a/{x...}", "/{y}/b/"}).empty());
    // Not conflicts: one is more specific, or no request matches both.
    CHECK(conflict_message({"/a/{x}", "/a/b"}).empty());
    CHECK(conflict_message({"/a/", "/a/b/c"}).empty());
    CHECK(conflict_message({"GET /a", "POST /a"}).empty());
    CHECK(conflict_message({"/a", "GET /a"}).empty());
    CHECK(conflict_message({"GET /a", "HEAD /a"}).empty());
    CHECK(conflict_message({"/a/{$}", "/a/"}).empty());
    CHECK(conflict_message({"/a/{x}", "/a/{x}/"}).empty());
    CHECK(conflict_message({"/{x...}", "/a/{y...}"}).empty());
    // A host beats no host, so they never conflict.
    CHECK(conflict_message({"example.com/{x}", "/a"}).empty());
}

TEST_CASE("TestComparePaths and TestRoutingNodeMatch: the most specific pattern wins") {
    http::serve_mux mux;
    for (const char* p : {"/", "/a", "/a/", "/a/b", "/a/{x}", "/a/{x}/c", "/files/{path...}", "/files/{$}",
                          "GET /items/{id}", "POST /items/{id}", "GET /items/new", "example.com/a/b", "/b/{x}/"})
        mux.handle(p, named(p));

    CHECK(route(mux, "GET", "/").pattern == "/");
    CHECK(route(mux, "GET", "/zzz").pattern == "/");
    CHECK(route(mux, "GET", "/a").pattern == "/a");
    CHECK(route(mux, "GET", "/a/").pattern == "/a/");
    CHECK(route(mux, "GET", "/a/b", "other.org").pattern == "/a/b");
    CHECK(route(mux, "GET", "/a/q").pattern == "/a/{x}");
    CHECK(route(mux, "GET", "/a/q/c").pattern == "/a/{x}/c");
    CHECK(route(mux, "GET", "/a/q/d").pattern == "/a/");
    CHECK(route(mux, "GET", "/files/").pattern == "/files/{$}");
    CHECK(route(mux, "GET", "/files/x/y").pattern == "/files/{path...}");
    CHECK(route(mux, "GET", "/items/new").pattern == "GET /items/new");
    CHECK(route(mux, "GET", "/items/7").pattern == "GET /items/{id}");
    CHECK(route(mux, "POST", "/items/7").pattern == "POST /items/{id}");
    CHECK(route(mux, "GET", "/b/x/y/z").pattern == "/b/{x}/");
}

TEST_CASE("TestHostHandlers: a pattern with a host wins over one without") {
    http::serve_mux mux;
    mux.handle("/a/b", named("/a/b"));
    mux.handle("example.com/", named("example.com/"));
    CHECK(route(mux, "GET", "/a/b", "example.com").pattern == "example.com/");
    CHECK(route(mux, "GET", "/a/b", "example.com:8080").pattern == "example.com/");  // the port is not matched
    CHECK(route(mux, "GET", "/a/b", "EXAMPLE.com").pattern == "example.com/");
    CHECK(route(mux, "GET", "/a/b", "other.org").pattern == "/a/b");
    CHECK(route(mux, "GET", "/c", "other.org").code == 404);
}

TEST_CASE("TestPathValue: wildcards capture their segments, {name...} the rest") {
    http::serve_mux mux;
    std::string seen;
    mux.handle_func("/{a}/is/{b}/{c...}", [&](http::response_writer&, http::request& r) {
        seen = std::string(r.path_value("a")) + "|" + std::string(r.path_value("b")) + "|" +
               std::string(r.path_value("c")) + "|" + std::string(r.path_value("missing"));
    });
    route(mux, "GET", "/now/is/the/time/for/all");
    CHECK(seen == "now|the|time/for/all|");
    route(mux, "GET", "/now/is/the/");
    CHECK(seen == "now|the||");
    // Escapes are decoded in values, as Go decodes each segment.
    route(mux, "GET", "/caf%C3%A9/is/x%20y/z");
    CHECK(seen == "caf\xC3\xA9|x y|z|");
}

TEST_CASE("TestMatchingMethods: GET also serves HEAD; other methods get 405 with Allow") {
    http::serve_mux mux;
    mux.handle("GET /r", named("GET /r"));
    mux.handle("PUT /r", named("PUT /r"));
    mux.handle("DELETE /r", named("DELETE /r"));
    CHECK(route(mux, "HEAD", "/r").pattern == "GET /r");
    const routed post = route(mux, "POST", "/r");
    CHECK(post.code == 405);
    CHECK(post.allow == "DELETE, GET, HEAD, PUT");
    CHECK(post.pattern.empty());
    // HEAD has its own pattern: it wins over GET for HEAD.
    mux.handle("HEAD /r", named("HEAD /r"));
    CHECK(route(mux, "HEAD", "/r").pattern == "HEAD /r");
    CHECK(route(mux, "GET", "/r").pattern == "GET /r");
    // A path no pattern matches is 404, not 405.
    CHECK(route(mux, "POST", "/nothing").code == 404);
}

TEST_CASE("TestServeMuxHandlerRedirects: a subtree root without its slash, and unclean paths, get 301") {
    http::serve_mux mux;
    mux.handle("/tree/", named("/tree/"));
    mux.handle("/exact/{$}", named("/exact/{$}"));
    mux.handle("/any/{rest...}", named("/any/{rest...}"));
    mux.handle("/leaf", named("/leaf"));
    const routed tree = route(mux, "GET", "/tree");
    CHECK(tree.code == 301);
    CHECK(tree.location == "/tree/");
    CHECK(route(mux, "GET", "/exact").location == "/exact/");
    CHECK(route(mux, "GET", "/any").location == "/any/");
    const routed dots = route(mux, "GET", "/tree/a/../b");
    CHECK(dots.code == 301);
    CHECK(dots.location == "/tree/b");
    CHECK(route(mux, "GET", "//leaf").location == "/leaf");
    CHECK(route(mux, "GET", "/leaf").code == 200);
    CHECK(route(mux, "GET", "/leaf/").code == 404);
}

TEST_CASE("TestServeWithSlashRedirectKeepsQueryString") {
    http::serve_mux mux;
    mux.handle("/testOne/", named("/testOne/"));
    CHECK(route(mux, "GET", "/testOne?foo=bar").location == "/testOne/?foo=bar");
    CHECK(route(mux, "GET", "/testOne/?foo=bar").code == 200);
}

TEST_CASE("TestServeMuxHandler: an empty mux answers 404; a null handler is refused") {
    http::serve_mux mux;
    const routed r = route(mux, "GET", "/");
    CHECK(r.code == 404);
    CHECK(r.body == "404 page not found\n");
    CHECK_THROWS_AS(mux.handle("/x", http::handler()), goro::panic_error);
}
