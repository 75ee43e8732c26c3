// ring: 1000 goroutines in a ring of unbuffered channels, goroutine i
// receiving on ring[i] and sending on ring[(i+1)%1000]. The main goroutine
// injects a token holding n into ring[0]; each goroutine that receives t > 0
// passes t-1 on, so the token makes n hops, and the goroutine that receives 0
// reports its index on done (it must be n % 1000). Only the passing is timed;
// the goroutines are started before and shut down after (closing the
// channels round the ring). Prints the wall time per hop.
// goro counterpart: bench/goro/ring.cpp.
//
// Usage: ring [n]   (default n = 1,000,000; GOMAXPROCS sets the workers)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

const tasks = 1000

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}

	ring := make([]chan int, tasks)
	for i := range ring {
		ring[i] = make(chan int)
	}
	done := make(chan int)
	var wg sync.WaitGroup
	wg.Add(tasks)
	for i := 0; i < tasks; i++ {
		go func(i int) {
			in, out := ring[i], ring[(i+1)%tasks]
			for t := range in {
				if t == 0 {
					done <- i
				} else {
					out <- t - 1
				}
			}
			if i+1 < tasks {
				close(out) // the main goroutine closes ring[0]
			}
			wg.Done()
		}(i)
	}
	start := time.Now()
	ring[0] <- n
	last := <-done
	elapsed := time.Since(start)
	close(ring[0])
	wg.Wait()

	if last != n%tasks {
		fmt.Fprintf(os.Stderr, "ring: the token ran out at goroutine %d, want %d\n", last, n%tasks)
		os.Exit(1)
	}
	fmt.Printf("ring %.1f ns/hop\n", float64(elapsed.Nanoseconds())/float64(n))
}
