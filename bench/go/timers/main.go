// timers: n goroutines each sleep 1 ms; wait for all; prints the wall time
// per goroutine (spawn + timer + wake-up, amortised).
// goro counterpart: bench/goro/timers.cpp (goro::sleep_for).
//
// Usage: timers [n]   (default n = 100,000; GOMAXPROCS sets the workers)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := 100000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}

	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			time.Sleep(time.Millisecond)
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Printf("timers %.1f ns/task\n", float64(elapsed.Nanoseconds())/float64(n))
}
