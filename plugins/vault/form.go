package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	sealed "github.com/gatehouse/gatehouse/sdk/vault"
)

// former signs users in at the backend's login form and keeps their
// backend sessions.
type former struct {
	cfg    *formSettings
	open   func(subject string, secret []byte) (sealed.Credentials, bool)
	client *http.Client
	cache  *sessions
	log    *slog.Logger
	now    func() time.Time
}

// maxLoginBody bounds how much of the login response is searched for
// failure_body.
const maxLoginBody = 1 << 20

// errNoCredentials means there are no credentials that open: ask the user.
var errNoCredentials = errors.New("no credentials that open")

func newFormer(cfg *formSettings, open func(string, []byte) (sealed.Credentials, bool), log *slog.Logger, now func() time.Time) *former {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the backend is on the connector's network
	if cfg.tls != nil {
		tr.TLSClientConfig = cfg.tls
	}
	return &former{
		cfg: cfg, open: open, log: log, now: now,
		client: &http.Client{
			Transport: tr,
			// The login's own answer is what is judged: a redirect is
			// looked at, not followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		cache: newSessions(now, cfg.timeout, cfg.maxSessions),
	}
}

// inject adds the user's backend session cookies to the request, signing
// in first if there is no session for these credentials yet.
func (f *former) inject(ctx context.Context, req sdk.InjectRequest, rejectStatus int) (sdk.InjectResult, error) {
	if len(req.Secret) == 0 {
		return askCredentials, nil
	}
	subject, secret := req.Identity.Subject, bytes.Clone(req.Secret)
	s, err := f.cache.get(ctx, subject, sha256.Sum256(secret), func(ctx context.Context) (*session, error) {
		return f.login(ctx, subject, secret)
	})
	switch {
	case errors.Is(err, errNoCredentials):
		return askCredentials, nil
	case err != nil:
		return sdk.InjectResult{}, err
	case s.refused:
		return askCredentials, nil
	}
	res := sdk.InjectResult{Remove: []string{"Cookie"}, RejectStatus: rejectStatus}
	if c := f.cookieHeader(req, s); c != "" {
		res.Set = http.Header{"Cookie": {c}}
	}
	return res, nil
}

// login posts the login form with the user's credentials and returns the
// backend's session, or a refused one. An error means the login could not
// be judged (no answer, a server error): nothing is cached, and the user
// is not asked for credentials that may well be right.
func (f *former) login(ctx context.Context, subject string, secret []byte) (*session, error) {
	c, ok := f.open(subject, secret)
	if !ok {
		return nil, errNoCredentials
	}
	form := url.Values{}
	for k, v := range f.cfg.fields {
		form.Set(k, v)
	}
	form.Set(f.cfg.userField, c.Username)
	form.Set(f.cfg.passField, c.Password)
	target := f.cfg.loginURL.Redacted()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, f.cfg.loginURL.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("vault: signing in at %s: %w", target, err)
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("User-Agent", "Gatehouse-Vault/1")
	start := time.Now()
	resp, err := f.client.Do(hreq)
	if err != nil {
		f.log.Warn("vault: the backend's login form did not answer", "subject", subject, "error", err)
		return nil, fmt.Errorf("vault: signing in at %s: %w", target, unwrapURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLoginBody))
	if err != nil {
		return nil, fmt.Errorf("vault: reading the answer of %s: %w", target, err)
	}
	refusal, err := f.judge(resp, body)
	if err != nil {
		f.log.Warn("vault: cannot sign in at the backend", "subject", subject, "error", err)
		return nil, err
	}
	now := f.now()
	if refusal != "" {
		f.log.Info("vault: the backend refused the stored credentials; asking the user for new ones",
			"subject", subject, "why", refusal, "took", time.Since(start).Round(time.Microsecond))
		return &session{refused: true, expires: now.Add(f.cfg.sessionTTL)}, nil
	}
	s := f.newSession(resp.Cookies(), now)
	f.log.Info("vault: signed in at the backend", "subject", subject, "status", resp.StatusCode,
		"cookies", len(s.names), "until", s.expires.Format(time.RFC3339), "took", time.Since(start).Round(time.Microsecond))
	return s, nil
}

// judge says why the login response refused the credentials, "" if it
// accepted them, or an error if it is neither (see README.md, "Form login").
func (f *former) judge(resp *http.Response, body []byte) (refusal string, err error) {
	target := f.cfg.loginURL.Redacted()
	switch code := resp.StatusCode; {
	case code >= 500:
		return "", fmt.Errorf("vault: the backend's login form %s answered %s", target, resp.Status)
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
		return "", fmt.Errorf("vault: the backend's login form %s answered %s to a POST: check form.login_url", target, resp.Status)
	}
	var loc *url.URL
	if resp.StatusCode/100 == 3 {
		if l, err := resp.Location(); err == nil {
			loc = l
		}
	}
	switch {
	case f.cfg.failureBody != "" && bytes.Contains(body, []byte(f.cfg.failureBody)):
		return fmt.Sprintf("status %d, the page holds failure_body", resp.StatusCode), nil
	case loc != nil && f.cfg.failureLocation != nil && f.cfg.failureLocation.match(loc):
		return fmt.Sprintf("status %d, redirect to %s (failure_location %s)", resp.StatusCode, loc.EscapedPath(), f.cfg.failureLocation), nil
	case !f.cfg.successStatus[resp.StatusCode]:
		return fmt.Sprintf("status %d is not a success_status", resp.StatusCode), nil
	case f.cfg.successLocation != nil && loc == nil:
		return fmt.Sprintf("status %d without a redirect (success_location %s)", resp.StatusCode, f.cfg.successLocation), nil
	case f.cfg.successLocation != nil && !f.cfg.successLocation.match(loc):
		return fmt.Sprintf("status %d, redirect to %s, not to success_location %s", resp.StatusCode, loc.EscapedPath(), f.cfg.successLocation), nil
	}
	if len(resp.Cookies()) == 0 {
		return "", fmt.Errorf("vault: the backend's login form %s answered %s as a success but set no cookie; check form.login_url and the success checks (success_status, success_location)", target, resp.Status)
	}
	return "", nil
}

// newSession keeps the cookies a successful login set. The session ends
// after session_ttl, or sooner when one of those cookies expires.
func (f *former) newSession(cookies []*http.Cookie, now time.Time) *session {
	jar, _ := cookiejar.New(nil) // cannot fail without options
	jar.SetCookies(f.cfg.loginURL, cookies)
	s := &session{jar: jar, names: make(map[string]bool, len(cookies)), expires: now.Add(f.cfg.sessionTTL)}
	for _, c := range cookies {
		s.names[c.Name] = true
		end := c.Expires
		switch {
		case c.MaxAge < 0:
			continue // a deletion: it holds nothing
		case c.MaxAge > 0:
			end = now.Add(time.Duration(c.MaxAge) * time.Second)
		}
		if !end.IsZero() && end.Before(s.expires) {
			s.expires = end
		}
	}
	return s
}

// cookieHeader is the request's Cookie header with the backend session's
// cookies: the client's own cookies are kept, except those with a name the
// backend's login set (a client must not bring a session of its own).
func (f *former) cookieHeader(req sdk.InjectRequest, s *session) string {
	var parts []string
	for _, line := range req.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if part == "" || s.names[strings.TrimSpace(name)] || strings.ContainsAny(part, "\r\n\x00") {
				continue
			}
			parts = append(parts, part)
		}
	}
	for _, c := range s.jar.Cookies(f.cookieURL(req.URL)) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// cookieURL is where the backend's cookies are looked up for a request to
// raw: the login form's scheme and host (the connector may reach the same
// backend by another name) with the request's path.
func (f *former) cookieURL(raw string) *url.URL {
	u := *f.cfg.loginURL
	u.RawQuery, u.Path, u.RawPath = "", "/", ""
	if r, err := url.Parse(raw); err == nil && r.Path != "" {
		u.Path, u.RawPath = r.Path, r.RawPath
	}
	return &u
}
