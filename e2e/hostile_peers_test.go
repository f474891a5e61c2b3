package e2e

// Hostile peers: what reaches the gateway's tunnel port that no connector
// sends, connectors that are enrolled but misbehave, and Authenticator
// plug-ins that misbehave. Each case checks that the backend received
// nothing for the attack and that the gateway goes on serving the others.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/connector"
	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
	_ "modernc.org/sqlite"
)

// TestHostilePeers shares one gateway: app (group default, a real
// connector), evil (group evil, served only by the test's own connectors)
// and lonely (group lonely, no connector at all), all on one recorder.
func TestHostilePeers(t *testing.T) {
	rec := newRecorder(t)
	g := startGatewaySpec(t, []string{"default", "evil", "lonely"}, []appSpec{
		{Name: "app", Host: "app.localhost", Group: "default", URL: rec.URL},
		{Name: "evil", Host: "evil.localhost", Group: "evil", URL: rec.URL},
		{Name: "lonely", Host: "lonely.localhost", Group: "lonely", URL: rec.URL},
	})
	real := enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/ready")

	// untouched reports whether the backend got nothing since n, then
	// checks that the gateway still serves app (that request is the
	// backend's next one).
	untouched := func(t *testing.T, n int) (string, bool) {
		t.Helper()
		if got := rec.since(n); len(got) != 0 {
			return fmt.Sprintf("the backend received %d requests, the first %s %s", len(got), got[0].Method, got[0].URI), false
		}
		g.proc.requireAlive(t)
		r := get(t, c, "https://app.localhost/still-serving")
		if last, ok := rec.last(); r.Status != http.StatusOK || !ok || last.URI != "/still-serving" {
			return fmt.Sprintf("backend untouched, but the good app then answered %d", r.Status), false
		}
		return "backend untouched; the good app still served", true
	}

	t.Run("tunnel", func(t *testing.T) { hostileTunnelCases(t, g, real, untouched, rec) })
	t.Run("connector", func(t *testing.T) { hostileConnectorCases(t, g, c, untouched, rec) })
}

type untouchedFunc func(t *testing.T, n int) (string, bool)

