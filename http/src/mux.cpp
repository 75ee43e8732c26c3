// http/src/mux.cpp — serve_mux: Go 1.22's routing patterns, precedence and
// conflict rules.
//
// Invariants:
//   - No two registered patterns with the same host conflict: for any two,
//     either no request matches both, or one matches a strict subset of the
//     other's requests (it is "more specific"). So the patterns of one host
//     that match a request form a chain, and the most specific is found by
//     one pass that keeps the more specific of each pair.
//   - Patterns with a host are tried before patterns without one, and never
//     conflict with them (Go's rule: the host wins).
//   - state::lock (a goro::rw_mutex) guards state::routes; serving holds it
//     shared only while choosing, and calls the handler after letting go.
#include <goro/http.hpp>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include <goro/panic.hpp>
#include <goro/sync.hpp>

#include "http/detail/url.hpp"

namespace goro::http {

namespace {

// One segment of a pattern's path.
struct segment {
    enum kind_type {
        literal,  // matches exactly text
        wild,     // {name}: any one non-empty segment
        multi,    // {name...}, or a trailing slash (name ""): the rest, at least the trailing slash
        end,      // {$}: the trailing slash only
    } kind;
    std::string text;  // the literal, or the wildcard's name
};

struct pattern {
    std::string source;  // as registered
    std::string method;  // "" for every method
    std::string host;    // "" for every host
    std::vector<segment> segments;
    http::handler target;
};

// How the requests two patterns match relate (Go's pattern comparison).
enum class relation { equivalent, more_specific, more_general, disjoint, overlaps };

// The relation across two independent dimensions.
relation combine(relation a, relation b) {
    if (a == relation::disjoint || b == relation::disjoint) return relation::disjoint;
    if (a == relation::equivalent) return b;
    if (b == relation::equivalent) return a;
    if (a == b) return a;
    return relation::overlaps;
}

relation compare_methods(const pattern& p, const pattern& q) {
    if (p.method == q.method) return relation::equivalent;
    if (p.method.empty()) return relation::more_general;
    if (q.method.empty()) return relation::more_specific;
    if (p.method == "GET" && q.method == "HEAD") return relation::more_general;  // GET also matches HEAD
    if (p.method == "HEAD" && q.method == "GET") return relation::more_specific;
    return relation::disjoint;
}

relation compare_segments(const segment& a, const segment& b) {
    using k = segment::kind_type;
    if (a.kind == k::literal && b.kind == k::literal)
        return a.text == b.text ? relation::equivalent : relation::disjoint;
    if (a.kind == k::end && b.kind == k::end) return relation::equivalent;
    if (a.kind == k::end || b.kind == k::end) return relation::disjoint;  // the trailing slash against a segment
    if (a.kind == k::wild && b.kind == k::wild) return relation::equivalent;
    if (a.kind == k::literal) return relation::more_specific;  // against a wildcard
    return relation::more_general;
}

relation compare_paths(const pattern& p, const pattern& q) {
    relation result = relation::equivalent;
    std::size_t i = 0;
    for (;; ++i) {
        const bool p_done = i == p.segments.size();
        const bool q_done = i == q.segments.size();
        if (p_done && q_done) return result;
        // A multi matches one or more remaining elements; the end of a
        // pattern matches none: disjoint.
        if (p_done) return relation::disjoint;
        if (q_done) return relation::disjoint;
        const segment& a = p.segments[i];
        const segment& b = q.segments[i];
        if (a.kind == segment::multi && b.kind == segment::multi) return result;
        if (a.kind == segment::multi) return combine(result, relation::more_general);
        if (b.kind == segment::multi) return combine(result, relation::more_specific);
        result = combine(result, compare_segments(a, b));
        if (result == relation::disjoint) return result;
    }
}

relation compare(const pattern& p, const pattern& q) { return combine(compare_methods(p, q), compare_paths(p, q)); }

bool is_identifier(std::string_view name) {
    if (name.empty()) return false;
    if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

[[noreturn]] void bad_pattern(std::string_view source, std::string_view why) {
    throw goro::panic_error("http: parsing \"" + std::string(source) + "\": " + std::string(why));
}

pattern parse_pattern(std::string_view source) {
    pattern p;
    p.source = std::string(source);
    if (source.empty()) bad_pattern(source, "empty pattern");
    std::string_view rest = source;
    if (const std::size_t space = rest.find_first_of(" \t"); space != std::string_view::npos) {
        p.method = std::string(rest.substr(0, space));
        rest = rest.substr(space);
        rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
        if (p.method.empty()) bad_pattern(source, "empty method");
        for (char c : p.method)
            if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
                bad_pattern(source, "invalid method \"" + p.method + "\"");
    }
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) bad_pattern(source, "host/path missing /");
    p.host = std::string(rest.substr(0, slash));
    if (p.host.find('{') != std::string::npos) bad_pattern(source, "host contains '{' (missing initial '/'?)");
    std::transform(p.host.begin(), p.host.end(), p.host.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    const std::string_view path = rest.substr(slash);

    std::vector<std::string> names;
    std::size_t at = 1;  // after the leading '/'
    for (;;) {
        std::size_t next = path.find('/', at);
        const bool last = next == std::string_view::npos;
        std::string_view part = path.substr(at, last ? std::string_view::npos : next - at);
        if (last && part.empty()) {  // a trailing slash: the rest of the path
            p.segments.push_back({segment::multi, ""});
            break;
        }
        if (part == "{$}") {
            if (!last) bad_pattern(source, "{$} not at end");
            p.segments.push_back({segment::end, ""});
            break;
        }
        if (!part.empty() && part.front() == '{') {
            if (part.back() != '}') bad_pattern(source, "bad wildcard segment (must end with '}')");
            std::string_view name = part.substr(1, part.size() - 2);
            const bool is_multi = name.ends_with("...");
            if (is_multi) name.remove_suffix(3);
            if (!is_identifier(name)) bad_pattern(source, "bad wildcard name \"" + std::string(name) + "\"");
            if (is_multi && !last) bad_pattern(source, "{...} wildcard not at end");
            if (std::find(names.begin(), names.end(), name) != names.end())
                bad_pattern(source, "duplicate wildcard name \"" + std::string(name) + "\"");
            names.emplace_back(name);
            p.segments.push_back({is_multi ? segment::multi : segment::wild, std::string(name)});
        } else {
            if (part.find_first_of("{}") != std::string_view::npos)
                bad_pattern(source, "bad wildcard segment (must be a whole segment)");
            p.segments.push_back({segment::literal, detail::percent_decode(part)});
        }
        if (last) break;
        at = next + 1;
    }
    return p;
}

// The request path's elements: its segments, and "" for a trailing slash
// (a clean path has no other empty segment).
std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> parts;
    std::size_t at = 1;
    for (;;) {
        const std::size_t next = path.find('/', at);
        if (next == std::string_view::npos) {
            parts.push_back(path.substr(std::min(at, path.size())));
            return parts;
        }
        parts.push_back(path.substr(at, next - at));
        at = next + 1;
    }
}

bool method_matches(const pattern& p, std::string_view method) {
    return p.method.empty() || p.method == method || (p.method == "GET" && method == "HEAD");
}

using captures = std::vector<std::pair<std::string, std::string>>;

bool path_matches(const pattern& p, const std::vector<std::string_view>& parts, captures* values) {
    std::size_t i = 0;
    for (const segment& s : p.segments) {
        switch (s.kind) {
            case segment::literal:
                if (i == parts.size() || parts[i] != s.text || parts[i].empty()) return false;
                break;
            case segment::wild:
                if (i == parts.size() || parts[i].empty()) return false;
                if (values) values->emplace_back(s.text, std::string(parts[i]));
                break;
            case segment::end:
                return i + 1 == parts.size() && parts[i].empty();
            case segment::multi: {
                if (i == parts.size()) return false;
                if (values && !s.text.empty()) {
                    std::string rest;
                    for (std::size_t j = i; j < parts.size(); ++j) {
                        if (j > i) rest += '/';
                        rest += parts[j];
                    }
                    values->emplace_back(s.text, std::move(rest));
                }
                return true;
            }
        }
        ++i;
    }
    return i == parts.size();
}

std::string host_without_port(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        const std::size_t close = host.find(']');
        host = close == std::string_view::npos ? host : host.substr(0, close + 1);
    } else if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    std::string out(host);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    return out;
}

}  // namespace

