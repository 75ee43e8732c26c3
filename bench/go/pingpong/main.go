// pingpong: two goroutines and two unbuffered channels; the pinger sends i on
// ping, the ponger receives it and sends it back on pong, n round trips.
// Verifies every value comes back; prints the wall time per round trip.
// goro counterpart: bench/goro/pingpong.cpp.
//
// Usage: pingpong [n]   (default n = 1,000,000; GOMAXPROCS sets the workers)
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

	ping := make(chan int)
	pong := make(chan int)
	wrong := 0
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(2)
	go func() {
		for i := 0; i < n; i++ {
			ping <- i
			if <-pong != i {
				wrong++
			}
		}
		wg.Done()
	}()
	go func() {
		for i := 0; i < n; i++ {
			pong <- <-ping
		}
		wg.Done()
	}()
	wg.Wait()
	elapsed := time.Since(start)

	if wrong != 0 {
		fmt.Fprintf(os.Stderr, "pingpong: %d of %d values came back wrong\n", wrong, n)
		os.Exit(1)
	}
	fmt.Printf("pingpong %.1f ns/roundtrip\n", float64(elapsed.Nanoseconds())/float64(n))
}
