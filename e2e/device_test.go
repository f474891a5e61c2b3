package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath"
)

// Device-based access (access.require_device), with the real binaries
// over real TLS on loopback, fast paths on and off: curl with a device
// certificate from the device CA is admitted; curl with none, with one
// from another CA, and with one the CA revoked (after the CRL file is
// replaced, with no restart) gets the 403 page; a CEL rule on device.*
// admits one device and refuses another; hosts without a device app never
// ask for a certificate; the sign-in log names the device.
func TestDeviceCertificates(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (Debian package curl): this test drives curl as the device's client")
	}
	for _, fp := range []string{"on", "off"} {
		t.Run("fast paths "+fp, func(t *testing.T) {
			t.Setenv(fastpath.EnvVar, fp) // the gateway inherits it
			testDevices(t)
		})
	}
}

// devicePKI is a device CA, its CRL file and the devices' key pairs.
type devicePKI struct {
	dir           string
	ca, other     *testCA
	caFile, crl   string
	laptop1       deviceCert // admitted everywhere
	laptop2       deviceCert // refused by the rule app's rule
	laptop3       deviceCert // revoked during the test
	stranger      deviceCert // from another CA
	serverOnlyEKU deviceCert // from the device CA, but for servers
}

type deviceCert struct {
	cert, key string // PEM files for curl
	pair      tls.Certificate
	serial    *big.Int
}

func newDevicePKI(t *testing.T) *devicePKI {
	t.Helper()
	p := &devicePKI{dir: t.TempDir(), ca: newTestCA(t), other: newTestCA(t)}
	p.caFile = filepath.Join(p.dir, "device-ca.pem")
	writeFile(t, p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.ca.der}))
	p.crl = filepath.Join(p.dir, "device-ca.crl")
	p.writeCRL(t, 1)
	p.laptop1 = p.issue(t, p.ca, "laptop-1", x509.ExtKeyUsageClientAuth)
	p.laptop2 = p.issue(t, p.ca, "laptop-2", x509.ExtKeyUsageClientAuth)
	p.laptop3 = p.issue(t, p.ca, "laptop-3", x509.ExtKeyUsageClientAuth)
	p.stranger = p.issue(t, p.other, "laptop-1", x509.ExtKeyUsageClientAuth)
	p.serverOnlyEKU = p.issue(t, p.ca, "laptop-4", x509.ExtKeyUsageServerAuth)
	return p
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // replaced whole, as an operator's script would
		t.Fatal(err)
	}
}

// writeCRL publishes the CA's revocation list with the given serials.
func (p *devicePKI) writeCRL(t *testing.T, number int64, revoked ...*big.Int) {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(number),
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(24 * time.Hour), RevokedCertificateEntries: entries},
		p.ca.cert, p.ca.key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p.crl, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

func (p *devicePKI) issue(t *testing.T, ca *testCA, cn string, eku x509.ExtKeyUsage) deviceCert {
	t.Helper()
	return p.issueUntil(t, ca, cn, eku, time.Now().Add(24*time.Hour))
}

