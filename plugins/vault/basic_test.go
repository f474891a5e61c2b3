package vault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/vault/basiclab"
	sealed "github.com/gatehouse/gatehouse/sdk/vault"
)

func basicConfig(k keyPair) map[string]any {
	return map[string]any{"mode": "basic", "key_file": k.file}
}

// The credentials sealed for the user open at the plug-in and become an
// Authorization: Basic header that replaces the client's.
func TestBasicSetsTheHeader(t *testing.T) {
	k := newKey(t)
	logs := &logBuffer{}
	inj := mustOpen(t, basicConfig(k), logs)
	const password = "s3cr:t pässword" // a colon and non-ASCII are fine in the password
	res := inject(t, inj, "00u1", k.seal(t, "hr", "00u1", "alice", password),
		http.Header{"Authorization": {"Basic Zm9yZ2VkOmZvcmdlZA=="}, "Accept": {"*/*"}})
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+password))
	if got := res.Set.Get("Authorization"); got != want || !slices.Contains(res.Remove, "Authorization") {
		t.Errorf("Set %v Remove %v, want Authorization %q, removing the client's", res.Set, res.Remove, want)
	}
	if res.AskCredentials || res.RejectStatus != http.StatusUnauthorized || res.ReuseFor != 0 {
		t.Errorf("AskCredentials %v RejectStatus %d ReuseFor %v, want false, 401, 0", res.AskCredentials, res.RejectStatus, res.ReuseFor)
	}
	h := http.Header{"Authorization": {"Basic forged"}, "Accept": {"*/*"}}
	res.Apply(h)
	if len(h["Authorization"]) != 1 || h.Get("Authorization") != want || h.Get("Accept") != "*/*" {
		t.Errorf("after Apply: %v", h)
	}
	if !strings.Contains(logs.String(), "vault: configured") {
		t.Errorf("the plug-in's log was not captured:\n%s", logs)
	}
	if strings.Contains(logs.String(), password) || strings.Contains(logs.String(), want) {
		t.Errorf("the password is in the log:\n%s", logs)
	}
}

// Whatever does not open with the connector's key for this app and user
// is answered with AskCredentials, and nothing is set.
func TestBasicAsksForCredentials(t *testing.T) {
	k, other := newKey(t), newKey(t)
	inj := mustOpen(t, basicConfig(k), nil)
	good := k.seal(t, "hr", "00u1", "alice", "pw")
	flipped := slices.Clone(good)
	flipped[len(flipped)-1] ^= 1
	big := make([]byte, 1<<20)
	rand.Read(big)
	for _, tc := range []struct {
		name    string
		subject string
		secret  []byte
	}{
		{"no credentials stored", "00u1", nil},
		{"sealed for another app", "00u1", k.seal(t, "payroll", "00u1", "alice", "pw")},
		{"sealed for another user", "00u2", good},
		{"sealed to another connector group's key", "00u1", other.seal(t, "hr", "00u1", "alice", "pw")},
		{"tampered with", "00u1", flipped},
		{"not a sealed blob", "00u1", []byte("alice:pw")},
		{"1 MiB of noise", "00u1", big},
		{"a username Basic cannot send", "00u1", k.seal(t, "hr", "00u1", "ali:ce", "pw")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := inject(t, inj, tc.subject, tc.secret, http.Header{"Authorization": {"Basic x"}})
			if !res.AskCredentials || res.Set != nil {
				t.Errorf("got %+v, want AskCredentials and nothing set", res)
			}
		})
	}
}

// An admin's shared credentials (sealed under vault.Shared) serve every
// user who has none of their own; a user's own are not anyone else's.
func TestBasicSharedCredentials(t *testing.T) {
	k := newKey(t)
	inj := mustOpen(t, basicConfig(k), nil)
	shared := k.seal(t, "hr", sealed.Shared, "svc-hr", "shared-pw")
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("svc-hr:shared-pw"))
	for _, subject := range []string{"00u1", "00u2"} {
		if got := inject(t, inj, subject, shared, nil).Set.Get("Authorization"); got != want {
			t.Errorf("%s with the shared credentials: Authorization %q, want %q", subject, got, want)
		}
	}
	if res := inject(t, inj, "00u2", k.seal(t, "hr", "00u1", "alice", "pw"), nil); !res.AskCredentials {
		t.Errorf("00u2 with 00u1's own credentials: %+v, want AskCredentials", res)
	}
	if res := inject(t, inj, "00u1", k.seal(t, "payroll", sealed.Shared, "svc", "pw"), nil); !res.AskCredentials {
		t.Errorf("another app's shared credentials: %+v, want AskCredentials", res)
	}
}

// Against a real Apache with mod_auth_basic: the injected header opens
// the page with the right password, and a wrong one gets the 401 the
// plug-in names as its RejectStatus (which the connector turns into the
// credentials page).
func TestBasicAgainstApache(t *testing.T) {
	l := needLab(t)
	k := newKey(t)
	inj := mustOpen(t, basicConfig(k), nil)
	before := accessLog(t, l, 0)
	for _, tc := range []struct {
		name, user, password string
		status               int
		remoteUser           string
	}{
		{"right password", l.User, l.Password, http.StatusOK, l.User},
		{"other user", l.OtherUser, l.OtherPassword, http.StatusOK, l.OtherUser},
		{"wrong password", l.User, l.Password + "x", http.StatusUnauthorized, ""},
		{"unknown user", "mallory", l.Password, http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := inject(t, inj, "00u1", k.seal(t, "hr", "00u1", tc.user, tc.password), nil)
			h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(l.User+":"+l.Password))}}
			res.Apply(h) // a client's copy (even a right one) is replaced
			status, body := get(t, l.URL, h)
			if status != tc.status {
				t.Fatalf("GET %s: %d, want %d\n%s", l.URL, status, tc.status, body)
			}
			if status == http.StatusUnauthorized && status != res.RejectStatus {
				t.Errorf("the backend refused with %d, but RejectStatus is %d", status, res.RejectStatus)
			}
			if tc.remoteUser != "" && !strings.Contains(body, "REMOTE_USER="+tc.remoteUser+"\n") {
				t.Errorf("body %q does not name %s", body, tc.remoteUser)
			}
		})
	}
	// Apache logs a request after answering it, in the order its threads
	// get there.
	lines := accessLog(t, l, len(before)+4)[len(before):]
	var got []string
	for _, line := range lines {
		_, rest, _ := strings.Cut(line, " ")
		got = append(got, rest)
	}
	slices.Sort(got)
	want := []string{
		"user=" + l.OtherUser + ` "GET /private/whoami.shtml HTTP/1.1" 200`,
		"user=" + l.User + ` "GET /private/whoami.shtml HTTP/1.1" 200`,
		"user=" + l.User + ` "GET /private/whoami.shtml HTTP/1.1" 401`,
		`user=mallory "GET /private/whoami.shtml HTTP/1.1" 401`,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("access log:\n%s\nwant, in any order:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// accessLog returns the lab's access log once it has at least n lines, or
// after 5 s.
func accessLog(t testing.TB, l *basiclab.Lab, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines, err := l.AccessLogLines()
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get GETs url with header h, on a fresh connection.
func get(t testing.TB, url string, h http.Header) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
