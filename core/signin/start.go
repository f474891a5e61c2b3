package signin

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/reserved"
)

// A browser that opens a page without a session first gets a tiny page
// that sends it on to reserved.Start with the address it
// opened, #fragment included (a fragment never reaches a server, so only
// the browser can hand it over). The sign-in then ends at exactly that
// address. Without JavaScript the page still works, minus the fragment.
var (
	startHead = template.Must(template.New("start-head").Parse(`<noscript><meta http-equiv="refresh" content="0;url={{.Link}}"></noscript>
<script>location.replace({{.Start}} + "?return=" + encodeURIComponent(location.pathname + location.search + location.hash));</script>`))
	startBody = template.Must(template.New("start").Parse(`<p>Taking you to sign in. If nothing happens, <a href="{{.Link}}">continue to sign in</a>.</p>`))
)

// browserNavigation reports whether r is a browser opening a page: the
// only kind of request that gets the start page rather than the
// Authenticator's answer.
func browserNavigation(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") &&
		r.Header.Get("Authorization") == ""
}

// writeStart answers a browser navigation without a session.
func (a *App) writeStart(w http.ResponseWriter, r *http.Request, rid string) {
	w.Header().Set("X-Request-Id", rid)
	data := struct {
		Start string
		Link  template.URL // escaped here, once: the template must not escape it again
	}{reserved.Start(a.Name), template.URL(reserved.StartReturn(a.Name, r.URL.RequestURI()))}
	head, err := errorpage.Body(startHead, data)
	var body template.HTML
	if err == nil {
		body, err = errorpage.Body(startBody, data)
	}
	if err != nil {
		a.Gate.Logger.Error("sign-in start page failed", "app", a.Name, "request_id", rid, "error", err)
		SeeOther(w, string(data.Link))
		return
	}
	errorpage.Serve(w, errorpage.Frame{Title: "Signing in", Head: head}, body)
}

// Start serves reserved.Start: it begins a sign-in for a browser; the
// Authenticator sees the request as if made to the address the user
// opened.
func (a *App) Start(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	ret := safeReturn(r.URL.Query().Get("return"), a.Prefix)
	if a.Portal != "" { // signed in through the portal's session (handoff.go)
		a.toPortal(w, r, ret)
		return
	}
	a.startHere(w, r, ret, rid)
}
