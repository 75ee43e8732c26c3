//! What the Tokio versions of the bench workloads share: the runtime set-up,
//! the size argument, timing and /proc readings.
//!
//! The runtime is Tokio's multi-threaded work-stealing scheduler with
//! BENCH_WORKERS worker threads (default 2), built explicitly so that the
//! count is the one every other runtime in the comparison gets.

use std::time::Instant;

/// BENCH_WORKERS, default 2.
pub fn workers() -> usize {
    std::env::var("BENCH_WORKERS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(2)
}

/// A multi-threaded runtime with `workers()` workers, timers and I/O enabled.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .expect("building the Tokio runtime")
}

/// The first argument as a number, or `default`.
pub fn arg_n(default: u64) -> u64 {
    match std::env::args().nth(1) {
        None => default,
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("usage: {} [n]  (n a positive whole number, not {:?})", std::env::args().next().unwrap(), s);
            std::process::exit(2)
        }),
    }
}

/// Nanoseconds since `start`, as a float.
pub fn ns_since(start: Instant) -> f64 {
    start.elapsed().as_nanos() as f64
}

/// The field `key` ("VmRSS", "VmPTE") of /proc/self/status, in bytes.
pub fn status_bytes(key: &str) -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            let kb: i64 = rest.trim().trim_end_matches("kB").trim().parse().expect("a number of kB");
            return kb * 1024;
        }
    }
    eprintln!("no {} in /proc/self/status", key);
    std::process::exit(1)
}

/// `--listen HOST:PORT` or `--listen=HOST:PORT` (default 127.0.0.1:0), the
/// flag every server of the comparison takes.
pub fn listen_flag(name: &str) -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut listen = "127.0.0.1:0".to_string();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--listen" && i + 1 < args.len() {
            listen = args[i + 1].clone();
            i += 2;
        } else if let Some(v) = args[i].strip_prefix("--listen=") {
            listen = v.to_string();
            i += 1;
        } else {
            eprintln!("usage: {} [--listen HOST:PORT]   (default 127.0.0.1:0)", name);
            std::process::exit(2);
        }
    }
    listen
}

/// Binds `listen`, prints the bound address as the first line of stdout,
/// and serves: `serve` is spawned for every accepted connection until
/// SIGTERM or SIGINT, when the process exits with status 0 (as the Go
/// servers do). Accept errors (out of descriptors) back off 5 ms.
pub fn serve_until_signal<F, Fut>(name: &str, serve: F)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use std::io::Write;
    use tokio::signal::unix::{signal, SignalKind};
    let listen = listen_flag(name);
    let name = name.to_string();
    runtime().block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{}: listen {}: {}", name, listen, e);
                std::process::exit(1);
            }
        };
        println!("{}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        let mut term = signal(SignalKind::terminate()).unwrap();
        let mut int = signal(SignalKind::interrupt()).unwrap();
        loop {
            tokio::select! {
                _ = term.recv() => std::process::exit(0),
                _ = int.recv() => std::process::exit(0),
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(serve(stream));
                    }
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
                },
            }
        }
    });
}
