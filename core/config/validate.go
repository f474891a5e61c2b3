package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// validate checks a config that has its defaults applied, normalising some
// values on the way (host names, path prefixes, pins) and loading CA files.
// Every problem is recorded with the position of the offending key.
func (l *loader) validate(c *Config) {
	l.checkListen(c)
	l.checkAdmin(c)
	l.checkTunnel(c)
	l.checkTLS(c)
	l.checkStore(c)
	l.checkCluster(c)
	l.checkLog(c)
	groups := l.checkGroups(c)
	l.checkRelease(c)
	l.checkUpdates(c)
	plugins := l.checkPlugins(c)
	l.checkApps(c, groups)
	l.checkConsole(c, plugins)
	l.checkPortal(c, plugins)
	for i := range c.Apps {
		l.checkAppPlugins(fmt.Sprintf("apps[%d]", i), &c.Apps[i], plugins)
		l.checkAccess(fmt.Sprintf("apps[%d]", i), &c.Apps[i])
		l.checkVault(fmt.Sprintf("apps[%d]", i), &c.Apps[i])
		l.checkSAMLIdP(fmt.Sprintf("apps[%d]", i), &c.Apps[i])
		l.checkHeaders(fmt.Sprintf("apps[%d]", i), &c.Apps[i])
		l.checkCookie(fmt.Sprintf("apps[%d]", i), &c.Apps[i])
	}
	l.checkFilters(c)
	if c.Sessions.Lifetime < Duration(time.Minute) && !l.bad["sessions.lifetime"] {
		l.errorf("sessions.lifetime", "%s is too short for anyone to work; use at least 1m (default 8h)", c.Sessions.Lifetime.D())
	}
}

func (l *loader) checkListen(c *Config) {
	addrs := []struct{ key, addr string }{
		{"listen.public", c.Listen.Public},
		{"listen.tunnel", c.Listen.Tunnel},
	}
	if c.Listen.HTTP != "" {
		addrs = append(addrs, struct{ key, addr string }{"listen.http", c.Listen.HTTP})
	}
	for i, f := range addrs {
		if _, msg := splitAddr(f.addr); msg != "" {
			l.errorf(f.key, "%s (write host:port, e.g. \":443\" or \"127.0.0.1:8443\")", msg)
			continue
		}
		for _, e := range addrs[:i] {
			if f.addr == e.addr && !strings.HasSuffix(f.addr, ":0") {
				l.errorf(f.key, "%q is also %s; the listeners need different addresses", f.addr, e.key)
			}
		}
	}
}

func (l *loader) checkTunnel(c *Config) {
	t := &c.Tunnel
	if l.defaulted["tunnel.advertise"] {
		host, msg := splitAddr(c.Listen.Tunnel)
		if msg == "" && !dialable(host) {
			_, port, _ := net.SplitHostPort(c.Listen.Tunnel)
			l.errorfAt("listen.tunnel", "tunnel.advertise", "missing: listen.tunnel (%q) has no host that connectors can dial, so say where they reach this gateway, e.g. advertise: [\"gateway.example.com:%s\"]", c.Listen.Tunnel, port)
		}
	} else {
		seen := map[string]bool{}
		for i, a := range t.Advertise {
			key := "tunnel.advertise[" + strconv.Itoa(i) + "]"
			host, msg := splitAddr(a)
			_, port, _ := net.SplitHostPort(a)
			switch {
			case msg != "":
				l.errorf(key, "%s (write the host:port connectors dial, e.g. \"gateway.example.com:8444\")", msg)
			case host == "":
				l.errorf(key, "%q has no host; connectors need a name or address to dial (write e.g. \"gateway.example.com%s\")", a, a)
			case !dialable(host):
				l.errorf(key, "%q: %s means \"any address\" and cannot be dialed; write this gateway's name or address", a, host)
			case port == "0":
				l.errorf(key, "%q: port 0 cannot be dialed; write the port of listen.tunnel", a)
			case seen[a]:
				l.errorf(key, "%q is listed twice; remove one", a)
			}
			seen[a] = true
		}
	}

	if t.HeartbeatInterval <= 0 {
		l.errorf("tunnel.heartbeat_interval", "must be more than 0 (e.g. 10s)")
		return
	}
	l.longer("tunnel.heartbeat_interval", t.HeartbeatInterval, "tunnel.inactive_after", t.InactiveAfter,
		"or connectors are marked inactive between two heartbeats; allow a few heartbeats, e.g. "+(3*t.HeartbeatInterval).String())
	l.longer("tunnel.inactive_after", t.InactiveAfter, "tunnel.remove_after", t.RemoveAfter,
		"because a connector is first marked inactive and only later removed; e.g. 240h")
}

// longer reports an error unless the duration at longKey exceeds the one at
// shortKey. It points at whichever of the two the file sets, preferring
// longKey.
func (l *loader) longer(shortKey string, short Duration, longKey string, long Duration, why string) {
	if long > short {
		return
	}
	shortName, longName := lastKey(shortKey), lastKey(longKey)
	if l.defaulted[longKey] && !l.defaulted[shortKey] {
		l.errorf(shortKey, "%s must be shorter than %s (%s, the default), %s", short, longName, long, why)
		return
	}
	l.errorf(longKey, "%s must be longer than %s (%s%s), %s", long, shortName, short, l.defaultNote(shortKey), why)
}

func (l *loader) defaultNote(key string) string {
	if l.defaulted[key] {
		return ", the default"
	}
	return ""
}

func lastKey(key string) string { return key[strings.LastIndex(key, ".")+1:] }

// splitAddr checks a host:port address with a numeric port and returns its host.
func splitAddr(addr string) (host, problem string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", strconv.Quote(addr) + " is not host:port"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", strconv.Quote(addr) + ": port " + strconv.Quote(port) + " is not a number from 0 to 65535"
	}
	return host, ""
}

// dialable reports whether a connector can dial host: it is set and not an
// "any address" such as 0.0.0.0 or ::.
func dialable(host string) bool {
	if host == "" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsUnspecified()
}

// readFile reads the file named at key (already resolved to path), or
// reports it missing (with hint) or unreadable and returns nil.
func (l *loader) readFile(key, path, hint string) []byte {
	if path == "" {
		l.errorf(key, "missing: %s", hint)
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		l.errorf(key, "cannot read %q: %s (relative paths start at the config file's directory)", l.written(key), fileErr(err))
		return nil
	}
	return data
}

// written returns the value of key as written in the file, so messages
// show the user's relative paths rather than machine-specific ones.
func (l *loader) written(key string) string {
	if n, ok := l.nodes[key]; ok {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		return n.Value
	}
	return ""
}

// fileErr drops the path from an os error (messages show it as written).
func fileErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (l *loader) checkLog(c *Config) {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		l.errorf("log.level", "%q is not a log level (use debug, info, warn or error)", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		l.errorf("log.format", "%q is not a log format (use text or json)", c.Log.Format)
	}
}
