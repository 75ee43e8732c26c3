//! pingpong: two tasks and two channels of capacity 1 (Go's unbuffered
//! channel, as bench/README.md maps it); the pinger sends i on ping, the
//! ponger receives it and sends it back on pong, n round trips. Verifies
//! every value comes back; prints the wall time per round trip.
//! Go counterpart: bench/go/pingpong/main.go; goro's: bench/goro/pingpong.cpp.
//!
//! The two tasks are joined by awaiting their JoinHandles, Go's wait group
//! for two.
//!
//! Usage: pingpong [n]   (default n = 1,000,000; BENCH_WORKERS sets the workers)
use std::time::Instant;
use tokio::sync::mpsc;

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    tokio_bench::run(async move {
        let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
        let start = Instant::now();
        let pinger = tokio::spawn(async move {
            let mut wrong = 0u64;
            for i in 0..n {
                ping_tx.send(i).await.expect("the ponger is alive");
                if pong_rx.recv().await != Some(i) {
                    wrong += 1;
                }
            }
            wrong
        });
        let ponger = tokio::spawn(async move {
            for _ in 0..n {
                let v = ping_rx.recv().await.expect("the pinger is alive");
                pong_tx.send(v).await.expect("the pinger is alive");
            }
        });
        let wrong = pinger.await.expect("the pinger panicked");
        ponger.await.expect("the ponger panicked");
        let ns = tokio_bench::ns_since(start);

        if wrong != 0 {
            eprintln!("pingpong: {} of {} values came back wrong", wrong, n);
            std::process::exit(1);
        }
        println!("pingpong {:.1} ns/roundtrip", ns / n as f64);
    });
}
