// spawn: start n goroutines that return at once (each only calls wg.Done)
// and wait for all of them; prints the wall time per goroutine.
// goro counterpart: bench/goro/spawn.cpp (goro::go + goro::wait_group).
//
// Usage: spawn [n]   (default n = 1,000,000; GOMAXPROCS sets the workers)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}

	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Printf("spawn %.1f ns/task\n", float64(elapsed.Nanoseconds())/float64(n))
}
