package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cachedMax is the largest body kept whole in memory; larger ones are
// streamed from chunk.
const cachedMax = 1 << 20

// chunk is the body's content, repeated.
var chunk = func() []byte {
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}()

// reply is a prepared answer for one size.
type reply struct {
	n      int64
	length []string // Content-Length
	body   []byte   // nil when n > cachedMax
}

var octetStream = []string{"application/octet-stream"} // set, so net/http does not sniff

// barrier releases its waiters once n requests of its group arrived.
type barrier struct {
	arrived int
	open    chan struct{}
}

type backend struct {
	replies sync.Map     // size as written in the path -> *reply
	cached  atomic.Int32 // entries in replies, at most maxReplies
	timeout time.Duration

	mu     sync.Mutex
	groups map[string]*barrier
}

func newBackend(holdTimeout time.Duration) *backend {
	return &backend{timeout: holdTimeout, groups: map[string]*barrier{}}
}

// maxReplies bounds the sizes prepared and kept; past it, replies are
// built per request (the bench asks for a handful of sizes).
const maxReplies = 64

// maxGroups and maxWaiters bound what a /hold request can make the
// backend keep.
const maxGroups, maxWaiters = 1000, 100000

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/bytes/"):
		rp, err := b.replyFor(p[len("/bytes/"):])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.write(w, rp, nil)
	case strings.HasPrefix(p, "/hold/"):
		rp, err := b.replyFor(p[len("/hold/"):])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		group := r.URL.Query().Get("group")
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if group == "" || err != nil || n < 1 || n > maxWaiters {
			http.Error(w, fmt.Sprintf("/hold needs ?group=NAME&n=COUNT (1 to %d)", maxWaiters), http.StatusBadRequest)
			return
		}
		open, err := b.arrive(group, n)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		b.write(w, rp, func() {
			select {
			case <-open:
			case <-r.Context().Done():
				panic(http.ErrAbortHandler)
			case <-time.After(b.timeout): // the others never came: cut this reply short
				b.drop(group, open)
				panic(http.ErrAbortHandler)
			}
		})
	default:
		http.NotFound(w, r)
	}
}

// write sends rp; hold, if set, runs after the first 64 KiB are flushed.
func (b *backend) write(w http.ResponseWriter, rp *reply, hold func()) {
	h := w.Header()
	h["Content-Type"] = octetStream
	h["Content-Length"] = rp.length
	rest := rp.n
	if hold != nil {
		first := min(rest, 64<<10)
		if _, err := w.Write(chunk[:first]); err != nil {
			return
		}
		rest -= first
		w.(http.Flusher).Flush()
		hold()
	}
	if rp.body != nil && hold == nil {
		_, _ = w.Write(rp.body)
		return
	}
	for rest > 0 {
		m := min(rest, int64(len(chunk)))
		if _, err := w.Write(chunk[:m]); err != nil {
			return
		}
		rest -= m
	}
}

// replyFor returns the prepared reply for a size, preparing it once.
func (b *backend) replyFor(size string) (*reply, error) {
	if v, ok := b.replies.Load(size); ok {
		return v.(*reply), nil
	}
	n, err := parseSize(size)
	if err != nil {
		return nil, err
	}
	rp := &reply{n: n, length: []string{strconv.FormatInt(n, 10)}}
	if n <= cachedMax && b.cached.Load() < maxReplies {
		rp.body = make([]byte, n)
		for i := range rp.body {
			rp.body[i] = chunk[i%len(chunk)]
		}
	}
	if b.cached.Add(1) > maxReplies {
		b.cached.Add(-1)
		rp.body = nil // streamed: nothing kept for a size asked once
		return rp, nil
	}
	v, loaded := b.replies.LoadOrStore(size, rp)
	if loaded {
		b.cached.Add(-1)
	}
	return v.(*reply), nil
}

// arrive counts one request of group and returns the channel closed when
// the n-th has arrived.
func (b *backend) arrive(group string, n int) (<-chan struct{}, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.groups[group]
	if br == nil {
		if len(b.groups) >= maxGroups {
			return nil, fmt.Errorf("more than %d /hold groups waiting", maxGroups)
		}
		br = &barrier{open: make(chan struct{})}
		b.groups[group] = br
	}
	br.arrived++
	if br.arrived >= n {
		close(br.open)
		delete(b.groups, group)
	}
	return br.open, nil
}

// drop forgets a group whose waiters gave up.
func (b *backend) drop(group string, open <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br := b.groups[group]; br != nil && br.open == open {
		delete(b.groups, group)
	}
}

// parseSize reads 100, 64k, 1m, 1g. The sizes the bench asks for; at most
// 64 GiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	if len(s) > 0 {
		switch s[len(s)-1] {
		case 'k':
			mult, num = 1<<10, s[:len(s)-1]
		case 'm':
			mult, num = 1<<20, s[:len(s)-1]
		case 'g':
			mult, num = 1<<30, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (64<<30)/mult {
		return 0, fmt.Errorf("bad size %q: want a number of bytes up to 64g, with k, m or g", s)
	}
	return n * mult, nil
}
