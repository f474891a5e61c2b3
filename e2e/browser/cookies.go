package browser

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// Cookie is a cookie in the browser's jar.
type Cookie struct {
	Name, Value string
	// Domain is the host of a host-only cookie ("app.example.test", set
	// without a Domain attribute), or the domain with a leading dot for a
	// cookie sent to subdomains too (".example.test").
	Domain   string
	Path     string
	Expires  time.Time // zero for a session cookie
	Secure   bool
	HTTPOnly bool
	SameSite string // "Strict", "Lax", "None", or "" when unset
}

// Cookies returns every cookie the browser holds, for every site.
func (b *Browser) Cookies(ctx context.Context) ([]Cookie, error) {
	c, cancel := b.callContext(ctx)
	defer cancel()
	res, err := chromedp.CallBrowser(c, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		return nil, fmt.Errorf("reading cookies: %w", err)
	}
	out := make([]Cookie, 0, len(res.Cookies))
	for _, k := range res.Cookies {
		ck := Cookie{Name: k.Name, Value: k.Value, Domain: k.Domain, Path: k.Path,
			Secure: k.Secure, HTTPOnly: k.HTTPOnly, SameSite: string(k.SameSite)}
		if !k.Session && k.Expires > 0 {
			ck.Expires = time.Unix(0, int64(k.Expires*float64(time.Second)))
		}
		out = append(out, ck)
	}
	return out, nil
}

// Cookie returns the cookie with this name whose domain matches host (the
// cookie's own host, or a parent domain it was set for).
func (b *Browser) Cookie(ctx context.Context, host, name string) (Cookie, bool, error) {
	all, err := b.Cookies(ctx)
	if err != nil {
		return Cookie{}, false, err
	}
	for _, c := range all {
		d := strings.TrimPrefix(c.Domain, ".")
		if c.Name == name && (d == host || strings.HasSuffix(host, "."+d)) {
			return c, true, nil
		}
	}
	return Cookie{}, false, nil
}

// SetCookie puts a cookie into the browser's jar, as if a server had set it,
// replacing one with the same name, Domain and Path: for example a tampered
// or expired session cookie. Domain is required and means what it means in
// Cookie; Path defaults to "/".
func (b *Browser) SetCookie(ctx context.Context, ck Cookie) error {
	if ck.Domain == "" || ck.Domain == "." {
		return fmt.Errorf("setting cookie %q: Domain is empty", ck.Name)
	}
	p := &network.CookieParam{Name: ck.Name, Value: ck.Value, Path: ck.Path,
		Secure: ck.Secure, HTTPOnly: ck.HTTPOnly, SameSite: network.CookieSameSite(ck.SameSite)}
	if p.Path == "" {
		p.Path = "/"
	}
	if strings.HasPrefix(ck.Domain, ".") {
		p.Domain = ck.Domain
	} else { // host-only: set it "from" a URL on that host
		scheme := "http://"
		if ck.Secure {
			scheme = "https://"
		}
		p.URL = scheme + ck.Domain + p.Path
	}
	if !ck.Expires.IsZero() {
		p.Expires = cdp.TimeSinceEpoch(float64(ck.Expires.UnixNano()) / float64(time.Second))
	}
	c, cancel := b.callContext(ctx)
	defer cancel()
	if _, err := chromedp.CallBrowser(c, storage.SetCookies, storage.SetCookiesParams{Cookies: []*network.CookieParam{p}}); err != nil {
		return fmt.Errorf("setting cookie %q for %s: %w", ck.Name, ck.Domain, err)
	}
	return nil
}
