package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// access.require_device: the CA file must hold CA certificates, the CRL
// must be one of theirs; relative paths start at the config file.
func TestRequireDevice(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, isCA bool) ([]byte, *x509.Certificate, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), c, key
	}
	crl := func(c *x509.Certificate, k *ecdsa.PrivateKey) []byte {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(),
			NextUpdate: time.Now().Add(time.Hour)}, c, k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	}
	caPEM, caCert, caKey := mk("Device CA", true)
	leafPEM, _, _ := mk("not a CA", false)
	_, otherCert, otherKey := mk("Other CA", true)
	for name, data := range map[string][]byte{"ca.pem": caPEM, "leaf.pem": leafPEM, "crl.pem": crl(caCert, caKey), "other-crl.pem": crl(otherCert, otherKey)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const head = "plugins:\n  - {name: oidc, builtin: true}\nconnector_groups: [{name: default}]\napps:\n" +
		"  - name: hr\n    host: hr.example.com\n    group: default\n    backend: {url: 'http://10.0.0.5'}\n" +
		"    auth: {plugin: oidc, config: {issuer: \"http://127.0.0.1:1\"}}\n"
	for _, tt := range []struct{ name, access, want string }{
		{"CA and CRL", "{require_device: {ca_file: ca.pem, crl_file: crl.pem}}", ""},
		{"CA only", "{require_device: {ca_file: ca.pem}, rule: 'device.serial != \"\"'}", ""},
		{"no CA file", "{require_device: {crl_file: crl.pem}}", "apps[0].access.require_device.ca_file: missing: the device CA's certificate"},
		{"missing CA file", "{require_device: {ca_file: nope.pem}}", `cannot read "nope.pem"`},
		{"not a CA", "{require_device: {ca_file: leaf.pem}}", `"leaf.pem" certificate #1 (CN=not a CA) is not a CA certificate`},
		{"CRL of another CA", "{require_device: {ca_file: ca.pem, crl_file: other-crl.pem}}", "require_device.crl_file: \"other-crl.pem\" revocation list #1 (issuer CN=Other CA) is not signed by a CA of ca_file"},
		{"unknown key", "{require_device: {ca_file: ca.pem, crl: crl.pem}}", `unknown key "crl"`},
		{"admin console", "{users: [alice]}\nadmin:\n  console:\n    auth: {plugin: oidc, config: {issuer: \"http://127.0.0.1:1\"}}\n" +
			"    access: {users: [alice], require_device: {ca_file: ca.pem}}\n", "admin.console.access.require_device: device certificates are asked for on the public listener only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "gatehouse.yaml")
			if err := os.WriteFile(path, []byte(head+"    access: "+tt.access+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if rd := c.Apps[0].Access.RequireDevice; rd == nil || rd.CAFile != filepath.Join(dir, "ca.pem") {
					t.Fatalf("require_device = %+v, want ca_file resolved against the config's directory", rd)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want %q", err, tt.want)
			}
		})
	}
}
