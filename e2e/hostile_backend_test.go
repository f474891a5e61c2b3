package e2e

// Hostile backends: a backend that frames its answers badly, or sends
// heads meant for the gateway, must not make one user's response reach
// another. Each case sends alice's request to a scripted raw-TCP backend
// that answers her with exact hostile bytes, then bob's request through
// the same gateway and connector (whose pooled backend connection is the
// thing at stake), and checks what the backend received and what each
// user got: bob must get his own answer, and after an answer whose end was
// in doubt, on a new backend connection.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// scriptedBackend answers each request with exact bytes: alice's from the
// case's script, bob's a private page naming the case and the request.
type scriptedBackend struct {
	URL string
	ln  net.Listener

	mu      sync.Mutex
	conns   int
	seen    []scriptedReq
	scripts map[string]scriptedAnswer
}

// scriptedReq is what the backend received of one request.
type scriptedReq struct {
	Conn               int // the backend connection it came on, from 1
	Method, Case, User string
	Answered           string // bob's body, "" for alice
}

// scriptedAnswer is alice's answer: the bytes, then hold (if set) runs
// and more is written, then the connection is closed if close is set.
type scriptedAnswer struct {
	bytes string
	hold  func()
	more  string
	close bool
}

func newScriptedBackend(t *testing.T) *scriptedBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &scriptedBackend{URL: "http://" + ln.Addr().String(), ln: ln, scripts: map[string]scriptedAnswer{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns++
			id := b.conns
			b.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				b.serve(c, id)
			}()
		}
	}()
	return b
}

func (b *scriptedBackend) serve(c net.Conn, id int) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		r := scriptedReq{Conn: id, Method: req.Method, Case: strings.TrimPrefix(req.URL.Path, "/c/"), User: req.URL.Query().Get("user")}
		b.mu.Lock()
		script, ok := b.scripts[r.Case]
		if r.User != "alice" || !ok {
			r.Answered = fmt.Sprintf("bob's own page: %s #%d", r.Case, len(b.seen))
		}
		b.seen = append(b.seen, r)
		b.mu.Unlock()
		if r.Answered != "" {
			if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(r.Answered), r.Answered); err != nil {
				return
			}
			continue
		}
		if _, err := io.WriteString(c, script.bytes); err != nil {
			return
		}
		if script.hold != nil {
			script.hold()
			if _, err := io.WriteString(c, script.more); err != nil {
				return
			}
		}
		if script.close {
			return
		}
	}
}

func (b *scriptedBackend) script(name string, a scriptedAnswer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scripts[name] = a
}

// requests returns what the backend received for one case.
func (b *scriptedBackend) requests(name string) (alice, bob []scriptedReq) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.seen {
		switch {
		case r.Case != name:
		case r.User == "alice":
			alice = append(alice, r)
		default:
			bob = append(bob, r)
		}
	}
	return alice, bob
}

// smuggled is a whole second response, as a backend would send it after
// the end of the one it framed: taken as the next answer, it gives the
// next user alice's page.
const smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\nalice's private page!"

// alicePage is a correctly framed private answer for alice.
const alicePage = "HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\nalice's private page!"

// userResult is what a user's client got.
type userResult struct {
	status int
	header http.Header
	body   string
	err    error // the response did not arrive whole
}

func (u userResult) String() string {
	if u.err != nil {
		return fmt.Sprintf("%d then error (%v)", u.status, u.err)
	}
	return fmt.Sprintf("%d %q", u.status, clip(u.body, 40))
}

