// http_hello: an HTTP/1.1 server that answers every request with
// "Hello, World!", one fiber per connection. The goro side of the http
// benchmark (bench/go/http_raw and bench/go/http_nethttp).
//
//   http_hello [--listen HOST:PORT] [--read-header-timeout DURATION]
//       --listen: default 127.0.0.1:8080; port 0 picks a free port
//       --read-header-timeout: how long a client has to send a whole request
//         head (default 10s, 0s for none; Go's http.Server.ReadHeaderTimeout)
//   curl -i http://127.0.0.1:8080/
//   wrk -t1 -c100 -d10s http://127.0.0.1:8080/
//
// What it speaks of HTTP/1.1 (RFC 9112): persistent connections (the default
// for HTTP/1.1; HTTP/1.0 only with "Connection: keep-alive"; "Connection:
// close" honoured), pipelining (every complete request in the buffer is
// answered, in order, in one write), HEAD, request bodies with Content-Length
// (read and dropped; "Expect: 100-continue" answered). Any method gets the
// greeting. A malformed request gets 400 and the connection is closed: among
// others, an HTTP/1.1 request without a Host header, any with two, and a
// header value holding a bare CR, a NUL or another control character (RFC
// 9112 §3.2, RFC 9110 §5.5). A Transfer-Encoding (chunked) body gets 501.
// No Date header: RFC 9110 lets a server omit it, and bench/go/http_raw does
// not send one either.
//
// Timeouts, as Go's http.Server: a client has --read-header-timeout to send
// each request head, counted from when the server starts to read it, and is
// dropped after 60 s idle between requests (or stuck in a write or a body).
//
// Speed comes from doing little per request: one read buffer per connection,
// parsing in place with string_views, answers copied from bytes built at
// start-up, one write per batch, and no heap allocation per request.
//
// The first line of stdout is the bound address. SIGINT or SIGTERM closes the
// listener and every open connection, waits for their fibers, and exits 0.
// That part, shared by the example servers, is in server.hpp; this file is
// HTTP and what one connection's fiber does.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include <goro/goro.hpp>

#include "server.hpp"  // the listen / accept / shut-down skeleton the example servers share

using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_head_bytes = 8 * 1024;      // request line and headers
constexpr std::size_t read_buffer_bytes = 16 * 1024;  // a largest head, and room to spare
constexpr std::size_t write_buffer_bytes = 16 * 1024;
constexpr auto idle_timeout = 60s;
constexpr auto deadline_slack = 10s;  // see deadlines
std::chrono::nanoseconds read_header_timeout = 10s;  // --read-header-timeout; see deadlines
constexpr auto linger_timeout = 2s;   // see close_gracefully
constexpr std::size_t max_linger_bytes = 256 * 1024;

// ------------------------------------------------------------ the answers

// The Connection header an answer carries: none for HTTP/1.1 keep-alive (the
// default), "keep-alive" for an HTTP/1.0 client that asked for it, "close"
// when the server closes after answering.
enum connection_header { no_header, keep_alive_header, close_header };

std::string make_response(std::string_view status, connection_header connection, std::string_view body,
                          bool send_body) {
    std::string r = "HTTP/1.1 " + std::string(status) + "\r\nContent-Type: text/plain\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
    if (connection == keep_alive_header) r += "Connection: keep-alive\r\n";
    if (connection == close_header) r += "Connection: close\r\n";
    return r + "\r\n" + std::string(send_body ? body : "");
}

// Every answer the server gives, built once; a request only picks one.
const std::string hello_get[] = {make_response("200 OK", no_header, "Hello, World!", true),
                                 make_response("200 OK", keep_alive_header, "Hello, World!", true),
                                 make_response("200 OK", close_header, "Hello, World!", true)};
const std::string hello_head[] = {make_response("200 OK", no_header, "Hello, World!", false),
                                  make_response("200 OK", keep_alive_header, "Hello, World!", false),
                                  make_response("200 OK", close_header, "Hello, World!", false)};
