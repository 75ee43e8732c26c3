//! echo_server: a TCP echo server, a task per connection with a plain
//! read/write loop, as bench/go/echo_server does (Go counterpart; goro's is
//! examples/echo_server). Loaded by bench/net.sh.
//!
//! Usage: echo_server [--listen HOST:PORT]   (default 127.0.0.1:0)
//!
//! Prints the bound address as the first line of stdout; exits 0 on SIGTERM
//! or SIGINT. BENCH_WORKERS sets the worker threads.
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
