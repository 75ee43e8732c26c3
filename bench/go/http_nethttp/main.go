// http_nethttp: the http workloads' "Hello, World!" (13-byte body, HTTP/1.1
// keep-alive) served by Go's net/http, which is what a Go programmer would
// write: a ServeMux with one route and a Server with a read-header and an
// idle timeout. net/http adds a Date header and runs its full request
// parsing; the bare goroutine-per-connection version is bench/go/http_raw.
// goro counterparts: examples/http_hello.cpp (goro::http, the same shape) and
// examples/http_raw.cpp (by hand).
//
// Usage: http_nethttp [--listen HOST:PORT]   (default 127.0.0.1:0)
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
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

var hello = []byte("Hello, World!")

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on, HOST:PORT (port 0: any free port)")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "http_nethttp: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}

	// Go's default for SIGTERM is to die by the signal; the benchmark script
	// checks for a clean exit, so close the server, which makes Serve return.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		srv.Close()
	}()

	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "http_nethttp: %v\n", err)
		os.Exit(1)
	}
}
