package kcd

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/plugins/kcd/internal/s4u"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// These tests run the plug-in binary over the real protocol against the lab
// of scripts/kcdlab.sh: MIT krb5 (LDAP back end) and Apache + mod_auth_gssapi.

func identity(upn string, claims ...any) sdk.Identity {
	id := sdk.Identity{Subject: "sub-" + upn, UPN: upn, Claims: map[string]any{}}
	for i := 0; i+1 < len(claims); i += 2 {
		id.Claims[claims[i].(string)] = claims[i+1]
	}
	return id
}

// forward does what the connector does with a request for id: Inject, and
// only if that succeeds, send the request with the changed header to the
// backend. clientHeader is what the client sent.
func forward(t *testing.T, inj *pluginhost.Injector, id sdk.Identity, clientHeader http.Header) (code int, body string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h := clientHeader.Clone()
	if h == nil {
		h = http.Header{}
	}
	res, err := inj.Inject(ctx, sdk.InjectRequest{Identity: id, Method: "GET", URL: lab.BackendURL, Header: h})
	if err != nil {
		return 0, "", err
	}
	res.Apply(h)
	if v := h.Values("Authorization"); len(v) != 1 || !strings.HasPrefix(v[0], "Negotiate ") {
		t.Fatalf("Authorization after Inject: %q, want one Negotiate token", v)
	}
	code, body, err = lab.Get(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	return code, body, nil
}

func TestSignsUserInToApache(t *testing.T) {
	l := needLab(t)
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		id   sdk.Identity
		want string // REMOTE_USER
	}{
		{"user part of the UPN", labConfig(t), identity("alice@example.test"), "alice"},
		{"another user", labConfig(t), identity("bob@Example.Test"), "bob"},
		// The KDC resolves the UPN and names the client by it; Apache cannot
		// map that to a local name, so REMOTE_USER is the UPN.
		{"UPN as an enterprise name", labConfig(t, "identity", "upn", "upn_domains", nil), identity(l.UPNAlias), l.UPNAlias},
		{"claim", labConfig(t, "identity", "claim:samaccountname", "upn_domains", nil), identity("x@elsewhere.example", "samaccountname", "alice"), "alice"},
		{"KDC address instead of krb5.conf", labConfig(t, "krb5_conf", nil, "kdc", []any{l.KDCAddr}), identity("alice@example.test"), "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inj, err := open(t, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			// A client's own Authorization never reaches the backend.
			code, body, err := forward(t, inj, tc.id, http.Header{"Authorization": {"Basic YWRtaW46YWRtaW4="}, "Accept": {"text/plain"}})
			if err != nil {
				t.Fatal(err)
			}
			if code != http.StatusOK || !strings.Contains(body, "REMOTE_USER="+tc.want+"\n") {
				t.Fatalf("HTTP %d\n%s\nwant 200 with REMOTE_USER=%s", code, body, tc.want)
			}
		})
	}
}

