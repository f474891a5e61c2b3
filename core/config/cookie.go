package config

import (
	"strings"
	"time"
)

// AppCookie is an app's own session-cookie settings (apps[].cookie);
// each left out takes the gateway's: sessions.persistent,
// sessions.lifetime, and SameSite lax.
type AppCookie struct {
	// Persistent keeps the cookie when the browser closes (until the
	// session expires); false makes it a browser-session cookie.
	Persistent OptBool `yaml:"persistent,omitempty"`
	// Lifetime is how long a sign-in to this app lasts (at least 1m).
	Lifetime Duration `yaml:"lifetime,omitempty"`
	// SameSite is the cookie's SameSite attribute: lax (the default:
	// sent on top-level navigations from other sites, not in their
	// frames or requests), strict (never sent on anything that starts at
	// another site: a link to the app from mail passes through the
	// sign-in first), or none (sent in cross-site requests too, for an
	// app embedded in another site's frame; always Secure). The loader
	// lower-cases it.
	SameSite string `yaml:"same_site,omitempty"`
}

// The SameSite values.
const (
	SameSiteLax    = "lax"
	SameSiteStrict = "strict"
	SameSiteNone   = "none"
)

// SessionCookie is what a's session cookie is, with s the gateway's
// sessions: persistent or not, the session lifetime, and SameSite.
func (a App) SessionCookie(s Sessions) (persistent bool, lifetime time.Duration, sameSite string) {
	persistent, lifetime, sameSite = a.Cookie.Persistent.Or(s.Persistent), s.Lifetime.D(), a.Cookie.SameSite
	if a.Cookie.Lifetime > 0 {
		lifetime = a.Cookie.Lifetime.D()
	}
	if sameSite == "" {
		sameSite = SameSiteLax
	}
	return persistent, lifetime, sameSite
}

// checkCookie validates apps[i].cookie.
func (l *loader) checkCookie(key string, a *App) {
	c := &a.Cookie
	if !l.present(key + ".cookie") {
		return
	}
	if a.Auth.Passthrough || a.TCP != nil {
		l.errorf(key+".cookie", "is for web apps with sign-in (this app has no session cookie); remove it")
		return
	}
	if l.present(key+".cookie.lifetime") && c.Lifetime < Duration(time.Minute) && !l.bad[key+".cookie.lifetime"] {
		l.errorf(key+".cookie.lifetime", "%s is too short for anyone to work; use at least 1m, or leave it out for sessions.lifetime", c.Lifetime.D())
	}
	c.SameSite = strings.ToLower(strings.TrimSpace(c.SameSite))
	switch c.SameSite {
	case "", SameSiteLax, SameSiteStrict, SameSiteNone:
	default:
		l.errorf(key+".cookie.same_site", "%q is not a SameSite value; use lax (the default), strict or none", c.SameSite)
	}
}
