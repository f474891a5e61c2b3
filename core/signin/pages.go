package signin

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/sdk"
)

// pluginPage draws a plug-in's page (sdk.Failure) for a browser in the
// gateway's layout, with the request id and a link to try again; it
// reports false when res has no page or the client is not a browser,
// and then the plug-in's own body goes out.
func (a *App) pluginPage(w http.ResponseWriter, r *http.Request, res sdk.AuthResult, ret, rid string) bool {
	if res.Page == nil || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return false
	}
	// The page shows the request id: a line must carry it, so that the
	// IT team can find why (the plug-in's reason, never a secret).
	a.Gate.Logger.Info("sign-in failed: page shown", "app", a.Name, "plugin", a.Plugin, "request_id", rid,
		"status", res.Status, "title", res.Page.Title, "reason", res.Reason)
	h := w.Header()
	h.Del("Content-Type")
	h.Del("Content-Length")
	errorpage.Write(w, r, errorpage.Page{Status: res.Status, Title: res.Page.Title, Text: res.Page.Text, RequestID: rid,
		Links: openAgain(ret, "Try signing in again")})
	return true
}

// openAgain is the link a sign-in page offers to start over: ret, the
// (already checked) address on this host the user was opening.
func openAgain(ret, text string) []errorpage.Link {
	if ret == "" {
		ret = "/"
	}
	return []errorpage.Link{{Text: text, Href: ret}}
}
