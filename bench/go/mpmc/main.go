// mpmc: 4 producers send 0 .. n-1 between them (producer p sends its share
// p*n/4 .. (p+1)*n/4 - 1) on one channel of capacity 1024; 4 consumers range
// over it. Once the producers are done the main goroutine closes the channel
// and waits for the consumers. Verifies the total count and sum; prints the
// wall time per item.
// goro counterpart: bench/goro/mpmc.cpp.
//
// Usage: mpmc [n]   (default n = 10,000,000; GOMAXPROCS sets the workers)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

const producers, consumers = 4, 4

func main() {
	n := 10000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}

	c := make(chan int, 1024)
	type tally struct{ count, sum int }
	var tallies [consumers]tally
	var produced, consumed sync.WaitGroup
	start := time.Now()
	produced.Add(producers)
	consumed.Add(consumers)
	for p := 0; p < producers; p++ {
		go func(p int) {
			lo, hi := n*p/producers, n*(p+1)/producers
			for i := lo; i < hi; i++ {
				c <- i
			}
			produced.Done()
		}(p)
	}
	for k := 0; k < consumers; k++ {
		go func(k int) {
			count, sum := 0, 0
			for v := range c {
				count++
				sum += v
			}
			tallies[k] = tally{count, sum}
			consumed.Done()
		}(k)
	}
	produced.Wait()
	close(c)
	consumed.Wait()
	elapsed := time.Since(start)

	count, sum := 0, 0
	for _, t := range tallies {
		count += t.count
		sum += t.sum
	}
	want := n * (n - 1) / 2
	if count != n || sum != want {
		fmt.Fprintf(os.Stderr, "mpmc: received %d items summing to %d, want %d summing to %d\n",
			count, sum, n, want)
		os.Exit(1)
	}
	fmt.Printf("mpmc %.1f ns/item\n", float64(elapsed.Nanoseconds())/float64(n))
}
