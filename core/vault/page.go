package vault

import (
	"errors"
	"html/template"
	"mime"
	"net/http"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/vault"
)

// The password vault's page: a signed-in user enters the username and
// password the app's backend wants, once; the gateway seals them to the
// connector group's key at once, so it stores (and could leak) only what
// it cannot open. The same page replaces or deletes them.
var credentialsPage = template.Must(template.New("credentials").Parse(`<p>{{if .Again}}The app did not accept the credentials Gatehouse has for you, or there are none yet.{{else}}Gatehouse signs you in to this app with its own username and password.{{end}}
Enter them once; they are stored encrypted so that only the app's connectors can read them.</p>
<form method="post">
<input type="hidden" name="return" value="{{.Return}}">
<label>Username for {{.App}} <input name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required></label>
<label>Password for {{.App}} <input name="password" type="password" autocomplete="current-password" required></label>
<p><button name="action" value="save">Save and continue</button></p>
</form>
<form method="post"><input type="hidden" name="return" value="{{.Return}}">
<p class="muted">Changed your password in the app, or no longer use it?</p>
<button class="secondary" name="action" value="delete" formnovalidate>Delete my stored credentials</button></form>`))

// A Users tells who the signed-in user of a request is (core/signin.App).
type Users interface {
	// User returns r's signed-in user, checked as a request to the app
	// is; with ok false it has answered (a redirect to ret to sign in,
	// or a refusal).
	User(w http.ResponseWriter, r *http.Request, ret string) (sdk.Identity, bool)
	// Return is ret if it is a path on the app's host, else the app's
	// prefix.
	Return(ret string) string
}

// Page returns the handler of the app's vault page (reserved.Credentials):
// users says who is signed in.
func (v *App) Page(users Users) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { v.page(w, r, users) })
}

func (v *App) page(w http.ResponseWriter, r *http.Request, users Users) {
	rid := w.Header().Get("X-Request-Id")
	if !v.readForm(w, r, rid) {
		return
	}
	ret := users.Return(r.Form.Get("return"))
	id, ok := users.User(w, r, ret)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodPost {
		body, err := errorpage.Body(credentialsPage, struct {
			App, Return string
			Again       bool
		}{v.Name, ret, r.URL.Query().Has("again")})
		if err != nil {
			v.Logger.Error("vault: the credentials page failed", "app", v.Name, "request_id", rid, "error", err)
			errorpage.Write(w, r, errorpage.Page{Status: http.StatusInternalServerError, Title: "Page unavailable",
				Text: "The credentials page could not be drawn; try again.", RequestID: rid})
			return
		}
		errorpage.Serve(w, errorpage.Frame{Title: "Sign in to " + v.Name, RequestID: rid, User: id.Subject}, body)
		return
	}
	// A cross-site POST carries no session cookie (SameSite=Lax); an
	// Origin header, when there is one, must be this host.
	if o := r.Header.Get("Origin"); o != "" && o != "https://"+r.Host {
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusForbidden, Title: "Refused", Text: "The form was posted from another site.", RequestID: rid})
		return
	}
	var err error
	if r.PostForm.Get("action") == "delete" {
		err = v.Delete(r.Context(), id.Subject)
		v.Logger.Info("vault: credentials deleted", "app", v.Name, "subject", id.Subject, "request_id", rid)
	} else {
		c := vault.Credentials{Username: r.PostForm.Get("username"), Password: r.PostForm.Get("password")}
		if c.Username == "" || c.Password == "" {
			errorpage.Write(w, r, errorpage.Page{Status: http.StatusBadRequest, Title: "Credentials incomplete",
				Text: "Enter both a username and a password; nothing was stored.", RequestID: rid})
			return
		}
		err = v.Put(r.Context(), id.Subject, c)
		v.Logger.Info("vault: credentials stored", "app", v.Name, "subject", id.Subject, "request_id", rid)
	}
	if err != nil {
		v.Logger.Error("vault: the store failed", "app", v.Name, "request_id", rid, "error", err)
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusServiceUnavailable, Title: "Vault unavailable",
			Text: "Gatehouse could not store your change just now; nothing may have been stored. Try again in a minute.", RequestID: rid})
		return
	}
	signin.SeeOther(w, ret)
}

// maxForm bounds the vault page's form: a username, a password and a
// return address fit with room to spare.
const maxForm = 16 << 10

// readForm parses the vault page's query and, for a POST, its urlencoded
// form of at most maxForm bytes. A form that is too large or unreadable is
// refused with a page (false): values cut short must never be stored.
func (v *App) readForm(w http.ResponseWriter, r *http.Request, rid string) bool {
	if r.Method == http.MethodPost {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/x-www-form-urlencoded" {
			errorpage.Write(w, r, errorpage.Page{Status: http.StatusUnsupportedMediaType, Title: "Form not readable",
				Text: "The credentials form must be posted as application/x-www-form-urlencoded; nothing was stored.", RequestID: rid})
			return false
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	}
	err := r.ParseForm()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		v.Logger.Info("vault: credentials form refused: too large", "app", v.Name, "request_id", rid, "limit", maxForm)
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusRequestEntityTooLarge, Title: "Form too large",
			Text: "The credentials form is larger than 16 KiB; nothing was stored. Enter a shorter username and password.", RequestID: rid})
		return false
	case err != nil:
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusBadRequest, Title: "Form not readable",
			Text: "The credentials form could not be read; nothing was stored. Open the page again and retry.", RequestID: rid})
		return false
	}
	return true
}
