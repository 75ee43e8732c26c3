// skynet: a 10-ary tree of goroutines down to n leaves. Each leaf sends its
// ordinal to its parent's unbuffered channel; each parent receives its 10
// children's values from that one channel and sends their sum up. Verifies
// the root's sum is n(n-1)/2 (499,999,500,000 for n = 1,000,000) and prints
// the wall time of the whole tree (spawns included).
// goro counterpart: bench/goro/skynet.cpp.
//
// Usage: skynet [n]   (n a power of 10, default n = 1,000,000; GOMAXPROCS sets the workers)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

const fanout = 10

// skynet sends the sum of the leaf ordinals num .. num+size-1 on parent.
func skynet(parent chan int, num, size int) {
	if size == 1 {
		parent <- num
		return
	}
	children := make(chan int)
	childSize := size / fanout
	for i := 0; i < fanout; i++ {
		go skynet(children, num+i*childSize, childSize)
	}
	sum := 0
	for i := 0; i < fanout; i++ {
		sum += <-children
	}
	parent <- sum
}

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	leaves := 1
	for leaves < n {
		leaves *= fanout
	}
	if n < 1 || leaves != n {
		fmt.Fprintf(os.Stderr, "skynet: n must be a power of 10, not %d\n", n)
		os.Exit(2)
	}

	root := make(chan int)
	start := time.Now()
	go skynet(root, 0, n)
	sum := <-root
	elapsed := time.Since(start)

	if sum != n*(n-1)/2 {
		fmt.Fprintf(os.Stderr, "skynet: sum is %d, want %d\n", sum, n*(n-1)/2)
		os.Exit(1)
	}
	fmt.Printf("skynet %.1f ms\n", float64(elapsed.Nanoseconds())/1e6)
}
