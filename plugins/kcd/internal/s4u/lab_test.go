package s4u

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/kcd/kcdlab"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// lab is the running KCD lab, nil when there is none (then labSkip says why).
var (
	lab     *kcdlab.Lab
	labSkip string
)

func TestMain(m *testing.M) {
	var err error
	lab, err = kcdlab.Start(context.Background())
	switch {
	case errors.Is(err, kcdlab.ErrSkip):
		labSkip = err.Error()
		fmt.Println("s4u: tests against a real KDC skipped:", labSkip)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := lab.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

func needLab(t testing.TB) *kcdlab.Lab {
	t.Helper()
	if lab == nil {
		t.Skip(labSkip)
	}
	return lab
}

// labClient is a Client for principal with the keytab at ktPath.
func labClient(t testing.TB, principal, ktPath string, now func() time.Time) *Client {
	t.Helper()
	l := needLab(t)
	cfg, err := config.Load(l.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Krb5: cfg, Keytab: kt, Realm: l.Realm, Now: now,
		Principal: types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{principal}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustSPN(t testing.TB, s string) types.PrincipalName {
	t.Helper()
	spn, err := SPN(s)
	if err != nil {
		t.Fatal(err)
	}
	return spn
}

// get presents tk to the lab's Apache and returns what it answered.
func get(t *testing.T, tk *Ticket) (int, string) {
	t.Helper()
	auth, err := tk.Negotiate()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, body, err := lab.Get(ctx, http.Header{"Authorization": {auth}})
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

func TestDelegateToApache(t *testing.T) {
	l := needLab(t)
	c := labClient(t, l.ConnectorPrincipal, l.ConnectorKeytab, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		user User
		want string // REMOTE_USER
	}{
		{"plain name", User{Name: "alice"}, "alice"},
		{"another user", User{Name: "bob"}, "bob"},
		// The KDC resolves the UPN. MIT, like AD, names the ticket's client
		// by the enterprise name itself, which Apache cannot map to a local
		// user: REMOTE_USER is the UPN.
		{"UPN as an enterprise name", User{Name: l.UPNAlias, Enterprise: true}, l.UPNAlias},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := c.Delegate(ctx, tc.user, mustSPN(t, l.BackendSPN))
			if err != nil {
				t.Fatal(err)
			}
			if !tk.SName.Equal(mustSPN(t, l.BackendSPN)) || tk.CRealm != l.Realm {
				t.Errorf("ticket for %v in realm %s", tk.SName, tk.CRealm)
			}
			code, body := get(t, tk)
			if code != http.StatusOK {
				t.Fatalf("HTTP %d\n%s", code, body)
			}
			if !strings.Contains(body, "REMOTE_USER="+tc.want+"\n") {
				t.Errorf("backend page:\n%s\nwant REMOTE_USER=%s", body, tc.want)
			}
		})
	}
}

func TestKDCRefusals(t *testing.T) {
	l := needLab(t)
	connector := labClient(t, l.ConnectorPrincipal, l.ConnectorKeytab, nil)
	noProto := labClient(t, l.NoProtoPrincipal, l.NoProtoKeytab, nil)
	for _, tc := range []struct {
		name   string
		c      *Client
		user   string
		spn    string
		kind   error
		step   Step
		saying string
	}{
		{"unknown user", connector, "mallory", l.BackendSPN, ErrUnknownUser, StepSelf, "knows no user mallory@EXAMPLE.TEST"},
		{"user not delegable", connector, l.NotDelegable, l.BackendSPN, ErrNotDelegable, StepSelf, "not forwardable"},
		{"SPN outside the delegation list", connector, "alice", l.OtherSPN, ErrNotInDelegationList, StepProxy, "may not delegate to HTTP/other.example.test"},
		{"SPN the KDC does not know", connector, "alice", l.BackendSPN + ":80", ErrUnknownSPN, StepProxy, "no service principal HTTP/backend.example.test:80"},
		{"connector not trusted for protocol transition", noProto, "alice", l.BackendSPN, ErrNotDelegable, StepSelf, "svc-noproto@EXAMPLE.TEST is not trusted for protocol transition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := tc.c.Delegate(context.Background(), User{Name: tc.user}, mustSPN(t, tc.spn))
			if err == nil {
				t.Fatalf("got a ticket for %s to %v", tk.Client(), tk.SName)
			}
			var ke *KDCError
			if !errors.As(err, &ke) || ke.Step != tc.step {
				t.Fatalf("error %v (%T), want a *KDCError at %s", err, err, tc.step)
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("error %v is not %v", err, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.saying) {
				t.Errorf("error %q does not say %q", err, tc.saying)
			}
			t.Logf("%v", err)
		})
	}
}

// A keytab whose key is not the KDC's is reported as a stale keytab.
func TestStaleKeytab(t *testing.T) {
	l := needLab(t)
	kt := keytab.New()
	if err := kt.AddEntry(l.ConnectorPrincipal, l.Realm, "not-the-key", time.Now(), 9, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/stale.keytab"
	b, _ := kt.Marshal()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c := labClient(t, l.ConnectorPrincipal, path, nil)
	_, err := c.TGT(context.Background())
	if !errors.Is(err, ErrServiceAccount) || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("got %v, want a stale-keytab error", err)
	}
	t.Log(err)
}

// The TGT is kept until RefreshAt, replaced in the background between
// RefreshAt and Expires, and replaced before use after Expires.
func TestTGTRefresh(t *testing.T) {
	l := needLab(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(to time.Time) { mu.Lock(); now = to; mu.Unlock() }
	c := labClient(t, l.ConnectorPrincipal, l.ConnectorKeytab, clock)
	ctx := context.Background()
	first, err := c.TGT(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.TGT(ctx); again != first {
		t.Fatal("a fresh TGT was replaced")
	}
	advance(first.RefreshAt.Add(time.Second))
	during, err := c.TGT(ctx)
	if err != nil || during != first {
		t.Fatalf("past RefreshAt: got %p (%v), want the old TGT %p while the new one comes", during, err, first)
	}
	var second *Ticket
	for range 200 { // the background refresh lands
		if second, _ = c.TGT(ctx); second != first {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if second == first {
		t.Fatal("the TGT was not refreshed in the background")
	}
	advance(second.Expires.Add(time.Second))
	third, err := c.TGT(ctx)
	if err != nil || third == second {
		t.Fatalf("past Expires: got %p (%v), want a new TGT, not %p", third, err, second)
	}
	// The new TGT works.
	if _, err := c.Delegate(ctx, User{Name: "alice"}, mustSPN(t, l.BackendSPN)); err != nil {
		t.Fatal(err)
	}
}

// A KDC that accepts connections and never answers: the caller's deadline
// ends the wait, with the context's error.
func TestSilentKDCHonoursTheContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	cfg, err := config.NewFromString(fmt.Sprintf("[libdefaults]\n default_realm = EXAMPLE.TEST\n[realms]\n EXAMPLE.TEST = {\n  kdc = %s\n }\n", ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	kt := keytab.New()
	_ = kt.AddEntry("svc", "EXAMPLE.TEST", "pw", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96)
	c, err := New(Config{Krb5: cfg, Keytab: kt, Realm: "EXAMPLE.TEST", Timeout: time.Second,
		Principal: types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"svc"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Delegate(ctx, User{Name: "alice"}, mustSPN(t, "HTTP/x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the caller's deadline", err)
	}
	// The exchange the caller gave up on ends at the client's own timeout
	// and says which KDC did not answer.
	_, err = c.TGT(context.Background())
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("got %v, want an error naming the silent KDC", err)
	}
	t.Log(err)
}

// One ticket, many tokens: the first calls race to build the ticket's
// cached parts, every token is a fresh one that Apache (mod_auth_gssapi,
// MIT's acceptor and replay cache) takes once, gokrb5's own token for the
// same ticket is taken too, and a token sent twice is refused the second
// time.
func TestCachedPartsTokensToApache(t *testing.T) {
	l := needLab(t)
	c := labClient(t, l.ConnectorPrincipal, l.ConnectorKeytab, nil)
	tk, err := c.Delegate(context.Background(), User{Name: "alice"}, mustSPN(t, l.BackendSPN))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	tokens := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { tokens[i], errs[i] = tk.Negotiate() })
	}
	wg.Wait()
	ref, err := negotiateGokrb5(tk)
	if err != nil {
		t.Fatal(err)
	}
	for i, auth := range append(tokens, ref) {
		if i < n && errs[i] != nil {
			t.Fatal(errs[i])
		}
		if code, body := present(t, auth); code != http.StatusOK || !strings.Contains(body, "REMOTE_USER=alice\n") {
			t.Fatalf("token %d: HTTP %d\n%s", i, code, body)
		}
	}
	if code, _ := present(t, tokens[0]); code != http.StatusUnauthorized {
		t.Errorf("a token sent again: HTTP %d, want 401 from the replay cache", code)
	}
}

// present sends an Authorization value to the lab's Apache.
func present(t *testing.T, auth string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, body, err := lab.Get(ctx, http.Header{"Authorization": {auth}})
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}
