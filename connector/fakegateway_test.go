package connector

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// issue makes a key pair and a certificate for it signed by ca, as PEM.
func (ca *testCA) issue(t *testing.T, cn string, dns []string, eku x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku}, DNSNames: dns}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

// fakeGateway is a tunnel listener on loopback that speaks the gateway's
// side of the protocol with real TLS and yamux: hello, config (one app
// to backend), the node list it is given, ready, drain.
type fakeGateway struct {
	t       *testing.T
	addr    string
	backend string
	tls     *tls.Config

	mu       sync.Mutex
	nodes    *tunnel.NodeList
	version  uint64
	sessions []*fakeSession
}

type fakeSession struct {
	mux     *yamux.Session
	control net.Conn
	wmu     sync.Mutex
	mu      sync.Mutex
	ready   uint64 // the config version last acknowledged
	drain   bool   // the connector asked for a drain
	hello   tunnel.Hello
	updates []tunnel.UpdateStatus // what the connector reported
}

func newFakeGateway(t *testing.T, ca *testCA, backend string) *fakeGateway {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, "gateway", []string{tunnel.ServerName}, x509.ExtKeyUsageServerAuth)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &fakeGateway{t: t, addr: ln.Addr().String(), backend: backend, version: 1,
		tls: &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, NextProtos: []string{tunnel.ProtoTunnel}}}
	t.Cleanup(func() {
		ln.Close()
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, s := range g.sessions {
			s.mux.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go g.serve(c)
		}
	}()
	return g
}

func (g *fakeGateway) config() *tunnel.Config {
	return &tunnel.Config{Version: g.version, HeartbeatMillis: 60000,
		Apps: []tunnel.AppConfig{{Name: "web", ExternalHost: "web.example.com", PathPrefix: "/", URL: g.backend}}}
}

func (g *fakeGateway) serve(raw net.Conn) {
	conn := tls.Server(raw, g.tls)
	if err := conn.Handshake(); err != nil {
		raw.Close()
		return
	}
	mux, err := yamux.Server(conn, tunnel.MuxConfig(slog.New(slog.DiscardHandler)))
	if err != nil {
		conn.Close()
		return
	}
	control, err := mux.AcceptStream()
	if err != nil {
		mux.Close()
		return
	}
	var m tunnel.Message
	if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != tunnel.MsgHello {
		mux.Close()
		return
	}
	s := &fakeSession{mux: mux, control: control, hello: *m.Hello}
	g.mu.Lock()
	g.sessions = append(g.sessions, s)
	cfg, nodes := g.config(), g.nodes
	g.mu.Unlock()
	_ = s.send(tunnel.Message{Type: tunnel.MsgConfig, Config: cfg})
	if nodes != nil {
		_ = s.send(tunnel.Message{Type: tunnel.MsgNodes, Nodes: nodes})
	}
	for {
		var m tunnel.Message
		if err := tunnel.ReadFrame(control, &m); err != nil {
			mux.Close()
			return
		}
		s.mu.Lock()
		switch m.Type {
		case tunnel.MsgReady:
			s.ready = m.Ready.ConfigVersion
		case tunnel.MsgUpdateStatus:
			s.updates = append(s.updates, *m.UpdateStatus)
		case tunnel.MsgDrain:
			s.drain = true // under s.mu: no stream opens after this
			_ = s.send(tunnel.Message{Type: tunnel.MsgDrained})
		}
		s.mu.Unlock()
	}
}

func (s *fakeSession) send(m tunnel.Message) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return tunnel.WriteFrame(s.control, m)
}

// live counts the sessions that are open and ready, not draining;
// accepted counts every session that said hello.
func (g *fakeGateway) live() (live, accepted int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.sessions {
		s.mu.Lock()
		if s.ready > 0 && !s.drain && !s.mux.IsClosed() {
			live++
		}
		s.mu.Unlock()
	}
	return live, len(g.sessions)
}

// setNodes sends the list on every open session, and to later ones.
func (g *fakeGateway) setNodes(l *tunnel.NodeList) {
	g.mu.Lock()
	g.nodes = l
	ss := append([]*fakeSession(nil), g.sessions...)
	g.mu.Unlock()
	for _, s := range ss {
		if l != nil && !s.mux.IsClosed() {
			_ = s.send(tunnel.Message{Type: tunnel.MsgNodes, Nodes: l})
		}
	}
}

// sync sends every open session a new config and waits for its ready:
// every control message sent before has then been handled.
func (g *fakeGateway) sync() {
	g.t.Helper()
	g.mu.Lock()
	g.version++
	cfg := g.config()
	ss := append([]*fakeSession(nil), g.sessions...)
	g.mu.Unlock()
	for _, s := range ss {
		if !s.mux.IsClosed() {
			_ = s.send(tunnel.Message{Type: tunnel.MsgConfig, Config: cfg})
		}
	}
	waitFor(g.t, "every session to acknowledge the config", func() bool {
		for _, s := range ss {
			s.mu.Lock()
			ok := s.ready == cfg.Version || s.mux.IsClosed()
			s.mu.Unlock()
			if !ok {
				return false
			}
		}
		return true
	})
}

// request sends GET path on a live session and returns the response
// (its body read whole) or why it failed.
func (g *fakeGateway) request(path string) (int, string, error) {
	g.mu.Lock()
	var st net.Conn
	var err error = fmt.Errorf("no live session on %s", g.addr)
	for _, s := range g.sessions {
		s.mu.Lock()
		if s.ready > 0 && !s.drain && !s.mux.IsClosed() {
			st, err = s.mux.OpenStream()
		}
		s.mu.Unlock()
		if st != nil {
			break
		}
	}
	g.mu.Unlock()
	if st == nil {
		return 0, "", err
	}
	defer st.Close()
	req := tunnel.AppendRequestHeader(nil, tunnel.RequestHeader{App: "web", RequestID: "r", ConfigVersion: 1})
	req = append(req, "GET "+path+" HTTP/1.1\r\nHost: web.example.com\r\n\r\n"...)
	if _, err := st.Write(req); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(st), nil)
	if err != nil {
		return 0, "", err
	}
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
