// echo_load: the load generator of the echo workload. It opens c TCP
// connections to an echo server, then each connection's goroutine does
// round trips for d seconds: write one message (64 bytes by default), read
// the same number of bytes back, check they are the bytes it sent (every
// message carries its connection id and sequence number, so stale or mixed-up
// data is caught). Round trips that end after the d seconds are not counted.
// Prints the completed round trips per second, then the median and 99th
// percentile of the round-trip time:
//
//	echo 51234.5 req/s
//	echo_latency p50 1.912 ms p99 3.507 ms
//
// Exits with status 1 (and a message on stderr) if a connection fails or
// an echo comes back wrong.
//
// It runs as its own process, one per server run, and on the benchmark
// machine it shares the 2 cores with the server it loads, as wrk does in the
// http workload: GOMAXPROCS is left at its default (all cores), so the client
// competes with the server the same way whichever server it loads.
//
// Usage: echo_load -addr HOST:PORT [-c 100] [-d 10] [-s 64]
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

// seconds is a flag value that takes a plain number of seconds ("10", "2.5")
// or a Go duration ("10s", "500ms"), as wrk's -d does.
type seconds struct{ d time.Duration }

func (s *seconds) String() string { return s.d.String() }
func (s *seconds) Set(v string) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		s.d = time.Duration(f * float64(time.Second))
	} else if s.d, err = time.ParseDuration(v); err != nil {
		return err
	}
	if s.d <= 0 {
		return fmt.Errorf("duration must be positive")
	}
	return nil
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "echo_load: "+format+"\n", args...)
	os.Exit(1)
}

// percentile returns the p-th percentile (nearest rank) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	return sorted[rank]
}

func main() {
	addr := flag.String("addr", "", "echo server address, HOST:PORT (required)")
	conns := flag.Int("c", 100, "connections, one goroutine each")
	size := flag.Int("s", 64, "message size in bytes (at least 16)")
	dur := seconds{10 * time.Second}
	flag.Var(&dur, "d", "how long to run: seconds, or a Go duration such as 500ms")
	flag.Parse()
	if *addr == "" || *conns < 1 || *size < 16 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	// Connect everything before the clock starts, so connection set-up is
	// not part of the measurement.
	cs := make([]net.Conn, *conns)
	for i := range cs {
		c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
		if err != nil {
			fail("connection %d: %v", i, err)
		}
		cs[i] = c // Go sets TCP_NODELAY on TCP connections by default
	}

	start := make(chan struct{})
	lats := make([][]time.Duration, *conns) // per connection, no sharing while running
	var wg sync.WaitGroup
	var deadline time.Time
	wg.Add(*conns)
	for i, c := range cs {
		go func(id int, c net.Conn) {
			defer wg.Done()
			msg := make([]byte, *size)
			reply := make([]byte, *size)
			for k := 16; k < len(msg); k++ {
				msg[k] = byte(id + k)
			}
			lat := make([]time.Duration, 0, 1<<14)
			<-start
			// A server that stops answering must not hang the benchmark.
			c.SetDeadline(deadline.Add(10 * time.Second))
			for seq := uint64(0); ; seq++ {
				binary.LittleEndian.PutUint64(msg[0:], uint64(id))
				binary.LittleEndian.PutUint64(msg[8:], seq)
				t0 := time.Now()
				if _, err := c.Write(msg); err != nil {
					fail("connection %d: write: %v", id, err)
				}
				if _, err := io.ReadFull(c, reply); err != nil {
					fail("connection %d: read: %v", id, err)
				}
				t1 := time.Now()
				if !bytes.Equal(msg, reply) {
					fail("connection %d: round trip %d came back different from what was sent", id, seq)
				}
				if t1.After(deadline) {
					break
				}
				lat = append(lat, t1.Sub(t0))
			}
			lats[id] = lat
		}(i, c)
	}
	deadline = time.Now().Add(dur.d) // written before close(start), so every goroutine sees it
	close(start)
	wg.Wait()
	for _, c := range cs {
		c.Close()
	}

	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	if len(all) == 0 {
		fail("no round trip completed in %v", dur.d)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	fmt.Printf("echo %.1f req/s\n", float64(len(all))/dur.d.Seconds())
	fmt.Printf("echo_latency p50 %.3f ms p99 %.3f ms\n", ms(percentile(all, 50)), ms(percentile(all, 99)))
}