func hostileTunnelCases(t *testing.T, g *gatewayProc, real *connectorProc, untouched untouchedFunc, rec *recorder) {
	const closed = "connection closed, backend untouched, the good app still served"
	// closes runs talk and expects the gateway to close the connection.
	closes := func(talk func(t *testing.T) net.Conn) func(t *testing.T) (string, bool) {
		return func(t *testing.T) (string, bool) {
			n := rec.count()
			requireClosedByPeer(t, talk(t))
			obs, ok := untouched(t, n)
			return "closed; " + obs, ok
		}
	}
	hostile(t, "tunnel", "random bytes instead of TLS", closed, closes(func(t *testing.T) net.Conn {
		conn := dialTCP(t, g.tunnel)
		sendAttack(conn, randomBytes(8192, 7))
		return conn
	}))
	hostile(t, "tunnel", "plain HTTP request instead of TLS", closed, closes(func(t *testing.T) net.Conn {
		conn := dialTCP(t, g.tunnel)
		sendAttack(conn, []byte("GET /control HTTP/1.1\r\nHost: gatehouse-tunnel\r\n\r\n"))
		return conn
	}))
	hostile(t, "tunnel", "TLS 1.3 without a client certificate", closed, closes(func(t *testing.T) net.Conn {
		return dialTLS(t, g.tunnel, tunnel.ProtoTunnel)
	}))
	cert, pool, _ := enrollCert(t, g, "evil")
	hostile(t, "tunnel", "TLS 1.2 offered, with an enrolled certificate", "handshake refused (protocol version)", func(t *testing.T) (string, bool) {
		n := rec.count()
		conn := tls.Client(dialTCP(t, g.tunnel), &tls.Config{MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
			RootCAs: pool, ServerName: tunnel.ServerName, NextProtos: []string{tunnel.ProtoTunnel}})
		_ = conn.SetDeadline(time.Now().Add(waitFor))
		err := conn.Handshake()
		obs, ok := untouched(t, n)
		if err == nil {
			return fmt.Sprintf("TLS %x accepted; %s", conn.ConnectionState().Version, obs), false
		}
		return "handshake refused: " + err.Error() + "; " + obs, ok && strings.Contains(err.Error(), "protocol version")
	})
	hostile(t, "tunnel", "certificate from another CA naming an enrolled connector", "refused (bad certificate), no session", func(t *testing.T) (string, bool) {
		n := rec.count()
		forged := selfSignedClient(t, real.id(t))
		conn := tls.Client(dialTCP(t, g.tunnel), &tls.Config{RootCAs: pool,
			// sent whatever CAs the gateway asks for
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &forged, nil },
			ServerName:           tunnel.ServerName, NextProtos: []string{tunnel.ProtoTunnel}, MinVersion: tls.VersionTLS13})
		_ = conn.SetDeadline(time.Now().Add(waitFor))
		err := conn.Handshake()
		if err == nil { // TLS 1.3: the server checks the client's certificate after the client's Finished
			_, err = conn.Read(make([]byte, 1))
		}
		g.log().waitLines(t, "the refusal logged", 1, "tunnel handshake failed", "remote="+conn.LocalAddr().String())
		obs, ok := untouched(t, n)
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Sprintf("session open (%v); %s", err, obs), false
		}
		return "refused: " + err.Error() + "; " + obs, ok
	})
	// dialMTLS completes a real connector's handshake, to then send what
	// no connector sends.
	dialMTLS := func(t *testing.T) *tls.Conn {
		conn := tls.Client(dialTCP(t, g.tunnel), &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool,
			ServerName: tunnel.ServerName, NextProtos: []string{tunnel.ProtoTunnel}, MinVersion: tls.VersionTLS13})
		_ = conn.SetDeadline(time.Now().Add(waitFor))
		if err := conn.Handshake(); err != nil {
			t.Fatalf("mutual TLS with an enrolled certificate: %v", err)
		}
		return conn
	}
	hostile(t, "tunnel", "random bytes instead of yamux after mutual TLS", closed, closes(func(t *testing.T) net.Conn {
		conn := dialMTLS(t)
		sendAttack(conn, randomBytes(4096, 11))
		return conn
	}))
	hostile(t, "tunnel", "yamux data frame claiming 4 GiB", closed, closes(func(t *testing.T) net.Conn {
		conn := dialMTLS(t)
		hdr := yamuxHeader(0, 1, 1, 0xffffffff) // data, SYN, stream 1
		sendAttack(conn, append(hdr, randomBytes(1024, 13)...))
		return conn
	}))
	hostile(t, "tunnel", "control frame claiming 4 GiB", closed+"; the reason logged", func(t *testing.T) (string, bool) {
		n := rec.count()
		e := dialEvil(t, g, "evil", true)
		e.writeRaw([]byte{0xff, 0xff, 0xff, 0xff, '{', '"'})
		requireSessionClosed(t, e)
		g.log().waitLines(t, "the bad frame logged", 1, "control stream failed", "frame larger than 1 MiB", "connector="+e.id)
		obs, ok := untouched(t, n)
		return "session closed; " + obs, ok
	})
}

