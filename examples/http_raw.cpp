// http_raw: an HTTP/1.1 server that answers every request with
// "Hello, World!", one fiber per connection. The goro side of the http
// benchmark (bench/go/http_raw and bench/go/http_nethttp).
//
//   http_raw [--listen HOST:PORT] [--read-header-timeout DURATION]
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

#include "http_head.hpp"  // parse_head: the request-head parser
#include "server.hpp"  // the listen / accept / shut-down skeleton the example servers share

using namespace std::chrono_literals;

namespace {

using example::parse_head;
using example::parse_status;
using example::request;

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
    return goro::run([&] { return example::serve_until_signal("http_raw", listen_address, serve); });
}
