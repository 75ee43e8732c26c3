//! echo_server: a TCP echo server, one task per connection, each reading
//! into its own 4 KiB buffer and writing back what it read (a plain
//! read/write loop, not tokio::io::copy, as Go's avoids io.Copy). Tokio's
//! side of the echo workload; the load comes from bench/go/echo_load in a
//! separate process (bench/net.sh).
//! Go counterpart: bench/go/echo_server/main.go; goro's: examples/echo_server.cpp.
//!
//! Usage: echo_server [--listen HOST:PORT]   (default 127.0.0.1:0)
//!
//! Prints the bound address (HOST:PORT) as the first line of stdout, so a
//! caller that asked for port 0 learns the port. Exits with status 0 on
//! SIGTERM or SIGINT. BENCH_WORKERS sets the worker threads (default 2).
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    tokio_bench::serve_until_signal("echo_server", |mut c| async move {
        let mut buf = vec![0u8; 4096];
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => return, // EOF or reset: the client is gone
                Ok(n) => {
                    if c.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
}