const std::string bad_request = make_response("400 Bad Request", close_header, "Bad Request\n", true);
const std::string not_implemented = make_response("501 Not Implemented", close_header, "Not Implemented\n", true);
const std::string continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

// ------------------------------------------------------------ parsing

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// a equals lower_b, ignoring ASCII case; lower_b is in lower case.
bool iequals(std::string_view a, std::string_view lower_b) {
    if (a.size() != lower_b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != lower_b[i]) return false;
    return true;
}

// RFC 9110 token characters: method and header names.
bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
    }
    return true;
}

// Printable ASCII without spaces: a request target.
bool is_visible(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 127; });
}

// A header's value (RFC 9110 §5.5): visible characters, spaces and tabs,
// and bytes from 0x80 (obs-text). CR (a bare one: the line's own CR is gone
// by now), LF, NUL and other controls are invalid, and dangerous: a
// proxy or log that reads the value differently could be fooled.
bool is_field_value(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= ' ' && u != 127);
    });
}

// A Host header's value, uri-host [":" port] (RFC 9110 §7.2): a name, an
// IPv4 address or a bracketed IPv6 one, so only these characters; empty is
// allowed (a target without an authority).
bool is_host(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        return alnum || std::string_view("-._~%!$&'()*+,;=:[]").find(c) != std::string_view::npos;
    });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Does the comma-separated list (a Connection header) hold lower_token?
bool has_token(std::string_view list, std::string_view lower_token) {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), lower_token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// A Content-Length: digits only, and few enough that they cannot overflow.
bool parse_length(std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 18) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
}

// The next line of data from pos, without its LF or CRLF (a bare LF is
// accepted, as RFC 9112 §2.2 allows); false when no whole line is there yet.
bool next_line(std::string_view data, std::size_t& pos, std::string_view& line) {
    const void* lf = std::memchr(data.data() + pos, '\n', data.size() - pos);
    if (!lf) return false;
    const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(lf) - data.data());
    line = data.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    return true;
}

enum class parse_status { complete, incomplete, bad_request, not_implemented };

struct request {
    std::size_t head_length = 0;  // bytes up to and including the empty line
    std::uint64_t content_length = 0;
    bool http10 = false;
    bool is_head = false;
    bool wants_close = false;       // Connection: close
    bool wants_keep_alive = false;  // Connection: keep-alive
    bool expects_continue = false;  // Expect: 100-continue
};

// METHOD SP TARGET SP HTTP/1.x — anything else (HTTP/0.9's "GET /" included)
// is a bad request.
bool parse_request_line(std::string_view line, request& req) {
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return false;
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return false;
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method) || !is_visible(target)) return false;
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return false;
    req.http10 = version == "HTTP/1.0";
    req.is_head = method == "HEAD";
    return true;
}

