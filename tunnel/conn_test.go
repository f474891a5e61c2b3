package tunnel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// Connection pairs the tunnel tests run over: an in-memory pipe, loopback
// TCP, and TLS 1.3 over loopback TCP as the gateway and connector use it.

type connPair func(t testing.TB) (client, server net.Conn)

var pairKinds = []struct {
	name string
	pair connPair
}{
	{"pipe", pipePair},
	{"tcp", tcpPair},
	{"tls", tlsPair},
}

func pipePair(t testing.TB) (net.Conn, net.Conn) {
	c, s := net.Pipe()
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatalf("accept: %v", r.err)
	}
	t.Cleanup(func() { c.Close(); r.c.Close() })
	return c, r.c
}

var (
	certOnce sync.Once
	testCert tls.Certificate
	testPool *x509.CertPool
)

// selfSigned returns a certificate for ServerName, made once per test binary.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: ServerName},
			DNSNames:              []string{ServerName},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			panic(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		testPool = x509.NewCertPool()
		testPool.AddCert(leaf)
	})
	return testCert, testPool
}

// tlsPair is a tunnel TLS connection on loopback, made as the hub and the
// connector make theirs.
func tlsPair(t testing.TB) (net.Conn, net.Conn) {
	rc, rs := tcpPair(t)
	return tlsOver(t, rc, rs)
}

func tlsOver(t testing.TB, rc, rs net.Conn) (*tls.Conn, *tls.Conn) {
	cert, pool := selfSigned(t)
	c := Client(rc, &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: ServerName, NextProtos: []string{ProtoTunnel}})
	s := Server(rs, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, NextProtos: []string{ProtoTunnel}})
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake() }()
	if err := c.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if c.ConnectionState().NegotiatedProtocol != ProtoTunnel {
		t.Fatalf("ALPN = %q", c.ConnectionState().NegotiatedProtocol)
	}
	return c, s
}

var quiet = slog.New(slog.DiscardHandler)

// muxPair runs a yamux client over client and a server over server, with
// the tunnel's own settings, each side wrapped in a BatchConn when batch.
func muxPair(t testing.TB, client, server net.Conn, batch bool) (*yamux.Session, *yamux.Session) {
	if batch {
		client, server = NewBatchConn(client), NewBatchConn(server)
	}
	c, err := yamux.Client(client, MuxConfig(quiet))
	if err != nil {
		t.Fatalf("yamux client: %v", err)
	}
	s, err := yamux.Server(server, MuxConfig(quiet))
	if err != nil {
		t.Fatalf("yamux server: %v", err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// recordConn is a net.Conn that records every Write, optionally taking
// delay per write (a slow network), failing with failErr after failAfter
// writes, or blocking until unblock is closed.
type recordConn struct {
	delay     time.Duration
	failAfter int // <0: never
	failErr   error
	unblock   chan struct{}

	mu       sync.Mutex
	writes   [][]byte
	closed   bool
	deadline time.Time
}

func newRecordConn() *recordConn { return &recordConn{failAfter: -1} }

func (r *recordConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	n := len(r.writes)
	r.mu.Unlock()
	if r.failAfter >= 0 && n >= r.failAfter {
		return 0, r.failErr
	}
	if r.unblock != nil {
		select {
		case <-r.unblock:
		case <-time.After(10 * time.Second):
			return 0, os.ErrDeadlineExceeded
		}
	}
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (r *recordConn) snapshot() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.writes...)
}

func (r *recordConn) Read([]byte) (int, error) { return 0, errors.New("recordConn: no reads") }
func (r *recordConn) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}
func (r *recordConn) LocalAddr() net.Addr             { return &net.TCPAddr{} }
func (r *recordConn) RemoteAddr() net.Addr            { return &net.TCPAddr{} }
func (r *recordConn) SetDeadline(time.Time) error     { return nil }
func (r *recordConn) SetReadDeadline(time.Time) error { return nil }
func (r *recordConn) SetWriteDeadline(d time.Time) error {
	r.mu.Lock()
	r.deadline = d
	r.mu.Unlock()
	return nil
}
