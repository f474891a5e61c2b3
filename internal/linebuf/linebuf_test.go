package linebuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder keeps each write it gets.
type recorder struct {
	mu     sync.Mutex
	writes [][]byte
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recorder) all() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, w := range r.writes {
		b.Write(w)
	}
	return b.String(), len(r.writes)
}

// TestBatches: lines written from many goroutines all come out, whole,
// in writes of at most one batch that each end at a line end, far fewer
// writes than lines; Close flushes the rest.
func TestBatches(t *testing.T) {
	rec := &recorder{}
	w := New(rec, time.Hour) // only full batches and Close flush
	var wg sync.WaitGroup
	const goroutines, lines = 8, 500
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(w, "{\"g\":%d,\"i\":%d,\"pad\":%q}\n", g, i, strings.Repeat("x", i%50))
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, writes := rec.all()
	if n := strings.Count(out, "\n"); n != goroutines*lines {
		t.Fatalf("%d lines out, want %d", n, goroutines*lines)
	}
	if writes >= goroutines*lines/10 {
		t.Errorf("%d writes for %d lines: not batched", writes, goroutines*lines)
	}
	for _, p := range rec.writes {
		if len(p) > pipeBatch || p[len(p)-1] != '\n' {
			t.Fatalf("a write of %d bytes not ending a line: %q", len(p), p[max(0, len(p)-20):])
		}
	}
}

// TestInterval: a lone line comes out without Close, by the interval.
func TestInterval(t *testing.T) {
	rec := &recorder{}
	w := New(rec, 10*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "one line")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out, _ := rec.all(); out == "one line\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the line was never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLongLine: a line longer than a batch goes out whole, after what
// was buffered before it.
func TestLongLine(t *testing.T) {
	rec := &recorder{}
	w := New(rec, time.Hour)
	fmt.Fprintln(w, "short")
	long := strings.Repeat("y", 2*pipeBatch) + "\n"
	_, _ = w.Write([]byte(long))
	_ = w.Close()
	if out, _ := rec.all(); out != "short\n"+long {
		t.Errorf("out of order or cut: %d bytes", len(out))
	}
}
