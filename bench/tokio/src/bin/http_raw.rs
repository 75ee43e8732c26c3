//! http_raw: an HTTP/1.1 keep-alive "Hello, World!" server written on
//! Tokio's TcpStream directly, one task per connection, with a 4 KiB read
//! buffer for the requests and a 4 KiB output buffer for the answers. It
//! parses only what it must: the request line (for the HTTP version), and the
//! Connection and Content-Length headers (a Transfer-Encoding header gets 400:
//! chunked bodies are beyond it). Every request gets the same 13-byte body,
//! with the very bytes and headers Go's http_raw sends (no Date header).
//! Pipelined requests are answered in one write: the output is written only
//! when the read buffer holds no further request bytes (or 4 KiB of answers
//! are waiting, as Go's bufio.Writer flushes when full). "Connection: close"
//! or HTTP/1.0 without keep-alive gets the answer and a close; a malformed
//! request gets 400 and a close; a request or header line longer than the
//! buffer ends the connection.
//! Go counterpart: bench/go/http_raw/main.go; goro's: examples/http_raw.cpp.
//!
//! Usage: http_raw [--listen HOST:PORT]   (default 127.0.0.1:0)
//!
//! Prints the bound address (HOST:PORT) as the first line of stdout, so a
//! caller that asked for port 0 learns the port. Exits with status 0 on
//! SIGTERM or SIGINT. BENCH_WORKERS sets the worker threads (default 2).
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEEP_ALIVE_ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
const CLOSE_ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!";
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const BUFFER: usize = 4096; // a longer request or header line ends the connection, as in Go's

/// The connection's read side: a 4 KiB buffer holding bytes [start, end).
struct Reader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Reader {
    fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// The next line, without its "\n" or "\r\n", as a range of `buf`; None
    /// when the peer has gone or the line does not fit the buffer.
    async fn line(&mut self, c: &mut TcpStream) -> Option<(usize, usize)> {
        loop {
            if let Some(i) = self.buf[self.start..self.end]
                .iter()
                .position(|&b| b == b'\n')
            {
                let (lo, mut hi) = (self.start, self.start + i);
                self.start = hi + 1;
                if hi > lo && self.buf[hi - 1] == b'\r' {
                    hi -= 1;
                }
                return Some((lo, hi));
            }
            if !self.fill(c).await {
                return None;
            }
        }
    }

    /// Reads more; false at EOF, on an error or when the buffer is full of one line.
    async fn fill(&mut self, c: &mut TcpStream) -> bool {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            return false;
        }
        match c.read(&mut self.buf[self.end..]).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.end += n;
                true
            }
        }
    }

    /// Skips n body bytes; false if the peer goes first.
    async fn discard(&mut self, c: &mut TcpStream, mut n: usize) -> bool {
        loop {
            let take = n.min(self.buffered());
            self.start += take;
            n -= take;
            if n == 0 {
                return true;
            }
            if !self.fill(c).await {
                return false;
            }
        }
    }
}

/// Go's ASCII white space (bytes.Fields, bytes.TrimSpace): \t \n \v \f \r
/// and space.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// `b` without its leading and trailing white space.
fn trim_space(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&c| !is_space(c)).unwrap_or(b.len());
    let last = b
        .iter()
        .rposition(|&c| !is_space(c))
        .map_or(first, |i| i + 1);
    &b[first..last]
}

/// The version of a request line METHOD SP TARGET SP VERSION, if it has
/// three fields and the version is HTTP/1.x.
fn request_version(line: &[u8]) -> Option<&[u8]> {
    let mut fields = line.split(|&b| is_space(b)).filter(|f| !f.is_empty());
    let version = fields.nth(2)?;
    if fields.next().is_some() || !version.starts_with(b"HTTP/1.") {
        return None;
    }
    Some(version)
}

/// If `line` is the header field `want` (lower case, compared without case),
/// its trimmed value.
fn header_is<'a>(line: &'a [u8], want: &str) -> Option<&'a [u8]> {
    let colon = line.iter().position(|&b| b == b':')?;
    if colon != want.len() || !line[..colon].eq_ignore_ascii_case(want.as_bytes()) {
        return None;
    }
    Some(trim_space(&line[colon + 1..]))
}

async fn serve(mut c: TcpStream) {
    let mut r = Reader {
        buf: vec![0; BUFFER],
        start: 0,
        end: 0,
    };
    let mut out: Vec<u8> = Vec::with_capacity(BUFFER);
    loop {
        let (lo, hi) = match r.line(&mut c).await {
            Some(l) => l,
            None => return,
        };
        if lo == hi {
            continue; // a stray CRLF between requests is allowed
        }
        let mut keep_alive = match request_version(&r.buf[lo..hi]) {
            Some(version) => version != b"HTTP/1.0", // 1.1 keeps alive by default
            None => {
                out.extend_from_slice(BAD_REQUEST);
                let _ = c.write_all(&out).await;
                return;
            }
        };

        let mut body_len = 0usize;
        loop {
            let (lo, hi) = match r.line(&mut c).await {
                Some(l) => l,
                None => return,
            };
            if lo == hi {
                break;
            }
            let h = &r.buf[lo..hi];
            if let Some(v) = header_is(h, "connection") {
                if v.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if v.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            } else if let Some(v) = header_is(h, "content-length") {
                match std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<usize>().ok())
                {
                    Some(n) => body_len = n,
                    None => {
                        out.extend_from_slice(BAD_REQUEST);
                        let _ = c.write_all(&out).await;
                        return;
                    }
                }
            } else if header_is(h, "transfer-encoding").is_some() {
                out.extend_from_slice(BAD_REQUEST); // chunked bodies are beyond this server
                let _ = c.write_all(&out).await;
                return;
            }
        }
        if body_len > 0 && !r.discard(&mut c, body_len).await {
            return;
        }

        if !keep_alive {
            out.extend_from_slice(CLOSE_ANSWER);
            let _ = c.write_all(&out).await;
            return;
        }
        out.extend_from_slice(KEEP_ALIVE_ANSWER);
        // More requests already read: answer them in the same write (up to
        // a buffer's worth, as Go's bufio.Writer).
        if r.buffered() == 0 || out.len() >= BUFFER {
            if c.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

fn main() {
    tokio_bench::serve_until_signal("http_raw", serve);
}
