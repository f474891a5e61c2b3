package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/internal/httphead"
)

// gatehouse connect --device signs in on a machine without a browser, as
// OAuth's device authorization grant (RFC 8628) does: the command POSTs
// reserved.CLIDevice and gets a device code (sealed, for the command) and
// a user code (8 letters, shown XXXX-XXXX). The user opens
// reserved.CLIDevice?user_code=XXXX-XXXX in any browser, signs in as for
// any page of the app, and approves on a page that names the app and the
// code (a form with a token bound to the browser's session). The command
// polls reserved.CLIToken with the device code ("authorization_pending")
// until it gets the same CLI session token as the loopback flow.
//
// The state is a sealed blob cli-device/HASH (HASH of the app, host and
// user code), shared by every node; a lock per user code keeps codes
// unique while they live, a lock per flow makes approving and trading
// single use. Codes last deviceTTL. Per node, a client IP may start
// deviceStartsPerMinute flows, and an IP or a user may look up
// deviceFailuresPerMinute unknown user codes a minute (with 20^8 codes,
// guessing a live one is hopeless).

const (
	deviceTTL               = 10 * time.Minute
	deviceInterval          = 2 // seconds between polls
	userCodeAlphabet        = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLen             = 8
	deviceStartsPerMinute   = 10
	deviceFailuresPerMinute = 10
	maxDeviceKeys           = 10000 // limiter entries per minute, per node
)

// deviceStore is what the device flow needs of the store beyond Store
// (store.Store has it); without it the flow answers 503.
type deviceStore interface {
	PutBlob(ctx context.Context, key string, value []byte, modified time.Time) error
	GetBlob(ctx context.Context, key string) (store.Blob, error)
	StatBlob(ctx context.Context, key string) (store.Blob, error)
	DeleteBlobs(ctx context.Context, key string) (int, error)
	ListBlobs(ctx context.Context, prefix string) ([]string, error)
}

// deviceState is one flow, sealed in its blob.
type deviceState struct {
	ID       string          `json:"id"`
	UserCode string          `json:"user_code"`
	Expires  time.Time       `json:"expires"`
	Approved bool            `json:"approved,omitempty"`
	Denied   bool            `json:"denied,omitempty"`
	Subject  string          `json:"subject,omitempty"`
	Session  session.Session `json:"session"`
}

// deviceCode is what the command's device code holds.
type deviceCode struct {
	ID       string    `json:"id"`
	UserCode string    `json:"user_code"`
	Expires  time.Time `json:"expires"`
}

// deviceLimits counts, per node, device flows started and failed user
// code lookups, in one-minute windows.
type deviceLimits struct {
	mu        sync.Mutex
	window    time.Time
	counts    map[string]int
	lastSweep time.Time
}

// allow counts one event for key and reports whether it stays within
// max this minute; peek (add false) only checks.
func (l *deviceLimits) allow(key string, max int, now time.Time, add bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Minute || l.counts == nil {
		l.window, l.counts = now, map[string]int{}
	}
	n, ok := l.counts[key]
	if !ok && len(l.counts) >= maxDeviceKeys {
		return false // too many clients at once: fail closed until the window ends
	}
	if add {
		n++
		l.counts[key] = n
		return n <= max
	}
	return n < max
}

// sweepDue reports, at most once a minute, that abandoned flows should be removed.
func (l *deviceLimits) sweepDue(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) < time.Minute {
		return false
	}
	l.lastSweep = now
	return true
}

func deviceBlobPurpose(app, host string) string { return "cli-device\x00" + app + "\x00" + host }
func deviceCodePurpose(app, host string) string { return "cli-device-code\x00" + app + "\x00" + host }

// deviceKey is the blob of user code uc of app at host.
func deviceKey(app, host, uc string) string {
	h := sha256.Sum256([]byte(app + "\x00" + host + "\x00" + uc))
	return "cli-device/" + hex.EncodeToString(h[:16])
}

// newUserCode returns userCodeLen letters of userCodeAlphabet.
func newUserCode() string {
	b := make([]byte, userCodeLen)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(userCodeAlphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		b[i] = userCodeAlphabet[n.Int64()]
	}
	return string(b)
}

// normalUserCode reads a user code as typed: case, "-" and spaces do not
// matter. ok is false for anything that is not one.
func normalUserCode(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(s) != userCodeLen || strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune(userCodeAlphabet, r) }) {
		return "", false
	}
	return s, true
}