func (p *devicePKI) issueUntil(t *testing.T, ca *testCA, cn string, eku x509.ExtKeyUsage, notAfter time.Time) deviceCert {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: cn, Organization: []string{"Example"}},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku}, DNSNames: []string{cn + ".corp.example"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	name := cn + "-" + tmpl.SerialNumber.Text(16)
	d := deviceCert{cert: filepath.Join(p.dir, name+".pem"), key: filepath.Join(p.dir, name+".key"), serial: tmpl.SerialNumber,
		pair: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
	writeFile(t, d.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, d.key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return d
}

// deviceLab is a gateway with three apps on one backend: dev (a device
// required), rule (a device required, and a rule on device.*) and open
// (no device), signing alice in with an API key, and one connector.
type deviceLab struct {
	g       *gatewayProc
	pki     *devicePKI
	backend *identityBackend
	port    string
}

func startDeviceLab(t *testing.T, pki *devicePKI) *deviceLab {
	t.Helper()
	backend := newIdentityBackend(t, "x")
	sum := sha256.Sum256([]byte("k-alice"))
	auth := fmt.Sprintf("{plugin: apikeys, config: {keys: [{sha256: %s, subject: alice, groups: [staff]}]}}", hex.EncodeToString(sum[:]))
	signOn := `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`
	require := fmt.Sprintf("require_device: {ca_file: %q, crl_file: %q}", pki.caFile, pki.crl)
	app := func(name, access string) appSpec {
		return appSpec{Name: name, Host: name + ".localhost", Group: "default", URL: backend.URL, Auth: auth, SignOn: signOn, Access: access}
	}
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := startGatewayWith(t, base, []appSpec{
		app("dev", "{"+require+"}"),
		app("rule", fmt.Sprintf(`{%s, rule: 'device.serial == "%s" && "laptop-1.corp.example" in device.sans'}`, require, pki.laptop1.serial.Text(16))),
		app("open", ""),
	})
	enrollConnector(t, g, "connector", "default")
	_, port, _ := net.SplitHostPort(g.public)
	if os.Getenv(fastpath.EnvVar) == "off" {
		g.proc.log.waitLines(t, "the gateway with every fast path off", 1, "gateway serving", "fast_paths=none")
	}
	return &deviceLab{g: g, pki: pki, backend: backend, port: port}
}

func testDevices(t *testing.T) {
	pki := newDevicePKI(t)
	lab := startDeviceLab(t, pki)
	g, backend, port := lab.g, lab.backend, lab.port

	// curl runs as a device would: its own process, its own TLS stack.
	curl := func(host string, dev *deviceCert, extra ...string) (status int, body string) {
		t.Helper()
		args := []string{"-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20",
			"--resolve", host + ".localhost:" + port + ":127.0.0.1", "--cacert", g.devCAFile(), "-H", "X-Api-Key: k-alice"}
		if dev != nil {
			args = append(args, "--cert", dev.cert, "--key", dev.key)
		}
		args = append(append(args, extra...), "https://"+host+".localhost:"+port+"/")
		out, errOut, code := runCmd(t, g.dir, "curl", args...)
		if code != 0 {
			t.Fatalf("curl %s: exit %d: %s", host, code, errOut)
		}
		i := strings.LastIndexByte(out, '\n')
		fmt.Sscan(out[i+1:], &status)
		return status, out[:i]
	}
	admitted := func(host string, dev *deviceCert) {
		t.Helper()
		status, body := curl(host, dev)
		var s identitySeen
		if status != 200 || json.Unmarshal([]byte(body), &s) != nil || s.User != "alice" {
			t.Fatalf("%s with %v: %d %q; want 200 from the backend for alice", host, dev != nil, status, body)
		}
	}
	refused := func(host string, dev *deviceCert, what string) {
		t.Helper()
		before := backend.hits.Load()
		status, body := curl(host, dev)
		if status != http.StatusForbidden || !strings.Contains(body, what) {
			t.Fatalf("%s: %d %q; want 403 with %q", host, status, body, what)
		}
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("%s: the backend saw %d requests", host, n)
		}
	}
	eventually(t, "the app served through the connector", func() bool { s, _ := curl("dev", &pki.laptop1); return s == 200 })

	admitted("dev", &pki.laptop1)
	admitted("dev", &pki.laptop3)
	for _, proto := range []string{"--http1.1", "--http2"} { // the HTTP/1.1 loop and HTTP/2 both see the certificate
		if status, body := curl("dev", &pki.laptop1, proto); status != 200 {
			t.Fatalf("%s with laptop-1: %d %q", proto, status, body)
		}
		if status, _ := curl("dev", nil, proto); status != http.StatusForbidden {
			t.Fatalf("%s without a certificate: %d", proto, status)
		}
	}
	refused("dev", nil, "This app needs a registered device")
	refused("dev", &pki.stranger, "This app needs a registered device")
	refused("dev", &pki.serverOnlyEKU, "This app needs a registered device")
	g.proc.log.waitLines(t, "the refusal of the other CA's certificate", 1, "device check refused", "app=dev", "not from the device CA")

	// The 403 page a browser gets: the layout, a title, what to do, the request id.
	headers := filepath.Join(t.TempDir(), "headers")
	status, page := curl("dev", nil, "-H", "Accept: text/html", "-D", headers)
	hdr, _ := os.ReadFile(headers)
	_, rid, _ := strings.Cut(strings.ToLower(string(hdr)), "x-request-id: ")
	rid, _, _ = strings.Cut(rid, "\r")
	if status != http.StatusForbidden || !strings.Contains(page, "<title>This app needs a registered device") ||
		!strings.Contains(page, "IT team") || len(rid) != 16 || !strings.Contains(page, rid) {
		t.Fatalf("browser page: %d, request id %q, %q", status, rid, page)
	}

	// The rule decides on device.*: laptop-1 in, laptop-2 out.
	admitted("rule", &pki.laptop1)
	refused("rule", &pki.laptop2, "Access denied")
	g.proc.log.waitLines(t, "the rule's refusal", 1, "access denied", "app=rule", "rule=access.rule")

	// Revoked: a new CRL file, no restart; the gateway reads it again.
	pki.writeCRL(t, 2, pki.laptop3.serial)
	eventually(t, "laptop-3 refused after the CRL names it", func() bool { s, _ := curl("dev", &pki.laptop3); return s == http.StatusForbidden })
	refused("dev", &pki.laptop3, "This app needs a registered device")
	g.proc.log.waitLines(t, "the revocation", 1, "device check refused", "app=dev", "revoked")
	admitted("dev", &pki.laptop1)

	t.Run("only device hosts ask for a certificate", func(t *testing.T) {
		for host, want := range map[string]bool{"open": false, "dev": true} {
			var asked atomic.Int32
			c := newClient(g.public, &tls.Config{RootCAs: g.caPool(), GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
				asked.Add(1)
				return &pki.laptop1.pair, nil
			}}, true)
			r := getWith(t, c, "https://"+host+".localhost/", "X-Api-Key", "k-alice")
			if r.Status != 200 || r.Proto != 2 || (asked.Load() > 0) != want {
				t.Fatalf("%s over HTTP/2: %d proto %d, certificate asked %d times; want 200 and asked=%v", host, r.Status, r.Proto, asked.Load(), want)
			}
		}
	})

	t.Run("a connection opened for another host is misdirected", func(t *testing.T) {
		conn, err := tls.Dial("tcp", g.public, &tls.Config{RootCAs: g.caPool(), ServerName: "open.localhost",
			Certificates: []tls.Certificate{pki.laptop1.pair}, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: dev.localhost\r\nX-Api-Key: k-alice\r\nConnection: close\r\n\r\n")
		buf := make([]byte, 64)
		n, _ := conn.Read(buf)
		if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 421") {
			t.Fatalf("dev.localhost on open.localhost's connection: %q; want 421", buf[:n])
		}
	})

	t.Run("policy test with a device certificate", func(t *testing.T) {
		for _, tc := range []struct {
			app  string
			dev  *deviceCert
			want string
		}{
			{"rule", &pki.laptop1, "ALLOW (access.rule)"},
			{"rule", &pki.laptop2, "DENY (access.rule)"},
			{"dev", &pki.laptop3, "DENY (access.require_device): the certificate is revoked"},
			{"dev", &pki.stranger, "DENY (access.require_device): the certificate is not from the device CA"},
		} {
			out, errOut, _ := runCmd(t, g.dir, gatehouseBin, "policy", "test", "--config", g.configPath, "--app", tc.app, "--user", "alice", "--device", tc.dev.cert)
			if !strings.HasPrefix(out, tc.want) {
				t.Errorf("policy test --app %s --device %s: %q %q; want %q", tc.app, filepath.Base(tc.dev.cert), out, errOut, tc.want)
			}
		}
		out, _, code := runCmd(t, g.dir, gatehouseBin, "policy", "test", "--config", g.configPath, "--app", "dev", "--user", "alice")
		if code != 1 || !strings.HasPrefix(out, "DENY (access.require_device)") {
			t.Errorf("policy test without --device: exit %d %q", code, out)
		}
	})

	t.Run("the sign-in log names the device", func(t *testing.T) {
		out, errOut, code := runCmd(t, g.dir, gatehouseBin, "signins", "--config", g.configPath, "--json")
		if code != 0 {
			t.Fatalf("signins: exit %d %q", code, errOut)
		}
		var list struct {
			SignIns []struct{ App, User, Result, Reason, Device string } `json:"signins"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{ // app/result → device serial
			"dev/signed_in": pki.laptop1.serial.Text(16), "rule/denied": pki.laptop2.serial.Text(16),
		}
		for _, s := range list.SignIns {
			if serial, ok := want[s.App+"/"+s.Result]; ok && strings.Contains(s.Device, "CN=laptop-") && strings.Contains(s.Device, "(serial "+serial+")") {
				delete(want, s.App+"/"+s.Result)
			}
		}
		if len(want) > 0 {
			t.Fatalf("sign-in log lacks the device of %v:\n%s", want, out)
		}
	})
}
