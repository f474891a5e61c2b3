package e2e

// Hostile cases of class "ops": attacks on the operator's side of the
// gateway rather than on an app. A web page that has its name resolve to
// 127.0.0.1 (DNS rebinding) reading the admin listener; a client that
// writes a path meant to forge or split an access line, or sends its own
// X-Request-Id (another request's, even) to make the logs lie about who
// did what.

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// adminRefusal is the body of the admin listener's 421.
const adminRefusal = "the admin listener answers to loopback names only (127.0.0.1, [::1], localhost)\n"

// rawAdmin sends head as written to the admin listener at addr and
// returns the answer's status and body.
func rawAdmin(addr, head string) (int, string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(c, head); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// adminData says what in the body of a 200 from path shows the listener
// served its data.
var adminData = map[string]string{
	"/api/v1/status":  `"`,
	"/api/v1/apps":    `"app.localhost"`,
	"/metrics":        "gatehouse_",
	"/":               "<title>Gatehouse admin console</title>",
	"/readyz":         `"status"`,
	"/debug/pprof/":   "", // admin.pprof is off: 404 from a loopback name too
	"/api/v1/nothing": "",
}

// TestHostileOpsAdminHost: the admin listener on loopback, with the
// console served without sign-in (dev_no_signin), asked for its API, its
// metrics and its console under Host names a DNS-rebinding page would
// send: every one answers 421 with the fixed refusal and nothing else;
// the loopback names still get the data.
func TestHostileOpsAdminHost(t *testing.T) {
	be := newBackend(t)
	apps := []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL}}
	g := startAdminGateway(t, gwConfig{Groups: []string{"default"}}, apps, "admin:\n  console:\n    dev_no_signin: true\n")
	eventually(t, "the admin listener to be ready", func() bool {
		g.proc.requireAlive(t)
		code, _ := adminGet(t, g.admin, "/readyz")
		return code == 200
	})
	_, port, _ := net.SplitHostPort(g.admin)
	paths := []string{"/api/v1/status", "/api/v1/apps", "/metrics", "/", "/readyz", "/debug/pprof/", "/api/v1/nothing"}
	// head renders a request for path; host "-" leaves the Host header out
	// (HTTP/1.0, where it may be missing).
	head := func(path, host string) string {
		if host == "-" {
			return "GET " + path + " HTTP/1.0\r\n\r\n"
		}
		return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"
	}
	for _, host := range []string{"evil.example", "evil.example:" + port, "127.0.0.1.evil.example", "localhost.evil.example",
		"127.0.0.1.nip.io", "2130706433", "0x7f.0.0.1", "127.1", "0.0.0.0", "", "-"} {
		name := fmt.Sprintf("admin listener, Host %q", host)
		if host == "-" {
			name = "admin listener, no Host (HTTP/1.0)"
		}
		hostile(t, "ops", name, "421 with the refusal only, on every path; no data", func(t *testing.T) (string, bool) {
			var seen []string
			ok := true
			for _, p := range paths {
				code, body, err := rawAdmin(g.admin, head(p, host))
				seen = append(seen, fmt.Sprintf("%s %d", p, code))
				if err != nil || code != http.StatusMisdirectedRequest || body != adminRefusal {
					ok = false
					seen[len(seen)-1] += fmt.Sprintf(" %q %v", clip(body, 60), err)
				}
			}
			return strings.Join(seen, ", "), ok
		})
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST", "localhost.", "127.0.0.2", "[::1]:" + port} {
		hostile(t, "ops", fmt.Sprintf("admin listener, loopback Host %q", host), "the data (200; 404 for pprof off and unknown API paths)", func(t *testing.T) (string, bool) {
			var seen []string
			ok := true
			for _, p := range paths {
				code, body, err := rawAdmin(g.admin, head(p, host))
				seen = append(seen, fmt.Sprintf("%s %d", p, code))
				want := adminData[p]
				if err != nil || (want != "" && (code != 200 || !strings.Contains(body, want))) || (want == "" && code != 404) {
					ok = false
					seen[len(seen)-1] += fmt.Sprintf(" %q %v", clip(body, 60), err)
				}
			}
			return strings.Join(seen, ", "), ok
		})
	}
}

