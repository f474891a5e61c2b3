package browser

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
)

// alwaysLocal are the names Chromium keeps resolving itself, whatever
// ResolveTo says, so an IdP on a loopback literal or on localhost stays
// reachable next to mapped names. Mapping host rules apply to IP literals too,
// hence the literals. Hosts may still map one of them explicitly.
var alwaysLocal = []string{"localhost", "127.0.0.1", "::1", "[::1]"}

// backgroundHosts are the names Chromium calls on its own even with
// background networking, component updates and sync switched off (seen with
// Chromium 156: update.googleapis.com, clients2.google.com/time,
// accounts.google.com). Under a ResolveTo catch-all they would reach the
// gateway under test, so they fail to resolve instead; Hosts can still map
// one of them, as its rules come first.
var backgroundHosts = []string{"*.google.com", "*.googleapis.com", "*.gstatic.com", "*.gvt1.com", "*.googleusercontent.com"}

// hostRules builds Chromium's --host-resolver-rules from Options.Hosts and
// Options.ResolveTo. Chromium applies every EXCLUDE first, then the first
// MAP whose pattern matches; "~NOTFOUND" makes a name fail to resolve.
func hostRules(hosts map[string]string, resolveTo string) (string, error) {
	names := make([]string, 0, len(hosts))
	for name := range hosts {
		names = append(names, name)
	}
	// Exact names before wildcards, then longer (more specific) patterns
	// first, so "app.example.test" wins over "*.example.test".
	sort.Slice(names, func(i, j int) bool {
		wi, wj := strings.Contains(names[i], "*"), strings.Contains(names[j], "*")
		if wi != wj {
			return !wi
		}
		if len(names[i]) != len(names[j]) {
			return len(names[i]) > len(names[j])
		}
		return names[i] < names[j]
	})
	var rules []string
	for _, name := range names {
		if name == "" || strings.ContainsAny(name, ", \t\n") {
			return "", fmt.Errorf("browser options: Hosts: host name %q: want a name or a pattern such as *.example.test, without spaces or commas", name)
		}
		addr := hosts[name]
		if err := checkAddr(addr); err != nil {
			return "", fmt.Errorf("browser options: Hosts[%q] = %q: %w", name, addr, err)
		}
		rules = append(rules, "MAP "+name+" "+addr)
	}
	if resolveTo != "" {
		if err := checkAddr(resolveTo); err != nil {
			return "", fmt.Errorf("browser options: ResolveTo = %q: %w", resolveTo, err)
		}
		for _, name := range backgroundHosts {
			rules = append(rules, "MAP "+name+" ~NOTFOUND")
		}
		rules = append(rules, "MAP * "+resolveTo)
	} else {
		rules = append(rules, "MAP * ~NOTFOUND")
	}
	for _, name := range alwaysLocal {
		if _, mapped := hosts[name]; !mapped {
			rules = append(rules, "EXCLUDE "+name)
		}
	}
	return strings.Join(rules, ", "), nil
}

// checkAddr accepts "ip", "ip:port" and "[ipv6]:port": a mapping to a name
// would send that name to the system resolver, which tests must not use.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = strings.Trim(addr, "[]"), ""
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("want an IP address, optionally with :port (such as 127.0.0.1:8443)")
	}
	if port != "" {
		if p, err := netip.ParseAddrPort(addr); err != nil || p.Port() == 0 {
			return fmt.Errorf("want ip:port with a port from 1 to 65535, got port %q", port)
		}
	}
	return nil
}
