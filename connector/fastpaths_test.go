package connector

import (
	"context"
	"net"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/fastpath/rawsock"
	"github.com/gatehouse/gatehouse/tunnel"
)

// TestFastPathApps: with the fast paths off an app has only its
// http.Transport, dialing plain TCP connections; with them on, a
// plain-http app also has the lean client, and the Transport and the
// tunnel dial raw sockets.
func TestFastPathApps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tcp, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rawType := reflect.TypeOf(rawsock.Wrap(tcp)) // *net.TCPConn under the race detector
	tcp.Close()
	for _, tt := range []struct {
		fp   fastpath.Set
		lean bool
		conn reflect.Type
	}{
		{fastpath.All, true, rawType},
		{fastpath.None, false, reflect.TypeOf(&net.TCPConn{})},
		{fastpath.All.Without(fastpath.LeanClient), false, rawType},
		{fastpath.All.Without(fastpath.RawSock), true, reflect.TypeOf(&net.TCPConn{})},
	} {
		a, err := newApp(tunnel.AppConfig{Name: "a", URL: "http://" + ln.Addr().String()}, tt.fp)
		if err != nil {
			t.Fatal(err)
		}
		if (a.lean != nil) != tt.lean {
			t.Errorf("%s: lean client %v, want %v", tt.fp, a.lean != nil, tt.lean)
		}
		for what, dial := range map[string]func(context.Context, string, string) (net.Conn, error){
			"backend": a.rt.DialContext,
			"tunnel": func(ctx context.Context, _, addr string) (net.Conn, error) {
				c := &Connector{opts: Options{FastPaths: tt.fp, Dial: (&net.Dialer{}).DialContext}}
				return c.dial(ctx, addr)
			},
		} {
			c, err := dial(context.Background(), "tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if got := reflect.TypeOf(c); got != tt.conn {
				t.Errorf("%s: %s connection is a %v, want %v", tt.fp, what, got, tt.conn)
			}
			c.Close()
		}
		a.close(0)
	}
}