struct serve_mux::state {
    mutable goro::rw_mutex lock;
    std::vector<std::shared_ptr<const pattern>> routes;  // guarded by lock

    // The most specific pattern matching (method, host, path), with its
    // captures; null if none.
    std::shared_ptr<const pattern> best(std::string_view method, const std::string& host,
                                        const std::vector<std::string_view>& parts, captures& values) const {
        for (const bool with_host : {true, false}) {
            std::shared_ptr<const pattern> found;
            for (const auto& p : routes) {
                if (p->host.empty() == with_host) continue;
                if (with_host && p->host != host) continue;
                if (!method_matches(*p, method) || !path_matches(*p, parts, nullptr)) continue;
                if (!found || compare(*p, *found) == relation::more_specific) found = p;
            }
            if (found) {
                values.clear();
                path_matches(*found, parts, &values);
                return found;
            }
        }
        return nullptr;
    }
};

serve_mux::serve_mux() : state_(std::make_unique<state>()) {}
serve_mux::~serve_mux() = default;

void serve_mux::handle(std::string_view source, http::handler h) {
    pattern p = parse_pattern(source);
    if (!h) throw goro::panic_error("http: nil handler");
    p.target = std::move(h);
    std::unique_lock hold(state_->lock);
    for (const auto& q : state_->routes) {
        if (q->host != p.host) continue;  // disjoint, or the one with a host wins
        const relation r = compare(p, *q);
        if (r == relation::equivalent)
            throw goro::panic_error("http: pattern \"" + p.source + "\" conflicts with pattern \"" + q->source +
                                    "\": they match the same requests");
        if (r == relation::overlaps)
            throw goro::panic_error("http: pattern \"" + p.source + "\" conflicts with pattern \"" + q->source +
                                    "\": some requests match both and neither is more specific");
    }
    state_->routes.push_back(std::make_shared<const pattern>(std::move(p)));
}

