// rest_service: a small JSON API on goro::http, ported from the Go net/http
// program beside it (examples/go/rest_service/main.go). The two answer the
// same requests with the same bytes: tests/e2e/rest_service_test.sh runs one
// curl script against both and compares every status, JSON body and header
// that matters.
//
//   rest_service [--listen HOST:PORT]     default 127.0.0.1:8081; port 0 picks a free port
//
//   GET    /items          every item, by id: [{"id":1,"name":"milk","done":false}]
//   POST   /items          {"name": "milk"} -> 201, the new item, Location: /items/1
//   GET    /items/{id}     one item, or 404 {"error":"item 7 not found"}
//   PUT    /items/{id}     {"name": "oat milk", "done": true}: either field, or both
//   DELETE /items/{id}     204
//   GET    /healthz        "ok"
//
// Bad input gets 400 with {"error": "..."}: a body that is not a JSON
// object, a field of the wrong type, an empty name, an id that is not a
// positive number. Another method on a known path gets 405 with Allow.
//
// The port in brief. Go's handlers become lambdas of the same shape, Go
// 1.22's method patterns route them (the Go twin, built with Go 1.19's
// ServeMux, routes by hand: the only lines that differ in kind),
// encoding/json becomes nlohmann::json, and the sync.Mutex guarding the map
// becomes a goro::mutex, which parks the fiber instead of the thread.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <goro/goro.hpp>

#include "server.hpp"  // flags, and serving until a signal