func TestHostileBackend(t *testing.T) {
	be := newScriptedBackend(t)
	send := func(t *testing.T, c *http.Client, host, method, name, user string) userResult {
		t.Helper()
		req, err := http.NewRequest(method, "https://"+host+"/c/"+url.PathEscape(name)+"?user="+user, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), waitFor)
		defer cancel()
		resp, err := c.Do(req.WithContext(ctx))
		if err != nil {
			return userResult{err: err}
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return userResult{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
	}

	late, lateWritten := make(chan struct{}), make(chan struct{})
	flood := "HTTP/1.1 200 OK\r\nX-Flood: " + strings.Repeat("f", 300<<10) + "\r\nContent-Length: 21\r\n\r\nalice's private page!"
	var many strings.Builder
	many.WriteString("HTTP/1.1 200 OK\r\n")
	for i := 0; many.Len() < 300<<10; i++ {
		fmt.Fprintf(&many, "X-F%d: v\r\n", i)
	}
	many.WriteString("Content-Length: 21\r\n\r\nalice's private page!")

	const private = "alice's private page!"
	gotPage := func(u userResult) bool { return u.err == nil && u.status == 200 && u.body == private }
	gotTruncated := func(u userResult) bool { return cutByServer(u) || (u.err == nil && u.status == http.StatusBadGateway) }
	is502 := func(u userResult) bool { return u.err == nil && u.status == http.StatusBadGateway }
	noGatehouse := func(u userResult) bool {
		for k := range u.header {
			if strings.HasPrefix(strings.ToLower(k), "x-gatehouse-") {
				return false
			}
		}
		return true
	}
	tests := []struct {
		name, method, expected string
		answer                 scriptedAnswer
		alice                  func(userResult) bool
		newConn                bool // bob's request must come on a new backend connection
	}{
		{"103 Early Hints then 200", "GET", "alice gets her 200 page, not the 103; bob gets his own page",
			scriptedAnswer{bytes: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + alicePage}, gotPage, false},
		{"unsolicited 100 Continue", "GET", "alice gets her page; bob his own",
			scriptedAnswer{bytes: "HTTP/1.1 100 Continue\r\n\r\n" + alicePage}, gotPage, false},
		{"several 1xx in a row", "GET", "alice gets her page; bob his own",
			scriptedAnswer{bytes: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b>\r\n\r\n" + alicePage}, gotPage, false},
		{"body longer than Content-Length, shaped as a second response", "GET", "alice gets her 5 bytes; bob his own page, on a new backend connection",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + smuggled},
			func(u userResult) bool { return u.err == nil && u.status == 200 && u.body == "hello" }, true},
		{"response after the last chunk", "GET", "alice gets her chunked body; bob his own page, on a new connection",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled},
			func(u userResult) bool { return u.err == nil && u.status == 200 && u.body == "hello" }, true},
		{"Transfer-Encoding chunked with Content-Length", "GET", "chunking wins for alice; the connection is not reused: bob his own page",
			scriptedAnswer{bytes: fmt.Sprintf("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n5\r\nhello\r\n0\r\n\r\n%s", 15+len(smuggled), smuggled)},
			func(u userResult) bool { return u.err == nil && u.status == 200 && u.body == "hello" }, true},
		{"duplicate equal Content-Length, then a second response", "GET", "alice gets her body; the connection is not reused",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello" + smuggled},
			func(u userResult) bool { return u.err == nil && u.status == 200 && u.body == "hello" }, true},
		{"conflicting Content-Length", "GET", "alice gets a 502; bob his own page, on a new connection",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 66\r\n\r\nhello" + smuggled}, is502, true},
		{"bad chunk size", "GET", "alice gets a 502 or a cut response; bob his own page, on a new connection",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + smuggled}, gotTruncated, true},
		{"body shorter than Content-Length", "GET", "alice's client sees a cut response, not a whole one; bob his own page",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nalice's private", close: true},
			func(u userResult) bool {
				return cutByServer(u) || (u.err == nil && u.status == http.StatusBadGateway && !strings.Contains(u.body, "alice"))
			}, true},
		{"HEAD answered with a body", "HEAD", "alice gets the head; the body is not bob's answer",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\n" + smuggled},
			func(u userResult) bool { return u.err == nil && u.status == 200 && u.body == "" }, true},
		{"204 No Content with a body", "GET", "alice gets 204; the body is not bob's answer",
			scriptedAnswer{bytes: "HTTP/1.1 204 No Content\r\n\r\n" + smuggled},
			func(u userResult) bool { return u.err == nil && u.status == 204 && u.body == "" }, true},
		{"second response sent after the connection was pooled", "GET", "the pooled connection is dropped: bob his own page",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", more: smuggled, hold: func() { <-late; close(lateWritten) }},
			func(u userResult) bool { return u.err == nil && u.status == 200 && u.body == "hello" }, true},
		{"X-Gatehouse-Error spoofed by the backend", "GET", "alice gets the backend's 200 page, no gateway error page, no X-Gatehouse-*",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nX-Gatehouse-Error: unknown_app\r\nContent-Length: 21\r\n\r\n" + private},
			func(u userResult) bool { return gotPage(u) && noGatehouse(u) }, false},
		{"other X-Gatehouse-* headers from the backend", "GET", "alice gets her page without any X-Gatehouse-* header",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nX-Gatehouse-User: admin\r\nx-gatehouse-groups: admins\r\nX-Gatehouse-Assertion: forged\r\nContent-Length: 21\r\n\r\n" + private},
			func(u userResult) bool { return gotPage(u) && noGatehouse(u) }, false},
		{"X-Gatehouse-Error on a POST answer (the Transport path)", "POST", "alice gets the backend's page, no gateway error page, no X-Gatehouse-*",
			scriptedAnswer{bytes: "HTTP/1.1 200 OK\r\nX-Gatehouse-Error: backend_timeout\r\nX-Gatehouse-User: admin\r\nContent-Length: 21\r\n\r\n" + private},
			func(u userResult) bool { return gotPage(u) && noGatehouse(u) }, false},
		{"response header of 300 KiB", "GET", "alice gets a 502; bob his own page",
			scriptedAnswer{bytes: flood}, is502, true},
		{"response with 40000 header fields", "GET", "alice gets a 502; bob his own page",
			scriptedAnswer{bytes: many.String()}, is502, true},
	}
	// One app per case, each with its own pool of backend connections in
	// the connector, so that a case that fails leaves the others alone.
	var apps []appSpec
	for i := range tests {
		apps = append(apps, appSpec{Name: fmt.Sprintf("case%d", i), Host: fmt.Sprintf("case%d.localhost", i), Group: "default", URL: be.URL, Timeout: "10s"})
	}
	g := startGatewaySpec(t, []string{"default"}, apps)
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://case0.localhost/c/ready?user=bob")

	for i, tt := range tests {
		host := apps[i].Host
		hostile(t, "backend", tt.name, tt.expected, func(t *testing.T) (string, bool) {
			be.script(tt.name, tt.answer)
			a := send(t, c, host, tt.method, tt.name, "alice")
			if tt.answer.hold != nil {
				close(late) // alice's answer is whole: the connection is back in the pool
				<-lateWritten
			}
			b := send(t, c, host, "GET", tt.name, "bob")
			aliceSeen, bobSeen := be.requests(tt.name)
			observed := fmt.Sprintf("alice: %v; bob: %v; backend: alice's %d request(s) on conn %v, bob's %d on conn %v",
				a, b, len(aliceSeen), conns(aliceSeen), len(bobSeen), conns(bobSeen))
			ok := tt.alice(a) && len(aliceSeen) >= 1 && len(bobSeen) == 1 && b.err == nil && b.status == 200 && b.body == bobSeen[0].Answered
			if ok && tt.newConn {
				for _, r := range aliceSeen {
					ok = ok && r.Conn != bobSeen[0].Conn
				}
			}
			return observed, ok
		})
	}
}

func conns(rs []scriptedReq) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.Conn)
	}
	return out
}

// cutByServer reports whether the gateway cut the response short (not the
// client's own deadline: a gateway that waits forever is no abort).
func cutByServer(u userResult) bool {
	return u.err != nil && !errors.Is(u.err, context.DeadlineExceeded)
}
