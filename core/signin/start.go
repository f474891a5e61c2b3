package signin

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/core/reserved"
)

// A browser that opens a page without a session first gets a tiny page
// that sends it on to reserved.Start with the address it
// opened, #fragment included (a fragment never reaches a server, so only
// the browser can hand it over). The sign-in then ends at exactly that
// address. Without JavaScript the page still works, minus the fragment.
var startPage = template.Must(template.New("start").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title>
<meta name="referrer" content="no-referrer">
<noscript><meta http-equiv="refresh" content="0;url={{.Link}}"></noscript>
<script>location.replace({{.Start}} + "?return=" + encodeURIComponent(location.pathname + location.search + location.hash));</script>
</head><body><p>Signing in… <a href="{{.Link}}">continue</a></p></body></html>
`))

// browserNavigation reports whether r is a browser opening a page: the
// only kind of request that gets the start page rather than the
// Authenticator's answer.
func browserNavigation(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") &&
		r.Header.Get("Authorization") == ""
}

// writeStart answers a browser navigation without a session.
func (a *App) writeStart(w http.ResponseWriter, r *http.Request, rid string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Request-Id", rid)
	w.WriteHeader(http.StatusOK)
	_ = startPage.Execute(w, struct {
		Start string
		Link  template.URL // escaped here, once: the template must not escape it again
	}{reserved.Start(a.Name), template.URL(reserved.StartReturn(a.Name, r.URL.RequestURI()))})
}

// Start serves reserved.Start: it begins a sign-in for a browser; the
// Authenticator sees the request as if made to the address the user
// opened.
func (a *App) Start(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	ret := safeReturn(r.URL.Query().Get("return"), a.Prefix)
	orig, _, _ := strings.Cut(ret, "#")
	r2 := r.Clone(r.Context())
	if u, err := url.ParseRequestURI(orig); err == nil {
		r2.URL = u
	}
	a.authenticate(w, r, a.authRequest(r2, nil, nil), ret, rid)
}