// Parses the request head at the start of data. Lines are checked as they
// arrive, so a bad one is refused before the head is complete.
parse_status parse_head(std::string_view data, request& req) {
    req = request{};
    // Without its empty line yet, a head must still have room to finish.
    const parse_status unfinished = data.size() > max_head_bytes ? parse_status::bad_request : parse_status::incomplete;
    std::size_t pos = 0;
    std::string_view line;
    do {  // empty lines before a request are ignored (RFC 9112 §2.2)
        if (!next_line(data, pos, line)) return unfinished;
    } while (line.empty());
    if (!parse_request_line(line, req)) return parse_status::bad_request;

    bool seen_length = false;
    int hosts = 0;
    for (;;) {
        if (!next_line(data, pos, line)) return unfinished;
        if (pos > max_head_bytes) return parse_status::bad_request;
        if (line.empty()) break;
        if (line.front() == ' ' || line.front() == '\t') return parse_status::bad_request;  // obsolete line folding
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return parse_status::bad_request;
        const std::string_view name = line.substr(0, colon);
        if (!is_token(name)) return parse_status::bad_request;  // "Name :" included (RFC 9112 §5.1)
        const std::string_view value = trim(line.substr(colon + 1));
        if (!is_field_value(value)) return parse_status::bad_request;  // a bare CR, a NUL, ...
        if (iequals(name, "host")) {
            if (++hosts > 1 || !is_host(value)) return parse_status::bad_request;
        } else if (iequals(name, "content-length")) {
            std::uint64_t n = 0;
            if (!parse_length(value, n) || (seen_length && n != req.content_length)) return parse_status::bad_request;
            req.content_length = n;
            seen_length = true;
        } else if (iequals(name, "connection")) {
            req.wants_close = req.wants_close || has_token(value, "close");
            req.wants_keep_alive = req.wants_keep_alive || has_token(value, "keep-alive");
        } else if (iequals(name, "transfer-encoding")) {
            return parse_status::not_implemented;  // chunked bodies are beyond this server
        } else if (iequals(name, "expect")) {
            req.expects_continue = iequals(value, "100-continue");
        }
    }
    // HTTP/1.1 requires exactly one Host header (RFC 9112 §3.2).
    if (!req.http10 && hosts == 0) return parse_status::bad_request;
    req.head_length = pos;
    return parse_status::complete;
}

// ------------------------------------------------------------ a connection

// Answers collect here and go out in one write per batch of pipelined
// requests.
class reply_buffer {
public:
    explicit reply_buffer(goro::net::conn& c) : conn_(c) {}
    // False once the connection has failed.
    bool append(std::string_view bytes) {
        if (bytes.size() > sizeof data_ - size_ && !flush()) return false;
        std::memcpy(data_ + size_, bytes.data(), bytes.size());
        size_ += bytes.size();
        return true;
    }
    bool flush() {
        if (size_ == 0) return true;
        std::error_code ec;
        conn_.write(data_, size_, ec);
        size_ = 0;
        return !ec;
    }

private:
    goro::net::conn& conn_;
    char data_[write_buffer_bytes];
    std::size_t size_ = 0;
};

// The connection's deadlines, as Go's http.Server sets them:
//
//  - While a request head is read, the read deadline is read_header_timeout
//    after the head started (when the connection opened, or when the server
//    began to read a later request), and it does not move: a client cannot
//    hold the connection by trickling a head in a byte at a time (slowloris).
//  - Otherwise (between requests, while a body is read, and for writes, so
//    that a client that stops reading is dropped too) the idle timeout.
//    Moving a deadline re-arms a timer in the runtime's heap, too costly to
//    do for every request, so the idle deadline only moves once less than
//    idle_timeout - deadline_slack of it remains: a silent client is dropped
//    after 50 to 60 s.
//
// A request that arrives whole in one read, as most do, moves nothing.
class deadlines {
public:
    // Call before each read; head_started is when the head being read
    // began, or a zero time_point between heads. False if the connection has
    // been closed meanwhile (by shutdown).
    bool before_read(goro::net::conn& c, goro::net::time_point head_started) {
        const auto now = std::chrono::steady_clock::now();
        std::error_code ec;
        if (idle_ - now <= idle_timeout - deadline_slack) {
            idle_ = now + idle_timeout;
            c.set_deadline(idle_, ec);  // both directions; errc::closed if shutdown closed the conn
            read_ = idle_;
        }
        const goro::net::time_point wanted =
            head_started == goro::net::time_point{} || read_header_timeout <= 0s
                ? idle_
                : head_started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(read_header_timeout);
        if (!ec && wanted != read_) {
            c.set_read_deadline(wanted, ec);
            read_ = wanted;
        }
        return !ec;
    }

private:
    goro::net::time_point idle_{};  // the idle deadline
    goro::net::time_point read_{};  // the read deadline now set
};

