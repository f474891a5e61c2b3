package session

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A session cookie opened once is not opened again: its second open is
// served from the cache (the same Envelope bytes, no decryption).
func TestOpenedCacheHit(t *testing.T) {
	sl := newSealer(t)
	now := time.Unix(1_800_000_000, 0)
	v, err := sl.SealSession("hr", "hr.example.com", Session{ID: "sid-1", IssuedAt: now, Expires: now.Add(time.Hour), Envelope: []byte("\x01signed")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := sl.OpenSession("hr", "hr.example.com", v, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sl.OpenSession("hr", "hr.example.com", v, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if &a.Envelope[0] != &b.Envelope[0] || len(sl.opened.m) != 1 {
		t.Fatalf("second open was not a cache hit (%d cached)", len(sl.opened.m))
	}
	if b.ID != "sid-1" || !b.Expires.Equal(now.Add(time.Hour)) || !bytes.Equal(b.Envelope, []byte("\x01signed")) {
		t.Fatalf("cached session = %+v", b)
	}
}

// With a value cached, every changed value, the value for another app or
// host, the value once expired and the value under another key are still
// refused: the cache fails closed.
func TestOpenedCacheFailsClosed(t *testing.T) {
	sl := newSealer(t)
	now := time.Unix(1_800_000_000, 0)
	v, err := sl.SealSession("hr", "hr.example.com", Session{ID: "sid-1", IssuedAt: now, Expires: now.Add(time.Hour), Envelope: []byte("\x01signed")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sl.OpenSession("hr", "hr.example.com", v, now); err != nil {
		t.Fatal(err)
	}
	for i := range v {
		b := []byte(v)
		b[i] ^= 1
		if s, err := sl.OpenSession("hr", "hr.example.com", string(b), now); !errors.Is(err, ErrInvalid) {
			t.Fatalf("value with byte %d changed: %+v, %v; want ErrInvalid", i, s, err)
		}
	}
	for _, w := range [][2]string{{"wiki", "hr.example.com"}, {"hr", "wiki.example.com"}} {
		if s, err := sl.OpenSession(w[0], w[1], v, now); !errors.Is(err, ErrInvalid) {
			t.Fatalf("value for app %s host %s: %+v, %v; want ErrInvalid", w[0], w[1], s, err)
		}
	}
	other, err := NewSealer(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.OpenSession("hr", "hr.example.com", v, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("value under another key: %v; want ErrInvalid", err)
	}
	if _, err := sl.OpenSession("hr", "hr.example.com", v, now.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("cached value at its expiry: %v; want ErrExpired", err)
	}
	if len(sl.opened.m) != 0 || sl.opened.bytes != 0 {
		t.Fatalf("after expiry %d entries (%d bytes) cached, want none", len(sl.opened.m), sl.opened.bytes)
	}
}

// The cache stays within its bounds however many sessions open, dropping
// expired ones first.
func TestOpenedCacheBounded(t *testing.T) {
	sl := newSealer(t)
	now := time.Unix(1_800_000_000, 0)
	open := func(id string, exp time.Time) string {
		v, err := sl.SealSession("hr", "hr.example.com", Session{ID: id, IssuedAt: now, Expires: exp, Envelope: []byte("\x01signed")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sl.OpenSession("hr", "hr.example.com", v, now); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for i := range maxOpened - 1 {
		open(fmt.Sprint("short-", i), now.Add(time.Minute))
	}
	long := open("long", now.Add(time.Hour))
	if len(sl.opened.m) != maxOpened {
		t.Fatalf("%d cached, want %d", len(sl.opened.m), maxOpened)
	}
	now = now.Add(2 * time.Minute) // the short sessions have expired
	open("new", now.Add(time.Hour))
	if len(sl.opened.m) != 2 {
		t.Fatalf("%d cached after the bound, want the 2 live sessions", len(sl.opened.m))
	}
	if _, ok := sl.opened.get(openedKey{"hr", "hr.example.com", long}); !ok {
		t.Fatal("a live session was evicted while expired ones could go")
	}
	want := 0
	for k, s := range sl.opened.m {
		want += openedSize(k, s)
	}
	if sl.opened.bytes != want || want > maxOpenedBytes {
		t.Fatalf("bytes = %d, want %d (bound %d)", sl.opened.bytes, want, maxOpenedBytes)
	}
}

// Concurrent opens of the same and of different values all see their own
// session (run with -race).
func TestOpenedCacheConcurrent(t *testing.T) {
	sl := newSealer(t)
	now := time.Unix(1_800_000_000, 0)
	vals := make([]string, 8)
	for i := range vals {
		v, err := sl.SealSession("hr", "hr.example.com", Session{ID: fmt.Sprint("sid-", i), IssuedAt: now, Expires: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		vals[i] = v
	}
	errs := make(chan error, 4*len(vals))
	for g := range 4 {
		go func() {
			for i := range vals {
				j := (i + g) % len(vals)
				s, err := sl.OpenSession("hr", "hr.example.com", vals[j], now)
				if err == nil && s.ID != fmt.Sprint("sid-", j) {
					err = fmt.Errorf("value %d opened as %q", j, s.ID)
				}
				errs <- err
			}
		}()
	}
	for range 4 * len(vals) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