// showUserCode writes a user code as XXXX-XXXX.
func showUserCode(uc string) string { return uc[:4] + "-" + uc[4:] }

// errNoDevice: the flow is unknown, expired or already used.
var errNoDevice = errors.New("unknown device flow")

// loadDevice returns the flow of user code uc at host.
func (a *App) loadDevice(ctx context.Context, st deviceStore, host, uc string, now time.Time) (deviceState, error) {
	b, err := st.GetBlob(ctx, deviceKey(a.Name, host, uc))
	if errors.Is(err, store.ErrNotFound) {
		return deviceState{}, errNoDevice
	}
	if err != nil {
		return deviceState{}, err
	}
	plain, err := a.Gate.Sealer.Open(deviceBlobPurpose(a.Name, host), string(b.Value))
	var d deviceState
	if err != nil || json.Unmarshal(plain, &d) != nil || d.UserCode != uc {
		return deviceState{}, errNoDevice // sealed for another app or host, or damaged
	}
	if !now.Before(d.Expires) {
		return d, session.ErrExpired
	}
	return d, nil
}

// saveDevice stores d.
func (a *App) saveDevice(ctx context.Context, st deviceStore, host string, d deviceState, now time.Time) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return st.PutBlob(ctx, deviceKey(a.Name, host, d.UserCode), []byte(a.Gate.Sealer.Seal(deviceBlobPurpose(a.Name, host), b)), now)
}

// CLIDevice serves reserved.CLIDevice: a POST from the command (no
// user_code) starts a flow; a browser's GET shows the approval page, its
// POST (user_code, csrf, action) approves or denies.
func (a *App) CLIDevice(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			cliError(w, rid, http.StatusBadRequest, "invalid_request", "the form is not readable")
			return
		}
		if r.PostForm.Has("user_code") {
			a.deviceApprove(w, r, rid)
			return
		}
		a.deviceStart(w, r, rid)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		cliError(w, rid, http.StatusMethodNotAllowed, "invalid_request", "POST to start a device sign-in, or open this address in a browser")
		return
	}
	a.devicePage(w, r, rid)
}

// deviceStart starts a flow and answers the command (RFC 8628, 3.2).
func (a *App) deviceStart(w http.ResponseWriter, r *http.Request, rid string) {
	st, ok := a.Gate.Store.(deviceStore)
	if !ok {
		cliError(w, rid, http.StatusServiceUnavailable, "temporarily_unavailable", "this gateway's store cannot hold device sign-ins")
		return
	}
	now, host, ip := a.Gate.Now(), httphead.HostName(r.Host), ClientIP(r).String()
	if !a.Gate.device.allow("start\x00"+ip, deviceStartsPerMinute, now, true) {
		a.Gate.Logger.Warn("cli device sign-in refused: too many started from this address", "app", a.Name, "request_id", rid, "remote", ip)
		cliError(w, rid, http.StatusTooManyRequests, "slow_down", "too many device sign-ins from this address; wait a minute")
		return
	}
	if a.Gate.device.sweepDue(now) {
		a.sweepDevices(r.Context(), st, now)
	}
	d := deviceState{ID: rand.Text(), Expires: now.Add(deviceTTL)}
	var err error
	for i := 0; i < 3 && d.UserCode == ""; i++ { // a user code names one live flow
		uc := newUserCode()
		var fresh bool
		if fresh, err = a.Gate.Store.TryLock(r.Context(), "cli-device-user/"+deviceKey(a.Name, host, uc), d.ID, now, d.Expires); fresh {
			d.UserCode = uc
		}
	}
	if err == nil && d.UserCode == "" {
		err = errors.New("no free user code in 3 tries")
	}
	if err == nil {
		err = a.saveDevice(r.Context(), st, host, d, now)
	}
	if err != nil {
		a.Gate.Logger.Error("cli device sign-in unavailable: the store failed", "app", a.Name, "request_id", rid, "error", err)
		cliError(w, rid, http.StatusServiceUnavailable, "temporarily_unavailable", "the gateway cannot start a sign-in now; try again in a minute")
		return
	}
	dc, _ := json.Marshal(deviceCode{ID: d.ID, UserCode: d.UserCode, Expires: d.Expires})
	shown := showUserCode(d.UserCode)
	a.Gate.Logger.Info("cli device sign-in started", "app", a.Name, "request_id", rid, "remote", ip, "user_code", shown)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"device_code":      a.Gate.Sealer.Seal(deviceCodePurpose(a.Name, host), dc),
		"user_code":        shown,
		"verification_uri": "https://" + r.Host + reserved.CLIDevice + "?user_code=" + shown,
		"expires_in":       int(deviceTTL / time.Second),
		"interval":         deviceInterval,
	})
}

