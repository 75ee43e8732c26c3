//! timers: n tasks each sleep 1 ms (tokio::time::sleep); wait for all;
//! prints the wall time per task (spawn + timer + wake-up, amortised).
//! Go counterpart: bench/go/timers/main.go; goro's: bench/goro/timers.cpp.
//!
//! Tokio's timer wheel counts whole milliseconds and rounds a deadline up to
//! the next one, so a 1 ms sleep lasts 1 to 2 ms. Waiting is
//! tokio_bench::WaitGroup, as Go's sync.WaitGroup.
//!
//! Usage: timers [n]   (default n = 100,000; BENCH_WORKERS sets the workers)
use std::time::{Duration, Instant};
use tokio_bench::WaitGroup;

fn main() {
    let n = tokio_bench::arg_n(100_000);
    tokio_bench::run(async move {
        let start = Instant::now();
        let wg = WaitGroup::new(n);
        for _ in 0..n {
            let wg = wg.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                wg.done();
            });
        }
        wg.wait().await;
        let ns = tokio_bench::ns_since(start);
        println!("timers {:.1} ns/task", ns / n as f64);
    });
}
