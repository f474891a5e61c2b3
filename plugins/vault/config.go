package vault

import (
	"crypto/hpke"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	sealed "github.com/gatehouse/gatehouse/sdk/vault"
)

// config is the plug-in's config block; see README.md.
type config struct {
	Mode    string `json:"mode"`
	KeyFile string `json:"key_file"`
	// RejectStatus is a pointer so that "left out" (the mode's default)
	// differs from 0 (off).
	RejectStatus *int        `json:"reject_status"`
	Form         *formConfig `json:"form"`
}

// formConfig is the form block: how to sign in at the backend's login form.
type formConfig struct {
	LoginURL        string            `json:"login_url"`
	UsernameField   string            `json:"username_field"`
	PasswordField   string            `json:"password_field"`
	Fields          map[string]string `json:"fields"`
	SuccessStatus   []int             `json:"success_status"`
	SuccessLocation string            `json:"success_location"`
	FailureLocation *string           `json:"failure_location"`
	FailureBody     string            `json:"failure_body"`
	SessionTTL      time.Duration     `json:"session_ttl"`
	MaxSessions     int               `json:"max_sessions"`
	Timeout         time.Duration     `json:"timeout"`
	CAFile          string            `json:"ca_file"`
}

const (
	modeBasic = "basic"
	modeForm  = "form"

	defaultSessionTTL  = 10 * time.Minute
	maxSessionTTL      = 24 * time.Hour
	defaultMaxSessions = 10000
	maxMaxSessions     = 1000000
	defaultTimeout     = 10 * time.Second
	maxTimeout         = 2 * time.Minute
)

// settings is a checked config, ready to use.
type settings struct {
	mode         string
	keyFile      string
	key          hpke.PrivateKey // nil in a check-only configure
	keyMode      os.FileMode
	rejectStatus int
	form         *formSettings // mode form only
}

// formSettings are the form block's checked values.
type formSettings struct {
	loginURL        *url.URL
	userField       string
	passField       string
	fields          map[string]string
	successStatus   map[int]bool
	successLocation *location // nil: any redirect will do
	failureLocation *location // nil: none
	failureBody     string
	sessionTTL      time.Duration
	maxSessions     int
	timeout         time.Duration
	tls             *tls.Config // nil: the system's roots
}

// decode checks the config block. With req.CheckOnly, it checks all but the
// files, which exist only on the connector's host.
func decode(req sdk.ConfigureRequest) (settings, error) {
	var cfg config
	if err := req.Decode(&cfg); err != nil {
		return settings{}, err
	}
	s := settings{mode: cfg.Mode, keyFile: cfg.KeyFile}
	switch cfg.Mode {
	case modeBasic:
		if cfg.Form != nil {
			return s, sdk.FieldErrorf("form", "only for mode: form; mode basic sends the credentials in an Authorization: Basic header")
		}
		s.rejectStatus = 401
	case modeForm:
		if cfg.Form == nil {
			return s, sdk.FieldErrorf("form.login_url", "required for mode: form: the backend's login form target, like http://app.internal/login")
		}
	case "":
		return s, sdk.FieldErrorf("mode", "required: basic (an Authorization: Basic header) or form (the plug-in signs in at the backend's login form)")
	default:
		return s, sdk.FieldErrorf("mode", "expected basic or form, got %q", cfg.Mode)
	}
	if r := cfg.RejectStatus; r != nil {
		switch {
		case *r == 0 && cfg.Mode == modeBasic:
			return s, sdk.FieldErrorf("reject_status", "mode basic needs one (default 401): without it a refused password reaches the browser as the backend's own password prompt")
		case *r != 0 && (*r < 300 || *r > 599):
			return s, sdk.FieldErrorf("reject_status", "expected 0 (off) or an HTTP status from 300 to 599, got %d", *r)
		}
		s.rejectStatus = *r
	}
	if cfg.Mode == modeForm {
		f, err := decodeForm(*cfg.Form, req.CheckOnly)
		if err != nil {
			return s, err
		}
		s.form = f
	}
	if cfg.KeyFile == "" {
		return s, sdk.FieldErrorf("key_file", "required: the path of the connector group's vault key (gatehouse-connector vault-key writes it)")
	}
	if req.CheckOnly {
		return s, nil
	}
	key, mode, err := readKey(cfg.KeyFile)
	if err != nil {
		return s, err
	}
	s.key, s.keyMode = key, mode
	return s, nil
}

