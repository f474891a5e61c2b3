// Package idplab runs, for tests, a real SAML 2.0 identity provider on
// loopback: SimpleSAMLphp 1.19 (Debian's simplesamlphp package, installed
// by scripts/install-simplesamlphp.sh) served by PHP's built-in web server,
// with the static users of this package's constants. The plug-in's tests
// and the end-to-end suite use it the same way:
//
//	idp, err := idplab.Start(ctx, idplab.Options{SPMetadata: [][]byte{spMetadataXML}})
//	... errors.Is(err, idplab.ErrSkip): skip, and say why
//	defer idp.Stop()
//
// The IdP trusts the service providers whose metadata (an
// EntityDescriptor, as the saml plug-in serves it at CALLBACK?metadata) it
// is given, and only those: it checks the signature of their AuthnRequests
// and sends its signed Response only to their assertion consumer service.
// [IdP.Trust] replaces that list while it runs.
//
// Each IdP listens on a port of 127.0.0.1 picked when it starts, so test
// binaries running in parallel each have their own, and keeps everything
// (config, keys, sessions, log, pid file) in a fresh temporary directory.
// PHP runs as one process, without PHP_CLI_SERVER_WORKERS (its forked
// workers would outlive a killed parent), in a process group of its own;
// the kernel kills it when the test binary dies (Linux), and Start removes
// the directories of earlier runs whose process is gone.
//
// GATEHOUSE_SAML_IDP=0 skips instead of installing and starting it.
package idplab

// Starting and stopping an IdP, and reading its metadata and log.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/internal/simplesamllab"
)

// ErrSkip wraps the reason no IdP can run here; a test should skip.
var ErrSkip = errors.New("SAML IdP (SimpleSAMLphp) not available")

// The IdP's users. Their attributes (see authsources in config.go):
//
//	alice: uid alice, upn alice@EXAMPLE.TEST, mail alice@example.com,
//	       displayName "Alice Example", groups staff and hr
//	bob:   uid bob, mail bob@example.com; no upn, no display name, no groups
const (
	Password = "password" // every user's

	Alice = "alice"
	Bob   = "bob"
)

// DocumentRoot is where Debian's simplesamlphp package puts the web pages.
const DocumentRoot = simplesamllab.DocumentRoot

// Options say how to start an IdP.
type Options struct {
	// SPMetadata are the SAML metadata documents (EntityDescriptor) of the
	// service providers the IdP trusts.
	SPMetadata [][]byte
	// Port is where to listen on 127.0.0.1; 0 picks a free one.
	Port int
}

// IdP is a running SimpleSAMLphp identity provider.
type IdP struct {
	// URL is its base URL, http://127.0.0.1:PORT/ (with the slash).
	URL string
	// EntityID is its SAML entity id; MetadataURL serves its metadata
	// (the same URL: SimpleSAMLphp names itself by its metadata URL).
	EntityID, MetadataURL string
	// Dir holds its config, keys, sessions, log and pid file.
	Dir string

	php *simplesamllab.Server
}

// Start installs SimpleSAMLphp if needed and starts an IdP. The error
// wraps ErrSkip when it cannot run here (no PHP, no package, no root to
// install it, GATEHOUSE_SAML_IDP=0).
func Start(ctx context.Context, opts Options) (*IdP, error) {
	if os.Getenv("GATEHOUSE_SAML_IDP") == "0" {
		return nil, fmt.Errorf("%w: GATEHOUSE_SAML_IDP=0", ErrSkip)
	}
	if err := simplesamllab.Install(ctx, "saml2/idp/SSOService.php", ErrSkip); err != nil {
		return nil, err
	}
	simplesamllab.Sweep(dirPrefix)
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	idp, err := start(ctx, dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return idp, nil
}

// dirPrefix names the IdPs' temporary directories, so that Start can find
// those a killed test binary left behind.
const dirPrefix = "gatehouse-saml-idp-"

func start(ctx context.Context, dir string, opts Options) (*IdP, error) {
	if err := writeKeyPair(dir); err != nil {
		return nil, err
	}
	idp := &IdP{Dir: dir}
	php, err := simplesamllab.Serve(ctx, simplesamllab.Options{Dir: dir, Port: opts.Port, Skip: ErrSkip,
		Prepare: func(base string) error {
			idp.URL, idp.EntityID, idp.MetadataURL = base, base+"saml2/idp/metadata.php", base+"saml2/idp/metadata.php"
			if err := writeConfig(dir, base); err != nil {
				return err
			}
			return idp.Trust(opts.SPMetadata...)
		},
		Ready: idp.ready})
	if err != nil {
		return nil, err
	}
	idp.php = php
	return idp, nil
}

// ready is whether the IdP serves its metadata.
func (idp *IdP) ready(ctx context.Context, _ string) error {
	resp, body, err := simplesamllab.Get(ctx, idp.MetadataURL, 2*time.Second)
	if resp == nil {
		return err // no answer (yet)
	}
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("IDPSSODescriptor")) {
		return simplesamllab.Final(fmt.Errorf("its metadata URL answered %s:\n%s", resp.Status, body))
	}
	return nil
}

// Metadata is the IdP's metadata document.
func (idp *IdP) Metadata(ctx context.Context) ([]byte, error) {
	resp, b, err := simplesamllab.Get(ctx, idp.MetadataURL, 10*time.Second)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", idp.MetadataURL, resp.Status)
	}
	return b, err
}

// Log is what PHP and SimpleSAMLphp have logged so far.
func (idp *IdP) Log() string { return idp.php.Log() }

// Stop stops the IdP (its process group only) and removes its directory.
// Stop on nil does nothing.
func (idp *IdP) Stop() error {
	if idp == nil {
		return nil
	}
	return idp.php.Stop()
}
