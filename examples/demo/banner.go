package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

// printReady tells the user what runs and what to try. The curl line is
// printed on a line of its own, starting with "curl ", with absolute paths,
// so that it can be pasted into any POSIX shell (the tests run it as is).
func (d *demo) printReady(s *setup) {
	if s.prov.op == nil {
		d.printPassthrough(s)
		return
	}
	fmt.Fprintf(d.out, `
Gatehouse is running. The demo app on 127.0.0.1:%d is published at

    %s

and only signed-in users reach it. They sign in at the demo's own OpenID
provider, %s (oidc-provider, on loopback).

In a browser, open

    %s

and sign in as %s, password %q (or as %s, same password). Browsers
resolve *.localhost to 127.0.0.1 by themselves. The certificate comes from
the demo's development CA: accept the warning, or trust
%s (it is kept across runs).
The page lists the headers the app received: X-Remote-User, X-Remote-Groups,
X-Remote-Email and X-Remote-Name are the signed-in user, added by the connector.
To sign out, open %s
(it ends the provider's session too: confirm there, and "Sign in again" asks
for a password, so you can sign in as the other user)

Your apps, with one sign-in for all of them, are listed at the My Apps portal

    %s

The admin console (apps, connectors, recent sign-ins, charts) is at

    %s

Sign in there as %s, the demo's admin (%s gets 403).

From any shell, as the API client %q with a fresh access token from the
provider (no DNS or trust store changes needed):

%s

Leave out the -H "Authorization: ..." part and the gateway answers 401 itself:
without a signed-in identity, no request reaches the app.

More to try:
    %s signins --config %s
    %s connectors --config %s
    edit %s and save: the gateway reloads it live
    %sheaders, /sse, /bytes/10m, /ws: see examples/demoapp/README.md

Logs: demoapp.log, gateway.log, connector.log and setup.log in %s
(oidc-provider.log is written when the demo stops)
Press Ctrl-C to stop.
`, s.ports.app, s.url(), s.prov.op.Issuer,
		s.url(), oplab.Alice, oplab.Password, oplab.Bob, shellQuote(s.caFile), s.signOutURL(), s.portalURL(),
		s.consoleURL(), oplab.Alice, oplab.Bob,
		oplab.RobotID, curlLine(s),
		shellQuote(d.bin("gatehouse")), shellQuote(s.config),
		shellQuote(d.bin("gatehouse")), shellQuote(s.config), shellQuote(s.config), s.url(), shellQuote(d.opts.dir))
}

// printPassthrough is the banner when the OpenID provider could not start:
// the app is published without sign-in, and the user must not miss that.
func (d *demo) printPassthrough(s *setup) {
	fix := "install Node.js (20.19 or later) and npm\n!!! (Debian: apt-get install nodejs npm) and run make run again."
	if os.Getenv("GATEHOUSE_OIDC_OP") == "0" {
		fix = "unset GATEHOUSE_OIDC_OP and run make run again."
	}
	fmt.Fprintf(d.out, `
!!! SIGN-IN IS OFF. The demo's OpenID provider could not start:
!!!     %s
!!! The demo app is published with auth: passthrough: anyone who reaches the
!!! gateway reaches the app. For sign-in, %s
!!! setup.log in the working directory has the whole story.

Gatehouse is running. The demo app on 127.0.0.1:%d is published at

    %s

Try it from any shell (no DNS or trust store changes needed):

%s

In a browser, open %s (browsers resolve *.localhost to 127.0.0.1).
The certificate comes from the demo's development CA: accept the warning, or
trust %s (it is kept across runs).

The admin console, without sign-in (development only), is at %s

More to try:
    %s connectors --config %s
    edit %s and save: the gateway reloads it live
    %sheaders, /sse, /bytes/10m, /ws: see examples/demoapp/README.md

Logs: demoapp.log, gateway.log, connector.log and setup.log in %s
Sign-in is OFF (see above). Press Ctrl-C to stop.
`, s.prov.off, fix, s.ports.app, s.url(), curlLine(s), s.url(), shellQuote(s.caFile), s.consoleURL(),
		shellQuote(d.bin("gatehouse")), shellQuote(s.config), shellQuote(s.config), s.url(), shellQuote(d.opts.dir))
}

// curlLine is a curl command for the app that needs no DNS (--resolve) and
// no change to the system trust store (--cacert). With sign-in on, it gets
// the robot client a fresh access token from the provider first (client
// credentials grant; sed, not jq, picks the token out of the JSON), so the
// line keeps working for as long as the demo runs.
func curlLine(s *setup) string {
	args := []string{"curl", "--cacert", shellQuote(s.caFile),
		"--resolve", fmt.Sprintf("%s:%d:127.0.0.1", appHost, s.ports.public)}
	if proxied("https_proxy", "HTTPS_PROXY") {
		args = append(args, "--noproxy", appHost) // a proxy would resolve the name itself
	}
	if s.prov.op != nil {
		token := []string{"curl", "-sS"}
		if proxied("http_proxy") {
			token = append(token, "--noproxy", "127.0.0.1")
		}
		token = append(token, "-u", oplab.RobotID+":"+oplab.RobotSecret,
			"-d", "grant_type=client_credentials", "-d", "scope=api", s.prov.tokenURL(),
			"|", "sed", "-E", `'s/.*"access_token":"([^"]+)".*/\1/'`)
		args = append(args, "-H", `"Authorization: Bearer $(`+strings.Join(token, " ")+`)"`)
	}
	return strings.Join(append(args, s.url()), " ")
}

// proxied reports whether curl would send a request to a proxy, given the
// variable that names the proxy for its scheme.
func proxied(vars ...string) bool {
	for _, v := range append(vars, "all_proxy", "ALL_PROXY") {
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
