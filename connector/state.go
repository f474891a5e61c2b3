package connector

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/atomicfile"
	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/tunnel"
)

// State is what a connector keeps on disk: its key and certificate, the
// pinned gateway CA, and where the gateway is. Nothing else survives a
// restart; the app config comes from the gateway each time.
type State struct {
	ConnectorID string `json:"connector_id"`
	Group       string `json:"group"`
	// Gateways are the addresses dialled at start: those of the
	// enrollment at first, then the gateway nodes the gateway last listed
	// (tunnel.MsgNodes, pool.go), saved on every change.
	Gateways []string `json:"gateways"`
	// Bootstrap are the addresses from the token (or --gateway): the
	// fallback when no listed node answers. State files older than the
	// field have none; Gateways then stand in for them.
	Bootstrap []string `json:"bootstrap,omitempty"`
	// EnvelopeKey is the gateway's public key for identity envelopes,
	// pinned at enrollment.
	EnvelopeKey []byte `json:"envelope_key"`
	// ReleaseKey is the release public key the connector trusts for
	// signed updates (release.FormatPublicKey): from the enrollment token,
	// or --release-key. Empty: every update is refused.
	ReleaseKey string `json:"release_key,omitempty"`

	cert tls.Certificate
	ca   *x509.CertPool
	dir  string // where it was loaded from ("" : not saved)
}

const (
	stateFile = "connector.json"
	keyFile   = "key.pem"
	certFile  = "cert.pem"
	caFile    = "gateway-ca.pem"
)

// ErrNotEnrolled means the state directory holds no enrollment yet.
var ErrNotEnrolled = errors.New("connector is not enrolled")

// LoadState reads an enrolled connector's state from dir.
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s (run once with --token)", ErrNotEnrolled, dir, stateFile)
	}
	if err != nil {
		return nil, fmt.Errorf("reading connector state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, stateFile), err)
	}
	s.dir = dir
	if len(s.Bootstrap) == 0 {
		s.Bootstrap = s.Gateways
	}
	if len(s.EnvelopeKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%s has no gateway identity key (it was enrolled by an older version): delete %s and enroll again with a new token", filepath.Join(dir, stateFile), dir)
	}
	s.cert, err = tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if err != nil {
		return nil, fmt.Errorf("loading connector certificate from %s: %w", dir, err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, caFile))
	if err != nil {
		return nil, fmt.Errorf("loading pinned gateway CA: %w", err)
	}
	s.ca = x509.NewCertPool()
	if !s.ca.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no certificate", filepath.Join(dir, caFile))
	}
	return &s, nil
}

// save writes the state atomically enough for a one-time step: files
// first, connector.json (which marks enrollment done) last.
func (s *State) save(dir string, keyPEM, certPEM, caPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	js, _ := json.MarshalIndent(s, "", "  ")
	for _, f := range []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{keyFile, keyPEM, 0o600}, {certFile, certPEM, 0o644}, {caFile, caPEM, 0o644}, {stateFile, append(js, '\n'), 0o644},
	} {
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// saveGateways writes connector.json with gateways as the addresses to
// dial at the next start; the key, certificate and CA files stay as they
// are. State not loaded from a directory is not saved.
func (s *State) saveGateways(gateways []string) error {
	if s.dir == "" {
		return nil
	}
	cp := *s
	cp.Gateways = gateways
	js, err := json.MarshalIndent(&cp, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(s.dir, stateFile), append(js, '\n'), 0o644)
}

// SetReleaseKey checks key (release.ParsePublicKey) and saves it as the
// release key the connector trusts.
func (s *State) SetReleaseKey(key string) error {
	if _, err := release.ParsePublicKey(key); err != nil {
		return fmt.Errorf("--release-key: %w", err)
	}
	if key == s.ReleaseKey {
		return nil
	}
	s.ReleaseKey = key
	if s.dir == "" {
		return nil
	}
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(s.dir, stateFile), append(js, '\n'), 0o644)
}

// tunnelTLS is the client config for every tunnel: our certificate, and
// only the pinned gateway CA as root.
func (s *State) tunnelTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{s.cert},
		RootCAs:      s.ca,
		ServerName:   tunnel.ServerName,
		NextProtos:   []string{tunnel.ProtoTunnel},
	}
}
