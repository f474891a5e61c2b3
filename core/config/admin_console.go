package config

import "net"

// Console is the admin console (admin.console): a read-only web page at /
// on the admin listener. Users sign in to it exactly as to an app, with
// an Authenticator plug-in from the catalog, and only those the access
// policy names (users or groups) get in:
//
//	admin:
//	  console:
//	    auth: {plugin: oidc, config: {issuer: ..., client_id: ..., client_secret: ...}}
//	    access: {groups: [gateway-admins]}
//
// Without auth the console is off, unless dev_no_signin is set and
// listen.admin is loopback.
type Console struct {
	// Auth is how operators sign in: an Authenticator plug-in (not
	// passthrough). Its identity provider must accept the callback
	// http://ADMIN-ADDRESS/.gatehouse/auth/_console/callback.
	Auth Auth `yaml:"auth,omitempty"`
	// Access is the admin policy: users or groups are required, and the
	// other access rules apply as they do to an app.
	Access Access `yaml:"access,omitempty"`
	// DevNoSignin serves the console without sign-in, for development on
	// one's own machine: only with a loopback listen.admin and no auth.
	DevNoSignin bool `yaml:"dev_no_signin,omitempty"`
}

// IsZero reports a console left out (the normalised config omits it).
func (c Console) IsZero() bool {
	return c.Auth.Plugin == "" && !c.Auth.Passthrough && !c.DevNoSignin &&
		len(c.Access.Users) == 0 && len(c.Access.Groups) == 0
}

// On reports whether the console signs operators in.
func (c Console) On() bool { return c.Auth.Plugin != "" }

// ConsoleApp is the name the console's sign-in goes by (its cookie, its
// paths under /.gatehouse/auth/, its sign-in log records). No app can
// have it: app names begin with a letter or a digit.
const ConsoleApp = "_console"

// checkConsole checks admin.console: an Authenticator from the catalog,
// an admin policy that names users or groups, and a loopback admin
// listener, since the console's cookies are Secure and a browser treats
// plain HTTP as a secure context only on loopback.
func (l *loader) checkConsole(c *Config, plugins map[string]*Plugin) {
	const key = "admin.console"
	con := &c.Admin.Console
	if !l.present(key) || l.bad[key] {
		return
	}
	host, _, err := net.SplitHostPort(c.Listen.Admin)
	loopback := err == nil && Loopback(host)
	if c.Listen.Admin == AdminOff {
		l.errorf(key, "the console is served on the admin listener, and listen.admin is off; set listen.admin (e.g. \"127.0.0.1:9180\") or remove admin.console")
		return
	}
	if con.DevNoSignin {
		switch {
		case con.On():
			l.errorf(key+".dev_no_signin", "the console has auth, so it cannot also be served without sign-in; remove one of them")
		case !loopback:
			l.errorf(key+".dev_no_signin", "serving the console without sign-in is for development on loopback only, and listen.admin %q is not loopback", c.Listen.Admin)
		}
		return
	}
	switch {
	case l.bad[key+".auth"]:
		return
	case !l.present(key + ".auth"):
		l.errorf(key+".auth", "missing: say how operators sign in: auth: {plugin: NAME, config: {...}} with a plug-in from the plugins: catalog (or dev_no_signin: true on a development machine)")
		return
	case con.Auth.Passthrough:
		l.errorf(key+".auth", "the console needs sign-in; passthrough is not allowed here (for development on loopback, use dev_no_signin: true)")
		return
	case con.Auth.Plugin == "":
		l.errorf(key+".auth.plugin", "missing: the Authenticator plug-in that signs operators in (a name from plugins:)")
		return
	case plugins[con.Auth.Plugin] == nil:
		l.errorf(key+".auth.plugin", "plug-in %q is not in the plugins: catalog", con.Auth.Plugin)
		return
	case plugins[con.Auth.Plugin].Connector:
		l.errorf(key+".auth.plugin", "plug-in %q runs at the connectors (connector: true), but sign-in runs at the gateway", con.Auth.Plugin)
		return
	}
	if len(con.Access.Users) == 0 && len(con.Access.Groups) == 0 {
		l.errorf(key+".access", "missing: the admin policy, access: {groups: [...]} or {users: [...]}, that says who may see the console")
	}
	if !loopback {
		l.errorf(key, "the console signs in with Secure cookies over plain HTTP, which browsers allow only on loopback, and listen.admin %q is not loopback; keep listen.admin on loopback and reach it over an SSH tunnel", c.Listen.Admin)
	}
	app := App{Auth: con.Auth, Access: con.Access}
	l.checkAccess(key, &app)
	con.Access = app.Access
}
