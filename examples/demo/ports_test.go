package main

import (
	"net"
	"strings"
	"testing"
)

func TestPickPorts(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().(*net.TCPAddr).Port

	got, notes, err := pickPorts(ports{public: taken, tunnel: 0, app: 0})
	if err != nil {
		t.Fatal(err)
	}
	if got.public == taken || got.public == 0 {
		t.Errorf("public port %d, want a free port other than the taken %d", got.public, taken)
	}
	if seen := map[int]bool{got.public: true, got.tunnel: true, got.app: true, got.oidc: true}; len(seen) != 4 {
		t.Errorf("ports %+v are not distinct", got)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "is in use") {
		t.Errorf("notes %q, want one saying the taken port is in use", notes)
	}

	// A free wanted port is used as is, without a note.
	free := got.app
	got, notes, err = pickPorts(ports{public: 0, tunnel: 0, app: free})
	if err != nil {
		t.Fatal(err)
	}
	if got.app != free || len(notes) != 0 {
		t.Errorf("app port %d, notes %q; want %d and no note", got.app, notes, free)
	}
}
