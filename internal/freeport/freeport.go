// Package freeport picks loopback ports for processes that tests and the
// benchmark start and tell where to listen. Listening on port 0 lets the
// kernel choose from its ephemeral range, where every outgoing connection
// also takes its source port: a port found free that way can be taken by
// any connection before the process binds it, which made tests fail with
// "address already in use". These ports come from below that range, so
// only another pick can collide, and picks are random.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowest is the first port picked; the range ends where the ephemeral
// range begins.
const lowest = 10000

// TCP returns a port on 127.0.0.1 that nothing listens on now.
func TCP() (int, error) {
	return pick(func(addr string) error {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
		}
		return err
	})
}

// UDP returns a UDP port on 127.0.0.1 that nothing is bound to now.
func UDP() (int, error) {
	return pick(func(addr string) error {
		c, err := net.ListenPacket("udp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func pick(try func(addr string) error) (int, error) {
	end := ephemeralStart()
	var err error
	for range 100 {
		port := lowest + rand.IntN(end-lowest)
		if err = try(net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port in %d-%d after 100 tries: %w", lowest, end-1, err)
}

// ephemeralStart is where the kernel's ephemeral port range begins
// (32768 where it cannot be read).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > lowest+1000 {
				return n
			}
		}
	}
	return 32768
}
