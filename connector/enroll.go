package connector

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// Enroll redeems a token with the gateway once and writes the connector's
// state to dir. gateways overrides the addresses in the token when set.
//
// Before sending the token, it checks that the gateway's certificate chain
// contains the CA pinned in the token: a gateway that does not hold that
// CA (another gateway, or someone in the middle) never sees the secret.
func Enroll(ctx context.Context, tokenText, dir string, gateways []string, version string) (*State, error) {
	tok, err := tunnel.ParseToken(tokenText)
	if err != nil {
		return nil, err
	}
	if len(gateways) == 0 {
		gateways = tok.Addrs
	}
	if len(gateways) == 0 {
		return nil, errors.New("the token names no gateway address: pass --gateway HOST:PORT")
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	hostname, _ := os.Hostname()
	csr, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{Subject: pkix.Name{CommonName: hostname}}, key)
	if err != nil {
		return nil, fmt.Errorf("creating certificate request: %w", err)
	}
	var caCert *x509.Certificate
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{tunnel.ProtoEnroll},
		InsecureSkipVerify: true, // verified against the pin below, before anything is sent
		VerifyConnection: func(cs tls.ConnectionState) error {
			caCert, err = verifyPinned(cs, tok.CAPin)
			return err
		},
	}
	var errs []error
	for _, addr := range gateways {
		resp, err := enrollOnce(ctx, addr, cfg, tunnel.EnrollRequest{
			TokenID: tok.ID, Secret: tok.Secret, CSR: csr, Hostname: hostname, Version: version,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			var refused *refusedError
			if errors.As(err, &refused) {
				break // the gateway answered: another node would answer the same
			}
			continue
		}
		if len(resp.EnvelopeKey) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%s: the gateway sent no identity key: run the same Gatehouse version on gateway and connector", addr)
		}
		st := &State{ConnectorID: resp.ConnectorID, Group: resp.Group, Gateways: gateways, Bootstrap: gateways,
			EnvelopeKey: resp.EnvelopeKey, ReleaseKey: tok.ReleaseKey}
		if err := st.save(dir, keyPEM, resp.CertPEM, certPEM(caCert.Raw)); err != nil {
			return nil, err
		}
		return LoadState(dir)
	}
	return nil, fmt.Errorf("enrollment failed: %w", errors.Join(errs...))
}

type refusedError struct{ msg string }

func (e *refusedError) Error() string { return "the gateway refused the token: " + e.msg }

func enrollOnce(ctx context.Context, addr string, cfg *tls.Config, req tunnel.EnrollRequest) (*tunnel.EnrollResponse, error) {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
	c, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := dctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if err := tunnel.WriteFrame(c, req); err != nil {
		return nil, fmt.Errorf("sending enrollment: %w", err)
	}
	var resp tunnel.EnrollResponse
	if err := tunnel.ReadFrame(c, &resp); err != nil {
		return nil, fmt.Errorf("reading enrollment answer: %w", err)
	}
	if resp.Error != "" {
		return nil, &refusedError{resp.Error}
	}
	return &resp, nil
}

// verifyPinned finds the pinned CA in the presented chain and verifies the
// server certificate against it alone.
func verifyPinned(cs tls.ConnectionState, pin string) (*x509.Certificate, error) {
	var ca *x509.Certificate
	for _, c := range cs.PeerCertificates {
		if c.IsCA && tunnel.Fingerprint(c) == pin {
			ca = c
		}
	}
	if ca == nil || len(cs.PeerCertificates) == 0 {
		got := "none"
		if n := len(cs.PeerCertificates); n > 0 {
			got = tunnel.Fingerprint(cs.PeerCertificates[n-1])
		}
		return nil, fmt.Errorf("gateway CA does not match the token's pin (pinned %s, gateway presented %s): the token is for another gateway, or something is intercepting the connection; nothing was sent", pin, got)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: roots, DNSName: tunnel.ServerName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("gateway certificate does not verify against the pinned CA: %w", err)
	}
	return ca, nil
}
