// rest_service: a small JSON API on net/http, the program
// examples/rest_service.cpp is ported from. Both answer the same requests
// with the same bytes; tests/e2e/rest_service_test.sh checks it with one curl
// script. Standard library only, so it builds offline:
//
//	GO111MODULE=off go build -o rest_service examples/go/rest_service/main.go
//	rest_service [--listen HOST:PORT]    default 127.0.0.1:8081; port 0 picks a free port
//
// Routes and answers: see examples/rest_service.cpp. Go 1.19's ServeMux has
// no method patterns ("GET /items/{id}" came in Go 1.22), so the handlers
// below route by method and path themselves, answering 405 with Allow as Go
// 1.22's ServeMux would.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type item struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Done bool   `json:"done"`
}

type store struct {
	mu     sync.Mutex
	items  map[int64]item
	nextID int64
}

func (s *store) add(name string) item {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := item{ID: s.nextID, Name: name}
	s.nextID++
	s.items[it.ID] = it
	return it
}

func (s *store) get(id int64) (item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	return it, ok
}

func (s *store) update(id int64, name *string, done *bool) (item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	if !ok {
		return it, false
	}
	if name != nil {
		it.Name = *name
	}
	if done != nil {
		it.Done = *done
	}
	s.items[id] = it
	return it, true
}

func (s *store) remove(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.items[id]
	delete(s.items, id)
	return ok
}

func (s *store) list() []item {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]item, 0, len(s.items))
	for _, it := range s.items {
		all = append(all, it)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, map[string]string{"error": message})
}

func notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
}

// itemID: the path's id as a positive number, or an answered 400.
func itemID(w http.ResponseWriter, text string) (int64, bool) {
	ok := text != "" && len(text) <= 18
	var id int64
	for _, c := range text {
		if c < '0' || c > '9' {
			ok = false
		} else {
			id = id*10 + int64(c-'0')
		}
	}
	if !ok || id == 0 {
		writeError(w, http.StatusBadRequest, "bad item id "+strconv.Quote(text))
		return 0, false
	}
	return id, true
}

// readObject: the body as a JSON object, or an answered 400.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return nil, false
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil || body == nil {
		writeError(w, http.StatusBadRequest, "the body must be a JSON object")
		return nil, false
	}
	return body, true
}

func stringField(w http.ResponseWriter, body map[string]any, name string) (*string, bool) {
	v, present := body[name]
	if !present {
		return nil, true
	}
	s, ok := v.(string)
	if !ok {
		writeError(w, http.StatusBadRequest, `"`+name+`" must be a string`)
		return nil, false
	}
	return &s, true
}

func boolField(w http.ResponseWriter, body map[string]any, name string) (*bool, bool) {
	v, present := body[name]
	if !present {
		return nil, true
	}
	b, ok := v.(bool)
	if !ok {
		writeError(w, http.StatusBadRequest, `"`+name+`" must be a boolean`)
		return nil, false
	}
	return &b, true
}

func routes(mux *http.ServeMux, items *store) {
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			notAllowed(w, "GET, HEAD")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/items", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			writeJSON(w, http.StatusOK, items.list())
		case http.MethodPost:
			body, ok := readObject(w, r)
			if !ok {
				return
			}
			name, ok := stringField(w, body, "name")
			if !ok {
				return
			}
			if name == nil || *name == "" {
				writeError(w, http.StatusBadRequest, `"name" must not be empty`)
				return
			}
			it := items.add(*name)
			w.Header().Set("Location", fmt.Sprintf("/items/%d", it.ID))
			writeJSON(w, http.StatusCreated, it)
		default:
			notAllowed(w, "GET, HEAD, POST")
		}
	})
	mux.HandleFunc("/items/", func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, "/items/")
		if rest == "" || strings.Contains(rest, "/") {
			http.NotFound(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			id, ok := itemID(w, rest)
			if !ok {
				return
			}
			it, found := items.get(id)
			if !found {
				writeError(w, http.StatusNotFound, fmt.Sprintf("item %d not found", id))
				return
			}
			writeJSON(w, http.StatusOK, it)
		case http.MethodPut:
			id, ok := itemID(w, rest)
			if !ok {
				return
			}
			body, ok := readObject(w, r)
			if !ok {
				return
			}
			name, ok := stringField(w, body, "name")
			if !ok {
				return
			}
			done, ok := boolField(w, body, "done")
			if !ok {
				return
			}
			if name != nil && *name == "" {
				writeError(w, http.StatusBadRequest, `"name" must not be empty`)
				return
			}
			it, found := items.update(id, name, done)
			if !found {
				writeError(w, http.StatusNotFound, fmt.Sprintf("item %d not found", id))
				return
			}
			writeJSON(w, http.StatusOK, it)
		case http.MethodDelete:
			id, ok := itemID(w, rest)
			if !ok {
				return
			}
			if !items.remove(id) {
				writeError(w, http.StatusNotFound, fmt.Sprintf("item %d not found", id))
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			notAllowed(w, "DELETE, GET, HEAD, PUT")
		}
	})
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on, HOST:PORT (port 0: any free port)")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rest_service: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())

	mux := http.NewServeMux()
	routes(mux, &store{items: map[int64]item{}, nextID: 1})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		<-sigs
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		close(done)
	}()

	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "rest_service: %v\n", err)
		os.Exit(1)
	}
	<-done
}
