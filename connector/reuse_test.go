//go:build unix

package connector

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// bytesWaiting sees bytes and a close waiting on the socket, also through
// TLS, and answers at once while another goroutine is blocked reading the
// same connection (as the Transport's read loop is on an idle one).
func TestBytesWaiting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := <-accepted
	if bytesWaiting(c) {
		t.Fatal("bytes waiting on a fresh connection")
	}
	// A reader blocked on c, as the read loop of an idle connection: the
	// peek must not wait for it (RawConn.Read would: it takes the read
	// lock).
	read := make(chan []byte, 1)
	go func() {
		b := make([]byte, 16)
		n, _ := c.Read(b)
		read <- b[:n]
	}()
	time.Sleep(20 * time.Millisecond) // pacing only: let the reader block
	if bytesWaiting(c) {
		t.Fatal("bytes waiting before the peer wrote any")
	}
	if _, err := peer.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	if got := <-read; string(got) != "first" {
		t.Fatalf("the reader got %q", got)
	}
	// With no reader, bytes that arrive are seen waiting, and left there.
	if _, err := peer.Write([]byte("HTTP/1.1 200 OK")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !bytesWaiting(c) {
		if time.Now().After(deadline) {
			t.Fatal("the bytes written by the peer were never seen waiting")
		}
		time.Sleep(time.Millisecond)
	}
	b := make([]byte, 16)
	if n, _ := c.Read(b); string(b[:n]) != "HTTP/1.1 200 OK" {
		t.Fatalf("the peek consumed bytes: read %q", b[:n])
	}
	// Through a TLS client wrapper: the socket under it is found.
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	peer.Close()
	for !bytesWaiting(tc) {
		if time.Now().After(deadline) {
			t.Fatal("the peer's close was never seen through the TLS wrapper")
		}
		time.Sleep(time.Millisecond)
	}
}
