// yield: two goroutines each call runtime.Gosched() n times; prints the wall
// time per switch, total / 2n.
// goro counterpart: bench/goro/yield.cpp (goro::yield).
//
// Usage: yield [n]   (default n = 1,000,000; GOMAXPROCS sets the workers)
package main

import (
	"fmt"
	"os"
	"runtime"
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
	wg.Add(2)
	for t := 0; t < 2; t++ {
		go func() {
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Printf("yield %.1f ns/switch\n", float64(elapsed.Nanoseconds())/float64(2*n))
}