std::pair<http::handler, std::string> serve_mux::find(request& r) const {
    const std::string host = host_without_port(r.host());
    const std::string path(r.path().empty() ? std::string_view("/") : r.path());
    captures values;
    std::shared_lock hold(state_->lock);
    auto found = state_->best(r.method(), host, split_path(path), values);
    if (!found) return {};
    for (const auto& [name, value] : values)
        if (!name.empty()) r.set_path_value(name, value);
    return {found->target, found->source};
}

void serve_mux::serve_http(response_writer& w, request& r) const {
    const std::string host = host_without_port(r.host());
    std::string path(r.path().empty() ? std::string_view("/") : r.path());
    const std::string query = r.raw_query().empty() ? std::string() : "?" + std::string(r.raw_query());

    if (r.method() != "CONNECT" && r.target() != "*") {
        if (std::string clean = detail::clean_path(path); clean != path) {
            redirect(w, r, clean + query, status_moved_permanently);
            return;
        }
    }

    captures values;
    std::shared_ptr<const pattern> found;
    std::vector<std::string> allowed;
    bool add_slash = false;
    {
        std::shared_lock hold(state_->lock);
        const auto parts = split_path(path);
        found = state_->best(r.method(), host, parts, values);
        if (!found && !path.ends_with('/')) {
            // A subtree root named without its slash is redirected to it.
            // (Only when the slash is all a multi wildcard would take:
            // "/a" goes to "/a/" for "/a/", not for "/{x...}".)
            captures slash_values;
            const std::string with_slash = path + "/";  // outlives the views split_path returns
            const auto slash_parts = split_path(with_slash);
            auto subtree = state_->best(r.method(), host, slash_parts, slash_values);
            add_slash = subtree && subtree->segments.size() == slash_parts.size();
        }
        if (!found && !add_slash) {
            for (const auto& p : state_->routes) {
                if (!p->host.empty() && p->host != host) continue;
                if (p->method.empty() || !path_matches(*p, parts, nullptr)) continue;
                if (std::find(allowed.begin(), allowed.end(), p->method) == allowed.end()) allowed.push_back(p->method);
                if (p->method == "GET" && std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end())
                    allowed.emplace_back("HEAD");
            }
        }
    }
    if (found) {
        for (const auto& [name, value] : values)
            if (!name.empty()) r.set_path_value(name, value);
        found->target(w, r);
        return;
    }
    if (add_slash) {
        redirect(w, r, path + "/" + query, status_moved_permanently);
        return;
    }
    if (!allowed.empty()) {
        std::sort(allowed.begin(), allowed.end());
        std::string allow;
        for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
        w.header().set("Allow", allow);
        error(w, status_text(status_method_not_allowed), status_method_not_allowed);
        return;
    }
    not_found(w, r);
}

}  // namespace goro::http
