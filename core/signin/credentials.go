package signin

import (
	"errors"
	"html/template"
	"mime"
	"net/http"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/sdk/vault"
)

// The password vault's page: a signed-in user enters the username and
// password the app's backend wants, once; the gateway seals them to the
// connector group's key at once, so it stores (and could leak) only what
// it cannot open. The same page replaces or deletes them.
var credentialsPage = template.Must(template.New("credentials").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to {{.App}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:30em;margin:4em auto;color:#222}label{display:block;margin:.8em 0}input{width:100%;padding:.3em}</style>
</head><body><h1>Sign in to {{.App}}</h1>
<p>{{if .Again}}The app did not accept the credentials Gatehouse has for you, or there are none yet.{{else}}Gatehouse signs you in to this app with its own username and password.{{end}}
Enter them once; they are stored encrypted so that only the app's connectors can read them.</p>
<form method="post">
<input type="hidden" name="return" value="{{.Return}}">
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button name="action" value="save">Save and continue</button>
</form>
<form method="post"><input type="hidden" name="return" value="{{.Return}}">
<button name="action" value="delete" formnovalidate>Delete my stored credentials</button></form>
<p><small>Request ID: <code>{{.RequestID}}</code></small></p>
</body></html>
`))

// credentials serves /.gatehouse/auth/APP/credentials.
func (a *App) credentials(w http.ResponseWriter, r *http.Request, rid string) {
	if !a.readForm(w, r, rid) {
		return
	}
	ret := safeReturn(r.Form.Get("return"), a.Prefix)
	now := a.Gate.Now()
	s, found := a.session(r, rid, now)
	if a.Vault == nil || !found || a.check(w, r, rid, s, now) != pass {
		if a.Vault == nil {
			errorpage.Write(w, r, errorpage.Page{Status: http.StatusNotFound, Title: "Not found", Text: "This app has no password vault.", RequestID: rid})
			return
		}
		if !found {
			seeOther(w, ret) // signing in starts there
		}
		return
	}
	id, err := a.Gate.identities.get(s)
	if err != nil {
		a.unavailable(w, r, rid, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodPost {
		h.Set("Content-Type", "text/html; charset=utf-8")
		_ = credentialsPage.Execute(w, struct {
			App, Return, RequestID string
			Again                  bool
		}{a.Name, ret, rid, r.URL.Query().Has("again")})
		return
	}
	// A cross-site POST carries no session cookie (SameSite=Lax); an
	// Origin header, when there is one, must be this host.
	if o := r.Header.Get("Origin"); o != "" && o != "https://"+r.Host {
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusForbidden, Title: "Refused", Text: "The form was posted from another site.", RequestID: rid})
		return
	}
	if r.PostForm.Get("action") == "delete" {
		err = a.Gate.Store.DeleteCredential(r.Context(), a.Name, id.Subject)
		a.Gate.Logger.Info("vault: credentials deleted", "app", a.Name, "subject", id.Subject, "request_id", rid)
	} else {
		c := vault.Credentials{Username: r.PostForm.Get("username"), Password: r.PostForm.Get("password")}
		if c.Username == "" || c.Password == "" {
			errorpage.Write(w, r, errorpage.Page{Status: http.StatusBadRequest, Title: "Credentials incomplete",
				Text: "Enter both a username and a password; nothing was stored.", RequestID: rid})
			return
		}
		var sealed []byte
		if sealed, err = vault.Seal(a.Vault, a.Name, id.Subject, c); err == nil {
			err = a.Gate.Store.PutCredential(r.Context(), a.Name, id.Subject, sealed)
		}
		a.Gate.Logger.Info("vault: credentials stored", "app", a.Name, "subject", id.Subject, "request_id", rid)
	}
	if err != nil {
		a.unavailable(w, r, rid, err)
		return
	}
	seeOther(w, ret)
}

// maxForm bounds the vault page's form: a username, a password and a
// return address fit with room to spare.
const maxForm = 16 << 10

// readForm parses the vault page's query and, for a POST, its urlencoded
// form of at most maxForm bytes. A form that is too large or unreadable is
// refused with a page (false): values cut short must never be stored.
func (a *App) readForm(w http.ResponseWriter, r *http.Request, rid string) bool {
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
		a.Gate.Logger.Info("vault: credentials form refused: too large", "app", a.Name, "request_id", rid, "limit", maxForm)
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
