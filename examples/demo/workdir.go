package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

// Layout of the working directory.
const (
	configFile   = "gatehouse.yaml"
	dataDir      = "data"              // the gateway's data_dir: SQLite store, dev-tls/
	devTLSDir    = "dev-tls"           // inside dataDir: the development CA (kept across runs)
	connectorDir = "connector"         // the connector's --state
	providerLog  = "oidc-provider.log" // what the OpenID provider logged, written when it stops
)

// repoRoot returns the nearest directory at or above the current one that
// holds a go.mod: the repository root when run with `make run`.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod in %s or above: run the demo from the repository (make run), or pass --bin and --dir", wd)
		}
	}
}

// cleanDir empties dir for a fresh run: a new store (so a new token and a
// new connector) and new connector state. It keeps the lock file and the
// development CA, if complete, so that a browser or system store that
// trusts the CA keeps working.
func cleanDir(dir string) (keptCA bool, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Name() == ".lock" || e.Name() == dataDir {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return false, fmt.Errorf("cleaning the working directory: %w", err)
		}
	}
	data := filepath.Join(dir, dataDir)
	entries, err = os.ReadDir(data)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Name() == devTLSDir && completeCA(filepath.Join(data, devTLSDir)) {
			keptCA = true
			continue
		}
		if err := os.RemoveAll(filepath.Join(data, e.Name())); err != nil {
			return false, fmt.Errorf("cleaning the working directory: %w", err)
		}
	}
	return keptCA, nil
}

// completeCA reports whether dir holds both halves of the development CA
// (the gateway refuses to start with only one of them).
func completeCA(dir string) bool {
	for _, f := range []string{"dev-ca.pem", "dev-ca-key.pem"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			return false
		}
	}
	return true
}

// configTemplate is the gateway config the demo writes; the ports, the
// demo app's address and the app's sign-in are filled in.
const configTemplate = `# Gatehouse demo gateway, written by examples/demo (make run) at every start.
#
# Edit and save this file while the demo runs: the gateway reloads it within
# a few seconds and logs "config applied" in gateway.log. Try preserve_host:
# true below and watch the Host header at https://demo.localhost:%[1]d/headers,
# or add a second app. Changes to listen, tls and data_dir need a restart.
data_dir: %[4]s
listen:
  public: 127.0.0.1:%[1]d
  tunnel: 127.0.0.1:%[2]d
  admin: 127.0.0.1:%[7]d
%[8]stls:
  mode: self-signed
%[5]sconnector_groups:
  - name: default
apps:
  - name: demo
    host: demo.localhost
    group: default
%[6]s    backend:
      url: http://127.0.0.1:%[3]d
      preserve_host: false
`

// signInConfig is the plug-in catalog and the demo app's auth and sign_on
// when the OpenID provider runs: users sign in there (browsers), API
// clients send its access tokens, and the connector tells the demo app who
// the user is in X-Remote-* headers.
const signInConfig = `plugins:
  - {name: oidc, builtin: true}
  - {name: header, builtin: true}
`

// portalConfig is the My Apps portal when the OpenID provider runs: a
// user signs in there once and opens every app that uses the same
// plug-in without another trip to the provider (docs/PORTAL.md).
const portalConfig = `# The My Apps portal: sign in once, open every app listed (docs/PORTAL.md).
portal:
  host: apps.localhost
  title: Example Corp apps
  auth:
    plugin: oidc
    # The same auth block as the demo app's, word for word: only an app that
    # signs in exactly as the portal does takes the portal's session.
    config: {issuer: %[1]s, client_id: %[2]s, client_secret: %[3]s, scopes: [openid, profile, email, groups], bearer: {audience: %[4]s}}
`

const signInApp = `    # Sign in at the demo's OpenID provider (oidc-provider on loopback) as
    # alice or bob, password "password". Scripts send the provider's access
    # tokens instead: Authorization: Bearer (see the curl line the demo prints).
    auth:
      plugin: oidc
      config:
        issuer: %[1]s
        client_id: %[2]s
        client_secret: %[3]s
        scopes: [openid, profile, email, groups]
        bearer:
          audience: %[4]s
    # Tell the app who signed in. Try adding access: {require_mfa: true}:
    # alice (password and OTP) still gets in; bob (password only) and the
    # robot are refused.
    sign_on:
      plugin: header
      config:
        headers:
          X-Remote-User: "{{.Subject}}"
          X-Remote-Email: "{{.Email}}"
          X-Remote-Name: "{{.Name}}"
          X-Remote-Groups: "{{join .Groups}}"
    portal: {name: Demo app, description: "Shows who you are and the headers the app received"}
`

// consoleConfig is the admin console's part of the config: sign-in at
// the demo's provider, with alice as the one admin; without a provider,
// served without sign-in (loopback, development only).
func consoleConfig(p ports, prov *provider) string {
	if prov.op == nil {
		return "# The admin console, http://127.0.0.1:" + strconv.Itoa(p.admin) + "/, without sign-in: the demo's\n" +
			"# OpenID provider is not running. Never do this outside development.\n" +
			"admin:\n  console: {dev_no_signin: true}\n"
	}
	return fmt.Sprintf(`# The admin console, http://127.0.0.1:%[1]d/: operators sign in at the demo's
# provider as they would to an app, and only those the access policy names
# get in (alice; bob gets 403).
admin:
  console:
    auth:
      plugin: oidc
      config: {issuer: %[2]s, client_id: %[3]s, client_secret: %[4]s, scopes: [openid, profile, email, groups]}
    access: {users: [alice]}
`, p.admin, prov.op.Issuer, oplab.ClientID, oplab.ClientSecret)
}

const passthroughApp = `    # No sign-in: %[1]s
    auth: passthrough
`

// writeConfig writes the gateway config into dir and returns its path.
func writeConfig(dir string, p ports, prov *provider) (string, error) {
	var plugins, auth string
	if prov.op != nil {
		plugins = signInConfig + fmt.Sprintf(portalConfig, prov.op.Issuer, oplab.ClientID, oplab.ClientSecret, prov.op.APIAudience)
		auth = fmt.Sprintf(signInApp, prov.op.Issuer, oplab.ClientID, oplab.ClientSecret, prov.op.APIAudience)
	} else {
		auth = fmt.Sprintf(passthroughApp, strings.ReplaceAll(prov.off, "\n", " "))
	}
	file := filepath.Join(dir, configFile)
	text := fmt.Sprintf(configTemplate, p.public, p.tunnel, p.app, dataDir, plugins, auth, p.admin, consoleConfig(p, prov))
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("writing the gateway config: %w", err)
	}
	return file, nil
}
