package oplab

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"regexp"
)

var confirmRe = regexp.MustCompile(`(?is)\baction\s*=\s*["']([^"']*/session/end/confirm)["']`)

// SignOut opens endSessionURL (the RP-initiated logout a plug-in's
// SignOut points to), answers "Yes, sign me out" on the provider's
// confirmation page, and returns where the provider then sends the
// browser: the post_logout_redirect_uri with state. The provider's
// session in this Browser ends.
func (b *Browser) SignOut(ctx context.Context, endSessionURL string) (*url.URL, error) {
	p, err := b.open(ctx, endSessionURL)
	if err != nil || p.left != nil {
		return p.left, err
	}
	for _, f := range formRe.FindAll(p.body, -1) {
		m := confirmRe.FindSubmatch(f)
		if m == nil {
			continue
		}
		action, err := p.url.Parse(html.UnescapeString(string(m[1])))
		if err != nil {
			return nil, err
		}
		v := url.Values{}
		for _, in := range inputRe.FindAll(f, -1) {
			if n, val := nameRe.FindSubmatch(in), valueRe.FindSubmatch(in); n != nil && val != nil {
				v.Set(html.UnescapeString(string(n[1])), html.UnescapeString(string(val[1])))
			}
		}
		v.Set("logout", "yes")
		return b.post(ctx, action.String(), v)
	}
	return nil, fmt.Errorf("no sign-out form on the provider's page %s:\n%s", p.url, p.body)
}

// SignedIn reports whether the provider still has a session in this
// Browser: authURL (an authorization request) is answered at once with a
// redirect back (true), or with the login page (false).
func (b *Browser) SignedIn(ctx context.Context, authURL string) (bool, error) {
	p, err := b.open(ctx, authURL)
	if err != nil {
		return false, err
	}
	if p.left != nil {
		return true, nil
	}
	if passwordRe.Match(p.body) {
		return false, nil
	}
	return false, fmt.Errorf("the provider answered %s with neither a redirect back nor its login page:\n%s", p.url, p.body)
}
