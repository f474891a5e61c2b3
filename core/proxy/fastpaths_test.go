package proxy

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/fastpath"
)

// TestFastPathOptions: the lean relay and the one-syscall HTTP/2 server
// run only when the Set allows them; without the option both run.
func TestFastPathOptions(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	table := func() *Table { return &Table{} }
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, tt := range []struct {
		name        string
		opts        []Option
		lean, ownH2 bool
	}{
		{"default", nil, true, true},
		{"all", []Option{WithFastPaths(fastpath.All)}, true, true},
		{"none", []Option{WithFastPaths(fastpath.None)}, false, false},
		{"relay off", []Option{WithFastPaths(fastpath.All.Without(fastpath.Relay))}, false, true},
		{"h2 off", []Option{WithFastPaths(fastpath.All.Without(fastpath.H2))}, true, false},
	} {
		h := NewHandler(table, nil, log, tt.opts...)
		if lean := !h.noLean; lean != tt.lean {
			t.Errorf("%s: lean relay on = %v, want %v", tt.name, lean, tt.lean)
		}
		// Without h2.Configure, TLSNextProto stays nil and net/http sets up
		// its bundled HTTP/2 when it serves TLS.
		srv := Server(noop, log, tt.opts...)
		if ownH2 := srv.TLSNextProto["h2"] != nil; ownH2 != tt.ownH2 {
			t.Errorf("%s: own HTTP/2 server = %v, want %v", tt.name, ownH2, tt.ownH2)
		}
	}
}
