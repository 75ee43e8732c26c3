// select: 4 producers each send their share of 0 .. n-1 (producer p sends
// p*n/4 .. (p+1)*n/4 - 1) on their own unbuffered channel; one consumer
// receives all n values with a 4-case select. Verifies the sum and how many
// values came through each case; prints the wall time per select.
// goro counterpart: bench/goro/select.cpp (goro::select).
//
// Usage: select [n]   (default n = 4,000,000; GOMAXPROCS sets the workers)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

const producers = 4

func main() {
	n := 4000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}

	var cs [producers]chan int
	for p := range cs {
		cs[p] = make(chan int)
	}
	var sum int
	var counts [producers]int
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(producers + 1)
	for p := 0; p < producers; p++ {
		go func(p int) {
			lo, hi := n*p/producers, n*(p+1)/producers
			for i := lo; i < hi; i++ {
				cs[p] <- i
			}
			wg.Done()
		}(p)
	}
	go func() {
		var v, k int
		for i := 0; i < n; i++ {
			select {
			case v = <-cs[0]:
				k = 0
			case v = <-cs[1]:
				k = 1
			case v = <-cs[2]:
				k = 2
			case v = <-cs[3]:
				k = 3
			}
			sum += v
			counts[k]++
		}
		wg.Done()
	}()
	wg.Wait()
	elapsed := time.Since(start)

	want := n * (n - 1) / 2
	ok := sum == want
	for p := 0; p < producers; p++ {
		ok = ok && counts[p] == n*(p+1)/producers-n*p/producers
	}
	if !ok {
		fmt.Fprintf(os.Stderr, "select: received %d+%d+%d+%d values summing to %d, want %d summing to %d\n",
			counts[0], counts[1], counts[2], counts[3], sum, n, want)
		os.Exit(1)
	}
	fmt.Printf("select %.1f ns/op\n", float64(elapsed.Nanoseconds())/float64(n))
}
