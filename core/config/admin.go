package config

import (
	"net"
	"strings"
)

// checkAdmin checks listen.admin: host:port or "off", never a port of
// the other listeners (whatever the host: the admin listener is never
// served on the public port), and loopback unless admin.allow_remote
// says otherwise, because it has no TLS and no sign-in.
func (l *loader) checkAdmin(c *Config) {
	addr := c.Listen.Admin
	if addr == AdminOff || l.bad["listen.admin"] {
		return
	}
	host, msg := splitAddr(addr)
	if msg != "" {
		l.errorf("listen.admin", "%s (write host:port, e.g. \"127.0.0.1:9180\", or off)", msg)
		return
	}
	_, port, _ := net.SplitHostPort(addr)
	others := []struct{ key, addr string }{{"listen.public", c.Listen.Public}, {"listen.tunnel", c.Listen.Tunnel}, {"listen.http", c.Listen.HTTP}}
	for _, o := range others {
		if _, oport, err := net.SplitHostPort(o.addr); err == nil && oport == port && port != "0" {
			l.errorf("listen.admin", "%q uses port %s, like %s (%q); the admin listener needs a port of its own, e.g. \"127.0.0.1:9180\"", addr, port, o.key, o.addr)
			return
		}
	}
	if !Loopback(host) && !c.Admin.AllowRemote {
		l.errorf("listen.admin", "%q can be reached from other hosts, and the admin listener has no TLS and no sign-in; use a loopback address such as \"127.0.0.1:%s\", or set admin.allow_remote: true to serve it there anyway", addr, port)
	}
}

// Loopback reports whether host (of a listen address) can only be
// reached from this machine: "localhost" or a loopback IP. An empty host
// means every interface.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
