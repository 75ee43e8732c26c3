//! ring: 1000 tasks in a ring of channels of capacity 1 (Go's unbuffered
//! channels); a token counting down from n is passed n hops. Prints ns per
//! hop. Go counterpart: bench/go/ring/main.go.
//!
//! Go's main goroutine closes ring[0] at the end and the closes cascade round
//! the ring. An mpsc channel closes when its last sender is dropped, and the
//! last task holds a sender of ring[0], so the ring here is stopped by a
//! message instead: None, which every task passes on before it returns.
//!
//! Usage: ring [n]   (default 1,000,000)
use std::time::Instant;
use tokio::sync::mpsc;

const TASKS: usize = 1000;

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    tokio_bench::runtime().block_on(async move {
        let mut senders = Vec::with_capacity(TASKS);
        let mut receivers = Vec::with_capacity(TASKS);
        for _ in 0..TASKS {
            let (tx, rx) = mpsc::channel::<Option<u64>>(1);
            senders.push(Some(tx));
            receivers.push(rx);
        }
        let (done_tx, mut done_rx) = mpsc::channel::<usize>(1);
        let first = senders[0].clone().unwrap();
        let mut tasks = Vec::with_capacity(TASKS);
        for (i, mut input) in receivers.into_iter().enumerate() {
            let out = senders[(i + 1) % TASKS].take().unwrap();
            let done = done_tx.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Some(t)) = input.recv().await {
                    if t == 0 {
                        done.send(i).await.unwrap();
                    } else {
                        out.send(Some(t - 1)).await.unwrap();
                    }
                }
                // Stop: pass it on (task 0, the last one's next, has gone by then).
                let _ = out.send(None).await;
            }));
        }
        let start = Instant::now();
        first.send(Some(n)).await.unwrap();
        let last = done_rx.recv().await.unwrap();
        let ns = tokio_bench::ns_since(start);
        first.send(None).await.unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        if last as u64 != n % TASKS as u64 {
            eprintln!("ring: the token ran out at task {}, want {}", last, n % TASKS as u64);
            std::process::exit(1);
        }
        println!("ring {:.1} ns/hop", ns / n as f64);
    });
}