// When the KDC refuses, Inject fails, the request is not sent, and the
// backend serves nothing: its access log does not move.
func TestRefusalsReachNothing(t *testing.T) {
	l := needLab(t)
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		id   sdk.Identity
		want string
	}{
		{"SPN outside the delegation list", labConfig(t, "spn", l.OtherSPN), identity("alice@example.test"),
			"S4U2Proxy for alice@EXAMPLE.TEST to HTTP/other.example.test: KDC answered KDC_ERR_BADOPTION (13): svc-connector@EXAMPLE.TEST may not delegate to HTTP/other.example.test: add the SPN to its delegation list"},
		{"user marked not delegable", labConfig(t), identity(l.NotDelegable + "@example.test"),
			"S4U2Self for carol@EXAMPLE.TEST: the KDC issued a ticket that is not forwardable"},
		{"unknown user", labConfig(t), identity("mallory@example.test"),
			"S4U2Self for mallory@EXAMPLE.TEST: KDC answered KDC_ERR_C_PRINCIPAL_UNKNOWN (6): the KDC knows no user mallory@EXAMPLE.TEST"},
		{"unknown UPN", labConfig(t, "identity", "upn", "upn_domains", nil), identity("mallory@example.test"),
			"KDC_ERR_C_PRINCIPAL_UNKNOWN (6): the KDC knows no user mallory@example.test@EXAMPLE.TEST"},
		{"connector not trusted for protocol transition", labConfig(t, "principal", l.NoProtoPrincipal, "keytab", l.NoProtoKeytab), identity("alice@example.test"),
			"either svc-noproto@EXAMPLE.TEST is not trusted for protocol transition"},
		{"UPN of a foreign domain", labConfig(t), identity("alice@evil.example"),
			`UPN "alice@evil.example" is not in an accepted domain (upn_domains: example.test)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inj, err := open(t, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			before, err := l.AccessLogLines()
			if err != nil {
				t.Fatal(err)
			}
			code, body, err := forward(t, inj, tc.id, http.Header{"Authorization": {"Negotiate forged"}})
			if err == nil {
				t.Fatalf("Inject succeeded; the backend answered HTTP %d\n%s", code, body)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to say:\n%s", err, tc.want)
			}
			after, _ := l.AccessLogLines()
			if len(after) != len(before) {
				t.Errorf("the backend got requests: %q", after[len(before):])
			}
		})
	}
	// The access log does show a request that is sent.
	inj, err := open(t, labConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := l.AccessLogLines()
	if _, _, err := forward(t, inj, identity("alice@example.test"), nil); err != nil {
		t.Fatal(err)
	}
	var after []string
	for range 500 { // Apache logs a request after it has answered it
		if after, _ = l.AccessLogLines(); len(after) > len(before) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(after) != len(before)+1 || !strings.Contains(after[len(after)-1], "user=alice ") {
		t.Errorf("access log after one request: %q", after[len(before):])
	}
}

// ticketClient decrypts the ticket of a Negotiate header with the backend's
// keytab, as the backend would, and returns the ticket's client and the
// authenticator's.
func ticketClient(t *testing.T, kt *keytab.Keytab, auth string) (ticket, authenticator string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Negotiate "))
	if err != nil {
		t.Fatal(err)
	}
	var tok spnego.SPNEGOToken
	if err := tok.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	var mech spnego.KRB5Token
	if err := mech.Unmarshal(tok.NegTokenInit.MechTokenBytes); err != nil {
		t.Fatal(err)
	}
	ap := mech.APReq
	if err := ap.Ticket.DecryptEncPart(kt, nil); err != nil {
		t.Fatal(err)
	}
	if err := ap.DecryptAuthenticator(ap.Ticket.DecryptedEncPart.Key); err != nil {
		t.Fatal(err)
	}
	enc := ap.Ticket.DecryptedEncPart
	return enc.CName.PrincipalNameString() + "@" + enc.CRealm,
		ap.Authenticator.CName.PrincipalNameString() + "@" + ap.Authenticator.CRealm
}

// The ticket cache is per user: whatever the order and concurrency of
// requests, each one carries a ticket in its own user's name.
func TestTicketsNeverCrossUsers(t *testing.T) {
	l := needLab(t)
	kt, err := keytab.Load(l.BackendKeytab)
	if err != nil {
		t.Fatal(err)
	}
	inj, err := open(t, labConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	users := []string{"alice", "bob", "alice", "alice", "bob", "bob", "alice", "bob"}
	type answer struct {
		user, auth string
		err        error
	}
	answers := make(chan answer, 10*len(users))
	for range 10 {
		for _, u := range users {
			go func() {
				res, err := inj.Inject(context.Background(), sdk.InjectRequest{Identity: identity(u + "@example.test")})
				answers <- answer{u, res.Set.Get("Authorization"), err}
			}()
		}
	}
	for range 10 * len(users) {
		a := <-answers
		if a.err != nil {
			t.Fatal(a.err)
		}
		tc, ac := ticketClient(t, kt, a.auth)
		if want := a.user + "@" + l.Realm; tc != want || ac != want {
			t.Fatalf("request for %s carried a ticket for %s, authenticator %s", want, tc, ac)
		}
	}
	// And the backend agrees.
	for _, u := range []string{"bob", "alice", "bob"} {
		code, body, err := forward(t, inj, identity(u+"@example.test"), nil)
		if err != nil || code != http.StatusOK || !strings.Contains(body, "REMOTE_USER="+u+"\n") {
			t.Fatalf("%s: HTTP %d %v\n%s", u, code, err, body)
		}
	}
}

// In process, with a clock of the test's: concurrent misses for one user
// make one KDC exchange; a second user makes their own; an expired ticket
// is fetched again.
func TestTicketCacheAndSingleflight(t *testing.T) {
	l := needLab(t)
	var mu sync.Mutex
	now := time.Now()
	start := now
	read := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(to time.Time) { mu.Lock(); now = to; mu.Unlock() }
	in, err := newInjector(sdk.ConfigureRequest{App: "intranet", Config: mustJSON(t, labConfig(t))}, read)
	if err != nil {
		t.Fatal(err)
	}
	fetches := make(chan string, 100)
	real := in.delegate
	in.delegate = func(ctx context.Context, user s4u.User) (*s4u.Ticket, error) {
		fetches <- user.Name
		return real(ctx, user)
	}
	kt, err := keytab.Load(l.BackendKeytab)
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		user, auth string
		err        error
	}
	inject := func(users ...string) {
		t.Helper()
		answers := make(chan answer, len(users))
		for _, u := range users {
			go func() {
				res, err := in.Inject(context.Background(), sdk.InjectRequest{Identity: identity(u + "@example.test")})
				answers <- answer{u, res.Set.Get("Authorization"), err}
			}()
		}
		for range users {
			a := <-answers
			if a.err != nil {
				t.Fatal(a.err)
			}
			if tc, _ := ticketClient(t, kt, a.auth); tc != a.user+"@"+l.Realm {
				t.Fatalf("ticket for %s, want %s", tc, a.user)
			}
		}
	}
	drain := func() []string {
		var got []string
		for {
			select {
			case u := <-fetches:
				got = append(got, u)
			default:
				slices.Sort(got)
				return got
			}
		}
	}
	inject(slices.Repeat([]string{"alice", "bob"}, 32)...)
	if got := drain(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("64 requests from 2 users made KDC exchanges for %q, want one each", got)
	}
	inject("alice", "bob", "alice")
	if got := drain(); len(got) != 0 {
		t.Fatalf("cached tickets were fetched again: %q", got)
	}
	// Past every ticket's end, each user's next request fetches anew.
	set(start.Add(24 * time.Hour))
	inject("bob", "alice", "alice")
	if got := drain(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("after expiry: KDC exchanges for %q, want one each", got)
	}
	if n := in.cache.len(); n != 2 {
		t.Errorf("%d tickets cached, want 2", n)
	}
}

// When the KDC stops delegating a user, the cached ticket is dropped at the
// next refresh instead of being used until it ends.
func TestRevokedUserLosesCachedTicket(t *testing.T) {
	l := needLab(t)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	in, err := newInjector(sdk.ConfigureRequest{App: "intranet", Config: mustJSON(t, labConfig(t))}, clock)
	if err != nil {
		t.Fatal(err)
	}
	dave := sdk.InjectRequest{Identity: identity("dave@example.test")}
	if _, err := in.Inject(ctx, dave); err != nil {
		t.Fatal(err)
	}
	if err := l.Kadmin(ctx, "modprinc -allow_forwardable dave"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Kadmin(ctx, "modprinc +allow_forwardable dave") })
	// Before RefreshAt the cached ticket is used: no KDC exchange.
	if _, err := in.Inject(ctx, dave); err != nil {
		t.Fatalf("a cached ticket was not used: %v", err)
	}
	// Past RefreshAt: the old ticket still serves this request, while the
	// refresh learns that dave may no longer be delegated.
	mu.Lock()
	now = now.Add(8 * time.Hour) // lab tickets last 10 h: RefreshAt is at 7.5 h
	mu.Unlock()
	if _, err := in.Inject(ctx, dave); err != nil {
		t.Fatalf("a valid ticket was refused during its refresh: %v", err)
	}
	var last error
	for range 200 {
		if _, last = in.Inject(ctx, dave); last != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(fmt.Sprint(last), "S4U2Self for dave@EXAMPLE.TEST: the KDC issued a ticket that is not forwardable") {
		t.Fatalf("after revocation: %v, want the KDC's refusal", last)
	}
}
