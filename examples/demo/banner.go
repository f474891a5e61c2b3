package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// printReady tells the user what runs and what to try. The curl line is
// printed on a line of its own, starting with "curl ", with absolute paths,
// so that it can be pasted into any shell (the tests run it as is).
func (d *demo) printReady(s *setup) {
	ca, cfg := shellQuote(s.caFile), shellQuote(s.config)
	fmt.Fprintf(d.out, `
Gatehouse is running. The demo app on 127.0.0.1:%d is published at

    %s

Try it from any shell (no DNS or trust store changes needed):

%s

In a browser, open %s (browsers resolve *.localhost to 127.0.0.1).
The certificate comes from the demo's development CA: accept the warning, or
trust %s (it is kept across runs).

More to try:
    %s connectors --config %s
    edit %s and save: the gateway reloads it live
    %sheaders, /sse, /bytes/10m, /ws: see examples/demoapp/README.md

Logs: demoapp.log, gateway.log, connector.log and setup.log in %s
Press Ctrl-C to stop.
`, s.ports.app, s.url(), curlLine(s), s.url(), ca,
		shellQuote(d.bin("gatehouse")), cfg, cfg, s.url(), shellQuote(d.opts.dir))
}

// curlLine is a curl command for the app that needs no DNS (--resolve) and
// no change to the system trust store (--cacert).
func curlLine(s *setup) string {
	args := []string{"curl", "--cacert", shellQuote(s.caFile),
		"--resolve", fmt.Sprintf("%s:%d:127.0.0.1", appHost, s.ports.public)}
	if proxied() {
		args = append(args, "--noproxy", appHost) // a proxy would resolve the name itself
	}
	return strings.Join(append(args, s.url()), " ")
}

// proxied reports whether curl would send an https:// request to a proxy.
func proxied() bool {
	for _, v := range []string{"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
