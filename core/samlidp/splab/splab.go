// Package splab runs, for tests, a real SAML 2.0 service provider on
// loopback: SimpleSAMLphp 1.19 (Debian's simplesamlphp package, installed
// by scripts/install-simplesamlphp.sh) served by PHP's built-in web server,
// with one saml:SP auth source, "default-sp". The e2e suite publishes it
// as an app's backend behind a connector, with Gatehouse as its IdP:
//
//	sp, err := splab.Start(ctx, splab.Options{PublicURL: "https://sp.localhost/"})
//	... errors.Is(err, splab.ErrSkip): skip, and say why
//	defer sp.Stop()
//	md, _ := sp.Metadata(ctx)   // give it to the gateway (saml_idp.sp_metadata)
//	sp.TrustIdP(idpMetadata)    // the IdP metadata the gateway publishes
//
// PublicURL is the address users reach it at through the gateway: every
// URL it builds (entity id, assertion consumer service) starts with it,
// and it checks a Response's Destination against it. Its pages:
// module.php/core/authenticate.php?as=default-sp signs in (SP-initiated)
// and then shows the NameID and attributes it received.
//
// Like plugins/saml/idplab (the IdP side; internal/simplesamllab runs PHP
// for both), each SP listens on a port of 127.0.0.1 picked when it starts
// and keeps everything in a fresh temporary directory; PHP runs in a
// process group of its own, killed by the kernel when the test binary dies
// (Linux). GATEHOUSE_SAML_IDP=0 skips.
package splab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/simplesamllab"
)

// ErrSkip wraps the reason no SP can run here; a test should skip.
var ErrSkip = errors.New("SAML SP (SimpleSAMLphp) not available")

// DocumentRoot is where Debian's simplesamlphp package puts the web pages.
const DocumentRoot = simplesamllab.DocumentRoot

// AuthSource is the SP's auth source.
const AuthSource = "default-sp"

// Options say how to start an SP.
type Options struct {
	// PublicURL is the SP's base URL as users reach it (with the slash).
	PublicURL string
}

// SP is a running SimpleSAMLphp service provider.
type SP struct {
	// URL is where PHP listens: http://127.0.0.1:PORT/ (a backend URL).
	URL string
	// EntityID is its SAML entity id (PublicURL + "sp").
	EntityID string
	// Dir holds its config, sessions and log.
	Dir string

	public string
	php    *simplesamllab.Server
}

// Start installs SimpleSAMLphp if needed and starts an SP.
func Start(ctx context.Context, opts Options) (*SP, error) {
	if os.Getenv("GATEHOUSE_SAML_IDP") == "0" {
		return nil, fmt.Errorf("%w: GATEHOUSE_SAML_IDP=0", ErrSkip)
	}
	if !strings.HasPrefix(opts.PublicURL, "https://") || !strings.HasSuffix(opts.PublicURL, "/") {
		return nil, fmt.Errorf("splab: PublicURL %q must be https://HOST/ (with the slash)", opts.PublicURL)
	}
	if err := simplesamllab.Install(ctx, "module.php", ErrSkip); err != nil {
		return nil, err
	}
	simplesamllab.Sweep(dirPrefix)
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	sp := &SP{EntityID: opts.PublicURL + "sp", Dir: dir, public: opts.PublicURL}
	if err := sp.writeConfig(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := sp.run(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return sp, nil
}

// dirPrefix names the SPs' temporary directories, so that Start can find
// those a killed test binary left behind.
const dirPrefix = "gatehouse-saml-sp-"

func (sp *SP) run(ctx context.Context) error {
	php, err := simplesamllab.Serve(ctx, simplesamllab.Options{Dir: sp.Dir, Skip: ErrSkip,
		Prepare: func(url string) error { sp.URL = url; return nil },
		Ready:   func(ctx context.Context, _ string) error { _, err := sp.Metadata(ctx); return err }})
	sp.php = php
	return err
}

// Metadata is the SP's metadata document (its URLs start with PublicURL).
func (sp *SP) Metadata(ctx context.Context) ([]byte, error) {
	u := sp.URL + "module.php/saml/sp/metadata.php/" + AuthSource
	resp, b, err := simplesamllab.Get(ctx, u, 5*time.Second)
	if err == nil && (resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("SPSSODescriptor"))) {
		err = fmt.Errorf("GET %s: %s: %.300s", u, resp.Status, b)
	}
	return b, err
}

// Log is what PHP and SimpleSAMLphp have logged so far.
func (sp *SP) Log() string { return sp.php.Log() }

// Stop stops the SP (its process group) and removes its directory.
func (sp *SP) Stop() error {
	if sp == nil {
		return nil
	}
	return sp.php.Stop()
}
