// echo_server: a TCP echo server, one goroutine per connection, each reading
// into its own buffer and writing back what it read. Go's side of the echo
// workload; the load comes from bench/go/echo_load in a separate process.
// goro counterpart: examples/echo_server.cpp.
//
// Usage: echo_server [--listen HOST:PORT]   (default 127.0.0.1:0)
//
// Prints the bound address (HOST:PORT) as the first line of stdout, so a
// caller that asked for port 0 learns the port. Exits with status 0 on
// SIGTERM or SIGINT. GOMAXPROCS sets the worker threads.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func serve(c net.Conn) {
	defer c.Close()
	// A plain read/write loop, not io.Copy: io.Copy between two TCP
	// connections may splice(2) through a pipe, which the goro server does
	// not do, and the point is to compare the two runtimes' netpollers.
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or reset: the client is gone
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on, HOST:PORT (port 0: any free port)")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo_server: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())

	// Go's default for SIGTERM is to die by the signal; the benchmark script
	// checks for a clean exit, so turn it into one.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		ln.Close()
		os.Exit(0)
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				select {} // the signal handler closed it and is exiting
			}
			// Out of file descriptors and the like: back off and retry,
			// as net/http does.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go serve(c)
	}
}
