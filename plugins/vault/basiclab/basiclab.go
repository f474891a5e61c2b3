// Package basiclab runs, for tests, the password-protected backend of
// scripts/basicauth-lab.sh: Apache with mod_auth_basic and an htpasswd
// file on a loopback port, and the same users behind a form login
// (mod_auth_form). The vault plug-in's tests and the end-to-end suite use
// it the same way:
//
//	lab, err := basiclab.Start(ctx)
//	... errors.Is(err, basiclab.ErrSkip): run without the lab, say why
//	defer lab.Stop()
//
// GATEHOUSE_BASICLAB decides what Start does:
//
//	unset    start a private lab when Apache and htpasswd are installed;
//	         otherwise skip
//	1        start a private lab, installing the packages first if needed
//	0        skip
//	DIR      use the lab already running in DIR
//	         (BASICLAB=DIR scripts/basicauth-lab.sh start)
//
// A private lab lives in a fresh directory under /tmp with a port picked at
// start, so test binaries running in parallel each have their own.
package basiclab

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/labscript"
	"os"
	"path/filepath"
	"strings"
)

// ErrSkip wraps the reason a lab is not available; a test should skip.
var ErrSkip = errors.New("basic-auth lab not available")

// Lab is a running lab.
type Lab struct {
	Dir string
	// BaseURL is the backend's root, http://127.0.0.1:PORT: an app's
	// backend url. /index.html needs no sign-in.
	BaseURL string
	// URL is a page behind AuthType Basic that prints REMOTE_USER; User
	// and Password open it (the password has a colon and a space).
	URL      string
	User     string
	Password string
	// OtherUser and OtherPassword are a second account.
	OtherUser     string
	OtherPassword string
	// FormURL is a page behind a form login (mod_auth_form) that prints
	// REMOTE_USER: without a session it redirects to FormLoginPage.
	// FormLoginURL takes the login POST (fields FormUsernameField and
	// FormPasswordField): a 302 to FormURL with a session cookie, or to
	// FormLoginPage?failed.
	FormURL           string
	FormLoginURL      string
	FormLoginPage     string
	FormUsernameField string
	FormPasswordField string
	// AccessLog is Apache's access log: "IP user=USER \"REQUEST\" STATUS"
	// per request.
	AccessLog string

	script  *labscript.Script
	private bool
}

// Start returns a running lab, as GATEHOUSE_BASICLAB says (see the package
// doc). The error wraps ErrSkip when the lab is not available here.
func Start(ctx context.Context) (*Lab, error) {
	script, err := labscript.Find("basicauth-lab.sh", "BASICLAB", "gatehouse-basiclab-", ErrSkip)
	if err != nil {
		return nil, err
	}
	lab, started, err := labscript.Open(ctx, labscript.Lab{Script: script, Env: "GATEHOUSE_BASICLAB", Name: "the Basic-auth lab",
		Install: true, Missing: Missing, Skip: ErrSkip}, read)
	if err != nil {
		return nil, err
	}
	lab.script, lab.private = script, started
	return lab, nil
}

// Stop stops a lab that Start started, and removes its directory. A lab
// named by GATEHOUSE_BASICLAB=DIR is left running. Stop on nil does
// nothing.
func (l *Lab) Stop() error {
	if l == nil || !l.private {
		return nil
	}
	return l.script.Stop(l.Dir)
}

// AccessLogLines is Apache's access log, one request a line.
func (l *Lab) AccessLogLines() ([]string, error) {
	b, err := os.ReadFile(l.AccessLog)
	if err != nil {
		return nil, fmt.Errorf("reading the backend's access log: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return nil, nil
	}
	return strings.Split(text, "\n"), nil
}

// Missing names what this machine lacks to start a lab, and what to do,
// "" if nothing.
func Missing() string {
	var missing []string
	for _, cmd := range []string{"apache2", "htpasswd"} {
		if _, err := labscript.LookPath(cmd); err != nil {
			missing = append(missing, cmd)
		}
	}
	for _, mod := range []string{"mod_auth_basic.so", "mod_authn_file.so", "mod_auth_form.so", "mod_session_crypto.so", "mod_include.so"} {
		if _, err := os.Stat(filepath.Join("/usr/lib/apache2/modules", mod)); err != nil {
			missing = append(missing, mod)
		}
	}
	if len(missing) > 0 {
		return "not installed: " + strings.Join(missing, ", ") + "; run `sudo scripts/basicauth-lab.sh install` (apache2, apache2-utils) or set GATEHOUSE_BASICLAB=1"
	}
	return ""
}

// read loads the lab.env the script wrote in dir.
func read(dir string) (*Lab, error) {
	env, err := labscript.ReadEnv(dir)
	if err != nil {
		return nil, err
	}
	l := &Lab{
		Dir: env["BASICLAB"], BaseURL: env["BASE_URL"], URL: env["URL"], User: env["USER"], Password: env["PASSWORD"],
		OtherUser: env["OTHER_USER"], OtherPassword: env["OTHER_PASSWORD"],
		FormURL: env["FORM_URL"], FormLoginURL: env["FORM_LOGIN_URL"], FormLoginPage: env["FORM_LOGIN_PAGE"],
		FormUsernameField: env["FORM_USERNAME_FIELD"], FormPasswordField: env["FORM_PASSWORD_FIELD"],
		AccessLog: env["ACCESS_LOG"],
	}
	if l.URL == "" || l.User == "" || l.Password == "" || l.FormLoginURL == "" {
		return nil, fmt.Errorf("%s/lab.env lacks URL, USER, PASSWORD or FORM_LOGIN_URL", dir)
	}
	return l, nil
}
