package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPortsAreFreeAndBelowTheEphemeralRange(t *testing.T) {
	for _, pick := range []func() (int, error){TCP, UDP} {
		port, err := pick()
		if err != nil {
			t.Fatal(err)
		}
		if port < lowest || port >= ephemeralStart() {
			t.Fatalf("port %d is outside %d-%d", port, lowest, ephemeralStart()-1)
		}
	}
	port, err := TCP()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("the picked port %d cannot be listened on: %v", port, err)
	}
	ln.Close()
}
