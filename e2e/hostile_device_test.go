package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// Hostile class device: ways to reach an app with access.require_device
// without a valid device certificate. Each case is observed at the
// backend (nothing may arrive) as well as in the status.
func TestHostileDevice(t *testing.T) {
	pki := newDevicePKI(t)
	expired := pki.issueUntil(t, pki.ca, "laptop-old", x509.ExtKeyUsageClientAuth, time.Now().Add(-time.Minute))
	pki.writeCRL(t, 2, pki.laptop3.serial) // laptop-3 revoked from the start
	lab := startDeviceLab(t, pki)
	g, backend := lab.g, lab.backend

	// over sends one HTTP/1.1 request for host on a TLS connection opened
	// with sni (no SNI when ""), presenting certs, and returns the status.
	over := func(t *testing.T, sni, host string, certs ...tls.Certificate) int {
		t.Helper()
		tc := &tls.Config{RootCAs: g.caPool(), ServerName: sni, Certificates: certs, NextProtos: []string{"http/1.1"}}
		if sni == "" {
			tc.InsecureSkipVerify = true // no name to check the certificate against
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.public, tc)
		if err != nil {
			t.Fatalf("handshake (SNI %q): %v", sni, err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nX-Api-Key: k-alice\r\nConnection: close\r\n\r\n", host)
		r, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	// refused runs a case that must get want with nothing at the backend.
	refused := func(name string, want int, try func(t *testing.T) int) {
		hostile(t, "device", name, fmt.Sprintf("%d, nothing at the backend", want), func(t *testing.T) (string, bool) {
			before := backend.hits.Load()
			status := try(t)
			n := backend.hits.Load() - before
			return fmt.Sprintf("%d, %d requests at the backend", status, n), status == want && n == 0
		})
	}
	eventually(t, "the device app served", func() bool {
		return over(t, "dev.localhost", "dev.localhost", pki.laptop1.pair) == http.StatusOK
	})

	refused("no client certificate", 403, func(t *testing.T) int { return over(t, "dev.localhost", "dev.localhost") })
	refused("certificate from another CA with the device CA's name", 403, func(t *testing.T) int {
		return over(t, "dev.localhost", "dev.localhost", pki.stranger.pair)
	})
	refused("another CA's certificate with the device CA's certificate appended", 403, func(t *testing.T) int {
		padded := pki.stranger.pair
		padded.Certificate = append(padded.Certificate, pki.ca.der)
		return over(t, "dev.localhost", "dev.localhost", padded)
	})
	refused("device CA certificate for servers only (no clientAuth)", 403, func(t *testing.T) int {
		return over(t, "dev.localhost", "dev.localhost", pki.serverOnlyEKU.pair)
	})
	refused("expired device certificate", 403, func(t *testing.T) int { return over(t, "dev.localhost", "dev.localhost", expired.pair) })
	refused("revoked device certificate", 403, func(t *testing.T) int { return over(t, "dev.localhost", "dev.localhost", pki.laptop3.pair) })
	refused("valid device, connection opened for another host", 421, func(t *testing.T) int {
		return over(t, "open.localhost", "dev.localhost", pki.laptop1.pair)
	})
	refused("valid device, connection opened without SNI", 421, func(t *testing.T) int { return over(t, "", "dev.localhost", pki.laptop1.pair) })
	refused("HTTP/2 request on a connection coalesced from another host", 421, func(t *testing.T) int {
		conn, err := tls.Dial("tcp", g.public, &tls.Config{RootCAs: g.caPool(), ServerName: "open.localhost", NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		cc, err := (&http2.Transport{}).NewClientConn(conn)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://dev.localhost/", nil)
		req.Header.Set("X-Api-Key", "k-alice")
		r, err := cc.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	})
	refused("rule app: valid device the rule refuses", 403, func(t *testing.T) int {
		return over(t, "rule.localhost", "rule.localhost", pki.laptop2.pair)
	})
	// Last, as it spoils the CRL for the rest: a CRL that cannot be used
	// lets no device in.
	writeFile(t, pki.crl, []byte("-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n"))
	eventually(t, "the broken CRL to take effect", func() bool {
		return over(t, "dev.localhost", "dev.localhost", pki.laptop1.pair) != http.StatusOK
	})
	refused("CRL file replaced by garbage: valid device refused (fail closed)", 503, func(t *testing.T) int {
		status := over(t, "dev.localhost", "dev.localhost", pki.laptop1.pair)
		g.proc.log.waitLines(t, "the CRL's failure logged", 1, "revocation list cannot be used", "level=ERROR", "crl_file=")
		return status
	})
}
