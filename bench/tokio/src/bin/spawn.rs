//! spawn: n tasks that return at once; wait for all. Prints ns per task.
//! Go counterpart: bench/go/spawn/main.go. Waiting for all is awaiting
//! every JoinHandle, the Tokio idiom for "join them all".
//!
//! Usage: spawn [n]   (default 1,000,000; BENCH_WORKERS sets the workers)
use std::time::Instant;

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    tokio_bench::runtime().block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            let mut handles = Vec::with_capacity(n as usize);
            for _ in 0..n {
                handles.push(tokio::spawn(async {}));
            }
            for h in handles {
                h.await.expect("a task panicked");
            }
            println!("spawn {:.1} ns/task", tokio_bench::ns_since(start) / n as f64);
        })
        .await
        .unwrap();
    });
}