namespace {

namespace http = goro::http;
using json = nlohmann::ordered_json;  // keys in the order written, as Go's struct fields

struct item {
    std::int64_t id = 0;
    std::string name;
    bool done = false;
};

json to_json(const item& it) { return json{{"id", it.id}, {"name", it.name}, {"done", it.done}}; }

// The store: items by id, under one lock (Go's map plus sync.Mutex).
class store {
public:
    item add(std::string name) {
        std::lock_guard<goro::mutex> hold(lock_);
        item it{next_id_++, std::move(name), false};
        items_[it.id] = it;
        return it;
    }
    std::optional<item> get(std::int64_t id) {
        std::lock_guard<goro::mutex> hold(lock_);
        auto found = items_.find(id);
        if (found == items_.end()) return std::nullopt;
        return found->second;
    }
    // Sets the fields given; nullopt if there is no such item.
    std::optional<item> update(std::int64_t id, const std::optional<std::string>& name, std::optional<bool> done) {
        std::lock_guard<goro::mutex> hold(lock_);
        auto found = items_.find(id);
        if (found == items_.end()) return std::nullopt;
        if (name) found->second.name = *name;
        if (done) found->second.done = *done;
        return found->second;
    }
    bool remove(std::int64_t id) {
        std::lock_guard<goro::mutex> hold(lock_);
        return items_.erase(id) == 1;
    }
    json list() {
        std::lock_guard<goro::mutex> hold(lock_);
        json all = json::array();
        for (const auto& entry : items_) all.push_back(to_json(entry.second));
        return all;
    }

private:
    goro::mutex lock_;
    std::map<std::int64_t, item> items_;  // by id, so a list comes out in id order
    std::int64_t next_id_ = 1;
};

// Go's json.NewEncoder(w).Encode(v) with SetEscapeHTML(false): compact, then
// a newline. Invalid UTF-8 becomes U+FFFD, as Go's encoder does.
void write_json(http::response_writer& w, int code, const json& value) {
    w.header().set("Content-Type", "application/json");
    w.write_header(code);
    w.write(value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
}

void write_error(http::response_writer& w, int code, std::string_view message) {
    write_json(w, code, json{{"error", message}});
}

// The {id} of the path as a positive number, or an answered 400.
std::optional<std::int64_t> item_id(http::response_writer& w, http::request& r) {
    const std::string_view text = r.path_value("id");
    std::int64_t id = 0;
    bool ok = !text.empty() && text.size() <= 18;
    for (char c : text) {
        if (c < '0' || c > '9') ok = false;
        else id = id * 10 + (c - '0');
    }
    if (!ok || id == 0) {
        write_error(w, http::status_bad_request, "bad item id \"" + std::string(text) + "\"");
        return std::nullopt;
    }
    return id;
}

// The request body as a JSON object, or an answered 400.
std::optional<json> read_object(http::response_writer& w, http::request& r) {
    std::error_code ec;
    const std::string text = goro::io::read_all(r.body, ec);
    if (ec) {
        write_error(w, http::status_bad_request, "reading the body: " + ec.message());
        return std::nullopt;
    }
    json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
        write_error(w, http::status_bad_request, "the body must be a JSON object");
        return std::nullopt;
    }
    return body;
}

// A field of the wrong type is a 400; a missing one is nullopt.
template <class T>
bool field(http::response_writer& w, const json& body, const char* name, std::optional<T>& out) {
    auto found = body.find(name);
    if (found == body.end()) return true;
    const bool right_type = std::is_same_v<T, bool> ? found->is_boolean() : found->is_string();
    if (!right_type) {
        write_error(w, http::status_bad_request,
                    std::string("\"") + name + "\" must be a " + (std::is_same_v<T, bool> ? "boolean" : "string"));
        return false;
    }
    out = found->template get<T>();
    return true;
}

void routes(http::serve_mux& mux, store& items) {
    mux.handle_func("GET /healthz", [](http::response_writer& w, http::request&) {
        w.header().set("Content-Type", "text/plain; charset=utf-8");
        w.write("ok\n");
    });
    mux.handle_func("GET /items", [&items](http::response_writer& w, http::request&) {
        write_json(w, http::status_ok, items.list());
    });
    mux.handle_func("POST /items", [&items](http::response_writer& w, http::request& r) {
        auto body = read_object(w, r);
        if (!body) return;
        std::optional<std::string> name;
        if (!field(w, *body, "name", name)) return;
        if (!name || name->empty()) return write_error(w, http::status_bad_request, "\"name\" must not be empty");
        const item it = items.add(*name);
        w.header().set("Location", "/items/" + std::to_string(it.id));
        write_json(w, http::status_created, to_json(it));
    });
    mux.handle_func("GET /items/{id}", [&items](http::response_writer& w, http::request& r) {
        auto id = item_id(w, r);
        if (!id) return;
        auto it = items.get(*id);
        if (!it) return write_error(w, http::status_not_found, "item " + std::to_string(*id) + " not found");
        write_json(w, http::status_ok, to_json(*it));
    });
    mux.handle_func("PUT /items/{id}", [&items](http::response_writer& w, http::request& r) {
        auto id = item_id(w, r);
        if (!id) return;
        auto body = read_object(w, r);
        if (!body) return;
        std::optional<std::string> name;
        std::optional<bool> done;
        if (!field(w, *body, "name", name) || !field(w, *body, "done", done)) return;
        if (name && name->empty()) return write_error(w, http::status_bad_request, "\"name\" must not be empty");
        auto it = items.update(*id, name, done);
        if (!it) return write_error(w, http::status_not_found, "item " + std::to_string(*id) + " not found");
        write_json(w, http::status_ok, to_json(*it));
    });
    mux.handle_func("DELETE /items/{id}", [&items](http::response_writer& w, http::request& r) {
        auto id = item_id(w, r);
        if (!id) return;
        if (!items.remove(*id))
            return write_error(w, http::status_not_found, "item " + std::to_string(*id) + " not found");
        w.write_header(http::status_no_content);
    });
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen_address = "127.0.0.1:8081";
    if (!example::parse_flags(argc, argv, listen_address)) return 2;
    store items;
    http::serve_mux mux;
    routes(mux, items);
    http::server srv{.handler = mux,
                     .read_header_timeout = std::chrono::seconds(5),
                     .idle_timeout = std::chrono::seconds(60),
                     .max_body_bytes = 1 << 20};
    return goro::run([&] { return example::serve_http_until_signal("rest_service", listen_address, srv); });
}
