// handoff: how long the goroutines queued behind one that blocks its thread
// wait. With GOMAXPROCS=1, a goroutine takes a timestamp and blocks in a raw
// syscall.Read on a pipe; the goroutine queued behind it, once sysmon has
// handed the P to another thread, takes a second timestamp and writes the
// byte that releases the reader. Prints the median of n hand-offs.
// goro counterpart: bench/goro/handoff.cpp.
//
// Usage: handoff [n]   (default n = 200)
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	n := 200
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	runtime.GOMAXPROCS(1)
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		panic(err)
	}
	waits := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		var blockedAt int64
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			buf := make([]byte, 1)
			atomic.StoreInt64(&blockedAt, time.Now().UnixNano())
			if _, err := syscall.Read(fds[0], buf); err != nil {
				panic(err)
			}
			wg.Done()
		}()
		go func() {
			for atomic.LoadInt64(&blockedAt) == 0 {
				runtime.Gosched() // let the reader block first
			}
			now := time.Now().UnixNano()
			waits = append(waits, float64(now-atomic.LoadInt64(&blockedAt))/1e3)
			if _, err := syscall.Write(fds[1], []byte("x")); err != nil {
				panic(err)
			}
			wg.Done()
		}()
		wg.Wait()
	}
	sort.Float64s(waits)
	fmt.Printf("handoff %.1f us\n", waits[len(waits)/2])
}
