package idplab

import (
	"context"
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

// ErrNotSignedIn is wrapped by SignIn's error when the IdP answered the
// login form with the login page again (a wrong password): the user stays
// at the IdP and no SAMLResponse is sent anywhere.
var ErrNotSignedIn = errors.New("the IdP did not sign the user in: it showed its login page again")

// Browser is a user agent without JavaScript for the IdP's pages: it keeps
// the IdP's cookies, fills and posts its login form, and stops at the form
// that would carry the SAMLResponse to the service provider (a browser
// posts it by script). A Browser is one user's; it is not safe for
// concurrent use.
type Browser struct {
	idp    *IdP
	client *http.Client
}

// Post is what the IdP's auto-submitting form would send to the service
// provider with the HTTP-POST binding.
type Post struct {
	// Action is where the form posts: the SP's assertion consumer service.
	Action string
	// Form holds SAMLResponse and, if the request had one, RelayState.
	Form url.Values
}

// Body is the form as the browser would post it
// (application/x-www-form-urlencoded).
func (p *Post) Body() []byte { return []byte(p.Form.Encode()) }

// Browser is a new user agent with an empty cookie jar.
func (idp *IdP) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{idp: idp, client: &http.Client{
		Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !strings.HasPrefix(req.URL.String(), idp.URL) {
				return http.ErrUseLastResponse // leaving the IdP: that is the answer
			}
			if len(via) > 10 {
				return errors.New("more than 10 redirects at the IdP")
			}
			return nil
		}}}
}

// SignIn opens location (the AuthnRequest a Redirect result points to),
// signs in as user with password on the IdP's login page, and returns the
// form the IdP then has the browser post to the service provider. If the
// IdP is already signed in (this Browser signed in before), there is no
// login page and the form comes at once.
func (b *Browser) SignIn(ctx context.Context, location, user, password string) (*Post, error) {
	page, err := b.do(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, err
	}
	if post, ok := samlPost(page); ok {
		return post, nil
	}
	action, form, err := loginForm(page)
	if err != nil {
		return nil, err
	}
	form.Set("username", user)
	form.Set("password", password)
	if page, err = b.do(ctx, http.MethodPost, action, form); err != nil {
		return nil, err
	}
	if post, ok := samlPost(page); ok {
		return post, nil
	}
	if _, _, err := loginForm(page); err == nil {
		return nil, fmt.Errorf("%w (%s)", ErrNotSignedIn, page.url)
	}
	return nil, fmt.Errorf("the IdP answered the login form with neither a SAMLResponse nor its login page (%s, status %d):\n%s",
		page.url, page.status, text(page.body))
}

type page struct {
	url    *url.URL
	status int
	body   []byte
}

func (b *Browser) do(ctx context.Context, method, u string, form url.Values) (page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	resp, err := b.client.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	p := page{url: resp.Request.URL, status: resp.StatusCode}
	if p.body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20)); err != nil {
		return page{}, err
	}
	if resp.StatusCode/100 == 3 {
		return page{}, fmt.Errorf("the IdP redirected the browser away from itself, to %s", resp.Header.Get("Location"))
	}
	return p, nil
}

var (
	formRe  = regexp.MustCompile(`(?is)<form[^>]*>.*?</form>`)
	actRe   = regexp.MustCompile(`(?is)\baction\s*=\s*["']([^"']*)["']`)
	inputRe = regexp.MustCompile(`(?is)<input[^>]*>`)
	nameRe  = regexp.MustCompile(`(?is)\bname\s*=\s*["']([^"']*)["']`)
	valueRe = regexp.MustCompile(`(?is)\bvalue\s*=\s*["']([^"']*)["']`)
	typeRe  = regexp.MustCompile(`(?is)\btype\s*=\s*["']([^"']*)["']`)
	tagRe   = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)
)

// forms are the page's forms: action (resolved against the page's URL)
// and fields, submit buttons left out.
func forms(p page) (actions []string, fields []url.Values) {
	for _, f := range formRe.FindAll(p.body, -1) {
		action := ""
		if m := actRe.FindSubmatch(f); m != nil {
			action = html.UnescapeString(string(m[1]))
		}
		u, err := p.url.Parse(action)
		if err != nil {
			continue
		}
		v := url.Values{}
		for _, in := range inputRe.FindAll(f, -1) {
			n := nameRe.FindSubmatch(in)
			if n == nil {
				continue
			}
			if t := typeRe.FindSubmatch(in); t != nil && strings.EqualFold(string(t[1]), "submit") {
				continue
			}
			val := ""
			if m := valueRe.FindSubmatch(in); m != nil {
				val = html.UnescapeString(string(m[1]))
			}
			v.Set(html.UnescapeString(string(n[1])), val)
		}
		actions, fields = append(actions, u.String()), append(fields, v)
	}
	return actions, fields
}

// samlPost is the page's form that carries a SAMLResponse, if any.
func samlPost(p page) (*Post, bool) {
	actions, fields := forms(p)
	for i, f := range fields {
		if f.Get("SAMLResponse") != "" {
			return &Post{Action: actions[i], Form: f}, true
		}
	}
	return nil, false
}

// loginForm is the page's form with a password field.
func loginForm(p page) (string, url.Values, error) {
	actions, fields := forms(p)
	for i, f := range fields {
		if _, ok := f["password"]; ok {
			return actions[i], f, nil
		}
	}
	return "", nil, fmt.Errorf("no login form on the IdP's page %s (status %d):\n%s", p.url, p.status, text(p.body))
}

// text is a page's text without markup, shortened, for an error message.
func text(body []byte) string {
	s := strings.Join(strings.Fields(html.UnescapeString(tagRe.ReplaceAllString(string(body), " "))), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}
