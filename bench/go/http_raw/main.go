// http_raw: an HTTP/1.1 keep-alive "Hello, World!" server written on net
// directly, one goroutine per connection: a bufio.Reader for the requests, a
// bufio.Writer for the answers. It parses only what it must: the request
// line (for the HTTP version), and the Connection and Content-Length headers.
// Every request gets the same 13-byte body. Pipelined requests are answered
// in one write: the writer is flushed only when the reader holds no further
// request bytes. This is the "goroutine-per-conn raw" figure of the http
// workload; bench/go/http_nethttp is the net/http one.
// goro counterpart: examples/http_raw.cpp.
//
// Usage: http_raw [--listen HOST:PORT]   (default 127.0.0.1:0)
//
// Prints the bound address (HOST:PORT) as the first line of stdout, so a
// caller that asked for port 0 learns the port. Exits with status 0 on
// SIGTERM or SIGINT. GOMAXPROCS sets the worker threads.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// No Date header: a raw server need not send one (RFC 9110 lets a server
// without a clock omit it), and formatting it per request is net/http's cost,
// not the runtime's.
var (
	keepAliveAnswer = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!")
	closeAnswer     = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!")
	badRequest      = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
)

// trimEOL strips the line's "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// headerIs reports whether line is the header field named want (compared
// case-insensitively, want in lower case) and returns its trimmed value.
func headerIs(line []byte, want string) ([]byte, bool) {
	colon := bytes.IndexByte(line, ':')
	if colon != len(want) || !bytes.EqualFold(line[:colon], []byte(want)) {
		return nil, false
	}
	return bytes.TrimSpace(line[colon+1:]), true
}

func serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriterSize(c, 4096)
	for {
		// Request line: METHOD SP TARGET SP VERSION. A line longer than the
		// buffer (ErrBufferFull) or a closed connection ends the connection.
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		line = trimEOL(line)
		if len(line) == 0 {
			continue // a stray CRLF between requests is allowed
		}
		fields := bytes.Fields(line)
		if len(fields) != 3 || !bytes.HasPrefix(fields[2], []byte("HTTP/1.")) {
			w.Write(badRequest)
			w.Flush()
			return
		}
		keepAlive := !bytes.Equal(fields[2], []byte("HTTP/1.0")) // 1.1 keeps alive by default

		// Headers, up to the empty line.
		bodyLen := 0
		for {
			h, err := r.ReadSlice('\n')
			if err != nil {
				return
			}
			h = trimEOL(h)
			if len(h) == 0 {
				break
			}
			if v, ok := headerIs(h, "connection"); ok {
				if bytes.EqualFold(v, []byte("close")) {
					keepAlive = false
				} else if bytes.EqualFold(v, []byte("keep-alive")) {
					keepAlive = true
				}
			} else if v, ok := headerIs(h, "content-length"); ok {
				if bodyLen, err = strconv.Atoi(string(v)); err != nil || bodyLen < 0 {
					w.Write(badRequest)
					w.Flush()
					return
				}
			} else if _, ok := headerIs(h, "transfer-encoding"); ok {
				// Chunked request bodies are beyond this server.
				w.Write(badRequest)
				w.Flush()
				return
			}
		}
		if bodyLen > 0 {
			if _, err := r.Discard(bodyLen); err != nil {
				return
			}
		}

		if !keepAlive {
			w.Write(closeAnswer)
			w.Flush()
			return
		}
		w.Write(keepAliveAnswer)
		// More requests already read: answer them in the same write.
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on, HOST:PORT (port 0: any free port)")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "http_raw: %v\n", err)
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
