package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/connector"
	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// evilConnector is a connector written by the test with a real enrolled
// identity, so it can misbehave after the gateway trusts it.
type evilConnector struct {
	id      string
	mux     *yamux.Session
	control net.Conn
	wmu     sync.Mutex
}

// dialEvil enrolls an identity in group and opens a tunnel with it. With
// ready, it completes hello, config and ready and keeps heartbeating, so
// the gateway sends it traffic.
func dialEvil(t testing.TB, g *gatewayProc, group string, ready bool) *evilConnector {
	t.Helper()
	state := filepath.Join(t.TempDir(), "evil")
	st, err := connector.Enroll(context.Background(), g.token(group, "1h"), state, nil, "evil")
	if err != nil {
		t.Fatalf("enrolling the evil connector: %v", err)
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
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.tunnel, &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool,
		ServerName: tunnel.ServerName, NextProtos: []string{tunnel.ProtoTunnel},
	})
	if err != nil {
		t.Fatalf("evil tunnel: %v", err)
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
	e := &evilConnector{id: st.ConnectorID, mux: mux, control: control}
	if !ready {
		return e
	}
	e.send(t, tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "evil", Hostname: "evil"}})
	_ = control.SetReadDeadline(time.Now().Add(waitFor))
	var m tunnel.Message
	if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != tunnel.MsgConfig || m.Config == nil {
		t.Fatalf("evil connector: want a config, got %+v, %v", m, err)
	}
	e.send(t, tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: m.Config.Version}})
	go func() { // heartbeats, so the gateway keeps it active
		for {
			select {
			case <-mux.CloseChan():
				return
			case <-time.After(500 * time.Millisecond):
			}
			e.wmu.Lock()
			err := tunnel.WriteFrame(control, tunnel.Message{Type: tunnel.MsgHeartbeat, Heartbeat: &tunnel.Heartbeat{}})
			e.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	g.log().waitLines(t, "the gateway to attach the evil connector", 1, "connector session ready", "connector="+e.id)
	return e
}

func (e *evilConnector) send(t testing.TB, m tunnel.Message) {
	t.Helper()
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if err := tunnel.WriteFrame(e.control, m); err != nil {
		t.Fatalf("evil connector: sending %s: %v", m.Type, err)
	}
}

// writeRaw writes b on the control stream. Its error is ignored: the
// gateway may close the session (the point of the test) before yamux
// reports the write done; the gateway's log shows what it received.
func (e *evilConnector) writeRaw(b []byte) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	_, _ = e.control.Write(b)
}

// answerWith serves every request stream by reading the request head and
// answering with reply, then closing the stream. It returns a counter of
// streams served.
func (e *evilConnector) answerWith(reply []byte) *counter {
	n := &counter{}
	go func() {
		for {
			s, err := e.mux.AcceptStream()
			if err != nil {
				return
			}
			go func() {
				defer s.Close()
				_ = s.SetDeadline(time.Now().Add(waitFor))
				br := bufio.NewReader(s)
				if _, err := tunnel.ReadRequestHeader(br); err != nil {
					return
				}
				for { // the HTTP request head
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				n.add()
				_, _ = s.Write(reply)
			}()
		}
	}()
	return n
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