// rawTLSAnswer sends request as written over TLS (server name sni) to the
// gateway and returns the answer's status and headers.
func rawTLSAnswer(g *gatewayProc, sni, request string) (int, http.Header, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", g.public, &tls.Config{ServerName: sni, RootCAs: g.caPool(), NextProtos: []string{"http/1.1"}})
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(c, request); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header, nil
}

// logLines splits a log into JSON objects and the lines that are not one.
func logLines(log string) (objs []map[string]any, bad []string) {
	for _, l := range strings.Split(log, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			bad = append(bad, l)
			continue
		}
		objs = append(objs, m)
	}
	return objs, bad
}

// accessLinesOf returns the access lines of a JSON log whose request id
// is id, and the log's lines that are not JSON.
func accessLinesOf(log, id string) (lines []map[string]any, bad []string) {
	objs, bad := logLines(log)
	for _, m := range objs {
		if m["msg"] == "access" && m["request_id"] == id {
			lines = append(lines, m)
		}
	}
	return lines, bad
}

// TestHostileOpsAccessLog: a gateway and a connector logging JSON, one
// app signed in by API key (user alice). Requests whose path carries a
// newline, quotes, a JSON fragment naming another user, a backslash,
// control characters, line separators and bytes that are not UTF-8, each
// with a client X-Request-Id naming the request before it: each leaves
// exactly one access line at the gateway and one at the connector, both
// JSON, under the gateway's fresh id (the one the backend received), user
// alice, the injected text inside the path field; no line has another
// user or an id no response carried.
func TestHostileOpsAccessLog(t *testing.T) {
	rec := newRecorder(t)
	base := gwConfig{Groups: []string{"default"}, Plugins: hdrPlugins(t)}
	apps := []appSpec{{Name: "demo", Host: "demo.localhost", Group: "default", URL: rec.URL, Auth: hdrAuth()}}
	g := startJSONGateway(t, base, apps, func(s string) string { return s })
	conn := startJSONConnector(t, g, "connector", "default")
	c := g.client(false)
	eventually(t, "the app to serve alice", func() bool {
		return getWith(t, c, "https://demo.localhost/warm", "X-Api-Key", hdrKey).Status == 200
	})

	ids := map[string]string{} // response id -> case
	prev := "forged"
	cases := []struct{ name, target, inPath, host string }{
		{"encoded newline and a JSON line", `/a%0A%7B%22time%22:%22x%22,%22msg%22:%22access%22,%22user%22:%22admin%22%7D`,
			"\n{\"time\":\"x\",\"msg\":\"access\",\"user\":\"admin\"}", ""},
		{`raw quotes: ","user":"admin`, `/b","user":"admin","x":"`, `","user":"admin","x":"`, ""},
		{`encoded quotes: ","user":"admin`, `/b2%22,%22user%22:%22admin%22,%22x%22:%22`, `","user":"admin","x":"`, ""},
		{`encoded backslash quote: \","user":"admin`, `/c2%5C%22,%22user%22:%22admin`, `\","user":"admin`, ""},
		{`backslash quote: \","user":"admin`, `/c\","user":"admin`, `\","user":"admin`, ""},
		{"encoded CR LF and a text line", `/d%0D%0Atime=x%20level=INFO%20msg=access%20user=admin`, "\r\ntime=x level=INFO msg=access user=admin", ""},
		{"NUL, ESC and DEL", `/e%00%1B%5B31m%7F`, "\x00\x1b[31m\x7f", ""},
		{"U+2028 and U+2029", `/f%E2%80%A8%E2%80%A9user=admin`, "user=admin", ""},
		{"encoded bytes that are not UTF-8", `/g%FF%FE%C3%28%22user%22`, `"user"`, ""},
		{"raw bytes that are not UTF-8", "/h\xff\xfe\xc3(\"user\"", `"user"`, ""},
		{"Host with a quote-like escape and a port", `/i`, "", `demo.localhost%22,'user':admin`},
	}
	for _, tc := range cases {
		hostile(t, "ops", "access log: "+tc.name+", client X-Request-Id of the request before",
			"200: one JSON access line each side under the gateway's new id (the backend's), user alice, text inside path; or 4xx before the backend: one JSON refusal line, no access line", func(t *testing.T) (string, bool) {
				before := rec.count()
				host := tc.host
				if host == "" {
					host = "demo.localhost"
				}
				code, h, err := rawTLSAnswer(g, "demo.localhost", "GET "+tc.target+" HTTP/1.1\r\nHost: "+host+"\r\nX-Api-Key: "+hdrKey+
					"\r\nX-Request-Id: "+prev+"\r\nConnection: close\r\n\r\n")
				if err != nil {
					return "no answer: " + err.Error(), false
				}
				id := h.Get("X-Request-Id")
				obs := fmt.Sprintf("%d, id %q (sent %q)", code, id, prev)
				if id == "" || id == prev || ids[id] != "" {
					return obs + ": not a fresh id of the gateway's", false
				}
				ids[id] = tc.name
				got := rec.since(before)
				if code >= 400 && code < 500 && len(got) == 0 {
					// Refused before the backend: no access line, one
					// refusal line under the gateway's id, JSON.
					var refusals []map[string]any
					var bad []string
					eventually(t, "the refusal line of "+id, func() bool {
						var objs []map[string]any
						objs, bad = logLines(g.proc.log.String())
						refusals = refusals[:0]
						for _, m := range objs {
							if m["request_id"] == id {
								refusals = append(refusals, m)
							}
						}
						return len(bad) > 0 || len(refusals) > 0
					})
					obs += fmt.Sprintf("; refused before the backend; %d lines under the id, %d not JSON", len(refusals), len(bad))
					if len(bad) > 0 || len(refusals) != 1 || refusals[0]["msg"] == "access" || refusals[0]["user"] != nil {
						return obs + fmt.Sprintf(" %v %q", refusals, bad), false
					}
					delete(ids, id)
					return obs + fmt.Sprintf(": %q", refusals[0]["msg"]), true
				}
				if code != 200 || len(got) != 1 || got[0].Header.Get("X-Request-Id") != id {
					return fmt.Sprintf("%s; backend got %d requests %v", obs, len(got), got), false
				}
				var gw, cn []map[string]any
				var bad []string
				eventually(t, "the access lines of "+id, func() bool {
					gw, bad = accessLinesOf(g.proc.log.String(), id)
					var bad2 []string
					cn, bad2 = accessLinesOf(conn.log.String(), id)
					bad = append(bad, bad2...)
					return len(bad) > 0 || (len(gw) > 0 && len(cn) > 0)
				})
				prevLines, _ := accessLinesOf(g.proc.log.String(), prev)
				obs += fmt.Sprintf("; %d gateway + %d connector lines, %d not JSON, %d under the sent id", len(gw), len(cn), len(bad), len(prevLines))
				if len(bad) > 0 || len(gw) != 1 || len(cn) != 1 || (prev != "forged" && len(prevLines) != 1) || (prev == "forged" && len(prevLines) != 0) {
					return obs + fmt.Sprintf(" %q", bad), false
				}
				prev = id
				for _, l := range []map[string]any{gw[0], cn[0]} {
					path, _ := l["path"].(string)
					if l["user"] != nil && l["user"] != "alice" || !strings.Contains(path, tc.inPath) {
						return obs + fmt.Sprintf("; line user %v path %q", l["user"], path), false
					}
				}
				if gw[0]["user"] != "alice" {
					return obs + fmt.Sprintf("; gateway line user %v", gw[0]["user"]), false
				}
				return obs + fmt.Sprintf("; user %v, path %q", gw[0]["user"], gw[0]["path"]), true
			})
	}
	hostile(t, "ops", "access log: after the attacks, every access line", "JSON, user alice, an id some response carried; one per request",
		func(t *testing.T) (string, bool) {
			for who, log := range map[string]string{"gateway": g.proc.log.String(), "connector": conn.log.String()} {
				objs, bad := logLines(log)
				if len(bad) > 0 {
					return fmt.Sprintf("%s: %d lines not JSON: %q", who, len(bad), bad), false
				}
				n := 0
				for _, m := range objs {
					id, _ := m["request_id"].(string)
					if m["msg"] != "access" || m["path"] == "/warm" {
						continue
					}
					n++
					if ids[id] == "" || (who == "gateway" && m["user"] != "alice") || (m["user"] != nil && m["user"] != "alice") {
						return fmt.Sprintf("%s: access line %v", who, m), false
					}
				}
				if n != len(ids) {
					return fmt.Sprintf("%s: %d access lines for %d requests", who, n, len(ids)), false
				}
			}
			return fmt.Sprintf("%d requests: one JSON line each at the gateway and the connector, all alice", len(ids)), true
		})
}
