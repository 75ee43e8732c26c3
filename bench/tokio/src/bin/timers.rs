//! timers: n tasks each sleep 1 ms (tokio::time::sleep); wait for all.
//! Prints ns per task. Go counterpart: bench/go/timers/main.go.
//!
//! Usage: timers [n]   (default 100,000)
use std::time::{Duration, Instant};

fn main() {
    let n = tokio_bench::arg_n(100_000);
    tokio_bench::runtime().block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            let handles: Vec<_> = (0..n)
                .map(|_| tokio::spawn(async { tokio::time::sleep(Duration::from_millis(1)).await }))
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            println!("timers {:.1} ns/task", tokio_bench::ns_since(start) / n as f64);
        })
        .await
        .unwrap();
    });
}
