package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestAppCertificate checks per-app certificate files: the app's host is
// served with its own certificate (a client trusting only that CA
// connects), while another host keeps the tls.mode's certificate (here
// the development CA), and the app is reachable through the tunnel.
func TestAppCertificate(t *testing.T) {
	be := newEchoServer(t, "own")
	ca := newTestCA(t)
	cert := ca.issue(t, nil, "own.localhost")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "own.pem"), filepath.Join(dir, "own-key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEMFile(t, certFile, "CERTIFICATE", cert.Certificate[0])
	writePEMFile(t, keyFile, "PRIVATE KEY", keyDER)

	g := startGatewaySpec(t, []string{"default"}, []appSpec{
		{Name: "own", Host: "own.localhost", Group: "default", URL: be.URL, CertFile: certFile, KeyFile: keyFile},
		{Name: "dev", Host: "dev.localhost", Group: "default", URL: be.URL},
	})
	enrollConnector(t, g, "connector", "default")

	ownPool := x509.NewCertPool()
	ownPool.AddCert(ca.cert)
	handshake := func(host string, roots *x509.CertPool) error {
		c, err := tls.DialWithDialer(&net.Dialer{}, "tcp", g.public, &tls.Config{ServerName: host, RootCAs: roots})
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := handshake("own.localhost", ownPool); err != nil {
		t.Fatalf("own.localhost with its own CA: %v", err)
	}
	if err := handshake("own.localhost", g.caPool()); err == nil {
		t.Fatal("own.localhost verified against the development CA: its own certificate was not served")
	}
	if err := handshake("dev.localhost", g.caPool()); err != nil {
		t.Fatalf("dev.localhost with the development CA: %v", err)
	}
	c := newClient(g.public, &tls.Config{RootCAs: ownPool}, false)
	waitServing(t, c, "https://own.localhost/")
}

func writePEMFile(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
