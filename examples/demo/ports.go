package main

import (
	"fmt"
	"net"
)

// ports are the loopback ports the demo listens on.
type ports struct {
	public int // gateway, HTTPS for users
	tunnel int // gateway, TLS for connectors
	app    int // the demo app, plain HTTP
	oidc   int // the OpenID provider, plain HTTP (loopback only)
	admin  int // gateway, the admin listener: metrics and the admin console, plain HTTP
}

// pickPorts returns the wanted ports where they are free on 127.0.0.1 and
// free ports in place of those that are taken (or 0), with a note for each
// wanted port it had to replace. All of them are held open until all are
// chosen, so they differ; the children bind them a moment later.
func pickPorts(want ports) (ports, []string, error) {
	var (
		got   ports
		notes []string
		held  []net.Listener
	)
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for _, p := range []struct {
		what string
		want int
		got  *int
	}{
		{"the gateway's HTTPS port", want.public, &got.public},
		{"the gateway's tunnel port", want.tunnel, &got.tunnel},
		{"the demo app's port", want.app, &got.app},
		{"the OpenID provider's port", want.oidc, &got.oidc},
		{"the gateway's admin port", want.admin, &got.admin},
	} {
		var ln net.Listener
		if p.want != 0 {
			var err error
			if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.want)); err != nil {
				ln = nil
			}
		}
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				return ports{}, nil, fmt.Errorf("finding a free port for %s: %w", p.what, err)
			}
		}
		held = append(held, ln)
		*p.got = ln.Addr().(*net.TCPAddr).Port
		if p.want != 0 && *p.got != p.want {
			notes = append(notes, fmt.Sprintf("port %d is in use; using %d for %s instead", p.want, *p.got, p.what))
		}
	}
	return got, notes, nil
}