func hostileConnectorCases(t *testing.T, g *gatewayProc, c *http.Client, untouched untouchedFunc, rec *recorder) {
	hostile(t, "connector", "enrolled in group evil, waits for group default's requests", "every request of app and lonely goes elsewhere or nowhere; evil gets none", func(t *testing.T) (string, bool) {
		e := dialEvil(t, g, "evil", true)
		served := e.answerWith([]byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"))
		n := rec.count()
		for i := range 20 {
			if r := get(t, c, fmt.Sprintf("https://app.localhost/mine-%d", i)); r.Status != http.StatusOK || r.Body == "evil" {
				return fmt.Sprintf("app answered %d %q", r.Status, r.Body), false
			}
		}
		lonely := get(t, c, "https://lonely.localhost/x")
		if got := len(rec.since(n)); got != 20 || served.get() != 0 || lonely.Status != http.StatusServiceUnavailable {
			return fmt.Sprintf("backend got %d of 20, evil connector %d, lonely %d", got, served.get(), lonely.Status), false
		}
		return "20/20 to the real connector, evil connector 0, lonely (no connector) 503", true
	})
	hostile(t, "connector", "garbage instead of an HTTP answer", "502 to the client; backend untouched", func(t *testing.T) (string, bool) {
		e := dialEvil(t, g, "evil", true)
		served := e.answerWith([]byte("\x00\xffTHIS IS NOT HTTP\r\n\r\n\x13\x37"))
		n := rec.count()
		r := get(t, c, "https://evil.localhost/x")
		obs, ok := untouched(t, n)
		return fmt.Sprintf("client got %d (evil connector served %d); %s", r.Status, served.get(), obs),
			ok && r.Status == http.StatusBadGateway && served.get() > 0
	})
	hostile(t, "connector", "opens a stream the gateway never asked for, with an HTTP answer in it", "the gateway closes the session and logs why; backend untouched", func(t *testing.T) (string, bool) {
		e := dialEvil(t, g, "evil", true)
		n := rec.count()
		// The gateway may close the session before yamux reports the
		// stream open or the write done: their errors are not the test's.
		if s, err := e.mux.OpenStream(); err == nil {
			_, _ = s.Write([]byte("HTTP/1.1 200 OK\r\nX-Gatehouse-User: admin\r\nContent-Length: 5\r\n\r\nhello"))
		}
		g.log().waitLines(t, "the refusal logged", 1, "connector opened a stream", "connector="+e.id)
		requireSessionClosed(t, e)
		obs, ok := untouched(t, n)
		return "session closed, the refusal logged; " + obs, ok
	})
	hostile(t, "connector", "answers with identity headers and the gateway's own cookies", "the client gets no gatehouse session or state cookie and no X-Gatehouse-* header", func(t *testing.T) (string, bool) {
		e := dialEvil(t, g, "evil", true)
		e.answerWith([]byte("HTTP/1.1 200 OK\r\nX-Gatehouse-User: admin\r\nX-Gatehouse-Groups: admins\r\n" +
			"Set-Cookie: __Host-gatehouse.app=forged; Path=/; Secure; HttpOnly\r\n" +
			"Set-Cookie: __Host-gatehouse-state.app=forged; Path=/; Secure\r\n" +
			"Set-Cookie: theme=dark; Path=/\r\nContent-Length: 2\r\n\r\nok"))
		n := rec.count()
		r := get(t, c, "https://evil.localhost/x")
		obs, ok := untouched(t, n)
		var gh []string
		for _, sc := range r.Header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, "__Host-gatehouse") {
				gh = append(gh, sc)
			}
		}
		return fmt.Sprintf("client got %d, gatehouse cookies %q, X-Gatehouse-User %q; %s", r.Status, gh, r.Header.Get("X-Gatehouse-User"), obs),
			ok && r.Status == http.StatusOK && len(gh) == 0 && len(headerPrefixed(r.Header, "X-Gatehouse-")) == 0
	})
	hostile(t, "connector", "removed from the store, keeps its certificate", "its session is closed at the next heartbeat and a new one is refused; no traffic", func(t *testing.T) (string, bool) {
		cert, pool, id := enrollCert(t, g, "evil")
		e := evilSession(t, g, cert, pool, id, true)
		served := e.answerWith([]byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"))
		removeConnector(t, g, id)
		requireSessionClosed(t, e)
		n := rec.count()
		again := evilSession(t, g, cert, pool, id, false)
		// The refusal may close the session before yamux reports the
		// hello written: read what the gateway answered either way.
		_ = tunnel.WriteFrame(again.control, tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "evil", Hostname: "evil"}})
		_ = again.control.SetReadDeadline(time.Now().Add(waitFor))
		var m tunnel.Message
		err := tunnel.ReadFrame(again.control, &m)
		r := get(t, c, "https://evil.localhost/x")
		obs, ok := untouched(t, n)
		if err != nil || m.Type != tunnel.MsgError || m.Error == nil || !m.Error.Fatal {
			return fmt.Sprintf("the new session got %+v, %v", m, err), false
		}
		return fmt.Sprintf("new session refused (%q); evil app %d, evil connector served %d; %s", clip(m.Error.Message, 40), r.Status, served.get(), obs),
			ok && served.get() == 0 && r.Status == http.StatusServiceUnavailable
	})
}

