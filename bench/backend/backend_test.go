package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "100": 100, "64k": 64 << 10, "1m": 1 << 20, "1g": 1 << 30, "64g": 64 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1", "1x", "65g", "99999999999999999999", "1.5m"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}

func TestBytes(t *testing.T) {
	srv := httptest.NewServer(newBackend(time.Minute))
	defer srv.Close()
	for _, size := range []string{"100", "100", "1m", "3m"} {
		resp, err := http.Get(srv.URL + "/bytes/" + size)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want, _ := parseSize(size)
		if err != nil || resp.StatusCode != 200 || int64(len(body)) != want || resp.Header.Get("Content-Length") != strconv.FormatInt(want, 10) {
			t.Fatalf("/bytes/%s: %s, %d bytes (Content-Length %q), %v; want 200 with %d", size, resp.Status, len(body), resp.Header.Get("Content-Length"), err, want)
		}
		if body[0] != 'a' || body[len(body)-1] != chunk[(len(body)-1)%len(chunk)] {
			t.Fatalf("/bytes/%s: body is not the repeated pattern", size)
		}
	}
	for _, path := range []string{"/bytes/x", "/hold/1m", "/hold/1m?group=g&n=0", "/nothing"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("%s: 200, want an error status", path)
		}
	}
}

func TestReplyCacheBounded(t *testing.T) {
	b := newBackend(time.Minute)
	for i := range 3 * maxReplies {
		if _, err := b.replyFor(strconv.Itoa(i + 1)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	b.replies.Range(func(any, any) bool { n++; return true })
	if n != maxReplies || b.cached.Load() != maxReplies {
		t.Errorf("%d replies kept (counter %d), want %d", n, b.cached.Load(), maxReplies)
	}
}

// TestHoldReleasesTogether: no /hold reply gets past its first 64 KiB
// before the group's n-th request has arrived.
func TestHoldReleasesTogether(t *testing.T) {
	b := newBackend(time.Minute)
	srv := httptest.NewServer(b)
	defer srv.Close()
	const n = 4
	started := make(chan struct{}, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == n-1 { // the last one only once the others hold
				for range n - 1 {
					<-started
				}
				b.mu.Lock()
				br := b.groups["t"]
				b.mu.Unlock()
				if br == nil || br.arrived != n-1 {
					errs <- errors.New("the group is not waiting with n-1 arrivals")
					return
				}
				select {
				case <-br.open:
					errs <- errors.New("the group was released before its n-th request")
					return
				default:
				}
			}
			resp, err := http.Get(srv.URL + "/hold/1m?group=t&n=" + strconv.Itoa(n))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
				errs <- err
				return
			}
			started <- struct{}{}
			m, err := io.Copy(io.Discard, resp.Body)
			if err != nil || m != 1<<20-64<<10 {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("hold request: %v", err)
	}
}

func TestHoldTimesOut(t *testing.T) {
	srv := httptest.NewServer(newBackend(50 * time.Millisecond))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/hold/1m?group=alone&n=2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if n, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Fatalf("a hold whose group never filled: %d bytes and no error, want the reply cut short", n)
	}
}
