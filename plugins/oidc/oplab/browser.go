package oplab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Browser is a user agent without JavaScript for the provider's pages: it
// keeps the provider's cookies, fills and posts its forms, and stops at
// the first redirect that leaves the provider (to the redirect URI, with
// the code or an error). A Browser is one user's; it is not safe for
// concurrent use.
type Browser struct {
	op     *OP
	client *http.Client
}

// Browser is a new user agent with an empty cookie jar. transport is used
// to reach the provider (nil: http.DefaultTransport); give one that
// trusts its certificate when it serves HTTPS.
func (op *OP) Browser(transport http.RoundTripper) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{op: op, client: &http.Client{
		Jar: jar, Transport: transport, Timeout: 15 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !strings.HasPrefix(req.URL.String(), op.Issuer+"/") {
				return http.ErrUseLastResponse // leaving the provider: that is the answer
			}
			if len(via) > 10 {
				return errors.New("more than 10 redirects at the provider")
			}
			return nil
		}}}
}

// SignIn opens authURL (the authorization request a Redirect result
// points to), signs in as user with password on the login page, and
// returns where the provider then sends the browser: the redirect URI with
// code and state, or with an error.
func (b *Browser) SignIn(ctx context.Context, authURL, user, password string) (*url.URL, error) {
	page, err := b.open(ctx, authURL)
	if err != nil || page.left != nil {
		return page.left, err
	}
	action, form, err := loginForm(page.body, page.url, user, password)
	if err != nil {
		return nil, err
	}
	return b.post(ctx, action, form)
}

// Cancel opens authURL and presses Cancel on the login page; the provider
// answers the redirect URI with error=access_denied.
func (b *Browser) Cancel(ctx context.Context, authURL string) (*url.URL, error) {
	page, err := b.open(ctx, authURL)
	if err != nil || page.left != nil {
		return page.left, err
	}
	m := abortRe.FindSubmatch(page.body)
	if m == nil {
		return nil, fmt.Errorf("no Cancel form on the login page %s", page.url)
	}
	action, err := page.url.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return nil, err
	}
	return b.post(ctx, action.String(), url.Values{})
}

type page struct {
	url  *url.URL
	body []byte
	left *url.URL // where the provider sent the browser, if it left the provider
}

func (b *Browser) open(ctx context.Context, u string) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return page{}, err
	}
	return b.do(req)
}

func (b *Browser) post(ctx context.Context, action string, form url.Values) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p, err := b.do(req)
	if err != nil {
		return nil, err
	}
	if p.left == nil {
		return nil, fmt.Errorf("the provider did not send the browser back (it stayed at %s):\n%s", p.url, p.body)
	}
	return p.left, nil
}

func (b *Browser) do(req *http.Request) (page, error) {
	req.Header.Set("Accept", "text/html")
	resp, err := b.client.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return page{}, err
	}
	p := page{url: resp.Request.URL, body: body}
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
		if p.left, err = resp.Request.URL.Parse(loc); err != nil {
			return page{}, err
		}
	}
	return p, nil
}

var (
	formRe     = regexp.MustCompile(`(?is)<form[^>]*>.*?</form>`)
	actionRe   = regexp.MustCompile(`(?is)\baction\s*=\s*["']([^"']*)["']`)
	inputRe    = regexp.MustCompile(`(?is)<input[^>]*>`)
	nameRe     = regexp.MustCompile(`(?is)\bname\s*=\s*["']([^"']*)["']`)
	valueRe    = regexp.MustCompile(`(?is)\bvalue\s*=\s*["']([^"']*)["']`)
	typeRe     = regexp.MustCompile(`(?is)\btype\s*=\s*["']([^"']*)["']`)
	passwordRe = regexp.MustCompile(`(?is)\btype\s*=\s*["']password["']`)
	abortRe    = regexp.MustCompile(`(?is)<form[^>]*\baction\s*=\s*["']([^"']*/abort)["']`)
)

// loginForm finds the first form with a password field and fills it: the
// user name into its first text or e-mail field, the password into the
// password field, hidden fields as they are.
func loginForm(body []byte, base *url.URL, user, password string) (string, url.Values, error) {
	for _, f := range formRe.FindAll(body, -1) {
		if !passwordRe.Match(f) {
			continue
		}
		action := ""
		if m := actionRe.FindSubmatch(f); m != nil {
			action = html.UnescapeString(string(m[1]))
		}
		u, err := base.Parse(action)
		if err != nil {
			return "", nil, err
		}
		v := url.Values{}
		userSet := false
		for _, in := range inputRe.FindAll(f, -1) {
			n := nameRe.FindSubmatch(in)
			if n == nil {
				continue
			}
			name, typ, val := html.UnescapeString(string(n[1])), "text", ""
			if t := typeRe.FindSubmatch(in); t != nil {
				typ = strings.ToLower(string(t[1]))
			}
			if m := valueRe.FindSubmatch(in); m != nil {
				val = html.UnescapeString(string(m[1]))
			}
			switch {
			case typ == "password":
				v.Set(name, password)
			case (typ == "text" || typ == "email") && !userSet:
				v.Set(name, user)
				userSet = true
			case typ == "submit" || typ == "button" || typ == "checkbox":
			default:
				v.Set(name, val)
			}
		}
		return u.String(), v, nil
	}
	return "", nil, fmt.Errorf("no login form with a password field on %s:\n%s", base, body)
}

// RobotToken is an access token for the API audience, a JWT the robot
// client gets with the client credentials grant: what a service would send
// an API as Authorization: Bearer.
func (op *OP) RobotToken(ctx context.Context, transport http.RoundTripper) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, op.Issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(RobotID, RobotSecret)
	resp, err := (&http.Client{Transport: transport, Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return "", fmt.Errorf("token endpoint: status %d: %w", resp.StatusCode, err)
	}
	if tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: status %d: %s %s", resp.StatusCode, tok.Error, tok.Description)
	}
	return tok.AccessToken, nil
}

// JWKSFetches is how many times the provider's key set (its jwks_uri) has
// been fetched since it started; transport is as for RobotToken.
func (op *OP) JWKSFetches(ctx context.Context, transport http.RoundTripper) (int, error) {
	return op.count(ctx, transport, "/test/jwks-fetches")
}
