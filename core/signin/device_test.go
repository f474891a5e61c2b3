package signin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/reserved"
)

// deviceStartReq starts a device flow of app at host.
func (rig *cliRig) deviceStart(app *App, host string) map[string]any {
	rig.t.Helper()
	r := httptest.NewRequest("POST", "https://"+host+reserved.CLIDevice, strings.NewReader(""))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	app.CLIDevice(w, r)
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusOK {
		rig.t.Fatalf("device start: %d %s", w.Code, w.Body)
	}
	return body
}

// devicePoll posts the device code to the token endpoint.
func (rig *cliRig) devicePoll(app *App, host, dc string) (*httptest.ResponseRecorder, map[string]any) {
	r := httptest.NewRequest("POST", "https://"+host+reserved.CLIToken, strings.NewReader(url.Values{"device_code": {dc}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	app.Token(w, r)
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return w, body
}

// devicePage opens the approval page with the browser's session (or none).
func (rig *cliRig) devicePage(code string, withSession bool) *httptest.ResponseRecorder {
	h := http.Header{"Accept": {"text/html"}}
	if withSession {
		h.Set("Cookie", rig.session.Name+"="+rig.session.Value)
	}
	r := rig.req("GET", "https://ssh.example.com"+reserved.CLIDevice+"?user_code="+url.QueryEscape(code), h)
	w := httptest.NewRecorder()
	rig.app.CLIDevice(w, r)
	return w
}

// deviceAnswer posts the approval form.
func (rig *cliRig) deviceAnswer(code, csrf, action string, withSession bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "https://ssh.example.com"+reserved.CLIDevice,
		strings.NewReader(url.Values{"user_code": {code}, "csrf": {csrf}, "action": {action}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Accept", "text/html")
	if withSession {
		r.Header.Set("Cookie", rig.session.Name+"="+rig.session.Value)
	}
	w := httptest.NewRecorder()
	rig.app.CLIDevice(w, r)
	return w
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// The device flow: start, pending, approval by the signed-in browser with
// the session's form token, a token once; every misuse is refused.
func TestDeviceSignIn(t *testing.T) {
	rig := newCLIRig(t)
	d := rig.deviceStart(rig.app, "ssh.example.com")
	uc, _ := d["user_code"].(string)
	dc, _ := d["device_code"].(string)
	if !regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`).MatchString(uc) || dc == "" ||
		d["verification_uri"] != "https://ssh.example.com"+reserved.CLIDevice+"?user_code="+uc || d["expires_in"] != 600.0 || d["interval"] != 2.0 {
		t.Fatalf("device start answered %v", d)
	}
	if w, body := rig.devicePoll(rig.app, "ssh.example.com", dc); w.Code != http.StatusBadRequest || body["error"] != "authorization_pending" {
		t.Fatalf("poll before approval: %d %s", w.Code, w.Body)
	}
	if w := rig.devicePage(uc, false); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), reserved.Start("ssh")) {
		t.Fatalf("page without a session: %d %q; want a redirect to sign in", w.Code, w.Header().Get("Location"))
	}
	w := rig.devicePage(strings.ToLower(uc), true)
	m := csrfField.FindStringSubmatch(w.Body.String())
	if w.Code != http.StatusOK || m == nil || !strings.Contains(w.Body.String(), uc) || !strings.Contains(w.Body.String(), "ssh.example.com") {
		t.Fatalf("page: %d %s", w.Code, w.Body)
	}
	csrf := m[1]
	if w := rig.deviceAnswer(uc, csrf, "approve", false); w.Code != http.StatusUnauthorized || !strings.Contains(rig.logs.String(), "approval without a session") {
		t.Fatalf("approval without a session: %d", w.Code)
	}
	if w := rig.deviceAnswer(uc, csrf+"x", "approve", true); w.Code != http.StatusForbidden {
		t.Fatalf("approval with a bad form token: %d", w.Code)
	}
	if w := rig.deviceAnswer(uc, csrf, "approve", true); w.Code != http.StatusOK {
		t.Fatalf("approval: %d %s", w.Code, w.Body)
	}
	if w := rig.deviceAnswer(uc, csrf, "approve", true); w.Code != http.StatusConflict || !strings.Contains(rig.logs.String(), "already answered") {
		t.Fatalf("second approval: %d %s", w.Code, w.Body)
	}
	if w, body := rig.devicePoll(rig.other, "db.example.com", dc); w.Code != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("device code at another app: %d %s", w.Code, w.Body)
	}
	w, body := rig.devicePoll(rig.app, "ssh.example.com", dc)
	tok, _ := body["token"].(string)
	if w.Code != http.StatusOK || tok == "" {
		t.Fatalf("poll after approval: %d %s", w.Code, w.Body)
	}
	if strings.Contains(rig.logs.String(), tok) || strings.Contains(rig.logs.String(), dc) {
		t.Fatal("the log holds the token or the device code")
	}
	if _, w, ok := rig.admitBearer(tok); !ok {
		t.Fatalf("the device token is not admitted: %d", w.Code)
	}
	if w, body := rig.devicePoll(rig.app, "ssh.example.com", dc); w.Code != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("device code reused: %d %s", w.Code, w.Body)
	}
	if w := rig.devicePage(uc, true); w.Code != http.StatusNotFound {
		t.Fatalf("a used user code: %d", w.Code)
	}
}

// Denied, expired and guessed codes are refused; guessing is limited.
func TestDeviceRefused(t *testing.T) {
	rig := newCLIRig(t)
	d := rig.deviceStart(rig.app, "ssh.example.com")
	uc, dc := d["user_code"].(string), d["device_code"].(string)
	csrf := csrfField.FindStringSubmatch(rig.devicePage(uc, true).Body.String())[1]
	if w := rig.deviceAnswer(uc, csrf, "deny", true); w.Code != http.StatusOK {
		t.Fatalf("deny: %d", w.Code)
	}
	if w, body := rig.devicePoll(rig.app, "ssh.example.com", dc); body["error"] != "access_denied" {
		t.Fatalf("poll after deny: %d %s", w.Code, w.Body)
	}

	d = rig.deviceStart(rig.app, "ssh.example.com")
	rig.now = rig.now.Add(deviceTTL + time.Second)
	if w, body := rig.devicePoll(rig.app, "ssh.example.com", d["device_code"].(string)); body["error"] != "expired_token" {
		t.Fatalf("expired device code: %d %s", w.Code, w.Body)
	}
	if w := rig.devicePage(d["user_code"].(string), true); w.Code != http.StatusNotFound {
		t.Fatalf("expired user code: %d", w.Code)
	}
	if w, body := rig.devicePoll(rig.app, "ssh.example.com", "forged"); body["error"] != "invalid_grant" {
		t.Fatalf("forged device code: %d %s", w.Code, w.Body)
	}

	rig.now = rig.now.Add(time.Minute) // a fresh window
	live := rig.deviceStart(rig.app, "ssh.example.com")["user_code"].(string)
	for i := range deviceFailuresPerMinute - 1 {
		if w := rig.devicePage("BBBB-BBB"+string(userCodeAlphabet[i%len(userCodeAlphabet)]), true); w.Code != http.StatusNotFound {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	if w := rig.devicePage(live, true); w.Code != http.StatusOK {
		t.Fatalf("a live code within the limit: %d", w.Code)
	}
	rig.devicePage("nonsense", true)
	if w := rig.devicePage(live, true); w.Code != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: %d; want 429", deviceFailuresPerMinute, w.Code)
	}
	rig.now = rig.now.Add(time.Minute)
	if w := rig.devicePage(live, true); w.Code != http.StatusOK {
		t.Fatalf("a minute later: %d", w.Code)
	}
}
