package e2e

// Hostile TCP apps and CLI sign-in: WebSocket upgrades to reserved.TCP
// that carry no, wrong, foreign or malformed credentials, or are not the
// gatehouse-tcp upgrade; reserved.TCP on a web app's host; loopback
// redirects to anywhere but http://127.0.0.1:PORT/callback; forged,
// empty, replayed and oversized codes at the token endpoint; guessing
// device user codes. Each refusal is read off the echo backends (the
// connections they accepted, counted after a settle marker connection
// through the same tunnel), not only off the status the client saw.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

const tcpKey = "tok-tcp-alice"

// tcpHostileEnv is one gateway and connector: TCP apps tcpa and tcpb on
// their own echo backends, and web app "web" on a recorder.
type tcpHostileEnv struct {
	g           *gatewayProc
	echoA, echo *tcpEcho
	rec         *recorder
	c           *http.Client // HTTP/1.1, no redirects followed
	browser     *http.Client // signs in with the API key; stops at any host but *.localhost
}

func startTCPHostileEnv(t *testing.T) *tcpHostileEnv {
	t.Helper()
	e := &tcpHostileEnv{echoA: newTCPEcho(t), echo: newTCPEcho(t), rec: newRecorder(t)}
	sum := sha256.Sum256([]byte("Bearer " + tcpKey))
	auth := fmt.Sprintf("{plugin: apikeys, config: {header: Authorization, keys: [{sha256: %s, subject: alice, groups: [admins]}]}}", hex.EncodeToString(sum[:]))
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n", customSSOBin, fileSum(t, customSSOBin))}
	e.g = startGatewayWith(t, base, []appSpec{
		{Name: "tcpa", Host: "tcpa.localhost", Group: "default", Auth: auth, Access: "{groups: [admins]}", TCP: fmt.Sprintf("{backend: %q}", e.echoA.addr)},
		{Name: "tcpb", Host: "tcpb.localhost", Group: "default", Auth: auth, Access: "{groups: [admins]}", TCP: fmt.Sprintf("{backend: %q}", e.echo.addr)},
		{Name: "web", Host: "web.localhost", Group: "default", Auth: auth, URL: e.rec.URL},
	})
	enrollConnector(t, e.g, "connector", "default")
	e.c = e.g.client(false)
	e.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.browser = keyBrowser(e.g, tcpKey)
	e.browser.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if !strings.HasSuffix(r.URL.Hostname(), ".localhost") || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	eventually(t, "the connector to serve tcpa and tcpb", func() bool {
		return e.roundTrip("tcpa.localhost", "Bearer "+tcpKey) == nil && e.roundTrip("tcpb.localhost", "Bearer "+tcpKey) == nil
	})
	return e
}

