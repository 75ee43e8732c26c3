//! ring: 1000 tasks in a ring of channels of capacity 1 (Go's unbuffered
//! channel, as bench/README.md maps it), task i receiving on ring[i] and
//! sending on ring[(i+1)%1000]. The main task injects a token holding n into
//! ring[0]; each task that receives t > 0 passes t-1 on, so the token makes
//! n hops, and the task that receives 0 reports its index on done (it must
//! be n % 1000). Only the passing is timed; the tasks are started before and
//! shut down after. Prints the wall time per hop.
//! Go counterpart: bench/go/ring/main.go; goro's: bench/goro/ring.cpp.
//!
//! Go's main goroutine closes ring[0] at the end and the closes cascade round
//! the ring. An mpsc channel closes when its last sender is dropped, and the
//! last task holds a sender of ring[0], so the ring here is stopped by a
//! message instead: None, which every task passes on before it returns. The
//! tasks are joined by awaiting their JoinHandles.
//!
//! Usage: ring [n]   (default n = 1,000,000; BENCH_WORKERS sets the workers)
use std::time::Instant;
use tokio::sync::mpsc;

const TASKS: usize = 1000;

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    tokio_bench::run(async move {
        let (mut senders, mut receivers) = (Vec::new(), Vec::new());
        for _ in 0..TASKS {
            let (tx, rx) = mpsc::channel::<Option<u64>>(1);
            senders.push(tx);
            receivers.push(rx);
        }
        let (done_tx, mut done_rx) = mpsc::channel::<usize>(1);
        let first = senders[0].clone();
        senders.rotate_left(1); // task i sends on ring[(i + 1) % TASKS]
        let mut tasks = Vec::with_capacity(TASKS);
        for (i, (mut input, out)) in receivers.into_iter().zip(senders).enumerate() {
            let done = done_tx.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Some(t)) = input.recv().await {
                    if t == 0 {
                        done.send(i).await.expect("the main task is alive");
                    } else {
                        out.send(Some(t - 1)).await.expect("the next task is alive");
                    }
                }
                // Stopping: pass it on. Task 0, the last one's next, has
                // returned by then, so that send fails, as it may.
                let _ = out.send(None).await;
            }));
        }

        let start = Instant::now();
        first.send(Some(n)).await.expect("task 0 is alive");
        let last = done_rx.recv().await.expect("the ring is alive");
        let ns = tokio_bench::ns_since(start);
        first.send(None).await.expect("task 0 is alive");
        for t in tasks {
            t.await.expect("a ring task panicked");
        }

        let want = (n % TASKS as u64) as usize;
        if last != want {
            eprintln!("ring: the token ran out at task {}, want {}", last, want);
            std::process::exit(1);
        }
        println!("ring {:.1} ns/hop", ns / n as f64);
    });
}
