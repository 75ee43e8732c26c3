//! What the Tokio versions of the bench workloads share: the runtime set-up,
//! the size argument, a wait group, timing, /proc readings and the servers'
//! accept loop.
//!
//! The runtime is Tokio's multi-threaded work-stealing scheduler with
//! BENCH_WORKERS worker threads (default 2), built explicitly so that the
//! count is the one every other runtime in the comparison gets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// BENCH_WORKERS, default 2.
pub fn workers() -> usize {
    std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// A multi-threaded runtime with `workers()` workers, timers and I/O enabled.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .expect("building the Tokio runtime")
}

/// Builds the runtime and runs `main` in it as a task, on a worker as Go's
/// main goroutine runs on a P (not on the thread that called block_on, which
/// is no worker), until it returns. The workloads' timing is inside `main`.
pub fn run<F>(main: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    runtime().block_on(async move { tokio::spawn(main).await.expect("the main task panicked") });
}

/// The first argument as a number, or `default`.
pub fn arg_n(default: u64) -> u64 {
    match std::env::args().nth(1) {
        None => default,
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!(
                "usage: {} [n]  (n a whole number, not {:?})",
                std::env::args().next().unwrap_or_default(),
                s
            );
            std::process::exit(2)
        }),
    }
}

/// Nanoseconds since `start`, as a float.
pub fn ns_since(start: Instant) -> f64 {
    start.elapsed().as_nanos() as f64
}

/// Go's sync.WaitGroup for tasks: a shared count of the tasks still to
/// finish, and a Notify that the last of them wakes. One waiter only.
///
/// This, not a JoinHandle per task, is what the workloads that wait for
/// many tasks use (spawn, timers, memory): it is what the Go programs do, it
/// stores nothing per task, and it is the faster of the two (awaiting n
/// JoinHandles costs about twice as much per task in spawn).
#[derive(Clone)]
pub struct WaitGroup(Arc<WaitGroupState>);

struct WaitGroupState {
    left: AtomicUsize,
    zero: Notify,
}

impl WaitGroup {
    /// A wait group expecting `n` calls of `done`.
    pub fn new(n: u64) -> WaitGroup {
        WaitGroup(Arc::new(WaitGroupState {
            left: AtomicUsize::new(n as usize),
            zero: Notify::new(),
        }))
    }

    /// One task has finished; the last one wakes the waiter.
    pub fn done(&self) {
        if self.0.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Stores a permit if the waiter has not started waiting yet.
            self.0.zero.notify_one();
        }
    }

    /// Waits until every task has called `done`.
    pub async fn wait(&self) {
        if self.0.left.load(Ordering::Acquire) != 0 {
            self.0.zero.notified().await;
        }
    }
}

/// The field `key` ("VmRSS", "VmPTE") of /proc/self/status, in bytes.
pub fn status_bytes(key: &str) -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    for line in status.lines() {
        // "VmRSS:	    1234 kB"
        if let Some(rest) = line.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            let kb: i64 = rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .expect("a number of kB");
            return kb * 1024;
        }
    }
    eprintln!("memory: no {} in /proc/self/status", key);
    std::process::exit(1)
}

/// `--listen HOST:PORT` (or `-listen`, or either with `=`; default
/// 127.0.0.1:0), the flag every server of the comparison takes, spelt as Go's
/// flag package accepts it.
pub fn listen_flag(name: &str) -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut listen = "127.0.0.1:0".to_string();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if (a == "--listen" || a == "-listen") && i + 1 < args.len() {
            listen = args[i + 1].clone();
            i += 2;
        } else if let Some(v) = a
            .strip_prefix("--listen=")
            .or_else(|| a.strip_prefix("-listen="))
        {
            listen = v.to_string();
            i += 1;
        } else {
            eprintln!(
                "usage: {} [--listen HOST:PORT]   (default 127.0.0.1:0)",
                name
            );
            std::process::exit(2);
        }
    }
    listen
}

/// Binds `listen`, prints the bound address as the first line of stdout,
/// and serves: `serve` is spawned for every accepted connection (TCP_NODELAY
/// set, as Go sets it) until SIGTERM or SIGINT, when the process exits with
/// status 0, as the Go servers do. Accept errors (out of descriptors, say)
/// back off 5 ms and retry, as Go's do.
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
        // The handlers go in before the address is printed: whoever reads
        // the address may send SIGTERM at once.
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        let mut out = std::io::stdout();
        writeln!(out, "{}", listener.local_addr().expect("the bound address"))
            .and_then(|()| out.flush())
            .expect("writing the address on stdout");
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