// dial opens the TCP WebSocket of host with the given Authorization
// values (each its own header line) and subprotocols.
func (e *tcpHostileEnv) dial(host string, auth []string, protos ...string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	for _, a := range auth {
		h.Add("Authorization", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	return websocket.Dial(ctx, "https://"+host+"/.gatehouse/tcp", &websocket.DialOptions{
		HTTPClient: e.c, HTTPHeader: h, Subprotocols: protos})
}

// roundTrip echoes one message through host's TCP app with auth.
func (e *tcpHostileEnv) roundTrip(host, auth string) error {
	ws, _, err := e.dial(host, []string{auth}, "gatehouse-tcp")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	defer c.Close()
	if _, err := c.Write([]byte("marker")); err != nil {
		return err
	}
	b := make([]byte, 6)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "marker" {
		return fmt.Errorf("echo %q: %v", b, err)
	}
	return nil
}

// untouched settles (one good connection through tcpb: the backend must
// then count exactly it since before) and checks the gateway is alive.
func (e *tcpHostileEnv) untouched(t *testing.T, before, beforeA int64) (string, bool) {
	t.Helper()
	if err := e.roundTrip("tcpb.localhost", "Bearer "+tcpKey); err != nil {
		return "the settle connection failed: " + err.Error(), false
	}
	e.g.proc.requireAlive(t)
	n, na := e.echo.accepted.Load()-before-1, e.echoA.accepted.Load()-beforeA
	return fmt.Sprintf("backends saw %d+%d connections", n, na), n == 0 && na == 0
}

// login opens host's CLILogin with query in the signed-in browser,
// following redirects on *.localhost: the last status and Location.
func (e *tcpHostileEnv) login(t *testing.T, host, query string) (int, string) {
	t.Helper()
	resp, err := e.browser.Get("https://" + host + "/.gatehouse/cli/login?" + query)
	must(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// cliCode signs in at host's CLILogin and returns the code of the
// loopback redirect.
func (e *tcpHostileEnv) cliCode(t *testing.T, host string) string {
	t.Helper()
	st, l := e.login(t, host, "port=4711&state=s1")
	loc, err := url.Parse(l)
	if st != http.StatusSeeOther || err != nil || loc.Host != "127.0.0.1:4711" || loc.Query().Get("code") == "" {
		t.Fatalf("cli login: %d Location %q", st, l)
	}
	return loc.Query().Get("code")
}

// trade posts code to host's CLIToken: status, the JSON answer.
func (e *tcpHostileEnv) trade(t *testing.T, host, code string) (int, map[string]any) {
	t.Helper()
	resp, err := e.c.PostForm("https://"+host+"/.gatehouse/cli/token", url.Values{"code": {code}})
	must(t, err)
	var v map[string]any
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if err != nil {
		v = map[string]any{"undecodable": err.Error()}
	}
	return resp.StatusCode, v
}

func TestHostileTCP(t *testing.T) {
	e := startTCPHostileEnv(t)
	hostileTCPUpgrades(t, e)
	hostileCLILogin(t, e)
	hostileCLIToken(t, e)
	hostileDevice(t, e)
}

func hostileTCPUpgrades(t *testing.T, e *tcpHostileEnv) {
	// A CLI session token of app tcpa, which works on tcpa.
	code := e.cliCode(t, "tcpa.localhost")
	st, v := e.trade(t, "tcpa.localhost", code)
	tokA, _ := v["token"].(string)
	if st != http.StatusOK || tokA == "" {
		t.Fatalf("trading tcpa's code: %d %v", st, v)
	}
	if err := e.roundTrip("tcpa.localhost", "Bearer "+tokA); err != nil {
		t.Fatalf("tcpa's token on tcpa: %v", err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+tcpKey))
	for _, c := range []struct {
		name string
		auth []string
	}{
		{"no credentials", nil},
		{"a wrong bearer", []string{"Bearer tok-wrong"}},
		{"a CLI token of app tcpa on tcpb", []string{"Bearer " + tokA}},
		{"Bearer with no value", []string{"Bearer"}},
		{"Bearer and spaces", []string{"Bearer    "}},
		{"Basic with the key as password", []string{basic}},
		{"the key without its scheme", []string{tcpKey}},
	} {
		hostile(t, "tcp", "upgrade to /.gatehouse/tcp with "+c.name, "401, backend untouched", func(t *testing.T) (string, bool) {
			before, beforeA := e.echo.accepted.Load(), e.echoA.accepted.Load()
			_, resp, err := e.dial("tcpb.localhost", c.auth, "gatehouse-tcp")
			obs, ok := e.untouched(t, before, beforeA)
			return fmt.Sprintf("%d (%v), %s", status(resp), err != nil, obs), err != nil && status(resp) == http.StatusUnauthorized && ok
		})
	}
	// A credential sent twice, whichever copy is valid: refused at the
	// edge before sign-in reads either.
	for _, c := range []struct {
		name string
		auth []string
	}{
		{"wrong, then valid", []string{"Bearer tok-wrong", "Bearer " + tcpKey}},
		{"valid, then wrong", []string{"Bearer " + tcpKey, "Bearer tok-wrong"}},
		{"valid twice", []string{"Bearer " + tcpKey, "Bearer " + tcpKey}},
	} {
		hostile(t, "tcp", "upgrade with two Authorization headers: "+c.name, "400, backend untouched", func(t *testing.T) (string, bool) {
			before, beforeA := e.echo.accepted.Load(), e.echoA.accepted.Load()
			_, resp, err := e.dial("tcpb.localhost", c.auth, "gatehouse-tcp")
			obs, ok := e.untouched(t, before, beforeA)
			return fmt.Sprintf("%d (%v), %s", status(resp), err != nil, obs), err != nil && status(resp) == http.StatusBadRequest && ok
		})
	}
	for _, c := range []struct {
		name   string
		protos []string
	}{
		{"the wrong subprotocol", []string{"chat"}},
		{"no subprotocol", nil},
		{"a near miss subprotocol", []string{"gatehouse-tcp2", "Gatehouse-TCP"}},
	} {
		hostile(t, "tcp", "upgrade with "+c.name+" and a valid key", "426, backend untouched", func(t *testing.T) (string, bool) {
			before, beforeA := e.echo.accepted.Load(), e.echoA.accepted.Load()
			_, resp, err := e.dial("tcpb.localhost", []string{"Bearer " + tcpKey}, c.protos...)
			obs, ok := e.untouched(t, before, beforeA)
			return fmt.Sprintf("%d (%v), %s", status(resp), err != nil, obs), err != nil && status(resp) == http.StatusUpgradeRequired && ok
		})
	}
	for _, c := range []struct{ name, head string }{
		{"plain GET with a valid key", ""},
		{"Upgrade: websocket, no Connection: upgrade", "Upgrade: websocket\r\nSec-WebSocket-Protocol: gatehouse-tcp\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"},
		{"Upgrade: h2c with the subprotocol", "Connection: Upgrade\r\nUpgrade: h2c\r\nSec-WebSocket-Protocol: gatehouse-tcp\r\n"},
	} {
		hostile(t, "tcp", c.name, "426, backend untouched", func(t *testing.T) (string, bool) {
			before, beforeA := e.echo.accepted.Load(), e.echoA.accepted.Load()
			st, _, err := rawTLSAnswer(e.g, "tcpb.localhost", "GET /.gatehouse/tcp HTTP/1.1\r\nHost: tcpb.localhost\r\nAuthorization: Bearer "+tcpKey+"\r\n"+c.head+"\r\n")
			obs, ok := e.untouched(t, before, beforeA)
			return fmt.Sprintf("%d %v, %s", st, err, obs), err == nil && st == http.StatusUpgradeRequired && ok
		})
	}
	upgrade := "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: gatehouse-tcp\r\n"
	for _, c := range []struct{ name, head string }{
		{"the gatehouse-tcp upgrade with no Sec-WebSocket-Key", upgrade + "Sec-WebSocket-Version: 13\r\n"},
		{"the gatehouse-tcp upgrade with no Sec-WebSocket-Version", upgrade + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"},
		{"the gatehouse-tcp upgrade with Sec-WebSocket-Version: 8", upgrade + "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"},
	} {
		hostile(t, "tcp", c.name+" and a valid key", "400 or 426, backend untouched", func(t *testing.T) (string, bool) {
			before, beforeA := e.echo.accepted.Load(), e.echoA.accepted.Load()
			st, _, err := rawTLSAnswer(e.g, "tcpb.localhost", "GET /.gatehouse/tcp HTTP/1.1\r\nHost: tcpb.localhost\r\nAuthorization: Bearer "+tcpKey+"\r\n"+c.head+"\r\n")
			obs, ok := e.untouched(t, before, beforeA)
			return fmt.Sprintf("%d %v, %s", st, err, obs), err == nil && (st == http.StatusBadRequest || st == http.StatusUpgradeRequired) && ok
		})
	}
	hostile(t, "tcp", "/.gatehouse/tcp on a web app's host, with a key and the subprotocol", "404, no tunnel to a TCP backend", func(t *testing.T) (string, bool) {
		before, beforeA, n := e.echo.accepted.Load(), e.echoA.accepted.Load(), e.rec.count()
		_, resp, err := e.dial("web.localhost", []string{"Bearer " + tcpKey}, "gatehouse-tcp")
		obs, ok := e.untouched(t, before, beforeA)
		got := e.rec.since(n)
		return fmt.Sprintf("%d (%v), %s, web backend saw %d", status(resp), err != nil, obs, len(got)),
			err != nil && status(resp) == http.StatusNotFound && ok && len(got) == 0
	})
}

func hostileCLILogin(t *testing.T, e *tcpHostileEnv) {
	for _, c := range []struct{ name, query string }{
		{"port=0", "port=0"},
		{"port=65536", "port=65536"},
		{"port=+80 (a space)", "port=+80"},
		{"port=%2B80", "port=%2B80"},
		{"port=080", "port=080"},
		{"port=%2080", "port=%2080"},
		{"port=80@evil.example", "port=80@evil.example"},
		{"port=80%40evil.example", "port=80%40evil.example"},
		{"port=80/evil", "port=80/evil"},
		{"port=80%2Fevil", "port=80%2Fevil"},
		{"port=80:81", "port=80%3A81"},
		{"port=-1", "port=-1"},
		{"port=0x50", "port=0x50"},
		{"no port", ""},
	} {
		hostile(t, "tcp", "cli login "+c.name+" with a session", "400, no Location", func(t *testing.T) (string, bool) {
			st, l := e.login(t, "tcpb.localhost", c.query+"&state=s1")
			e.g.proc.requireAlive(t)
			return fmt.Sprintf("%d Location %q", st, l), st == http.StatusBadRequest && l == ""
		})
	}
	for _, c := range []struct{ name, query, host string }{
		{"redirect_uri=https://evil.example", "port=8080&state=s1&redirect_uri=https%3A%2F%2Fevil.example%2F", "127.0.0.1:8080"},
		{"redirect_uri and return_to", "port=8080&state=s1&redirect_uri=https://evil.example/&return_to=https://evil.example/&next=//evil.example", "127.0.0.1:8080"},
		{"host=evil.example", "port=8080&state=s1&host=evil.example", "127.0.0.1:8080"},
		{"two ports, 80 then 81@evil.example", "port=80&port=81@evil.example&state=s1", "127.0.0.1:80"},
	} {
		hostile(t, "tcp", "cli login with "+c.name, "303 to http://"+c.host+"/callback only", func(t *testing.T) (string, bool) {
			st, l := e.login(t, "tcpb.localhost", c.query)
			loc, err := url.Parse(l)
			ok := err == nil && st == http.StatusSeeOther && loc.Scheme == "http" && loc.Host == c.host &&
				loc.Path == "/callback" && loc.User == nil && !strings.Contains(l, "evil")
			return fmt.Sprintf("%d Location %.60q", st, l), ok
		})
	}
}

func hostileCLIToken(t *testing.T, e *tcpHostileEnv) {
	refused := func(st int, v map[string]any, want string) (string, bool) {
		_, tok := v["token"]
		e.g.proc.requireAlive(t)
		return fmt.Sprintf("%d error=%v token=%v", st, v["error"], tok), st == http.StatusBadRequest && v["error"] == want && !tok
	}
	good := e.cliCode(t, "tcpb.localhost")
	forged := []byte(good)
	forged[len(forged)/2] ^= 1
	for _, c := range []struct{ name, code, want string }{
		{"a forged code", "forged", "invalid_grant"},
		{"a real code with one bit flipped", string(forged), "invalid_grant"},
		{"an empty code", "", "invalid_request"},
		{"tcpa's code at tcpb", e.cliCode(t, "tcpa.localhost"), "invalid_grant"},
		{"a 1 MiB code", strings.Repeat("A", 1<<20), "invalid_request"},
	} {
		hostile(t, "tcp", "cli token with "+c.name, "400 "+c.want+", no token", func(t *testing.T) (string, bool) {
			st, v := e.trade(t, "tcpb.localhost", c.code)
			return refused(st, v, c.want)
		})
	}
	hostile(t, "tcp", "cli token with a code reused", "200 once, then 400 invalid_grant", func(t *testing.T) (string, bool) {
		st1, v1 := e.trade(t, "tcpb.localhost", good)
		st2, v2 := e.trade(t, "tcpb.localhost", good)
		obs, ok := refused(st2, v2, "invalid_grant")
		return fmt.Sprintf("first %d (token %v), second %s", st1, v1["token"] != nil, obs), st1 == http.StatusOK && v1["token"] != nil && ok
	})
}

func hostileDevice(t *testing.T, e *tcpHostileEnv) {
	hostile(t, "tcp", "12 unknown device user codes from one client", "404 ×10, then 429", func(t *testing.T) (string, bool) {
		var got []string
		ok := true
		for i := range 12 {
			code := fmt.Sprintf("BBBB-BB%c%c", "BCDFGHJKLMNP"[i], 'B')
			resp, err := e.browser.Get("https://tcpb.localhost/.gatehouse/cli/device?user_code=" + code)
			must(t, err)
			body := readAll(t, resp)
			got = append(got, fmt.Sprint(resp.StatusCode))
			want, text := http.StatusNotFound, "unknown"
			if i >= 10 {
				want, text = http.StatusTooManyRequests, "Too many"
			}
			ok = ok && resp.StatusCode == want && strings.Contains(body, text)
		}
		e.g.proc.requireAlive(t)
		return strings.Join(got, " "), ok
	})
}
