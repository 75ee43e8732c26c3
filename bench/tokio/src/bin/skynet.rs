//! skynet: a 10-ary tree of tasks down to n leaves. Each leaf sends its
//! ordinal to its parent's channel of capacity 1 (Go's unbuffered channel,
//! as bench/README.md maps it); each parent receives its 10 children's values
//! from that one channel and sends their sum up. Verifies the root's sum is
//! n(n-1)/2 (499,999,500,000 for n = 1,000,000) and prints the wall time of
//! the whole tree (spawns included).
//! Go counterpart: bench/go/skynet/main.go; goro's: bench/goro/skynet.cpp.
//!
//! A recursive async function needs its future boxed (Rust cannot size a
//! type that contains itself), so every node's future is a Box inside its
//! task: two allocations a task, where Go and goro have one.
//!
//! A channel of capacity 1 is not a rendezvous: the first child to send
//! leaves its value in the slot and finishes at once, where Go's would wait
//! for its parent to receive. Fewer tasks are alive at a time than in Go's
//! or goro's tree, which helps Tokio's figure here.
//!
//! Usage: skynet [n]   (n a power of 10, default n = 1,000,000; BENCH_WORKERS sets the workers)
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;
use tokio::sync::mpsc;

const FANOUT: u64 = 10;

/// Sends the sum of the leaf ordinals num .. num+size-1 on `parent`.
fn skynet(
    parent: mpsc::Sender<u64>,
    num: u64,
    size: u64,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if size == 1 {
            parent.send(num).await.expect("the parent is alive");
            return;
        }
        let (children_tx, mut children) = mpsc::channel(1);
        let child_size = size / FANOUT;
        for i in 0..FANOUT {
            tokio::spawn(skynet(
                children_tx.clone(),
                num + i * child_size,
                child_size,
            ));
        }
        drop(children_tx);
        let mut sum = 0;
        for _ in 0..FANOUT {
            sum += children.recv().await.expect("the children are alive");
        }
        parent.send(sum).await.expect("the parent is alive");
    })
}

fn main() {
    let n = tokio_bench::arg_n(1_000_000);
    let mut leaves = 1;
    while leaves < n {
        leaves *= FANOUT;
    }
    if n < 1 || leaves != n {
        eprintln!("skynet: n must be a power of 10, not {}", n);
        std::process::exit(2);
    }
    tokio_bench::run(async move {
        let (root_tx, mut root) = mpsc::channel(1);
        let start = Instant::now();
        tokio::spawn(skynet(root_tx, 0, n));
        let sum = root.recv().await.expect("the tree is alive");
        let ns = tokio_bench::ns_since(start);

        if sum != n * (n - 1) / 2 {
            eprintln!("skynet: sum is {}, want {}", sum, n * (n - 1) / 2);
            std::process::exit(1);
        }
        println!("skynet {:.1} ms", ns / 1e6);
    });
}
