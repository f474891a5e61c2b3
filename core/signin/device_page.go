package signin

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// devicePageTmpl is the approval page's content, drawn in errorpage's
// layout.
var devicePageTmpl = template.Must(template.New("device").Parse(`
{{- if .Code}}<p>A <code>gatehouse connect</code> command asks to sign in to <b>{{.App}}</b> ({{.Host}}) as <b>{{.Subject}}</b>.</p>
<div class="notice"><p>Approve only if the terminal you are using shows this code:</p><p><code class="big">{{.Code}}</code></p></div>
<form method="post" class="inline"><input type="hidden" name="user_code" value="{{.Code}}"><input type="hidden" name="csrf" value="{{.CSRF}}">
<button name="action" value="approve">Approve</button> <button class="secondary" name="action" value="deny">Deny</button></form>
{{- else}}<p>Enter the code <code>gatehouse connect --device</code> shows in your terminal.</p>
<form method="get" class="inline"><label>Code <input name="user_code" autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="XXXX-XXXX" required></label>
<button>Continue</button></form>{{end}}`))

type devicePageData struct {
	Title, App, Host, Subject, Code, CSRF, RequestID string
}

func deviceCSRFPurpose(app, host, sessionID string) string {
	return "cli-device-csrf\x00" + app + "\x00" + host + "\x00" + sessionID
}

// deviceUser finds the signed-in user of a device page request. Without
// a session a GET goes to sign in and comes back; a POST is refused.
func (a *App) deviceUser(w http.ResponseWriter, r *http.Request, rid string) (session.Session, sdk.Identity, bool) {
	now := a.Gate.Now()
	s, found := a.session(r, rid, now)
	v := reauth
	var id sdk.Identity
	if found {
		id, v = a.check(w, r, rid, s, now)
	}
	switch {
	case v == pass:
		return s, id, true
	case v == done:
	case r.Method == http.MethodGet:
		SeeOther(w, reserved.StartReturn(a.Name, r.URL.RequestURI()))
	default:
		a.Gate.Logger.Warn("cli device sign-in refused: approval without a session", "app", a.Name, "request_id", rid, "remote", ClientIP(r))
		a.devicePageError(w, r, rid, http.StatusUnauthorized, "Sign-in required", "Approving a device sign-in needs you to be signed in: open the address gatehouse connect shows again.")
	}
	return s, id, false
}

func (a *App) devicePageError(w http.ResponseWriter, r *http.Request, rid string, status int, title, text string) {
	errorpage.Write(w, r, errorpage.Page{Status: status, Title: title, Text: text, RequestID: rid})
}

// deviceLookup finds the live flow of the typed user code for subject,
// counting failures against the client's IP and the user. It answers
// the browser itself when ok is false.
func (a *App) deviceLookup(w http.ResponseWriter, r *http.Request, rid, typed, subject string) (deviceState, bool) {
	now, host, ip := a.Gate.Now(), httphead.HostName(r.Host), ClientIP(r).String()
	keys := []string{"fail-ip\x00" + ip, "fail-user\x00" + subject}
	for _, k := range keys {
		if !a.Gate.device.allow(k, deviceFailuresPerMinute, now, false) {
			a.Gate.Logger.Warn("cli device sign-in refused: too many unknown codes", "app", a.Name, "request_id", rid, "remote", ip, "subject", subject)
			a.devicePageError(w, r, rid, http.StatusTooManyRequests, "Too many attempts",
				"Too many wrong or expired codes were entered; wait a minute and try again.")
			return deviceState{}, false
		}
	}
	st, ok := a.Gate.Store.(deviceStore)
	if !ok {
		a.devicePageError(w, r, rid, http.StatusServiceUnavailable, "Device sign-in unavailable", "This gateway's store cannot hold device sign-ins.")
		return deviceState{}, false
	}
	uc, valid := normalUserCode(typed)
	var d deviceState
	err := errNoDevice
	if valid {
		d, err = a.loadDevice(r.Context(), st, host, uc, now)
	}
	if err == nil {
		return d, true
	}
	if !errors.Is(err, errNoDevice) && !errors.Is(err, session.ErrExpired) {
		a.Gate.Logger.Error("cli device sign-in unavailable: the store failed", "app", a.Name, "request_id", rid, "error", err)
		a.devicePageError(w, r, rid, http.StatusServiceUnavailable, "Device sign-in unavailable", "The gateway cannot look up the code now; try again in a minute.")
		return deviceState{}, false
	}
	for _, k := range keys {
		a.Gate.device.allow(k, deviceFailuresPerMinute, now, true)
	}
	a.Gate.Logger.Warn("cli device sign-in refused: unknown, used or expired user code", "app", a.Name, "request_id", rid, "remote", ip, "subject", subject)
	a.devicePageError(w, r, rid, http.StatusNotFound, "Code not found",
		"This code is unknown, was already used, or has expired (codes last 10 minutes). Check the code, or run gatehouse connect --device again.")
	return deviceState{}, false
}

