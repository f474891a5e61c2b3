// Command demoapp is a small internal web app for the Gatehouse demo and
// benchmarks: it shows what reached it (headers, client address) and
// offers endpoints for streaming, uploads, Server-Sent Events and a
// WebSocket echo.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address")
	flag.StringVar(&appName, "app", "demo", "the app's name in the Gatehouse config: the page's Sign out link is /.gatehouse/auth/APP/signout")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("demoapp: %v", err)
	}
	fmt.Fprintf(os.Stderr, "demoapp listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", index)
	mux.HandleFunc("GET /headers", headers)
	mux.HandleFunc("GET /bytes/{n}", bytesN)
	mux.HandleFunc("POST /upload", upload)
	mux.HandleFunc("GET /sse", sse)
	mux.HandleFunc("GET /ws", echo)
	return mux
}

func headers(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"host": r.Host, "remote": r.RemoteAddr, "headers": r.Header})
}

var chunk = func() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}()

// bytesN streams n bytes (suffixes k, m, g accepted) with a Content-Length.
func bytesN(w http.ResponseWriter, r *http.Request) {
	n, err := parseSize(r.PathValue("n"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	for n > 0 {
		m := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:m]); err != nil {
			return
		}
		n -= m
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	if len(s) > 0 {
		switch s[len(s)-1] {
		case 'k':
			mult, s = 1<<10, s[:len(s)-1]
		case 'm':
			mult, s = 1<<20, s[:len(s)-1]
		case 'g':
			mult, s = 1<<30, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// upload reads the whole body and answers its length and SHA-256.
func upload(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%d %s\n", n, hex.EncodeToString(h.Sum(nil)))
}

// sse sends an event every 200 ms, five times.
func sse(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	f := w.(http.Flusher)
	for i := range 5 {
		fmt.Fprintf(w, "data: tick %d\n\n", i)
		f.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// echo is a WebSocket echo server.
func echo(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), typ, msg); err != nil {
			return
		}
	}
}
