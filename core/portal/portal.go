// Package portal is the My Apps portal: a page the gateway serves itself
// on the portal's host, listing the apps the signed-in user may open. Each
// app's access policy is evaluated for the user as it would be when they
// open it (groups, MFA, client address, sign-in age), so the list shows
// what the user can use, not everything published. Apps that sign in
// through the portal's session are opened through its handoff
// (core/signin/handoff.go): no second trip to the identity provider.
//
// The page is plain HTML in the gateway's one layout (core/errorpage);
// it works without JavaScript (a search is a GET ?q=), and where scripts
// run the search box filters the list as one types.
package portal

import (
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/device"
	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/sdk"
)

// App is one app as the portal shows it.
type App struct {
	Name        string // the app's name in the config
	Title       string // shown: apps[].portal.name, else Name
	Description string
	Icon        string // checked by the config loader: https:// or data:image/...
	Host        string // lower-case, no port
	Prefix      string
	// Launch, when set, is the path on Host that opens the app (an
	// IdP-initiated SAML sign-in); else Prefix.
	Launch string
	// Policy is the app's access policy; nil admits every signed-in user.
	Policy *policy.Policy
	// Handoff: the app signs in through the portal's session, so its
	// link goes to the app host's reserved.Start (which hands off to the
	// portal's reserved.SSO) and its policy is evaluated for the
	// portal's user. Without it the app has another sign-in (or none)
	// and is listed with a plain link.
	Handoff bool
	// Device: the app's access policy requires a device certificate.
	Device bool
}

// Page serves the portal's host: the list at "/", and it never lets a
// request through to a backend (it implements proxy.Guard).
type Page struct {
	Title  string
	SignIn *signin.App // the portal's own sign-in
	Apps   []App       // in config order; hidden apps left out
	Now    func() time.Time
}

// Entry is one line of the list.
type Entry struct {
	Title, Description, Icon, Href string
	// Stronger: the app wants a sign-in with a method (MFA) the user did
	// not use; opening it asks the identity provider again.
	Stronger bool
	// Device: the app admits only devices with a registered certificate
	// (access.require_device), which the portal cannot see; the user's
	// own rules were checked as if one were presented.
	Device bool
	Search string // lower-case words the search box matches
}

// Admit implements proxy.Guard: it answers every request itself.
func (p *Page) Admit(w http.ResponseWriter, r *http.Request, rid string) (signin.Admission, bool) {
	switch {
	case r.URL.Path != "/":
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusNotFound, Title: "Not found",
			Text: "The portal has one page, its list of apps.", RequestID: rid, Links: []errorpage.Link{{Text: "Open the portal", Href: "/"}}})
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
			Text: "The portal's page is read with GET.", RequestID: rid})
	default:
		id, s, ok := p.SignIn.SignedIn(w, r, reserved.StartReturn(p.SignIn.Name, r.URL.RequestURI()))
		if ok {
			p.serve(w, r, rid, id, s.IssuedAt)
		}
	}
	return signin.Admission{}, false
}

// serve writes the list of user id, signed in at signedIn.
func (p *Page) serve(w http.ResponseWriter, r *http.Request, rid string, id sdk.Identity, signedIn time.Time) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	all := p.List(id, signedIn, signin.ClientIP(r), r.Host)
	shown := all
	if q != "" {
		shown = Filter(all, q)
	}
	body, err := errorpage.Body(listTmpl, struct {
		Q                  string
		All, Entries       []Entry
		Filtered, Stronger bool
	}{q, all, shown, q != "", slices.ContainsFunc(shown, func(e Entry) bool { return e.Stronger })})
	if err != nil {
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusInternalServerError, Title: "Cannot show the portal",
			Text: "The list of apps could not be drawn. Tell your IT team.", RequestID: rid})
		return
	}
	user := id.Name
	if user == "" {
		user = id.Subject
	}
	errorpage.Serve(w, errorpage.Frame{Title: p.Title, RequestID: rid, User: user, SignOut: reserved.SignOut(p.SignIn.Name), Wide: true}, body)
}

