//! memory: n tasks each parked on a receive from one shared release signal;
//! prints the resident-set growth per task and, on a second line, the
//! page-table growth per task, from /proc/self/status: the baseline before
//! spawning, the reading once every task has signalled it is about to park,
//! plus a 100 ms settle. Then the signal is given and every task joined.
//!
//! Go's tasks receive from one shared channel, which Tokio's single-consumer
//! mpsc cannot be; the Tokio idiom for "many wait for one event" is a watch
//! channel, each task awaiting changed() on its own receiver. The per-task
//! figure therefore includes a receiver (a reference count and a version)
//! beside the task and its future, as Go's includes its sudog.
//! Go counterpart: bench/go/memory/main.go; goro's: bench/goro/memory.cpp.
//!
//! Usage: memory [n]   (default 100,000)
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

fn main() {
    let n = tokio_bench::arg_n(100_000);
    tokio_bench::runtime().block_on(async move {
        tokio::spawn(async move {
            let rss_before = tokio_bench::status_bytes("VmRSS");
            let pte_before = tokio_bench::status_bytes("VmPTE");
            let (release_tx, release_rx) = watch::channel(false);
            let ready = Arc::new(AtomicU64::new(0));
            let all_ready = Arc::new(Notify::new());
            let mut handles = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let mut release = release_rx.clone();
                let ready = ready.clone();
                let all_ready = all_ready.clone();
                handles.push(tokio::spawn(async move {
                    if ready.fetch_add(1, Ordering::AcqRel) + 1 == n {
                        all_ready.notify_one();
                    }
                    let _ = release.changed().await;
                }));
            }
            all_ready.notified().await;
            tokio::time::sleep(Duration::from_millis(100)).await; // let the last ones park
            let rss_after = tokio_bench::status_bytes("VmRSS");
            let pte_after = tokio_bench::status_bytes("VmPTE");
            // The handles vector (8 bytes a task) is the counterpart of Go's wait group; it is counted.
            println!("memory {:.1} bytes/task", (rss_after - rss_before) as f64 / n as f64);
            println!("memory_pte {:.1} bytes/task", (pte_after - pte_before) as f64 / n as f64);
            release_tx.send(true).unwrap();
            for h in handles {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
}
