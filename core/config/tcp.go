package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// TCP makes an app a TCP app: the connector dials Backend for every
// connection a user opens with `gatehouse connect`, which reaches the
// gateway as a WebSocket on the app's host (path /.gatehouse/tcp). The
// app keeps its host, group, auth and access; it has no backend URL.
type TCP struct {
	// Backend is the host:port the connector dials, e.g. 10.0.0.5:22.
	Backend string `yaml:"backend"`
	// Recheck is how often the gateway checks an open connection again:
	// the session's revocation and the app's access policy. A connection
	// that fails the check is closed. Default 1m, at least 1s.
	Recheck Duration `yaml:"recheck"`
}

const (
	defaultTCPRecheck = Duration(time.Minute)
	minTCPRecheck     = Duration(time.Second)
)

// tcpDefaults fills in a TCP app's defaults (key is "apps[0]").
func (l *loader) tcpDefaults(key string, a *App) {
	l.dur(&a.TCP.Recheck, key+".tcp.recheck", defaultTCPRecheck)
}

// checkTCP validates a TCP app (key is "apps[0]"): a dialable backend, a
// recheck interval, and none of the settings that only web apps use.
func (l *loader) checkTCP(key string, a *App) {
	t := a.TCP
	if t.Backend == "" {
		l.errorf(key+".tcp.backend", "missing: the host:port the connector dials, e.g. 10.0.0.5:22")
	} else if msg := checkTCPBackend(t.Backend); msg != "" {
		l.errorf(key+".tcp.backend", "%s", msg)
	}
	if t.Recheck < minTCPRecheck {
		l.errorf(key+".tcp.recheck", "%s is too short: open connections are checked again at most once a second; write 1s or more (default 1m)", t.Recheck)
	}
	if l.present(key + ".backend") {
		l.errorf(key+".backend", "a TCP app has no backend URL: the connector dials tcp.backend; remove backend, or remove tcp to publish a web app")
	}
	if a.Auth.Passthrough {
		l.errorf(key+".auth", "a TCP app needs sign-in: passthrough would open %s to anyone who finds the host; name an auth plug-in", t.Backend)
	}
	if a.PathPrefix != "/" {
		l.errorf(key+".path_prefix", "a TCP app takes its whole host; remove path_prefix (it is %q)", a.PathPrefix)
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"sign_on", a.SignOn.Plugin != ""}, {"vault", a.Vault.PublicKey != ""}, {"filters", len(a.Filters) > 0},
		{"allow_trailers", len(a.AllowTrailers) > 0}, {"forward_identity_headers", a.ForwardIdentityHeaders},
		{"case_insensitive_paths", a.CaseInsensitivePaths}, {"keep_escaped_slashes", a.KeepEscapedSlashes},
	} {
		if f.set {
			l.errorf(key+"."+f.name, "only used by web apps, and this app has tcp; remove it")
		}
	}
}

// checkTCPBackend checks a host:port to dial and returns a problem, or "".
func checkTCPBackend(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		return fmt.Sprintf("%q has a scheme; write only host:port, e.g. %q", s, s[i+3:])
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (write e.g. 10.0.0.5:22 or [fd00::5]:3389)", s)
	}
	if host == "" || strings.ContainsAny(host, "/@ ") {
		return fmt.Sprintf("%q has no valid host (write e.g. 10.0.0.5:22)", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q: port %q is not a number from 1 to 65535", s, port)
	}
	return ""
}

// checkTCPHosts refuses a TCP app that shares its host with another app:
// a TCP app answers every path of its host.
func (l *loader) checkTCPHosts(c *Config) {
	first := map[string]int{} // host → index of its first app
	for i, a := range c.Apps {
		if a.Host == "" {
			continue
		}
		j, seen := first[a.Host]
		if !seen {
			first[a.Host] = i
			continue
		}
		if a.TCP != nil || c.Apps[j].TCP != nil {
			l.errorf(fmt.Sprintf("apps[%d].host", i), "host %q is already used by app %q (apps[%d], line %d), and a TCP app takes its whole host; give each TCP app a host of its own",
				a.Host, c.Apps[j].Name, j, l.line(fmt.Sprintf("apps[%d]", j)))
		}
	}
}
