// Package oplab runs, for tests, a real OpenID provider on loopback:
// panva's oidc-provider (npm, OpenID-certified) with the config in
// plugins/oidc/testdata/op.mjs, installed by scripts/install-oidc-provider.sh
// into .tools/oidc-provider. The plug-in's tests and the end-to-end suite
// use it the same way:
//
//	op, err := oplab.Start(ctx, oplab.Options{RedirectURIs: []string{callback}})
//	... errors.Is(err, oplab.ErrSkip): skip, and say why
//	defer op.Stop()
//
// Each provider listens on a port of 127.0.0.1 picked when it starts, so
// test binaries running in parallel each have their own. Its users and
// clients are the package's constants. A provider whose test binary dies
// exits too (it watches its stdin).
//
// GATEHOUSE_OIDC_OP=0 skips instead of installing and starting it.
package oplab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/labscript"
)

// ErrSkip wraps the reason no provider can run here; a test should skip.
var ErrSkip = errors.New("OpenID provider (oidc-provider) not available")

// The provider's users and clients (see testdata/op.mjs).
const (
	Password = "password" // every user's

	Alice = "alice" // groups engineering, gateway-admins; amr pwd, otp, mfa; acr urn:e2e:mfa
	Bob   = "bob"   // groups sales; amr pwd; acr urn:e2e:pwd

	ClientID       = "gateway"        // confidential, authorization code + PKCE
	ClientSecret   = "gateway-secret" // its secret (client_secret_basic)
	PublicClientID = "gateway-public" // public (no secret), authorization code + PKCE
	RobotID        = "robot"          // client_credentials: JWT access tokens for Options.APIAudience
	RobotSecret    = "robot-secret"

	DefaultAPIAudience = "https://api.example.test"
)

// Options say how to start a provider.
type Options struct {
	// RedirectURIs are registered for the gateway clients; the provider
	// refuses any other.
	RedirectURIs []string
	// APIAudience is the audience of the robot's access tokens;
	// DefaultAPIAudience if empty.
	APIAudience string
	// Port is where to listen on 127.0.0.1; 0 picks a free one.
	Port int
	// TLSCert and TLSKey are PEM files: with both, the provider serves
	// HTTPS and its issuer is https://127.0.0.1:PORT.
	TLSCert, TLSKey string
	// SigningKey, if set, is the provider's only signing key (RS256, key
	// id SigningKeyID), so that a test can make tokens the provider's JWKS
	// vouches for; without it the provider makes its own.
	SigningKey *rsa.PrivateKey
}

// SigningKeyID is the key id of Options.SigningKey in the provider's JWKS.
const SigningKeyID = "e2e-signing-key"

// privateJWKS is key as a JSON Web Key Set holding its private part, as
// oidc-provider's jwks option takes it.
func privateJWKS(key *rsa.PrivateKey) (string, error) {
	key.Precompute()
	b64 := func(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.Bytes()) }
	if len(key.Primes) != 2 {
		return "", errors.New("oplab: SigningKey must have two primes")
	}
	jwk := map[string]string{"kty": "RSA", "kid": SigningKeyID, "use": "sig", "alg": "RS256",
		"n": b64(key.N), "e": b64(big.NewInt(int64(key.E))), "d": b64(key.D),
		"p": b64(key.Primes[0]), "q": b64(key.Primes[1]),
		"dp": b64(key.Precomputed.Dp), "dq": b64(key.Precomputed.Dq), "qi": b64(key.Precomputed.Qinv)}
	b, err := json.Marshal(map[string]any{"keys": []any{jwk}})
	return string(b), err
}

// OP is a running provider.
type OP struct {
	Issuer      string
	APIAudience string

	cmd   *exec.Cmd
	stdin io.WriteCloser
	dir   string
	done  chan struct{}    // closed when the process has exited
	out   labscript.Output // its stdout and stderr
}

// Start installs the provider if needed and starts one. The error wraps
// ErrSkip when it cannot run here (no Node.js, no network to install it,
// GATEHOUSE_OIDC_OP=0).
func Start(ctx context.Context, opts Options) (*OP, error) {
	if os.Getenv("GATEHOUSE_OIDC_OP") == "0" {
		return nil, fmt.Errorf("%w: GATEHOUSE_OIDC_OP=0", ErrSkip)
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	modules, err := install(ctx, root)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-oidc-op-")
	if err != nil {
		return nil, err
	}
	op, err := start(ctx, root, modules, dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return op, nil
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

// install runs scripts/install-oidc-provider.sh (quick when it is
// installed) and returns the node_modules directory it fills.
func install(ctx context.Context, root string) (string, error) {
	modules := filepath.Join(root, ".tools", "oidc-provider", "node_modules")
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("%w: node is not on PATH (install Node.js 20.19 or later)", ErrSkip)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	script := filepath.Join(root, "scripts", "install-oidc-provider.sh")
	if out, err := exec.CommandContext(ctx, script).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s failed (run `make tools`): %v\n%s", ErrSkip, script, err, out)
	}
	return modules, nil
}

func start(ctx context.Context, root, modules, dir string, opts Options) (*OP, error) {
	// Node resolves "oidc-provider" from the script's own directory: a
	// copy of the script beside a link to the installed node_modules.
	src, err := os.ReadFile(filepath.Join(root, "plugins", "oidc", "testdata", "op.mjs"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "op.mjs"), src, 0o644); err != nil {
		return nil, err
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		return nil, err
	}
	if opts.APIAudience == "" {
		opts.APIAudience = DefaultAPIAudience
	}
	jwks := ""
	if opts.SigningKey != nil {
		if jwks, err = privateJWKS(opts.SigningKey); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command("node", "op.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PORT="+strconv.Itoa(opts.Port),
		"REDIRECT_URIS="+strings.Join(opts.RedirectURIs, " "),
		"API_AUDIENCE="+opts.APIAudience,
		"TLS_CERT="+opts.TLSCert, "TLS_KEY="+opts.TLSKey, "JWKS="+jwks,
		"EXIT_ON_STDIN_EOF=1")
	op := &OP{APIAudience: opts.APIAudience, cmd: cmd, dir: dir, done: make(chan struct{})}
	// The provider exits when this pipe closes: on Stop, or when the test
	// binary dies without calling it.
	if op.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = &op.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the OpenID provider (node op.mjs): %w", err)
	}
	issuer := make(chan string, 1)
	go func() { // owned by op: ends when the process's stdout closes
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "issuer "); ok {
				select {
				case issuer <- rest:
				default:
				}
			}
			_, _ = op.out.Write([]byte(line + "\n"))
		}
		_ = cmd.Wait()
		close(op.done)
	}()
	wait := time.NewTimer(30 * time.Second)
	defer wait.Stop()
	select {
	case op.Issuer = <-issuer:
		return op, nil
	case <-op.done:
		err = errors.New("it exited")
	case <-wait.C:
		err = errors.New("it did not print its issuer within 30s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = op.Stop()
	return nil, fmt.Errorf("starting the OpenID provider: %w\n%s", err, op.Log())
}

// Log is what the provider has written so far.
func (op *OP) Log() string { return op.out.String() }

// Stop stops the provider (its process only) and removes its directory.
// Stop on nil does nothing.
func (op *OP) Stop() error {
	if op == nil {
		return nil
	}
	op.stdin.Close()
	select {
	case <-op.done:
	case <-time.After(5 * time.Second):
		_ = op.cmd.Process.Kill()
		<-op.done
	}
	return os.RemoveAll(op.dir)
}
