package gateway

import (
	"net"
	"net/http"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/fastpath/httploop"
	"github.com/gatehouse/gatehouse/internal/fastpath/rawsock"
)

// TestPublicStack: with every fast path off the public listener is served
// by http.Server itself on the plain listener; with all on, by httploop on
// rawsock and heldconn; the config's fast_paths: false wins over the
// environment.
func TestPublicStack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tt := range []struct {
		name     string
		env      fastpath.Set
		cfgOff   bool
		wantLoop bool // httploop, else http.Server
		wantRaw  bool // the listener is wrapped
	}{
		{"all on", fastpath.All, false, true, true},
		{"environment off", fastpath.None, false, false, false},
		{"config off", fastpath.All, true, false, false},
		{"httploop off", fastpath.All.Without(fastpath.HTTPLoop), false, false, true},
		{"rawsock and heldconn off", fastpath.All.Without(fastpath.RawSock).Without(fastpath.HeldConn), false, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{FastPaths: config.FastPaths{Off: tt.cfgOff}}
			g := &Gateway{opts: Options{FastPaths: tt.env}, publicLn: ln, tunnelLn: ln}
			g.snap.Store(&snapshot{cfg: cfg})
			fp := g.fastPaths()
			srv, pln := g.publicServer(&http.Server{}, fp)
			switch s := srv.(type) {
			case *httploop.Server:
				if !tt.wantLoop {
					t.Errorf("fast paths %s: served by httploop", fp)
				}
			case tlsServer:
				if tt.wantLoop {
					t.Errorf("fast paths %s: served by http.Server", fp)
				}
			default:
				t.Fatalf("public server is a %T", s)
			}
			if wrapped := pln != ln; wrapped != tt.wantRaw {
				t.Errorf("fast paths %s: public listener wrapped = %v (%T)", fp, wrapped, pln)
			}
			tln := g.tunnelListener(fp)
			if wantRaw := fp.On(fastpath.RawSock); (tln != ln) != wantRaw ||
				wantRaw && reflect.TypeOf(tln) != reflect.TypeOf(rawsock.Listener(ln)) {
				t.Errorf("fast paths %s: tunnel listener is a %T", fp, tln)
			}
		})
	}
}