// readKey reads the vault's private key from path.
func readKey(path string) (hpke.PrivateKey, os.FileMode, error) {
	const hint = "write it with gatehouse-connector vault-key and let the connector's user read it"
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, sdk.FieldErrorf("key_file", "cannot read %s: %v; %s", path, unwrapPath(err), hint)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, sdk.FieldErrorf("key_file", "%s is not a file; %s", path, hint)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, sdk.FieldErrorf("key_file", "cannot read %s: %v; %s", path, unwrapPath(err), hint)
	}
	key, err := sealed.PrivateKey(b)
	if err != nil {
		return nil, 0, sdk.FieldErrorf("key_file", "%s is not a vault key: %s; %s", path, strings.TrimPrefix(err.Error(), "vault key: "), hint)
	}
	return key, fi.Mode().Perm(), nil
}

// unwrapPath drops the operation and path a *PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func decodeForm(cfg formConfig, checkOnly bool) (*formSettings, error) {
	f := &formSettings{
		userField: "username", passField: "password", fields: cfg.Fields,
		sessionTTL: defaultSessionTTL, maxSessions: defaultMaxSessions, timeout: defaultTimeout,
		failureBody: cfg.FailureBody,
	}
	for _, step := range []func(formConfig) error{f.decodeLogin, f.decodeOutcome, f.decodeLimits} {
		if err := step(cfg); err != nil {
			return nil, err
		}
	}
	if err := f.decodeCA(cfg, checkOnly); err != nil {
		return nil, err
	}
	return f, nil
}

