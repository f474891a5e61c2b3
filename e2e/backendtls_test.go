package e2e

import (
	"net"
	"net/http"
	"testing"
)

// TestHTTPSBackends reaches https:// backends through a connector with
// each way of trusting them: a CA file, a pin of the leaf certificate
// alone (self-signed backend), and a server_name other than the URL's
// host. A wrong pin, or neither CA nor pin for a certificate the system
// roots do not know, is a 502 page, and the backend's handler never sees
// the request: the connector stops at the TLS handshake.
func TestHTTPSBackends(t *testing.T) {
	t.Parallel()
	const internalName = "backend.corp.internal"
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	ca := newTestCA(t)
	caFile := ca.writePEM(t)
	caSigned := ca.issue(t, loopback)
	selfSigned := (*testCA)(nil).issue(t, loopback)
	nameOnly := ca.issue(t, nil, internalName) // valid for the name, not for 127.0.0.1

	caBE := newTLSEchoServer(t, "ca", caSigned)
	pinBE := newTLSEchoServer(t, "pin", selfSigned)
	badPinBE := newTLSEchoServer(t, "badpin", selfSigned)
	untrustedBE := newTLSEchoServer(t, "untrusted", selfSigned)
	sniBE := newTLSEchoServer(t, "sni", nameOnly)
	noSNIBE := newTLSEchoServer(t, "nosni", nameOnly)

	app := func(name, url string) appSpec {
		return appSpec{Name: name, Host: name + ".localhost", Group: "default", URL: url}
	}
	withCA := app("ca", caBE.URL)
	withCA.CAFile = caFile
	withPin := app("pin", pinBE.URL)
	withPin.PinSHA256 = pinOf(selfSigned)
	wrongPin := app("badpin", badPinBE.URL)
	wrongPin.PinSHA256 = pinOf(caSigned) // a real certificate's pin, just not this backend's
	untrusted := app("untrusted", untrustedBE.URL)
	withName := app("sni", sniBE.URL)
	withName.CAFile, withName.ServerName = caFile, internalName
	withoutName := app("nosni", noSNIBE.URL)
	withoutName.CAFile = caFile

	g := startGatewaySpec(t, []string{"default"}, []appSpec{withCA, withPin, wrongPin, untrusted, withName, withoutName})
	conn := enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://ca.localhost/")

	t.Run("ca_file", func(t *testing.T) {
		getSeen(t, c, "https://ca.localhost/x", "ca")
	})
	t.Run("pin_sha256 of a self-signed leaf, no ca_file", func(t *testing.T) {
		getSeen(t, c, "https://pin.localhost/x", "pin")
	})
	t.Run("server_name other than the URL host", func(t *testing.T) {
		s := getSeen(t, c, "https://sni.localhost/x", "sni")
		if s.TLSServer != internalName {
			t.Errorf("backend saw TLS server name %q, want %q", s.TLSServer, internalName)
		}
		if s.Host != sniBE.srv.Listener.Addr().String() {
			t.Errorf("backend saw Host %q, want the URL's host %q", s.Host, sniBE.srv.Listener.Addr())
		}
	})

	// Each refusal must be the TLS check the case is about: the
	// connector logs why, with the request id of the page.
	refused := []struct {
		name, host string
		be         *echoServer
		why        string
	}{
		{"wrong pin", "badpin.localhost", badPinBE, "does not match the pinned"},
		{"neither ca_file nor pin", "untrusted.localhost", untrustedBE, "certificate signed by unknown authority"},
		{"control: the same CA without server_name", "nosni.localhost", noSNIBE, "doesn't contain any IP SANs"},
	}
	for _, tc := range refused {
		t.Run(tc.name+" is 502", func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				req := mustRequest(t, "https://"+tc.host+"/x")
				req.Method = method
				r, err := do(t, c, req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, tc.host, err)
				}
				rid := requireErrorPage(t, r, http.StatusBadGateway, "App not answering")
				conn.log.waitLines(t, "the connector to log the TLS failure of "+rid, 1,
					"backend request failed", "request_id="+rid, tc.why)
			}
			if n := tc.be.hits.Load(); n != 0 {
				t.Fatalf("the backend handler saw %d requests; the connector must stop at the handshake", n)
			}
		})
	}
}
