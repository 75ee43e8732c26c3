// buffered: one producer sends 0 .. n-1 on a channel of capacity 1024 and
// closes it; one consumer ranges over it. Verifies the count and the sum;
// prints the wall time per item.
// goro counterpart: bench/goro/buffered.cpp.
//
// Usage: buffered [n]   (default n = 10,000,000; GOMAXPROCS sets the workers)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := 10000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}

	c := make(chan int, 1024)
	count, sum := 0, 0
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(2)
	go func() {
		for i := 0; i < n; i++ {
			c <- i
		}
		close(c)
		wg.Done()
	}()
	go func() {
		for v := range c {
			count++
			sum += v
		}
		wg.Done()
	}()
	wg.Wait()
	elapsed := time.Since(start)

	want := n * (n - 1) / 2
	if count != n || sum != want {
		fmt.Fprintf(os.Stderr, "buffered: received %d items summing to %d, want %d summing to %d\n",
			count, sum, n, want)
		os.Exit(1)
	}
	fmt.Printf("buffered %.1f ns/item\n", float64(elapsed.Nanoseconds())/float64(n))
}