// List is what user id (signed in at signedIn, from client) may open, by
// each app's access policy: an app the policy admits is listed; one that
// wants a stronger sign-in is listed and marked; one it refuses is not.
// hostHeader is the portal request's Host, whose port links keep.
func (p *Page) List(id sdk.Identity, signedIn time.Time, client netip.Addr, hostHeader string) []Entry {
	now := p.Now()
	var out []Entry
	for _, a := range p.Apps {
		e := Entry{Title: a.Title, Description: a.Description, Icon: a.Icon,
			Search: strings.ToLower(a.Title + " " + a.Name + " " + a.Description)}
		launch := a.Prefix
		if a.Launch != "" {
			launch = a.Launch
		}
		if !a.Handoff {
			e.Href = "https://" + withPort(a.Host, hostHeader) + launch
			out = append(out, e)
			continue
		}
		// The app host's own sign-in start, which hands off to the portal
		// bound to this browser (core/signin/handoffbrowser.go).
		e.Href = "https://" + withPort(a.Host, hostHeader) + reserved.StartReturn(a.Name, launch)
		if a.Policy != nil && !a.Policy.Empty() {
			in := policy.Input{Identity: id, SignedIn: signedIn, ClientIP: client, Method: http.MethodGet,
				Host: a.Host, Path: a.Prefix, Now: now}
			if a.Device {
				in.Device, e.Device = &device.Device{}, true // some device: the user's rules still decide
			}
			d := a.Policy.Decide(in)
			switch {
			case d.Allow, d.Reauth: // a sign-in too old is renewed on opening
			case d.Rule == "access.require_mfa" || d.Rule == "access.require_amr":
				e.Stronger = true
			default:
				continue
			}
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)) })
	return out
}

// Filter keeps the entries whose title, name or description holds every
// word of q (without regard to case).
func Filter(es []Entry, q string) []Entry {
	words := strings.Fields(strings.ToLower(q))
	var out []Entry
	for _, e := range es {
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(e.Search, w) }) {
			out = append(out, e)
		}
	}
	return out
}

func withPort(host, hostHeader string) string {
	if _, port, err := net.SplitHostPort(hostHeader); err == nil && port != "" {
		return net.JoinHostPort(host, port)
	}
	return host
}

// listTmpl is the page's body. The script only hides entries that do not
// match as one types (and says how many do); without it, the form's GET
// filters on the server.
var listTmpl = template.Must(template.New("list").Parse(`<form class="search" role="search" method="get" action="/">
<label for="q">Search apps</label>
<input id="q" type="search" name="q" value="{{.Q}}" autocomplete="off">
<button type="submit">Search</button>
</form>
<p id="count" class="muted" aria-live="polite">{{if .Filtered}}{{len .Entries}} of {{len .All}} apps match “{{.Q}}”. <a href="/">Show all</a>{{else}}{{len .All}} apps{{end}}</p>
{{- if .Entries}}
<ul class="cards" id="apps">
{{- range .Entries}}
<li data-search="{{.Search}}"><a href="{{.Href}}">{{if .Icon}}<img class="icon" src="{{.Icon}}" alt="" width="40" height="40">{{end}}<span><span class="name">{{.Title}}</span>
{{- if .Description}}<span class="desc">{{.Description}}</span>{{end}}
{{- if .Stronger}}<span class="badge">needs a stronger sign-in</span>{{end}}
{{- if .Device}}<span class="badge">needs a registered device</span>{{end}}</span></a></li>
{{- end}}
</ul>
{{- else}}
<p>{{if .Filtered}}No app matches your search.{{else}}There are no apps for you here yet. If you need one, ask your IT team.{{end}}</p>
{{- end}}
{{- if .Stronger}}
<p class="muted">An app marked “needs a stronger sign-in” asks you to sign in again with a second factor when you open it.</p>
{{- end}}
<script>
(function () {
  var q = document.getElementById("q"), list = document.getElementById("apps"), count = document.getElementById("count");
  if (!q || !list) return;
  var items = list.getElementsByTagName("li");
  q.addEventListener("input", function () {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean), n = 0;
    for (var i = 0; i < items.length; i++) {
      var s = items[i].getAttribute("data-search"), ok = words.every(function (w) { return s.indexOf(w) >= 0; });
      items[i].hidden = !ok;
      if (ok) n++;
    }
    count.textContent = words.length ? n + " of " + items.length + " apps match" : items.length + " apps";
  });
})();
</script>
`))