// decodeLogin checks the login form's address and field names.
func (f *formSettings) decodeLogin(cfg formConfig) error {
	if cfg.LoginURL == "" {
		return sdk.FieldErrorf("form.login_url", "required: the backend's login form target, like http://app.internal/login")
	}
	u, err := url.Parse(cfg.LoginURL)
	switch {
	case err != nil:
		return sdk.FieldErrorf("form.login_url", "%q is not a URL: %v", cfg.LoginURL, unwrapURL(err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return sdk.FieldErrorf("form.login_url", "%q is not an absolute http or https URL; write the backend's address as the connector reaches it, like http://app.internal/login", cfg.LoginURL)
	case u.User != nil:
		return sdk.FieldErrorf("form.login_url", "must not hold a user name or password")
	case u.Fragment != "":
		return sdk.FieldErrorf("form.login_url", "must not have a #fragment")
	}
	f.loginURL = u
	if cfg.UsernameField != "" {
		f.userField = cfg.UsernameField
	}
	if cfg.PasswordField != "" {
		f.passField = cfg.PasswordField
	}
	if f.userField == f.passField {
		return sdk.FieldErrorf("form.password_field", "is the same as username_field (%q)", f.userField)
	}
	for _, name := range sortedKeys(cfg.Fields) {
		if name == f.userField || name == f.passField {
			return sdk.FieldErrorf("form.fields."+name, "is the username or password field; the plug-in fills that one in")
		}
	}
	return nil
}

// decodeOutcome checks how a login's success or failure is told (after
// decodeLogin: the locations are relative to the login URL).
func (f *formSettings) decodeOutcome(cfg formConfig) error {
	u := f.loginURL
	f.successStatus = map[int]bool{301: true, 302: true, 303: true, 307: true, 308: true}
	if cfg.SuccessStatus != nil {
		if len(cfg.SuccessStatus) == 0 {
			return sdk.FieldErrorf("form.success_status", "is empty: no login could succeed; leave it out for any redirect (301, 302, 303, 307, 308)")
		}
		f.successStatus = map[int]bool{}
		for i, st := range cfg.SuccessStatus {
			if st < 200 || st > 399 {
				return sdk.FieldErrorf(fmt.Sprintf("form.success_status[%d]", i), "expected an HTTP status from 200 to 399, got %d", st)
			}
			f.successStatus[st] = true
		}
	}
	var err error
	if cfg.SuccessLocation != "" {
		if f.successLocation, err = parseLocation(u, cfg.SuccessLocation); err != nil {
			return sdk.FieldErrorf("form.success_location", "%v", err)
		}
	}
	switch {
	case cfg.FailureLocation == nil:
		// A redirect back to the login form's own path is a failure,
		// unless that path is the root, below which everything is.
		if p := u.EscapedPath(); p != "" && p != "/" {
			f.failureLocation = &location{path: p}
		}
	case *cfg.FailureLocation != "":
		if f.failureLocation, err = parseLocation(u, *cfg.FailureLocation); err != nil {
			return sdk.FieldErrorf("form.failure_location", "%v", err)
		}
	}
	return nil
}

// decodeLimits checks the session lifetime, the session count and the
// login timeout.
func (f *formSettings) decodeLimits(cfg formConfig) error {
	switch {
	case cfg.SessionTTL == 0:
	case cfg.SessionTTL < time.Second || cfg.SessionTTL > maxSessionTTL:
		return sdk.FieldErrorf("form.session_ttl", "must be between 1s and %v, got %v", maxSessionTTL, cfg.SessionTTL)
	default:
		f.sessionTTL = cfg.SessionTTL
	}
	switch {
	case cfg.MaxSessions == 0:
	case cfg.MaxSessions < 1 || cfg.MaxSessions > maxMaxSessions:
		return sdk.FieldErrorf("form.max_sessions", "must be between 1 and %d, got %d", maxMaxSessions, cfg.MaxSessions)
	default:
		f.maxSessions = cfg.MaxSessions
	}
	switch {
	case cfg.Timeout == 0:
	case cfg.Timeout < time.Second || cfg.Timeout > maxTimeout:
		return sdk.FieldErrorf("form.timeout", "must be between 1s and %v, got %v", maxTimeout, cfg.Timeout)
	default:
		f.timeout = cfg.Timeout
	}
	return nil
}

// decodeCA reads ca_file, the CA bundle of an https login URL (only
// checked, not read, with checkOnly).
func (f *formSettings) decodeCA(cfg formConfig, checkOnly bool) error {
	if cfg.CAFile == "" {
		return nil
	}
	if f.loginURL.Scheme != "https" {
		return sdk.FieldErrorf("form.ca_file", "only for an https login_url")
	}
	if checkOnly {
		return nil
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return sdk.FieldErrorf("form.ca_file", "cannot read %s: %v", cfg.CAFile, unwrapPath(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return sdk.FieldErrorf("form.ca_file", "%s holds no PEM certificate", cfg.CAFile)
	}
	f.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return nil
}

// A location is what a login response's redirect is compared with: a path
// (and what lies below it), on the login form's host or on host.
type location struct {
	scheme, host string // "" for a path on any host
	path         string // escaped
}

// parseLocation parses a success_location or failure_location value: a path
// like /home, or an absolute URL.
func parseLocation(base *url.URL, v string) (*location, error) {
	u, err := url.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("%q is not a path or URL: %v", v, unwrapURL(err))
	}
	switch {
	case strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//") && u.RawQuery == "" && u.Fragment == "":
		return &location{path: u.EscapedPath()}, nil
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == "":
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		return &location{scheme: u.Scheme, host: strings.ToLower(u.Host), path: p}, nil
	}
	return nil, fmt.Errorf("expected a path like /home or an absolute URL like %s://%s/home (no query), got %q", base.Scheme, base.Host, v)
}

// match says whether u, a redirect's resolved Location, is at l: the same
// path or one below it (/home matches /home and /home/x, not /homepage).
func (l *location) match(u *url.URL) bool {
	if l.host != "" && (u.Scheme != l.scheme || !strings.EqualFold(u.Host, l.host)) {
		return false
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return p == l.path || strings.HasPrefix(p, strings.TrimSuffix(l.path, "/")+"/")
}

func (l *location) String() string {
	if l.host == "" {
		return l.path
	}
	return l.scheme + "://" + l.host + l.path
}

// unwrapURL drops the operation and URL a *url.Error repeats.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
