package pluginhost_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
)

// A redirect flow over the real wire, for a built-in and a pinned binary:
// the state the plug-in hands out comes back to it on the callback.
func TestRedirectFlowRoundTripsState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		entry func(t *testing.T) pluginhost.Entry
	}{
		{"builtin", func(*testing.T) pluginhost.Entry { return pluginhost.Entry{Name: "echo", Builtin: true} }},
		{"binary", func(t *testing.T) pluginhost.Entry { return binaryEntry(t, "echo") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := testHost(t)
			a := h.Authenticator(tc.entry(t), pluginhost.Use{App: "hr", Config: map[string]any{"idp": "https://idp.test/auth"}})
			defer a.Close()
			if err := a.Open(ctxTimeout(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			res, err := a.Authenticate(ctxTimeout(t, 5*time.Second), sdk.AuthRequest{Method: "GET", URL: "https://hr.test/?user=alice"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != sdk.OutcomeRedirect || res.Location != "https://idp.test/auth" || string(res.State) != "user:alice" {
				t.Fatalf("first request: got %+v, want a redirect to the configured IdP with state user:alice", res)
			}
			res, err = a.Authenticate(ctxTimeout(t, 5*time.Second), sdk.AuthRequest{Method: "GET", URL: "https://hr.test/.gatehouse/callback", State: res.State})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != sdk.OutcomeAuthenticated || res.Identity.Subject != "alice" {
				t.Fatalf("callback: got %+v, want alice authenticated", res)
			}
		})
	}
}

// A refused config names the app, the plug-in and the key.
func TestOpenRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]any
		want   []string
	}{
		{"unknown key", map[string]any{"idpp": "x"}, []string{`app "hr"`, `plug-in "echo"`, "idpp: unknown key", "known keys: idp, options, timeout"}},
		{"nested unknown key", map[string]any{"options": map[string]any{"greting": "hi"}}, []string{"options.greting: unknown key"}},
		{"wrong type", map[string]any{"idp": 42}, []string{"idp: expected a string, got the number 42"}},
		{"bad duration", map[string]any{"timeout": "soon"}, []string{`timeout: expected a duration like "60s"`}},
		{"every problem at once", map[string]any{"idp": true, "x": 1}, []string{"idp: expected a string", "x: unknown key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := testHost(t)
			a := h.Authenticator(pluginhost.Entry{Name: "echo", Builtin: true}, pluginhost.Use{App: "hr", Config: tc.config})
			defer a.Close()
			err := a.Open(ctxTimeout(t, 10*time.Second))
			var ce *pluginhost.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Open: got %v, want a *pluginhost.ConfigError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		host  func(pluginhost.Host) pluginhost.Host
		entry pluginhost.Entry
		use   pluginhost.Use
		want  error
		text  string
	}{
		{name: "wrong kind", entry: pluginhost.Entry{Name: "inject", Builtin: true}, want: pluginhost.ErrWrongKind, text: "does not serve gatehouse.plugin.v1.Authenticator"},
		{name: "panic in constructor", entry: pluginhost.Entry{Name: "echo", Builtin: true},
			use: pluginhost.Use{Config: map[string]any{"options": map[string]any{"greeting": "panic"}}}, want: pluginhost.ErrPanicked, text: "greeting panic"},
		{name: "other protocol version", host: func(h pluginhost.Host) pluginhost.Host { h.ProtocolVersion = 99; return h },
			entry: pluginhost.Entry{Name: "echo", Builtin: true}, want: pluginhost.ErrIncompatible, text: "speaks protocol version 1 and this host speaks 99"},
		{name: "no such binary", entry: pluginhost.Entry{Name: "gone", Path: "/nonexistent/plugin", SHA256: strings.Repeat("0", 64)}, text: `plug-in "gone": reading the plug-in binary`},
		{name: "invalid entry", entry: pluginhost.Entry{Name: "x", Path: "/bin/true", SHA256: "abc"}, text: "sha256 must be the 64 hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := testHost(t)
			if tc.host != nil {
				h = tc.host(h)
			}
			tc.use.App = "hr"
			a := h.Authenticator(tc.entry, tc.use)
			err := a.Open(ctxTimeout(t, 10*time.Second))
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Open: got %v, want %v containing %q", err, tc.want, tc.text)
			}
			if err := a.Close(); err != nil {
				t.Errorf("Close after a failed Open: %v", err)
			}
		})
	}
}

