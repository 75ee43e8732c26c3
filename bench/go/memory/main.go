// memory: n goroutines each parked on a receive from one shared channel;
// prints the growth of the resident set (VmRSS) per goroutine, and on a
// second line the growth of the page tables (VmPTE) per goroutine, which RSS
// does not include. Both are read from /proc/self/status: the baseline after
// a GC has returned free memory to the OS, the second reading once every
// goroutine has signalled it is about to block, plus a 100 ms settle.
// Then the channel is closed and every goroutine is joined.
// goro counterpart: bench/goro/memory.cpp.
//
// Usage: memory [n]   (run with n = 100,000 and 1,000,000; default 100,000)
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// statusBytes returns the field key ("VmRSS", "VmPTE") of /proc/self/status
// in bytes.
func statusBytes(key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, key+":") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				panic(err)
			}
			return kb * 1024
		}
	}
	panic("no " + key + " in /proc/self/status")
}

func main() {
	n := 100000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}

	runtime.GC()
	debug.FreeOSMemory()
	rssBefore, pteBefore := statusBytes("VmRSS"), statusBytes("VmPTE")

	release := make(chan struct{})
	var ready, finished sync.WaitGroup
	ready.Add(n)
	finished.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			ready.Done()
			<-release
			finished.Done()
		}()
	}
	ready.Wait()
	time.Sleep(100 * time.Millisecond) // let the last ones reach the receive
	rssAfter, pteAfter := statusBytes("VmRSS"), statusBytes("VmPTE")

	fmt.Printf("memory %.1f bytes/task\n", float64(rssAfter-rssBefore)/float64(n))
	fmt.Printf("memory_pte %.1f bytes/task\n", float64(pteAfter-pteBefore)/float64(n))

	close(release)
	finished.Wait()
}
