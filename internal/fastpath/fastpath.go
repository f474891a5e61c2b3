// Package fastpath names the fast paths: Gatehouse's own re-implementations
// of parts of net/http and of the socket layer, each of which hands what it
// does not handle back to the standard library, and its patches to the
// tunnel's multiplexer (yamux, kept in third_party/yamux), which hand back
// upstream yamux's behaviour. A Set says which are on; with none on,
// Gatehouse runs on plain net/http, http.Transport, httputil.ReverseProxy,
// net.Conn and yamux as published. The README in this directory says
// what each one handles, how the connection wrappers stack, and which
// measurements justify each.
//
// The switch is the gateway's config key fast_paths and the environment
// variable GATEHOUSE_FAST_PATHS, read by both binaries; the stricter wins
// (a fast path runs only if both allow it).
package fastpath

import (
	"fmt"
	"strings"
)

// Path is one fast path.
type Path uint8

// The fast paths, by the name the environment variable uses.
const (
	HTTPLoop   Path = iota // gateway: the HTTP/1.1 request loop in front of net/http (httploop)
	Relay                  // gateway: plain requests relayed without httputil.ReverseProxy (leanrelay)
	H2                     // gateway: HTTP/2 with one syscall per DATA frame (h2)
	HeldConn               // gateway and tunnel: a large write's TLS records in one syscall (heldconn)
	RawSock                // both: raw read and write syscalls on TCP sockets (rawsock)
	LeanClient             // connector: bodyless GET/HEAD/OPTIONS without http.Transport (leanclient)
	Yamux                  // tunnel, both ends: Gatehouse's patches to yamux, third_party/yamux (yamux)
	numPaths
)

var names = [numPaths]string{"httploop", "relay", "h2", "heldconn", "rawsock", "leanclient", "yamux"}

// Paths lists every fast path.
func Paths() []Path {
	out := make([]Path, numPaths)
	for i := range out {
		out[i] = Path(i)
	}
	return out
}

func (p Path) String() string {
	if p < numPaths {
		return names[p]
	}
	return fmt.Sprintf("fastpath.Path(%d)", p)
}

// Set is the fast paths that are on. The zero Set has every one on, so
// that a component built without a Set behaves as before.
type Set struct{ off uint16 }

// All has every fast path on; None has every one off.
var (
	All  = Set{}
	None = Set{off: 1<<numPaths - 1}
)

// On reports whether p is on in s.
func (s Set) On(p Path) bool { return s.off&(1<<p) == 0 }

// Without returns s with p off.
func (s Set) Without(p Path) Set { return Set{off: s.off | 1<<p} }

// And returns the fast paths on in both s and t: the stricter of two
// switches.
func (s Set) And(t Set) Set { return Set{off: s.off | t.off} }

// String lists the fast paths that are on, comma-separated; "none" when
// every one is off. Gateway and connector log it at start.
func (s Set) String() string {
	var on []string
	for _, p := range Paths() {
		if s.On(p) {
			on = append(on, p.String())
		}
	}
	if len(on) == 0 {
		return "none"
	}
	return strings.Join(on, ",")
}

// EnvVar is the environment variable both binaries read.
const EnvVar = "GATEHOUSE_FAST_PATHS"

// Parse reads the value of GATEHOUSE_FAST_PATHS: empty or "on" for every
// fast path, "off" for none, or a comma-separated list of fast paths to
// turn off, each with a leading "-" ("-rawsock,-httploop"; for
// benchmarks).
func Parse(v string) (Set, error) {
	switch v = strings.TrimSpace(v); v {
	case "", "on":
		return All, nil
	case "off":
		return None, nil
	}
	s := All
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		name, ok := strings.CutPrefix(item, "-")
		p, known := lookup(name)
		if !ok || !known {
			return All, fmt.Errorf("%s=%q: %q is not understood; want on, off, or a comma-separated list of -NAME with NAME one of %s",
				EnvVar, v, item, strings.Join(names[:], ", "))
		}
		s = s.Without(p)
	}
	return s, nil
}

func lookup(name string) (Path, bool) {
	for i, n := range names {
		if n == name {
			return Path(i), true
		}
	}
	return 0, false
}

// FromEnv parses the environment variable as getenv (os.Getenv) returns it.
func FromEnv(getenv func(string) string) (Set, error) { return Parse(getenv(EnvVar)) }