// sweepDevices removes flows abandoned before they expired.
func (a *App) sweepDevices(ctx context.Context, st deviceStore, now time.Time) {
	keys, err := st.ListBlobs(ctx, "cli-device/")
	for _, k := range keys {
		if b, err := st.StatBlob(ctx, k); err == nil && now.Sub(b.Modified) > deviceTTL {
			_, _ = st.DeleteBlobs(ctx, k)
		}
	}
	if err != nil {
		a.Gate.Logger.Warn("cli device sign-in: cannot list abandoned flows", "app", a.Name, "error", err)
	}
}

// deviceToken answers a poll with device_code=C (RFC 8628, 3.5).
func (a *App) deviceToken(w http.ResponseWriter, r *http.Request, rid string) {
	st, ok := a.Gate.Store.(deviceStore)
	if !ok {
		cliError(w, rid, http.StatusServiceUnavailable, "temporarily_unavailable", "this gateway's store cannot hold device sign-ins")
		return
	}
	now, host := a.Gate.Now(), httphead.HostName(r.Host)
	var dc deviceCode
	plain, err := a.Gate.Sealer.Open(deviceCodePurpose(a.Name, host), r.PostForm.Get("device_code"))
	if err != nil || json.Unmarshal(plain, &dc) != nil {
		a.deviceRefused(w, r, rid, "invalid_grant", "the device code is not valid here (forged, damaged, or for another app or host)")
		return
	}
	d, err := a.loadDevice(r.Context(), st, host, dc.UserCode, now)
	switch {
	case errors.Is(err, session.ErrExpired) || (err == nil && d.ID == dc.ID && !now.Before(dc.Expires)):
		_, _ = st.DeleteBlobs(r.Context(), deviceKey(a.Name, host, dc.UserCode))
		a.deviceRefused(w, r, rid, "expired_token", "the device code has expired (they last 10 minutes)")
		return
	case errors.Is(err, errNoDevice) || (err == nil && d.ID != dc.ID):
		a.deviceRefused(w, r, rid, "invalid_grant", "the device code is unknown or was already used")
		return
	case err != nil:
		a.Gate.Logger.Error("cli device sign-in unavailable: the store failed", "app", a.Name, "request_id", rid, "error", err)
		cliError(w, rid, http.StatusServiceUnavailable, "temporarily_unavailable", "the gateway cannot check the code now; try again in a minute")
		return
	case d.Denied:
		_, _ = st.DeleteBlobs(r.Context(), deviceKey(a.Name, host, d.UserCode))
		a.deviceRefused(w, r, rid, "access_denied", "the sign-in was denied in the browser")
		return
	case !d.Approved:
		cliError(w, rid, http.StatusBadRequest, "authorization_pending", "waiting for the user to approve in the browser")
		return
	}
	fresh, err := a.Gate.Store.TryLock(r.Context(), "cli-device-token/"+d.ID, rand.Text(), now, d.Expires)
	if err == nil && fresh {
		_, err = st.DeleteBlobs(r.Context(), deviceKey(a.Name, host, d.UserCode))
	}
	if err != nil || !fresh {
		a.deviceRefused(w, r, rid, "invalid_grant", "the device code was already used")
		return
	}
	a.issueToken(w, r, rid, d.Session)
}

// deviceRefused logs and answers a refused poll.
func (a *App) deviceRefused(w http.ResponseWriter, r *http.Request, rid, code, desc string) {
	a.Gate.Logger.Warn("cli device sign-in refused: "+desc, "app", a.Name, "request_id", rid, "remote", ClientIP(r))
	a.unidentified("failed", reasonExpiredState)
	cliError(w, rid, http.StatusBadRequest, code, desc+"; run gatehouse connect --device again")
}

// Token serves reserved.CLIToken: a device_code goes to the device flow,
// anything else to CLIToken (the loopback flow's code).
func (a *App) Token(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 2*session.MaxCookie)
		if err := r.ParseForm(); err == nil && r.PostForm.Get("device_code") != "" {
			a.deviceToken(w, r, w.Header().Get("X-Request-Id"))
			return
		}
	}
	a.CLIToken(w, r)
}
