package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// exitConfig writes a config with one app behind an access policy, a
// SQLite store holding one connector and two sign-ins, and returns its
// path.
func exitConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.yaml")
	yaml := "listen:\n  admin: 127.0.0.1:1\nplugins:\n  - name: header\n    builtin: true\nconnector_groups:\n  - name: default\n" +
		"apps:\n  - name: hr\n    host: hr.example.com\n    group: default\n    auth: {plugin: header}\n    access: {groups: [staff]}\n" +
		"    backend:\n      url: http://10.0.0.5:8080\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "data", "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	if err := st.AddConnector(t.Context(), store.Connector{ID: "c-1", Group: "default", Hostname: "edge1", LastSeen: now, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []store.SignIn{
		{At: now.Add(-time.Hour), App: "hr", Plugin: "header", Subject: "alice", Result: "signed_in", ClientIP: "192.0.2.1"},
		{At: now.Add(-time.Minute), App: "hr", Plugin: "header", Subject: "bob", Result: "denied", Reason: "groups"},
	} {
		if err := st.AddSignIn(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	return file
}

// Every command keeps one convention: 0 done, 1 failed or DENY, 2 a
// usage error (an unknown command, subcommand or flag; a missing or
// extra argument).
func TestExitCodes(t *testing.T) {
	cfg := exitConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // an address where no admin API answers
	if err != nil {
		t.Fatal(err)
	}
	deadAdmin := ln.Addr().String()
	ln.Close()
	c := []string{"--config", cfg}
	tests := []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"nonsense"}, 2},
		{[]string{"help"}, 0},
		{[]string{"version"}, 0},
		{[]string{"--version"}, 0},
		{[]string{"serve", "--bogus"}, 2},
		{[]string{"status", "--bogus"}, 2},
		{append([]string{"status", "--admin", deadAdmin}, c...), 1},
		{[]string{"status", "--admin", "no-port"}, 2},
		{[]string{"token"}, 2},
		{append([]string{"token", "create"}, c...), 2}, // --group missing
		{append([]string{"token", "create", "--group", "nope"}, c...), 1},
		{append([]string{"connectors"}, c...), 0},
		{append([]string{"connectors", "--json"}, c...), 0},
		{append([]string{"connectors", "--bogus"}, c...), 2},
		{append([]string{"connectors", "extra"}, c...), 2},
		{append([]string{"connectors", "remove"}, c...), 2},
		{append([]string{"connectors", "remove", "no-such-id"}, c...), 1},
		{append([]string{"connectors", "remove", "--config", filepath.Join(t.TempDir(), "missing.yaml")}, "c-1"), 1},
		{append([]string{"connectors", "update"}, c...), 2}, // --group missing
		{append([]string{"connectors", "update", "--group", "default", "extra"}, c...), 2},
		{append([]string{"connectors", "update", "--group", "default", "--version", "1.4"}, c...), 2}, // not semver
		{append([]string{"connectors", "update", "--group", "nope"}, c...), 1},
		{append([]string{"connectors", "update", "--group", "default", "--version", "v9.9.9"}, c...), 1}, // not stored
		{append([]string{"connectors", "update", "--group", "default"}, c...), 0},
		{[]string{"connectors", "update", "-h"}, 0},
		{[]string{"sessions"}, 2},
		{[]string{"sessions", "nonsense"}, 2},
		{append([]string{"sessions", "list"}, c...), 0},
		{append([]string{"sessions", "list", "--json", "--user", "alice"}, c...), 0},
		{append([]string{"sessions", "list", "--bogus"}, c...), 2},
		{append([]string{"sessions", "revoke"}, c...), 2},
		{append([]string{"sessions", "revoke", "--user", "nobody"}, c...), 0},
		{append([]string{"signins"}, c...), 0},
		{append([]string{"signins", "--json", "--user", "bob", "--app", "hr", "--since", "24h", "--result", "denied"}, c...), 0},
		{append([]string{"signins", "--result", "maybe"}, c...), 2},
		{append([]string{"signins", "--since", "yesterday"}, c...), 2},
		{append([]string{"signins", "--limit", "0"}, c...), 2},
		{[]string{"vault"}, 2},
		{append([]string{"vault", "set", "--app", "hr"}, c...), 2},
		{[]string{"policy"}, 2},
		{append([]string{"policy", "test", "--app", "hr"}, c...), 2},
		{append([]string{"policy", "test", "--app", "hr", "--user", "alice", "--groups", "staff"}, c...), 0},
		{append([]string{"policy", "test", "--app", "hr", "--user", "bob", "--groups", "guests"}, c...), 1},
		{append([]string{"policy", "test", "--app", "nope", "--user", "bob"}, c...), 1},
		{[]string{"config"}, 2},
		{[]string{"config", "check"}, 2},
		{[]string{"config", "check", "a", "b"}, 2},
		{[]string{"config", "check", "--bogus", "a"}, 2},
		{[]string{"config", "check", filepath.Join(t.TempDir(), "missing.yaml")}, 1},
		{[]string{"plugin"}, 2},
		{[]string{"plugin", "check"}, 2},
		{[]string{"plugin", "check", "--bogus", "x"}, 2},
		{[]string{"plugin", "check", filepath.Join(t.TempDir(), "missing-plugin")}, 1},
		{[]string{"store"}, 2},
		{[]string{"store", "backup"}, 2},
		{[]string{"store", "backup", "--bogus", "x"}, 2},
		{[]string{"store", "migrate"}, 2},
		{[]string{"store", "migrate", "--from", "sqlite:x.db"}, 2},
		{[]string{"store", "migrate", "--from", "sqlite:" + filepath.Join(t.TempDir(), "missing.db"), "--to", "postgres-file:/nonexistent"}, 1},
		{[]string{"store", "migrate", "-h"}, 0},
		{[]string{"release"}, 2},
		{[]string{"release", "nonsense"}, 2},
		{[]string{"release", "keygen"}, 2}, // --out missing
		{[]string{"release", "keygen", "--out", filepath.Join(t.TempDir(), "k"), "extra"}, 2},
		{[]string{"release", "keygen", "--out", cfg}, 1}, // exists
		{[]string{"release", "sign", "--bogus"}, 2},
		{[]string{"release", "sign", "--binary", "b", "--version", "v1.0.0", "--out", "o"}, 2}, // --key missing
		{[]string{"release", "sign", "--key", filepath.Join(t.TempDir(), "missing"), "--binary", "b", "--version", "v1.0.0", "--out", "o"}, 1},
		{[]string{"release", "endorse"}, 2},
		{append([]string{"release", "add"}, c...), 2},        // the binary missing
		{append([]string{"release", "add", "bin"}, c...), 2}, // --release missing
		{append([]string{"release", "add", "bin", "--release", filepath.Join(t.TempDir(), "missing.json")}, c...), 1},
		{append([]string{"release", "add", "bin", "--release", cfg}, c...), 1}, // not a release file
		{append([]string{"release", "list"}, c...), 0},
		{append([]string{"release", "list", "--json"}, c...), 0},
		{append([]string{"release", "list", "--bogus"}, c...), 2},
		{[]string{"release", "list", "-h"}, 0},
		{[]string{"connect"}, 2},
		{[]string{"connect", "https://ssh.example.com"}, 2},                                       // neither --listen nor --stdio
		{[]string{"connect", "https://ssh.example.com", "--stdio", "--listen", "127.0.0.1:1"}, 2}, // both
		{[]string{"connect", "https://ssh.example.com", "--listen", "0.0.0.0:2222"}, 2},           // not loopback
		{[]string{"connect", "http://ssh.example.com", "--stdio"}, 2},                             // not https
		{[]string{"connect", "https://ssh.example.com/x", "--stdio"}, 2},                          // a path
		{[]string{"connect", "https://ssh.example.com", "--stdio", "--token", "t", "--token-file", "f"}, 2},
		{[]string{"connect", "https://" + deadAdmin, "--stdio", "--token", "t"}, 1}, // unreachable
		{[]string{"connect", "-h"}, 0},
		{[]string{"completion"}, 2},
		{[]string{"completion", "tcsh"}, 2},
		{[]string{"completion", "bash"}, 0},
		{[]string{"connectors", "-h"}, 0},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		got := exitCode(run(ctx, tt.args, &stdout, &stderr), &stderr)
		cancel()
		if got != tt.want {
			t.Errorf("gatehouse %s: exit code %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tt.args, " "), got, tt.want, stdout.String(), stderr.String())
		}
	}
}

// The outputs the exit codes go with: DENY is printed, an unknown
// connector is named, a user without sessions is told so, and --json is
// one JSON document with the documented fields.
func TestCLIOutputs(t *testing.T) {
	cfg := exitConfig(t)
	out := func(want int, args ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if got := exitCode(run(t.Context(), append(args, "--config", cfg), &stdout, &stderr), &stderr); got != want {
			t.Fatalf("gatehouse %s: exit code %d, want %d; stderr: %s", strings.Join(args, " "), got, want, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	if o, _ := out(1, "policy", "test", "--app", "hr", "--user", "bob"); !strings.HasPrefix(o, "DENY") {
		t.Errorf("policy test for a user outside the policy printed %q, want DENY", o)
	}
	if _, e := out(1, "connectors", "remove", "c-9"); !strings.Contains(e, `no connector "c-9"`) {
		t.Errorf("removing an unknown connector said %q", e)
	}
	if o, _ := out(0, "sessions", "revoke", "--user", "carol"); !strings.Contains(o, "has no session") {
		t.Errorf("revoking a user without sessions said %q", o)
	}
	var sessions struct {
		Sessions []map[string]any `json:"sessions"`
	}
	o, _ := out(0, "sessions", "list", "--json")
	if err := json.Unmarshal([]byte(o), &sessions); err != nil || len(sessions.Sessions) != 1 || sessions.Sessions[0]["user"] != "alice" || sessions.Sessions[0]["expires_by"] == nil {
		t.Fatalf("sessions list --json = %s (%v); want alice's one session", o, err)
	}
	out(0, "sessions", "revoke", "--user", "alice")
	if o, _ := out(0, "sessions", "list", "--json"); !strings.Contains(o, `"sessions": []`) {
		t.Errorf("after revoking alice, sessions list --json = %s; want none", o)
	}
	var signins struct {
		SignIns []map[string]any `json:"signins"`
	}
	o, _ = out(0, "signins", "--json", "--result", "denied")
	if err := json.Unmarshal([]byte(o), &signins); err != nil || len(signins.SignIns) != 1 || signins.SignIns[0]["user"] != "bob" || signins.SignIns[0]["reason"] != "groups" {
		t.Fatalf("signins --json --result denied = %s (%v); want bob's denial", o, err)
	}
	if o, _ = out(0, "signins", "--json", "--user", "alice", "--since", "30m"); !strings.Contains(o, `"signins": []`) {
		t.Errorf("alice's sign-ins of the last 30m = %s; want none (hers was an hour ago)", o)
	}
	var conns struct {
		Connectors []map[string]any `json:"connectors"`
	}
	o, _ = out(0, "connectors", "--json")
	if err := json.Unmarshal([]byte(o), &conns); err != nil || len(conns.Connectors) != 1 || conns.Connectors[0]["id"] != "c-1" || conns.Connectors[0]["status"] != "active" {
		t.Fatalf("connectors --json = %s (%v)", o, err)
	}
	if o, _ := out(0, "connectors", "remove", "c-1"); !strings.Contains(o, "removed connector c-1") {
		t.Errorf("connectors remove said %q", o)
	}
	if o, _ := out(0, "connectors", "--json"); !strings.Contains(o, `"connectors": []`) {
		t.Errorf("after the removal, connectors --json = %s; want none", o)
	}
}