// A binary whose checksum is not the pinned one is never executed; with the
// right checksum the same file does run (so the test can fail).
func TestChecksumIsCheckedBeforeExecuting(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	script := filepath.Join(dir, "pluginhost.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	good := sha256File(t, script)
	bad := strings.Repeat("ab", 32)
	h, _ := testHost(t)
	h.StartTimeout = 2 * time.Second

	a := h.Authenticator(pluginhost.Entry{Name: "sso", Path: script, SHA256: bad}, pluginhost.Use{App: "hr"})
	err := a.Open(ctxTimeout(t, 5*time.Second))
	a.Close()
	if !errors.Is(err, pluginhost.ErrChecksum) {
		t.Fatalf("Open: got %v, want ErrChecksum", err)
	}
	for _, w := range []string{`plug-in "sso"`, "has sha256 " + good, "expects " + bad} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the binary ran although its checksum did not match")
	}

	a = h.Authenticator(pluginhost.Entry{Name: "sso", Path: script, SHA256: good}, pluginhost.Use{App: "hr"})
	err = a.Open(ctxTimeout(t, 5*time.Second))
	a.Close()
	if err == nil {
		t.Fatal("a shell script passed the plug-in handshake")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("with the right checksum the binary should have run: %v", err)
	}
}

// Close ends the process; calls after it fail with ErrClosed; Close twice
// is fine.
func TestCloseEndsTheProcess(t *testing.T) {
	h, _ := testHost(t)
	inj := h.Injector(pluginhost.Entry{Name: "inject", Builtin: true}, pluginhost.Use{App: "hr"})
	if err := inj.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	pid := inj.PID()
	if pid == 0 {
		t.Fatal("PID is 0 for an open plug-in")
	}
	res, err := inj.Inject(ctxTimeout(t, 5*time.Second), sdk.InjectRequest{Identity: sdk.Identity{Subject: "bob"}})
	if err != nil || res.Set.Get("X-User") != "bob" {
		t.Fatalf("Inject: %+v, %v", res, err)
	}
	if err := inj.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	if _, err := inj.Inject(ctxTimeout(t, time.Second), sdk.InjectRequest{}); !errors.Is(err, pluginhost.ErrClosed) {
		t.Errorf("Inject after Close: got %v, want ErrClosed", err)
	}
	if err := inj.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A reload opens the new instance while the old one serves, then closes
// the old one; the new one keeps serving.
func TestReloadOpensNewBeforeClosingOld(t *testing.T) {
	h, _ := testHost(t)
	entry := pluginhost.Entry{Name: "echo", Builtin: true}
	old := h.Authenticator(entry, pluginhost.Use{App: "hr", Config: map[string]any{"idp": "https://old.test"}})
	if err := old.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	next := h.Authenticator(entry, pluginhost.Use{App: "hr", Config: map[string]any{"idp": "https://new.test"}})
	defer next.Close()
	if err := next.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*pluginhost.Authenticator{old, next} {
		if _, err := a.Authenticate(ctxTimeout(t, 5*time.Second), sdk.AuthRequest{URL: "https://hr.test/"}); err != nil {
			t.Fatalf("both instances should serve during a reload: %v", err)
		}
	}
	old.Close()
	res, err := next.Authenticate(ctxTimeout(t, 5*time.Second), sdk.AuthRequest{URL: "https://hr.test/"})
	if err != nil || res.Location != "https://new.test" {
		t.Fatalf("after closing the old instance: %+v, %v", res, err)
	}
}
