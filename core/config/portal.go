package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Portal is the My Apps portal (portal:): a page the gateway serves itself
// on its own host, listing the apps the signed-in user may open, and the
// place whose session signs the user in to every app host that uses the
// same sign-in plug-in (a single-use handoff, core/signin/handoff.go):
//
//	portal:
//	  host: apps.example.com
//	  title: Example Corp apps
//	  auth: {plugin: oidc, config: {issuer: ..., client_id: ..., client_secret: ...}}
//
// The identity provider must accept the callback
// https://HOST/.gatehouse/auth/_portal/callback.
type Portal struct {
	// Host is the portal's host name: no app may use it.
	Host string `yaml:"host,omitempty"`
	// Title heads the page. Default "My Apps".
	Title string `yaml:"title,omitempty"`
	// Auth is how users sign in to the portal: an Authenticator plug-in
	// (not passthrough). Apps whose auth uses the same plug-in sign users
	// in through the portal's session.
	Auth Auth `yaml:"auth,omitempty"`
	// Access optionally limits who may use the portal (as an app's).
	Access Access `yaml:"access,omitempty"`
}

// On reports whether a portal is configured.
func (p Portal) On() bool { return p.Host != "" }

// IsZero reports a portal left out (the normalised config omits it).
func (p Portal) IsZero() bool {
	return p.Host == "" && p.Title == "" && p.Auth.Plugin == "" && !p.Auth.Passthrough
}

// PortalApp is the name the portal's sign-in goes by (its cookie, its
// paths under /.gatehouse/auth/, its sign-in log records). No app can
// have it: app names begin with a letter or a digit.
const PortalApp = "_portal"

// AppPortal is how an app shows in the portal (apps[].portal).
type AppPortal struct {
	// Name is the app's name on the page. Default: the app's name.
	Name string `yaml:"name,omitempty"`
	// Description is one line under the name.
	Description string `yaml:"description,omitempty"`
	// Icon is an https:// URL or a data:image/png, gif, jpeg, webp or
	// svg+xml URI, shown at 32x32.
	Icon string `yaml:"icon,omitempty"`
	// Hidden keeps the app off the list (it still signs in through the
	// portal).
	Hidden bool `yaml:"hidden,omitempty"`
}

// Limits on what the page shows.
const (
	maxPortalText = 200
	maxPortalIcon = 32 << 10
)

// checkPortal checks portal: and every app's portal entry.
func (l *loader) checkPortal(c *Config, plugins map[string]*Plugin) {
	for i := range c.Apps {
		l.checkAppPortal(fmt.Sprintf("apps[%d].portal", i), &c.Apps[i].Portal)
	}
	const key = "portal"
	p := &c.Portal
	if !l.present(key) || l.bad[key] {
		return
	}
	if p.Host == "" {
		l.errorf(key+".host", `missing: the portal's host name, e.g. "apps.example.com"`)
	} else if h, msg := checkHost(p.Host); msg != "" {
		l.errorf(key+".host", "%s", msg)
	} else {
		p.Host = h
		for i, a := range c.Apps {
			if a.Host == h {
				l.errorf(key+".host", "host %q is app %q's (apps[%d], line %d); the portal needs a host of its own", h, a.Name, i, l.line(fmt.Sprintf("apps[%d]", i)))
				break
			}
		}
	}
	if p.Title == "" {
		p.Title = "My Apps"
	} else if msg := portalText(p.Title); msg != "" {
		l.errorf(key+".title", "%s", msg)
	}
	switch {
	case l.bad[key+".auth"]:
	case !l.present(key + ".auth"):
		l.errorf(key+".auth", "missing: say how users sign in to the portal: auth: {plugin: NAME, config: {...}} with a plug-in from the plugins: catalog")
	case p.Auth.Passthrough:
		l.errorf(key+".auth", "the portal needs sign-in; passthrough is not allowed here")
	case p.Auth.Plugin == "":
		l.errorf(key+".auth.plugin", "missing: the Authenticator plug-in that signs users in (a name from plugins:)")
	case plugins[p.Auth.Plugin] == nil:
		l.errorf(key+".auth.plugin", "plug-in %q is not in the plugins: catalog", p.Auth.Plugin)
	case plugins[p.Auth.Plugin].Connector:
		l.errorf(key+".auth.plugin", "plug-in %q runs at the connectors (connector: true), but sign-in runs at the gateway", p.Auth.Plugin)
	}
	app := App{Auth: p.Auth, Access: p.Access}
	l.checkAccess(key, &app)
	p.Access = app.Access
}

// checkAppPortal checks one app's portal entry.
func (l *loader) checkAppPortal(key string, p *AppPortal) {
	if !l.present(key) || l.bad[key] {
		return
	}
	for _, f := range [][2]string{{"name", p.Name}, {"description", p.Description}} {
		if msg := portalText(f[1]); msg != "" {
			l.errorf(key+"."+f[0], "%s", msg)
		}
	}
	if p.Icon != "" {
		if msg := checkIcon(p.Icon); msg != "" {
			l.errorf(key+".icon", "%s", msg)
		}
	}
}

// portalText checks a line of text for the page.
func portalText(s string) string {
	if len(s) > maxPortalText {
		return fmt.Sprintf("%d bytes is too long for one line on the page; keep it under %d", len(s), maxPortalText)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "control characters (newlines, tabs) are not allowed; write one line"
	}
	return ""
}

// iconTypes are the image types an icon's data: URI may have.
var iconTypes = []string{"image/png", "image/gif", "image/jpeg", "image/webp", "image/svg+xml"}

// checkIcon checks an icon: an https:// URL, or a base64 data: URI of an
// image. An SVG is shown with <img>, where it runs no scripts.
func checkIcon(s string) string {
	if len(s) > maxPortalIcon {
		return fmt.Sprintf("%d bytes is too large; keep an icon under %d (a 32x32 image)", len(s), maxPortalIcon)
	}
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		typ, data, ok := strings.Cut(rest, ";base64,")
		if !ok || data == "" || strings.ContainsFunc(data, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=')
		}) {
			return `a data: icon must be base64, e.g. "data:image/png;base64,iVBOR..."`
		}
		for _, t := range iconTypes {
			if typ == t {
				return ""
			}
		}
		return fmt.Sprintf("data: icon type %q is not an image type the page shows (use %s)", typ, strings.Join(iconTypes, ", "))
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsAny(s, " \"'<>\\") {
		return fmt.Sprintf("%q is neither an https:// URL nor a data:image/...;base64, URI", s)
	}
	return ""
}
