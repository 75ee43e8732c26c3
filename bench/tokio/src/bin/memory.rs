//! memory: n tasks each parked on a receive of one shared release signal;
//! prints the growth of the resident set (VmRSS) per task, and on a second
//! line the growth of the page tables (VmPTE) per task. Both are read from
//! /proc/self/status: the baseline before spawning (the runtime and its
//! workers already running), the second reading once every task has
//! signalled it is about to park, plus a 100 ms settle. Then the signal is
//! given and every task is joined.
//! Go counterpart: bench/go/memory/main.go; goro's: bench/goro/memory.cpp.
//!
//! Go's goroutines receive from one shared channel, which Tokio's
//! single-consumer mpsc cannot be. The Tokio idiom for "many wait for one
//! event" is a watch channel: each task owns a clone of the receiver (an Arc
//! and a version number) and awaits changed(), whose future queues a waiter
//! node inside the task. So the figure is a task's heap allocation (header,
//! scheduler hooks and the future's state, rounded up by malloc) and nothing
//! else per task: "ready" and "finished" are tokio_bench::WaitGroup, as Go's
//! sync.WaitGroup, not a JoinHandle kept per task.
//!
//! Usage: memory [n]   (run with n = 100,000 and 1,000,000; default 100,000)
use std::time::Duration;
use tokio::sync::watch;
use tokio_bench::WaitGroup;

fn main() {
    let n = tokio_bench::arg_n(100_000);
    tokio_bench::run(async move {
        let rss_before = tokio_bench::status_bytes("VmRSS");
        let pte_before = tokio_bench::status_bytes("VmPTE");

        let (release_tx, release_rx) = watch::channel(());
        let ready = WaitGroup::new(n);
        let finished = WaitGroup::new(n);
        for _ in 0..n {
            let mut release = release_rx.clone();
            let ready = ready.clone();
            let finished = finished.clone();
            tokio::spawn(async move {
                ready.done();
                // Err only if the sender is gone, which it is not.
                let _ = release.changed().await;
                finished.done();
            });
        }
        ready.wait().await;
        tokio::time::sleep(Duration::from_millis(100)).await; // let the last ones park
        let rss_after = tokio_bench::status_bytes("VmRSS");
        let pte_after = tokio_bench::status_bytes("VmPTE");

        let per_task = |before: i64, after: i64| (after - before) as f64 / n as f64;
        println!("memory {:.1} bytes/task", per_task(rss_before, rss_after));
        println!(
            "memory_pte {:.1} bytes/task",
            per_task(pte_before, pte_after)
        );

        release_tx.send(()).expect("the receivers are alive");
        finished.wait().await;
    });
}
