package e2e

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
)

// SAML answers that must not sign anyone in: a response changed after the
// IdP signed it, a response for another app, and a replayed one. Each is
// refused at the callback and the backend sees no request.
func TestSAMLRefusals(t *testing.T) {
	g, idp, backend := samlGateway(t, "app", "other")
	newClient := func() *http.Client {
		c := g.client(false)
		c.Jar, _ = cookiejar.New(nil)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}
	// begin starts a sign-in at app and returns the IdP's answer to post.
	begin := func(c *http.Client, app string) *idplab.Post {
		r := getWith(t, c, "https://"+app+".localhost/.gatehouse/auth/"+app+"/start?return=%2Fx", "Accept", "text/html")
		if r.Status != http.StatusFound {
			t.Fatalf("start: %d %q", r.Status, r.Body)
		}
		post, err := idp.Browser().SignIn(context.Background(), r.Header.Get("Location"), idplab.Alice, idplab.Password)
		if err != nil {
			t.Fatal(err)
		}
		return post
	}
	postTo := func(c *http.Client, action string, form url.Values) response {
		req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		r, err := do(t, c, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	refused := func(t *testing.T, r response) {
		t.Helper()
		if r.Status < 400 || r.Status >= 500 {
			t.Fatalf("got %d %q, want a refusal page", r.Status, r.Body)
		}
	}

	// The control: an untouched answer signs alice in.
	c := newClient()
	post := begin(c, "app")
	good := url.Values{}
	for k, v := range post.Form {
		good[k] = v
	}
	if r := postTo(c, post.Action, post.Form); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/x" {
		t.Fatalf("a valid answer: %d Location %q %q", r.Status, r.Header.Get("Location"), r.Body)
	}
	if s := decodeSeen(t, getWith(t, c, "https://app.localhost/x")); s.User == "" {
		t.Fatalf("signed in but the backend saw no user: %+v", s)
	}

	t.Run("response changed after signing", func(t *testing.T) {
		c := newClient()
		post := begin(c, "app")
		xml, err := base64.StdEncoding.DecodeString(post.Form.Get("SAMLResponse"))
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(xml), ">staff<", ">admins<", 1)
		if changed == string(xml) {
			t.Fatalf("no groups value to change in %.300s", xml)
		}
		post.Form.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(changed)))
		before := backend.hits.Load()
		refused(t, postTo(c, post.Action, post.Form))
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})
	t.Run("response for another app", func(t *testing.T) {
		c := newClient()
		post := begin(c, "app")
		begin(c, "other") // c now holds a sign-in state for "other"
		before := backend.hits.Load()
		refused(t, postTo(c, "https://other.localhost/.gatehouse/auth/other/callback", post.Form))
		if r := getWith(t, c, "https://other.localhost/x", "Accept", "text/html"); r.Status == 200 && strings.Contains(r.Body, "User") {
			t.Fatalf("signed in to other with app's answer: %q", r.Body)
		}
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})
	t.Run("replayed response", func(t *testing.T) {
		replay := newClient()
		begin(replay, "app") // a fresh state of the attacker's own
		before := backend.hits.Load()
		refused(t, postTo(replay, post.Action, good))
		if r := getWith(t, replay, "https://app.localhost/x", "Accept", "text/html"); r.Status == 200 && strings.Contains(r.Body, "User") {
			t.Fatalf("the replay signed in: %q", r.Body)
		}
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})
}
