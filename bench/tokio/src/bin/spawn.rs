//! spawn: start n tasks that return at once (each only calls wg.done()) and
//! wait for all of them; prints the wall time per task.
//! Go counterpart: bench/go/spawn/main.go; goro's: bench/goro/spawn.cpp.
//!
//! Waiting is tokio_bench::WaitGroup (an Arc'd atomic count and a Notify),
//! as Go's sync.WaitGroup; the spawning runs in a task, on a worker, as Go's
//! main goroutine does.
//!
//! Usage: spawn [n]   (default n = 1,000,000; BENCH_WORKERS sets the workers)
use std::time::Instant;
use tokio_bench::WaitGroup;

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    tokio_bench::run(async move {
        let start = Instant::now();
        let wg = WaitGroup::new(n);
        for _ in 0..n {
            let wg = wg.clone();
            tokio::spawn(async move { wg.done() });
        }
        wg.wait().await;
        let ns = tokio_bench::ns_since(start);
        println!("spawn {:.1} ns/task", ns / n as f64);
    });
}