// devicePage shows the approval page of ?user_code=, or a form to enter one.
func (a *App) devicePage(w http.ResponseWriter, r *http.Request, rid string) {
	s, id, ok := a.deviceUser(w, r, rid)
	if !ok {
		return
	}
	data := devicePageData{Title: "Approve gatehouse connect", App: a.Name, Host: httphead.HostName(r.Host), Subject: id.Subject, RequestID: rid}
	if typed := r.URL.Query().Get("user_code"); typed != "" {
		d, ok := a.deviceLookup(w, r, rid, typed, id.Subject)
		if !ok {
			return
		}
		if d.Approved || d.Denied {
			a.deviceUsed(w, r, rid, d, id.Subject)
			return
		}
		data.Code = showUserCode(d.UserCode)
		data.CSRF = a.Gate.Sealer.Seal(deviceCSRFPurpose(a.Name, data.Host, s.ID), []byte(d.UserCode))
	}
	body, err := errorpage.Body(devicePageTmpl, data)
	if err != nil {
		a.Gate.Logger.Error("cli device page failed", "app", a.Name, "request_id", rid, "error", err)
		a.devicePageError(w, r, rid, http.StatusInternalServerError, "Device sign-in unavailable", "This page could not be drawn; try again.")
		return
	}
	errorpage.Serve(w, errorpage.Frame{Title: data.Title, RequestID: rid, User: id.Subject}, body)
}

// deviceUsed refuses a second answer to a flow.
func (a *App) deviceUsed(w http.ResponseWriter, r *http.Request, rid string, d deviceState, subject string) {
	a.Gate.Logger.Warn("cli device sign-in refused: the code was already answered (a reuse)", "app", a.Name, "request_id", rid,
		"subject", subject, "user_code", showUserCode(d.UserCode))
	a.devicePageError(w, r, rid, http.StatusConflict, "Code already used",
		"This code was already approved or denied. If you did not do it, run gatehouse connect --device again and tell your IT team.")
}

// deviceApprove takes the approval form: the session's CSRF token for
// the code, then approve or deny, once.
func (a *App) deviceApprove(w http.ResponseWriter, r *http.Request, rid string) {
	host := httphead.HostName(r.Host)
	if o := r.Header.Get("Origin"); (o != "" && o != "https://"+r.Host) || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		a.Gate.Logger.Warn("cli device sign-in refused: the form was posted from another site", "app", a.Name, "request_id", rid, "origin", o)
		a.devicePageError(w, r, rid, http.StatusForbidden, "Refused", "The form was posted from another site.")
		return
	}
	s, id, ok := a.deviceUser(w, r, rid)
	if !ok {
		return
	}
	uc, _ := normalUserCode(r.PostForm.Get("user_code"))
	csrf, err := a.Gate.Sealer.Open(deviceCSRFPurpose(a.Name, host, s.ID), r.PostForm.Get("csrf"))
	if err != nil || uc == "" || subtle.ConstantTimeCompare(csrf, []byte(uc)) != 1 {
		a.Gate.Logger.Warn("cli device sign-in refused: the form's token is not this session's", "app", a.Name, "request_id", rid, "subject", id.Subject)
		a.devicePageError(w, r, rid, http.StatusForbidden, "Refused", "The form does not belong to your session. Open the address gatehouse connect shows again.")
		return
	}
	d, ok := a.deviceLookup(w, r, rid, uc, id.Subject)
	if !ok {
		return
	}
	now := a.Gate.Now()
	fresh, err := a.Gate.Store.TryLock(r.Context(), "cli-device-answer/"+d.ID, rand.Text(), now, d.Expires)
	if d.Approved || d.Denied || (err == nil && !fresh) {
		a.deviceUsed(w, r, rid, d, id.Subject)
		return
	}
	d.Subject = id.Subject
	switch {
	case err != nil:
	case r.PostForm.Get("action") == "approve":
		d.Approved = true
		d.Session, err = a.cliSession(s, id)
	default:
		d.Denied = true
	}
	if err == nil {
		err = a.saveDevice(r.Context(), a.Gate.Store.(deviceStore), host, d, now)
	}
	if err != nil {
		a.Gate.Logger.Error("cli device sign-in unavailable: the store failed", "app", a.Name, "request_id", rid, "error", err)
		a.devicePageError(w, r, rid, http.StatusServiceUnavailable, "Device sign-in unavailable", "The gateway cannot record your answer now; try again in a minute.")
		return
	}
	title, text := "Sign-in approved", "gatehouse connect is signed in to "+a.Name+". You can close this tab and go back to the terminal."
	if d.Denied {
		title, text = "Sign-in denied", "gatehouse connect was not signed in. You can close this tab."
	}
	a.Gate.Logger.Info("cli device sign-in answered", "app", a.Name, "request_id", rid, "subject", id.Subject,
		"user_code", showUserCode(d.UserCode), "approved", d.Approved, "session", d.Session.ID)
	a.devicePageError(w, r, rid, http.StatusOK, title, text)
}

// cliSession is a new session for the command, of the browser's session
// s: it ends when s does.
func (a *App) cliSession(s session.Session, id sdk.Identity) (session.Session, error) {
	c := session.Session{ID: rand.Text(), IssuedAt: s.IssuedAt, Expires: s.Expires}
	var err error
	c.Envelope, err = tunnel.SignEnvelope(a.Gate.Envelope, tunnel.Envelope{
		App: a.Name, Session: c.ID, IssuedAt: s.IssuedAt, Expires: s.Expires, Identity: id})
	return c, err
}
