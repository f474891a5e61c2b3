package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/device"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/internal/clock"
)

// innerGuard records what the app's sign-in was handed.
type innerGuard struct {
	admitted, rechecked *device.Device
	calls               int
}

func (g *innerGuard) Admit(w http.ResponseWriter, r *http.Request, rid string) (signin.Admission, bool) {
	g.calls++
	g.admitted = device.FromContext(r.Context())
	return signin.Admission{}, true
}

func (g *innerGuard) Recheck(r *http.Request, rid string, adm signin.Admission) error {
	g.rechecked = device.FromContext(r.Context())
	return nil
}

func TestDeviceGuard(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Device CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64) *x509.Certificate {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "laptop"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, &k.PublicKey, caKey)
		c, _ := x509.ParseCertificate(der)
		return c
	}
	crl := func(revoked ...int64) []byte {
		var e []x509.RevocationListEntry
		for _, s := range revoked {
			e = append(e, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: now})
		}
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(time.Hour),
			RevokedCertificateEntries: e}, ca, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	}
	caFile, crlFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "crl.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	os.WriteFile(crlFile, crl(66), 0o600)
	clock := now
	v, err := device.New(device.Options{CAFile: caFile, CRLFile: crlFile, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	inner := &innerGuard{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	g := (&devices{apps: map[string]*device.Verifier{"hr": v}, log: log}).wrap("hr", nil)
	if g == nil {
		t.Fatal("no guard")
	}
	g.(*deviceGuard).inner = inner // wrap took a *signin.App; the test's stands in for it

	req := func(sni string, certs ...*x509.Certificate) *http.Request {
		r := httptest.NewRequest("GET", "https://hr.example.com/", nil)
		r.Header.Set("Accept", "text/html")
		r.TLS = &tls.ConnectionState{ServerName: sni, PeerCertificates: certs}
		if sni == "-" {
			r.TLS = nil // httptest sets one for https://
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		r      *http.Request
		status int
		text   string
	}{
		{"plain HTTP", req("-", leaf(5)), 421, "Wrong connection"},
		{"connection for another host", req("wiki.example.com", leaf(5)), 421, "Wrong connection"},
		{"no SNI", req("", leaf(5)), 421, "Wrong connection"},
		{"no certificate", req("hr.example.com"), 403, "did not present a device certificate"},
		{"revoked", req("hr.example.com", leaf(66)), 403, "has been revoked"},
	} {
		w := httptest.NewRecorder()
		if _, ok := g.Admit(w, tc.r, "rid0123456789abc"); ok || w.Code != tc.status || !strings.Contains(w.Body.String(), tc.text) ||
			!strings.Contains(w.Body.String(), "rid0123456789abc") || inner.calls != 0 {
			t.Fatalf("%s: ok=%v %d %q (inner called %d times); want %d with %q", tc.name, ok, w.Code, w.Body.String(), inner.calls, tc.status, tc.text)
		}
	}
	w := httptest.NewRecorder()
	if _, ok := g.Admit(w, req("HR.example.com.", leaf(5)), "rid"); !ok || inner.admitted == nil || inner.admitted.Serial != "5" {
		t.Fatalf("a good device: ok=%v, the sign-in saw %+v", ok, inner.admitted)
	}
	rc := g.(interface {
		Recheck(*http.Request, string, signin.Admission) error
	})
	if err := rc.Recheck(req("hr.example.com", leaf(7)), "rid", signin.Admission{}); err != nil || inner.rechecked == nil || inner.rechecked.Serial != "7" {
		t.Fatalf("Recheck = %v, the sign-in saw %+v", err, inner.rechecked)
	}
	if err := rc.Recheck(req("hr.example.com", leaf(66)), "rid", signin.Admission{}); !errors.Is(err, signin.ErrDenied) {
		t.Fatalf("Recheck of a revoked device = %v, want ErrDenied", err)
	}
	// The CRL goes away: fail closed, with a 503 that says the check is unavailable.
	os.Remove(crlFile)
	clock = clock.Add(2 * time.Second)
	w = httptest.NewRecorder()
	if _, ok := g.Admit(w, req("hr.example.com", leaf(5)), "rid"); ok || w.Code != 503 || !strings.Contains(w.Body.String(), "Device check unavailable") {
		t.Fatalf("CRL gone: ok=%v %d %q", ok, w.Code, w.Body.String())
	}
	if err := rc.Recheck(req("hr.example.com", leaf(5)), "rid", signin.Admission{}); !errors.Is(err, signin.ErrUncheckable) {
		t.Fatalf("Recheck with the CRL gone = %v, want ErrUncheckable", err)
	}
}

// The apps of one host share its handshake: their require_device must
// name the same files; an unreadable CA file stops the config.
func TestLoadDevices(t *testing.T) {
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	ca1, ca2 := filepath.Join(dir, "ca1.pem"), filepath.Join(dir, "ca2.pem")
	for _, f := range []string{ca1, ca2} {
		os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	}
	g := &Gateway{log: slog.New(slog.NewTextHandler(io.Discard, nil)), opts: Options{Clock: clock.System}}
	app := func(name, host, ca string) config.App {
		a := config.App{Name: name, Host: host}
		if ca != "" {
			a.Access.RequireDevice = &config.RequireDevice{CAFile: ca}
		}
		return a
	}
	for _, tc := range []struct {
		name string
		apps []config.App
		want string
	}{
		{"one host, same files", []config.App{app("a", "h.example", ca1), app("b", "h.example", ca1), app("c", "h.example", "")}, ""},
		{"two hosts, other files", []config.App{app("a", "h.example", ca1), app("b", "i.example", ca2)}, ""},
		{"one host, other files", []config.App{app("a", "h.example", ca1), app("b", "h.example", ca2)}, `app "b" names other files than app "a" on the same host h.example`},
		{"CA file gone", []config.App{app("a", "h.example", filepath.Join(dir, "nope.pem"))}, "apps[0].access.require_device.ca_file"},
	} {
		s := &snapshot{cfg: &config.Config{Path: "gatehouse.yaml", Apps: tc.apps}}
		err := g.loadDevices(s)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: loadDevices = %v, want %q", tc.name, err, tc.want)
		}
		if err == nil && s.devices.pools["h.example"] == nil {
			t.Errorf("%s: no CA pool for h.example's handshakes", tc.name)
		}
	}
}