// enrollCert enrolls a connector identity in group, as the connector
// would, and returns its certificate, the gateway CA and its id.
func enrollCert(t testing.TB, g *gatewayProc, group string) (tls.Certificate, *x509.CertPool, string) {
	t.Helper()
	state := filepath.Join(t.TempDir(), "enrolled")
	st, err := connector.Enroll(context.Background(), g.token(group, "1h"), state, nil, "hostile")
	if err != nil {
		t.Fatalf("enrolling: %v", err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(state, "cert.pem"), filepath.Join(state, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(state, "gateway-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return cert, pool, st.ConnectorID
}

// evilSession opens a tunnel session with cert and its control stream;
// with ready, it says hello and ready and heartbeats, as dialEvil does.
func evilSession(t testing.TB, g *gatewayProc, cert tls.Certificate, pool *x509.CertPool, id string, ready bool) *evilConnector {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.tunnel, &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool,
		ServerName: tunnel.ServerName, NextProtos: []string{tunnel.ProtoTunnel},
	})
	if err != nil {
		t.Fatalf("tunnel: %v", err)
	}
	mux, err := yamux.Client(conn, tunnel.MuxConfig(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mux.Close() })
	control, err := mux.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	e := &evilConnector{id: id, mux: mux, control: control}
	if !ready {
		return e
	}
	e.send(t, tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "evil", Hostname: "evil"}})
	_ = control.SetReadDeadline(time.Now().Add(waitFor))
	var m tunnel.Message
	if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != tunnel.MsgConfig {
		t.Fatalf("want a config, got %+v, %v", m, err)
	}
	_ = control.SetReadDeadline(time.Time{})
	e.send(t, tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: m.Config.Version}})
	go func() { // heartbeats until the session ends; the gateway's answers are drained
		for {
			select {
			case <-mux.CloseChan():
				return
			case <-time.After(200 * time.Millisecond):
			}
			e.wmu.Lock()
			err := tunnel.WriteFrame(control, tunnel.Message{Type: tunnel.MsgHeartbeat, Heartbeat: &tunnel.Heartbeat{}})
			e.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { _, _ = io.Copy(io.Discard, bufio.NewReader(control)) }()
	g.log().waitLines(t, "the gateway to attach the session", 1, "connector session ready", "connector="+id)
	return e
}

// removeConnector deletes connector id from the gateway's store, as
// removal after inactivity does, while the gateway runs.
func removeConnector(t testing.TB, g *gatewayProc, id string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(g.dataDir, "gatehouse.db")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`DELETE FROM connectors WHERE id = ?`, id)
	if err != nil {
		t.Fatalf("removing connector %s: %v", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("removing connector %s: %d rows", id, n)
	}
}

// selfSignedClient is a client certificate for cn that no gateway CA signed.
func selfSignedClient(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestHostilePlugin signs in through an Authenticator plug-in that
// misbehaves as each request's X-Hostile header asks
// (testdata/hostileplugin): every misbehaviour fails closed, and the
// backend sees nothing.
func TestHostilePlugin(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hostileplugin")
	build := exec.Command(goTool(), "build", "-o", bin, "./e2e/testdata/hostileplugin")
	build.Dir = moduleRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the hostile plug-in: %v\n%s", err, out)
	}
	rec := newRecorder(t)
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf("  - {name: hostile, path: %q, sha256: %s}\n", bin, fileSum(t, bin))}
	var apps []appSpec
	for _, name := range []string{"a", "b"} {
		apps = append(apps, appSpec{Name: name, Host: name + ".localhost", Group: "default", URL: rec.URL, Auth: "{plugin: hostile, config: {}}"})
	}
	g := startGatewayWith(t, base, apps)
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	eventually(t, "a signed-in request through the connector", func() bool {
		return getWith(t, c, "https://a.localhost/ready", "X-Hostile", "ok").Status == http.StatusOK
	})

	// refused sends mode and expects status with no request at the backend.
	refused := func(mode string, status int) func(t *testing.T) (string, bool) {
		return func(t *testing.T) (string, bool) {
			n := rec.count()
			r := getWith(t, c, "https://a.localhost/secret", "X-Hostile", mode)
			got := rec.since(n)
			g.proc.requireAlive(t)
			return fmt.Sprintf("client got %d %q; backend got %d", r.Status, clip(r.Body, 50), len(got)), r.Status == status && len(got) == 0
		}
	}
	hostile(t, "plugin", "Authenticator answers a 1 MiB identity", "403 (no session can carry it); backend untouched", refused("huge", http.StatusForbidden))
	hostile(t, "plugin", "Authenticator answers an 8 MiB identity", "503: refused on the wire (4 MiB limit), never decoded; backend untouched", func(t *testing.T) (string, bool) {
		obs, ok := refused("gigantic", http.StatusServiceUnavailable)(t)
		lines := g.log().waitLines(t, "the refusal logged", 1, "sign-in unavailable", "received message larger than max")
		return obs + "; logged: " + clip(lines[0][strings.Index(lines[0], "received"):], 60), ok
	})
	hostile(t, "plugin", "Authenticator says authenticated without a subject", "503; backend untouched", refused("nosubject", http.StatusServiceUnavailable))
	hostile(t, "plugin", "Authenticator panics", "503; backend untouched", refused("panic", http.StatusServiceUnavailable))
	hostile(t, "plugin", "Authenticator never answers (deadline)", "503 at the call deadline; backend untouched", refused("hang", http.StatusServiceUnavailable))
	hostile(t, "plugin", "Authenticator challenge sets the gateway's session cookie", "the plug-in's page, without the gateway's cookie; backend untouched", func(t *testing.T) (string, bool) {
		n := rec.count()
		r := getWith(t, c, "https://a.localhost/secret", "X-Hostile", "cookie")
		cookies := strings.Join(r.Header.Values("Set-Cookie"), " | ")
		return fmt.Sprintf("client got %d, Set-Cookie %q; backend got %d", r.Status, cookies, len(rec.since(n))),
			r.Status == http.StatusOK && !strings.Contains(cookies, "__Host-gatehouse") && strings.Contains(cookies, "theme=dark") && len(rec.since(n)) == 0
	})
	hostile(t, "plugin", "identity given for app a, presented to app b", "b asks for sign-in (401); backend untouched", func(t *testing.T) (string, bool) {
		r := getWith(t, c, "https://a.localhost/mine", "X-Hostile", "ok")
		var session string
		for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
			if sc.Name == "__Host-gatehouse.a" {
				session = sc.Value
			}
		}
		if r.Status != http.StatusOK || session == "" {
			t.Fatalf("signing in to a: %d, Set-Cookie %q", r.Status, r.Header.Values("Set-Cookie"))
		}
		n := rec.count()
		r = getWith(t, c, "https://b.localhost/secret", "Cookie", "__Host-gatehouse.a="+session+"; __Host-gatehouse.b="+session)
		got := rec.since(n)
		return fmt.Sprintf("b answered %d; backend got %d", r.Status, len(got)), r.Status == http.StatusUnauthorized && len(got) == 0
	})
	hostile(t, "plugin", "Authenticator process exits during the call", "503 while it is down, then it is restarted; backend untouched", func(t *testing.T) (string, bool) {
		obs, ok := refused("crash", http.StatusServiceUnavailable)(t)
		eventually(t, "the plug-in restarted", func() bool {
			return getWith(t, c, "https://a.localhost/back", "X-Hostile", "ok").Status == http.StatusOK
		})
		return obs + "; restarted", ok
	})
}

// yamuxHeader is a yamux frame header (version 0).
func yamuxHeader(typ byte, flags uint16, stream, length uint32) []byte {
	h := make([]byte, 12)
	h[1] = typ
	binary.BigEndian.PutUint16(h[2:], flags)
	binary.BigEndian.PutUint32(h[4:], stream)
	binary.BigEndian.PutUint32(h[8:], length)
	return h
}

// sendAttack writes b to conn; an error only means that the gateway has
// closed the connection already, which is what the cases then check.
func sendAttack(conn net.Conn, b []byte) {
	_ = conn.SetWriteDeadline(time.Now().Add(waitFor))
	_, _ = conn.Write(b)
}

// headerPrefixed returns the names in h that start with prefix, in any case.
func headerPrefixed(h http.Header, prefix string) []string {
	var out []string
	for k := range h {
		if len(k) >= len(prefix) && strings.EqualFold(k[:len(prefix)], prefix) {
			out = append(out, k)
		}
	}
	return out
}
