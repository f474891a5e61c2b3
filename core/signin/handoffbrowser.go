package signin

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/reserved"
)

// A handoff is bound to the browser that asked for it, the way OAuth's
// state parameter binds a sign-in: without that, a user could have the
// portal mint a token for their own account and send its link to
// someone else, whose browser would be signed in to the app as them
// (login CSRF), and what that person typed there would go to them.
//
// When an app host sends a browser to the portal (toPortal), it gives it
// a random nonce in a cookie of its own (handoffCookie: a gateway cookie,
// so no backend sees or sets it) and the portal the same nonce in the
// SSO address (?n=). The portal seals the nonce into the token, and the
// app host takes the token only from a browser whose cookie holds it.

// handoffNonceTTL is how long the app host waits for the browser to come
// back from the portal: as long as a sign-in's state (stateTTL), since
// the user may have to sign in at the identity provider on the way.
const handoffNonceTTL = stateTTL

// whyOtherBrowser is the refusal of a handoff without the nonce cookie.
const whyOtherBrowser = "the sign-in was not started in this browser"

func handoffCookie(app string) string { return cookiePrefix + "-handoff." + app }

// validNonce reports whether n is a nonce as newNonce makes them: 26
// characters of the base32 alphabet (rand.Text, 128 bits).
func validNonce(n string) bool {
	if len(n) != 26 {
		return false
	}
	for i := range len(n) {
		if c := n[i]; (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// toPortal sends a browser's sign-in to the portal, which signs the user
// in to this app with its own session (Portal.SSO), and binds the
// handoff to this browser.
func (a *App) toPortal(w http.ResponseWriter, r *http.Request, ret string) {
	n := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: handoffCookie(a.Name), Value: n, Path: "/", MaxAge: int(handoffNonceTTL.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Referrer-Policy", "no-referrer")
	SeeOther(w, "https://"+withPort(a.Portal, r.Host)+reserved.SSO+"?app="+url.QueryEscape(a.Name)+"&return="+url.QueryEscape(ret)+"&n="+n)
}

// sameBrowser reports whether r comes from the browser the handoff tok
// was made for: its cookie holds the token's nonce.
func (a *App) sameBrowser(r *http.Request, tok handoffToken) bool {
	c, err := r.Cookie(handoffCookie(a.Name))
	return err == nil && validNonce(c.Value) && validNonce(tok.Nonce) &&
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(tok.Nonce)) == 1
}

// clearNonce ends the browser's nonce cookie: it served its one handoff.
func (a *App) clearNonce(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: handoffCookie(a.Name), Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// refuseNoNonce answers an SSO request that did not come from the app
// host (no nonce): it is refused, and the page links to the app's own
// sign-in, which starts the handoff properly.
func (p *Portal) refuseNoNonce(w http.ResponseWriter, r *http.Request, rid, name string, t PortalTarget, ret string) {
	p.App.Gate.Logger.Warn("handoff refused: the request did not come from the app (no nonce)", "app", name, "request_id", rid,
		"client_ip", ClientIP(r).String())
	errorpage.Write(w, r, errorpage.Page{Status: http.StatusBadRequest, Title: "Open the app to sign in",
		Text:      "This sign-in link does not come from the app. Open the app's own address; it signs you in through the portal.",
		RequestID: rid, Links: []errorpage.Link{{Text: "Open the app", Href: "https://" + withPort(t.Host, r.Host) + reserved.StartReturn(name, ret)}}})
}
