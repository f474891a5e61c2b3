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
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/freeport"
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
const DocumentRoot = "/usr/share/simplesamlphp/www"

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

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	mu   sync.Mutex
	log  bytes.Buffer // PHP's stdout and stderr
}

// Start installs SimpleSAMLphp if needed and starts an IdP. The error
// wraps ErrSkip when it cannot run here (no PHP, no package, no root to
// install it, GATEHOUSE_SAML_IDP=0).
func Start(ctx context.Context, opts Options) (*IdP, error) {
	if os.Getenv("GATEHOUSE_SAML_IDP") == "0" {
		return nil, fmt.Errorf("%w: GATEHOUSE_SAML_IDP=0", ErrSkip)
	}
	if err := install(ctx); err != nil {
		return nil, err
	}
	sweep()
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

// install runs scripts/install-simplesamlphp.sh when PHP or SimpleSAMLphp
// is missing.
func install(ctx context.Context) error {
	if _, err := exec.LookPath("php"); err == nil {
		if _, err := os.Stat(filepath.Join(DocumentRoot, "saml2", "idp", "SSOService.php")); err == nil {
			return nil
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	script := filepath.Join(root, "scripts", "install-simplesamlphp.sh")
	if out, err := exec.CommandContext(ctx, script).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s failed (run it as root, or `make tools`): %v\n%s", ErrSkip, script, err, out)
	}
	return nil
}

// moduleRoot is the directory of the gatehouse module's go.mod, above the
// working directory (a test's package directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/gatehouse/gatehouse\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: the gatehouse module's go.mod is not above %s", ErrSkip, dir)
		}
		dir = parent
	}
}

func start(ctx context.Context, dir string, opts Options) (*IdP, error) {
	if err := writeKeyPair(dir); err != nil {
		return nil, err
	}
	// A port picked here may be taken before PHP binds it: try a few.
	var lastErr error
	for range 3 {
		port := opts.Port
		if port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		idp, err := run(ctx, dir, port, opts)
		if err == nil {
			return idp, nil
		}
		lastErr = err
		if opts.Port != 0 || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func run(ctx context.Context, dir string, port int, opts Options) (*IdP, error) {
	base := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	idp := &IdP{URL: base, EntityID: base + "saml2/idp/metadata.php", MetadataURL: base + "saml2/idp/metadata.php",
		Dir: dir, done: make(chan struct{})}
	if err := writeConfig(dir, base); err != nil {
		return nil, err
	}
	if err := idp.Trust(opts.SPMetadata...); err != nil {
		return nil, err
	}
	// -d session.save_path puts the directory on the command line, so a
	// leftover process can be told apart (see sweep). OPcache is on for
	// the cli-server SAPI (opcache.enable_cli is for "cli" only) and would
	// serve a config file changed by Trust or EncryptAssertions for up to
	// two more seconds: revalidate on every request.
	cmd := exec.Command("php", "-d", "session.save_path="+filepath.Join(dir, "sessions"),
		"-d", "opcache.revalidate_freq=0",
		"-S", "127.0.0.1:"+strconv.Itoa(port), "-t", DocumentRoot)
	cmd.Dir = dir
	cmd.Env = append(environ(), "SIMPLESAMLPHP_CONFIG_DIR="+filepath.Join(dir, "config"))
	cmd.Stdout, cmd.Stderr = idp.logWriter(), idp.logWriter()
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting php -S: %v", ErrSkip, err)
	}
	idp.cmd = cmd
	if err := os.WriteFile(filepath.Join(dir, "php.pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		_ = idp.Stop()
		return nil, err
	}
	go func() { // owned by idp: ends when the process exits
		_ = cmd.Wait()
		close(idp.done)
	}()
	if err := idp.wait(ctx, 15*time.Second); err != nil {
		log := idp.Log()
		_ = idp.kill()
		return nil, fmt.Errorf("starting SimpleSAMLphp on %s: %w\n%s", base, err, log)
	}
	return idp, nil
}

// environ is the test's environment without what would change how PHP
// serves: no workers (PHP_CLI_SERVER_WORKERS), no other config.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PHP_CLI_SERVER_WORKERS" || k == "SIMPLESAMLPHP_CONFIG_DIR" || strings.HasPrefix(k, "PHP_INI") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// wait polls the IdP's metadata until it answers.
func (idp *IdP) wait(ctx context.Context, limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, idp.MetadataURL, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("IDPSSODescriptor")) {
				return nil
			}
			return fmt.Errorf("its metadata URL answered %s:\n%s", resp.Status, body)
		}
		select {
		case <-idp.done:
			return errors.New("php exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %v: %w", limit, err)
		}
	}
}

// Metadata is the IdP's metadata document.
func (idp *IdP) Metadata(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, idp.MetadataURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", idp.MetadataURL, resp.Status)
	}
	return b, err
}

func (idp *IdP) logWriter() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		idp.mu.Lock()
		defer idp.mu.Unlock()
		return idp.log.Write(p)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Log is what PHP and SimpleSAMLphp have logged so far.
func (idp *IdP) Log() string {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return idp.log.String()
}

// Stop stops the IdP (its process group only) and removes its directory.
// Stop on nil does nothing.
func (idp *IdP) Stop() error {
	if idp == nil {
		return nil
	}
	if err := idp.kill(); err != nil {
		return err
	}
	return os.RemoveAll(idp.Dir)
}

// kill ends the PHP process and anything it started (its process group),
// and waits for it.
func (idp *IdP) kill() error {
	if idp.cmd == nil || idp.cmd.Process == nil {
		return nil
	}
	pid := idp.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-idp.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-idp.done
	}
	return nil
}

// freePort is a loopback port nothing listens on, for now.
func freePort() (int, error) { return freeport.TCP() }