// Closing a socket with unread input makes the kernel send a reset, which may
// destroy the answer still on its way (a 400 sent while a 20 KB header is
// still arriving). So: send FIN, and read and drop what the client still
// sends until it closes too, for a little while.
void close_gracefully(goro::net::conn& c, char* scratch, std::size_t size) {
    std::error_code ec;
    c.shutdown(goro::net::shutdown_how::write, ec);
    if (ec) return;
    c.set_read_deadline(std::chrono::steady_clock::now() + linger_timeout, ec);
    if (ec) return;  // closed by shutdown
    for (std::size_t drained = 0; drained < max_linger_bytes;) {
        const std::size_t n = c.read(scratch, size, ec);
        if (ec || n == 0) return;
        drained += n;
    }
}

// One client's fiber: answers its requests until it closes the connection,
// fails, stays idle too long or is closed by shutdown.
void serve(goro::net::conn& c) {
    char in[read_buffer_bytes];
    std::size_t begin = 0, end = 0;  // read but not yet handled: in[begin, end)
    reply_buffer out(c);
    deadlines deadline;
    // When the request head being read began; zero between requests. The
    // first one begins as the connection opens, so a client that connects
    // and sends nothing is dropped after read_header_timeout too.
    goro::net::time_point head_started = std::chrono::steady_clock::now();
    // A request with a body is answered once its body has been read (and
    // dropped); until then these hold what remains of it and its answer.
    std::uint64_t body_left = 0;
    std::string_view answer_after_body;
    bool close_after_body = false;
    bool closing = false;

    for (;;) {
        // Answer every complete request already read, in order.
        while (!closing) {
            if (body_left > 0) {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(body_left, end - begin));
                begin += n;
                body_left -= n;
                if (body_left > 0) break;  // the rest of the body is still to come
                if (!out.append(answer_after_body)) return;
                closing = close_after_body;
                continue;
            }
            if (begin == end) break;
            request req;
            const parse_status status = parse_head({in + begin, end - begin}, req);
            if (status == parse_status::incomplete) break;
            if (status != parse_status::complete) {
                if (!out.append(status == parse_status::bad_request ? bad_request : not_implemented)) return;
                closing = true;
                break;
            }
            begin += req.head_length;
            head_started = {};  // the head is complete
            const bool keep_alive = !req.wants_close && (!req.http10 || req.wants_keep_alive);
            const connection_header header = !keep_alive ? close_header : req.http10 ? keep_alive_header : no_header;
            const std::string& answer = (req.is_head ? hello_head : hello_get)[header];
            if (req.content_length == 0) {
                if (!out.append(answer)) return;
                closing = !keep_alive;
            } else {
                body_left = req.content_length;
                answer_after_body = answer;
                close_after_body = !keep_alive;
                if (req.expects_continue && body_left > end - begin && !out.append(continue_100)) return;
            }
        }
        if (!out.flush()) return;
        if (closing) {
            close_gracefully(c, in, sizeof in);
            return;
        }

        // Read more, after moving a partial request to the front. A partial
        // head is at most max_head_bytes (else it was refused), so at least
        // read_buffer_bytes - max_head_bytes of room remains.
        if (begin == end) {
            begin = end = 0;
        } else if (begin > 0) {
            std::memmove(in, in + begin, end - begin);
            end -= begin;
            begin = 0;
        }
        // Part of a head is here: its time runs from now, if it did not already.
        if (body_left == 0 && begin < end && head_started == goro::net::time_point{})
            head_started = std::chrono::steady_clock::now();
        if (!deadline.before_read(c, head_started)) return;
        std::error_code ec;
        const std::size_t n = c.read(in + end, sizeof in - end, ec);
        if (ec || n == 0) return;  // EOF, reset, a timeout, or closed by shutdown
        end += n;
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen_address = "127.0.0.1:8080";
    if (!example::parse_flags(argc, argv, listen_address, {{"read-header-timeout", &read_header_timeout}})) return 2;
    return goro::run([&] { return example::serve_until_signal("http_hello", listen_address, serve); });
}
