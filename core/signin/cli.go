package signin

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/tunnel"
)

// gatehouse connect signs in through the browser: it listens on a
// loopback port and opens reserved.CLILogin?port=P&state=S on the app's
// host. The user signs in there as for any page of the app, and
// CLILogin sends the browser to http://127.0.0.1:P/callback with a code
// (never to any other host). The command trades the code at
// reserved.CLIToken for a CLI session token: a session of the app sealed
// as its cookie is, which it sends as "Authorization: Bearer" and which
// the gate then takes for the cookie (revocations and the access policy
// apply as usual). The code is sealed, bound to the app and host, lasts
// cliCodeTTL and can be traded once (a store lock, as sign-in states).

// cliCodeTTL bounds how long a code may wait to be traded.
const cliCodeTTL = 60 * time.Second

// maxCLIState bounds the command's state; it is echoed in the redirect.
const maxCLIState = 128

const cliCodeV1 = 1

func cliCodePurpose(app, host string) string { return "cli-code\x00" + app + "\x00" + host }

// cliCode is what a code holds: its own id and expiry, and the session
// the token will carry.
type cliCode struct {
	ID      string
	Expires time.Time
	Session session.Session
}

func (a *App) sealCode(host string, c cliCode) string {
	b := []byte{cliCodeV1}
	b = binary.AppendVarint(b, c.Expires.Unix())
	b = binary.AppendVarint(b, c.Session.IssuedAt.Unix())
	b = binary.AppendVarint(b, c.Session.Expires.Unix())
	for _, s := range []string{c.ID, c.Session.ID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, c.Session.Envelope...)
	return a.Gate.Sealer.Seal(cliCodePurpose(a.Name, host), b)
}

// openCode opens a code for this app at host: ErrInvalid for one sealed
// for another app or host, or not by this gateway; ErrExpired after
// cliCodeTTL.
func (a *App) openCode(host, value string, now time.Time) (cliCode, error) {
	b, err := a.Gate.Sealer.Open(cliCodePurpose(a.Name, host), value)
	if err != nil {
		return cliCode{}, err
	}
	if len(b) == 0 || b[0] != cliCodeV1 {
		return cliCode{}, session.ErrInvalid
	}
	b = b[1:]
	var t [3]int64
	for i := range t {
		v, n := binary.Varint(b)
		if n <= 0 {
			return cliCode{}, session.ErrInvalid
		}
		t[i], b = v, b[n:]
	}
	var s [2]string
	for i := range s {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return cliCode{}, session.ErrInvalid
		}
		s[i], b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	c := cliCode{ID: s[0], Expires: time.Unix(t[0], 0), Session: session.Session{
		ID: s[1], IssuedAt: time.Unix(t[1], 0), Expires: time.Unix(t[2], 0), Envelope: b}}
	if !now.Before(c.Expires) {
		return c, session.ErrExpired
	}
	return c, nil
}

// cliLoginQuery checks CLILogin's query: a port number and the command's
// state (letters, digits, "-" and "_").
func cliLoginQuery(q url.Values) (port int, state string, msg string) {
	p := q.Get("port")
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || p != strconv.Itoa(port) {
		return 0, "", "The port parameter must be a port number (1-65535): gatehouse connect's loopback port."
	}
	state = q.Get("state")
	if state == "" || len(state) > maxCLIState || strings.ContainsFunc(state, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return 0, "", "The state parameter must be 1-128 letters, digits, \"-\" or \"_\", as gatehouse connect makes it."
	}
	return port, state, ""
}

// CLILogin serves reserved.CLILogin: a signed-in user's browser goes on
// to gatehouse connect's loopback callback with a code; without a session
// the user signs in first and comes back here.
func (a *App) CLILogin(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	port, state, msg := cliLoginQuery(r.URL.Query())
	if r.Method != http.MethodGet {
		msg = "Open this address in a browser (GET)."
	}
	if msg != "" {
		a.Gate.Logger.Info("cli sign-in refused: bad request", "app", a.Name, "request_id", rid, "reason", msg)
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusBadRequest, Title: "Bad sign-in request", Text: msg, RequestID: rid})
		return
	}
	now := a.Gate.Now()
	s, found := a.session(r, rid, now)
	if !found {
		SeeOther(w, reserved.StartReturn(a.Name, r.URL.RequestURI()))
		return
	}
	id, v := a.check(w, r, rid, s, now)
	switch v {
	case reauth:
		SeeOther(w, reserved.StartReturn(a.Name, r.URL.RequestURI()))
		return
	case done:
		return
	}
	c := cliCode{ID: rand.Text(), Expires: now.Add(cliCodeTTL), Session: session.Session{
		ID: rand.Text(), IssuedAt: s.IssuedAt, Expires: s.Expires}}
	var err error
	c.Session.Envelope, err = tunnel.SignEnvelope(a.Gate.Envelope, tunnel.Envelope{
		App: a.Name, Session: c.Session.ID, IssuedAt: s.IssuedAt, Expires: s.Expires, Identity: id})
	if err != nil {
		a.unavailable(w, r, rid, err)
		return
	}
	code := a.sealCode(httphead.HostName(r.Host), c)
	a.Gate.Logger.Info("cli sign-in: code issued", "app", a.Name, "request_id", rid, "subject", id.Subject,
		"session", c.Session.ID, "port", port)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Location", "http://127.0.0.1:"+strconv.Itoa(port)+"/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state))
	w.WriteHeader(http.StatusSeeOther)
}

