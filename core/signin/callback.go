package signin

import (
	"crypto/rand"
	"errors"
	"io"
	"net/http"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/sdk"
)

// Callback serves reserved.Callback: it hands the identity provider's
// answer to the plug-in, with the state it kept; a sign-in ends with a
// redirect to where the user was going. The state cookie is cleared
// whatever happens: it is single-use.
func (a *App) Callback(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	var state []byte
	ret := a.Prefix
	if c, err := r.Cookie(stateCookie(a.Name)); err == nil {
		http.SetCookie(w, &http.Cookie{Name: stateCookie(a.Name), Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode})
		st, err := a.Gate.Sealer.OpenState(a.Name, httphead.HostName(r.Host), c.Value, a.Gate.Now())
		if err != nil {
			a.Gate.Logger.Info("sign-in refused: state cookie invalid or expired", "app", a.Name, "request_id", rid, "error", err)
			a.count("failed", reasonExpiredState)
			errorpage.Write(w, r, errorpage.Page{Status: http.StatusBadRequest, Title: "Sign-in expired",
				Text: "This sign-in took too long or was started elsewhere. Open the app again to start over.", RequestID: rid,
				Links: openAgain(a.Prefix, "Open the app again")})
			return
		}
		now := a.Gate.Now()
		fresh, err := a.Gate.Store.TryLock(r.Context(), "signin-state/"+st.ID, rand.Text(), now, st.Expires)
		if err != nil {
			a.unavailable(w, r, rid, err)
			return
		}
		if !fresh {
			a.Gate.Logger.Warn("sign-in refused: the state was already used (a replayed callback)", "app", a.Name, "request_id", rid)
			a.record(r, store.SignIn{Result: "failed", Reason: "replayed sign-in state"}, reasonReplayed)
			errorpage.Write(w, r, errorpage.Page{Status: http.StatusBadRequest, Title: "Sign-in already used",
				Text: "This sign-in answer was used before. Open the app again to sign in.", RequestID: rid,
				Links: openAgain(a.Prefix, "Open the app again")})
			return
		}
		state, ret = st.Plugin, safeReturn(st.Return, a.Prefix)
	}
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			errorpage.Write(w, r, errorpage.Page{Status: http.StatusRequestEntityTooLarge, Title: "Sign-in answer too large",
				Text: "The sign-in answer is larger than 64 KiB.", RequestID: rid})
			return
		}
		if err != nil {
			return // the client went away
		}
	}
	a.authenticate(w, r, a.authRequest(r, state, body), ret, rid)
}

// authenticate asks the app's plug-in about req and answers: a signed-in
// user goes on to ret; anything else is the plug-in's answer (a
// challenge, a redirect to the IdP, a denial) or a 503 if it is down.
func (a *App) authenticate(w http.ResponseWriter, r *http.Request, req sdk.AuthRequest, ret, rid string) {
	res, err := a.Auth.Authenticate(r.Context(), req)
	if err != nil {
		a.unavailable(w, r, rid, err)
		return
	}
	if res.Outcome != sdk.OutcomeAuthenticated {
		a.answer(w, r, res, ret, rid)
		return
	}
	if _, err := a.signIn(w, r, res, rid); err != nil {
		return
	}
	a.land(w, ret, rid)
}
