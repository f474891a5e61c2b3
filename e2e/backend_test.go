package e2e

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// backend is the internal app behind the connectors: a plain HTTP server
// on loopback, in the test process.
type backend struct {
	URL  string // http://127.0.0.1:port
	Port int
	hits atomic.Int64

	mu    sync.Mutex
	gates map[string]*gate
}

// gate holds an SSE response between its two events.
type gate struct {
	sent    chan struct{} // closed once event 1 is written and flushed
	release chan struct{} // the test closes it to let event 2 go
	done    chan struct{} // closed when the handler returns
}

// blockSize is the unit of /bytes/N: each block starts with its index.
const blockSize = 64 << 10

func newBackend(t testing.TB) *backend {
	t.Helper()
	b := &backend{gates: map[string]*gate{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /headers", b.headers)
	mux.HandleFunc("GET /hit", b.hit)
	mux.HandleFunc("GET /bytes/{n}", b.bytes)
	mux.HandleFunc("POST /upload", b.upload)
	mux.HandleFunc("GET /sse", b.sse)
	mux.HandleFunc("GET /ws", b.ws)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	b.Port, _ = strconv.Atoi(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:])
	return b
}

// echoed is what /headers answers.
type echoed struct {
	Host    string      `json:"host"`
	Remote  string      `json:"remote"`
	Headers http.Header `json:"headers"`
}

func (b *backend) headers(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(echoed{Host: r.Host, Remote: r.RemoteAddr, Headers: r.Header})
}

// hit counts requests and answers "hit " + the query string.
func (b *backend) hit(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	fmt.Fprintf(w, "hit %s", r.URL.RawQuery)
}

// bytes streams N bytes with a Content-Length: 64 KiB blocks, each
// starting with its 8-byte index, so a client can tell lost, repeated or
// reordered blocks.
func (b *backend) bytes(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil || n < 0 {
		http.Error(w, "bad size", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	buf := make([]byte, blockSize)
	for i := int64(0); n > 0; i++ {
		fillBlock(buf, i)
		m := min(n, blockSize)
		if _, err := w.Write(buf[:m]); err != nil {
			return
		}
		n -= m
	}
}

// blockPattern is every /bytes block after its 8-byte index.
var blockPattern = func() []byte {
	b := make([]byte, blockSize)
	for j := range b {
		b[j] = byte(j*7 + 3)
	}
	return b
}()

// fillBlock writes block i of the /bytes pattern into buf.
func fillBlock(buf []byte, i int64) {
	copy(buf, blockPattern)
	binary.BigEndian.PutUint64(buf, uint64(i))
}

// upload answers "<bytes> <sha256> <transfer-encoding>" for the body.
func (b *backend) upload(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%d %s %s", n, hex.EncodeToString(h.Sum(nil)), strings.Join(r.TransferEncoding, ","))
}

// gate returns the named SSE gate, creating it.
func (b *backend) gate(name string) *gate {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.gates[name]
	if g == nil {
		g = &gate{sent: make(chan struct{}), release: make(chan struct{}), done: make(chan struct{})}
		b.gates[name] = g
	}
	return g
}

// sse writes event 1, flushes, waits for its gate to be released, then
// writes event 2 and ends.
func (b *backend) sse(w http.ResponseWriter, r *http.Request) {
	g := b.gate(r.URL.Query().Get("gate"))
	defer close(g.done)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprint(w, "id: 1\ndata: first\n\n")
	w.(http.Flusher).Flush()
	close(g.sent)
	select {
	case <-g.release:
	case <-r.Context().Done():
		return
	case <-time.After(2 * waitFor):
		return
	}
	fmt.Fprint(w, "id: 2\ndata: second\n\n")
}

// ws echoes every WebSocket message, up to 4 MiB each.
func (b *backend) ws(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(4 << 20)
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