// CLIToken serves reserved.CLIToken: a POST with code=C answers
// {"token", "expires_at"}, once per code.
func (a *App) CLIToken(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		cliError(w, rid, http.StatusMethodNotAllowed, "invalid_request", "POST code=CODE to this address")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 2*session.MaxCookie)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("code") == "" {
		cliError(w, rid, http.StatusBadRequest, "invalid_request", "the request has no code (POST a form with code=CODE)")
		return
	}
	now := a.Gate.Now()
	c, err := a.openCode(httphead.HostName(r.Host), r.PostForm.Get("code"), now)
	if err != nil {
		reason := "the code is not valid here (forged, damaged, or for another app or host)"
		if errors.Is(err, session.ErrExpired) {
			reason = "the code has expired (they last 60 seconds)"
		}
		a.Gate.Logger.Warn("cli sign-in refused: "+reason, "app", a.Name, "request_id", rid)
		a.unidentified("failed", reasonExpiredState)
		cliError(w, rid, http.StatusBadRequest, "invalid_grant", reason+"; run gatehouse connect again")
		return
	}
	fresh, err := a.Gate.Store.TryLock(r.Context(), "cli-code/"+c.ID, rand.Text(), now, c.Expires)
	if err != nil {
		a.Gate.Logger.Error("cli sign-in unavailable: the store failed", "app", a.Name, "request_id", rid, "error", err)
		cliError(w, rid, http.StatusServiceUnavailable, "temporarily_unavailable", "the gateway cannot check the code now; try again in a minute")
		return
	}
	if !fresh {
		a.Gate.Logger.Warn("cli sign-in refused: the code was already used (a replay)", "app", a.Name, "request_id", rid, "session", c.Session.ID)
		a.record(r, store.SignIn{Result: "failed", Reason: "replayed gatehouse connect code"}, reasonReplayed)
		cliError(w, rid, http.StatusBadRequest, "invalid_grant", "the code was already used; run gatehouse connect again")
		return
	}
	a.issueToken(w, r, rid, c.Session)
}

// issueToken answers the token of session s, unless its user's sessions
// were revoked since the code was made.
func (a *App) issueToken(w http.ResponseWriter, r *http.Request, rid string, s session.Session) {
	id, err := a.Gate.identities.get(s)
	if err == nil {
		var before time.Time
		var gone bool
		if before, gone, err = a.Gate.revocation(r.Context(), id.Subject, s.ID); err == nil && (issued(s, id).Before(before) || gone) {
			a.Gate.Logger.Info("cli sign-in refused: the user's sessions were revoked", "app", a.Name, "request_id", rid, "subject", id.Subject)
			cliError(w, rid, http.StatusUnauthorized, "invalid_grant", "your sign-in was revoked; run gatehouse connect again")
			return
		}
	}
	var tok string
	if err == nil {
		tok, err = a.Gate.Sealer.SealSession(a.Name, httphead.HostName(r.Host), s)
	}
	if err != nil {
		a.Gate.Logger.Error("cli sign-in failed: cannot issue a token", "app", a.Name, "request_id", rid, "error", err)
		cliError(w, rid, http.StatusServiceUnavailable, "temporarily_unavailable", "the gateway cannot issue a token now")
		return
	}
	a.Gate.Logger.Info("cli sign-in: token issued", "app", a.Name, "request_id", rid, "subject", id.Subject,
		"session", s.ID, "expires", s.Expires.UTC().Format(time.RFC3339))
	a.record(r, store.SignIn{Subject: id.Subject, Result: "signed_in", Reason: "gatehouse connect"}, "")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}{tok, s.Expires.UTC()})
}

// cliError answers the command with a JSON error (OAuth's names).
func cliError(w http.ResponseWriter, rid string, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Request-Id", rid)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc, "request_id": rid})
}

// bearer returns the request's "Authorization: Bearer" value, if any.
func bearer(r *http.Request) (string, bool) {
	scheme, v, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

// bearerSession returns the session of a CLI session token the request
// carries as "Authorization: Bearer", if it is a valid one for this app.
func (a *App) bearerSession(r *http.Request, rid string, now time.Time) (session.Session, bool) {
	v, ok := bearer(r)
	if !ok {
		return session.Session{}, false
	}
	s, err := a.Gate.Sealer.OpenSession(a.Name, httphead.HostName(r.Host), v, now)
	if err != nil {
		if errors.Is(err, session.ErrExpired) {
			a.Gate.Logger.Debug("cli session token refused: expired", "app", a.Name, "request_id", rid)
		}
		return session.Session{}, false
	}
	return s, true
}

// stripOwnBearer removes an "Authorization" header that holds this app's
// session (a CLI session token, valid or not): neither a plug-in nor a
// backend ever sees one.
func (a *App) stripOwnBearer(r *http.Request, h http.Header) {
	v, ok := bearer(r)
	if !ok {
		return
	}
	_, err := a.Gate.Sealer.OpenSession(a.Name, httphead.HostName(r.Host), v, a.Gate.Now())
	if err == nil || errors.Is(err, session.ErrExpired) {
		h.Del("Authorization")
	}
}
