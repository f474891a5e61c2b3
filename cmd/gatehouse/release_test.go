package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/release"
)

// gh runs the CLI and checks its exit code.
func gh(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if got := exitCode(run(t.Context(), args, &stdout, &stderr), &stderr); got != want {
		t.Fatalf("gatehouse %s: exit code %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, want, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// releaseConfig writes a gateway config trusting publicKey (after the
// endorsements, YAML flow items) and returns its path.
func releaseConfig(t *testing.T, dir, publicKey string, endorsements ...string) string {
	t.Helper()
	y := "connector_groups:\n  - name: default\nrelease:\n  public_key: " + publicKey + "\n"
	if len(endorsements) > 0 {
		y += "  endorsements:\n"
		for _, e := range endorsements {
			y += "    - " + e + "\n"
		}
	}
	file := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(file, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func storedReleases(t *testing.T, cfg string) []releases.Entry {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(filepath.Dir(cfg), "data", "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := releases.List(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// The offline half (keygen, sign) and the gateway half (add, list) of a
// release, and everything add refuses before it writes anything.
func TestReleaseCommands(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "release.key")
	pub, _ := gh(t, 0, "release", "keygen", "--out", key)
	pub = strings.TrimSpace(pub)
	if _, err := release.ParsePublicKey(pub); err != nil {
		t.Fatalf("keygen printed %q: %v", pub, err)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	before, _ := os.ReadFile(key)
	if _, e := gh(t, 1, "release", "keygen", "--out", key); !strings.Contains(e, "never overwritten") {
		t.Errorf("keygen over an existing key said %q", e)
	}
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Fatal("keygen changed an existing key file")
	}

	bin := filepath.Join(dir, "gatehouse-connector")
	if err := os.WriteFile(bin, []byte("connector v1.2.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join(dir, "v1.2.0.json")
	gh(t, 0, "release", "sign", "--key", key, "--binary", bin, "--version", "v1.2.0", "--os", "linux", "--arch", "arm64", "--min-gateway", "v1.0.0", "--out", rel)
	gh(t, 1, "release", "sign", "--key", key, "--binary", bin, "--version", "v1.2.0", "--out", rel) // exists
	gh(t, 2, "release", "sign", "--key", key, "--binary", bin, "--version", "1.2", "--out", filepath.Join(dir, "x.json"))

	noKey := filepath.Join(t.TempDir(), "gatehouse.yaml")
	os.WriteFile(noKey, []byte("connector_groups:\n  - name: default\n"), 0o600)
	if _, e := gh(t, 1, "release", "add", "--config", noKey, bin, "--release", rel); !strings.Contains(e, "no release.public_key") {
		t.Errorf("add with a config without a release key said %q", e)
	}
	cfg := releaseConfig(t, dir, pub)
	// A binary that is not the one signed: refused, nothing stored.
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("connector v1.2.1"), 0o755)
	if _, e := gh(t, 1, "release", "add", "--config", cfg, other, "--release", rel); !strings.Contains(e, "sha256") {
		t.Errorf("add with another binary of the same size said %q", e)
	}
	os.WriteFile(other, []byte("short"), 0o755)
	if _, e := gh(t, 1, "release", "add", "--config", cfg, other, "--release", rel); !strings.Contains(e, "bytes") {
		t.Errorf("add with a binary of another size said %q", e)
	}
	// Signed by another key: refused.
	otherKey := filepath.Join(dir, "other.key")
	gh(t, 0, "release", "keygen", "--out", otherKey)
	forged := filepath.Join(dir, "forged.json")
	gh(t, 0, "release", "sign", "--key", otherKey, "--binary", bin, "--version", "v1.2.0", "--out", forged)
	if _, e := gh(t, 1, "release", "add", "--config", cfg, bin, "--release", forged); !strings.Contains(e, "does not verify") {
		t.Errorf("add of a release signed by another key said %q", e)
	}
	if list := storedReleases(t, cfg); len(list) != 0 {
		t.Fatalf("refused releases were stored: %+v", list)
	}

	o, _ := gh(t, 0, "release", "add", "--config", cfg, bin, "--release", rel)
	if !strings.Contains(o, "added release v1.2.0 linux/arm64") {
		t.Errorf("add said %q", o)
	}
	gh(t, 0, "release", "add", bin, "--release", rel, "--config", cfg) // the same again: fine
	var listed struct {
		Releases []jsonRelease `json:"releases"`
	}
	o, _ = gh(t, 0, "release", "list", "--config", cfg, "--json")
	if err := json.Unmarshal([]byte(o), &listed); err != nil || len(listed.Releases) != 1 {
		t.Fatalf("release list --json = %s (%v)", o, err)
	}
	if r := listed.Releases[0]; r.Version != "v1.2.0" || r.OS != "linux" || r.Arch != "arm64" || r.Size != 16 || r.MinGateway != "v1.0.0" || r.Added.IsZero() {
		t.Fatalf("listed %+v", r)
	}
	if o, _ := gh(t, 0, "release", "list", "--config", cfg); !strings.Contains(o, "v1.2.0") || !strings.Contains(o, "linux/arm64") {
		t.Errorf("release list = %q", o)
	}

	// The form: the manifest and its base64 signature as two files.
	var r release.Release
	b, _ := os.ReadFile(rel)
	json.Unmarshal(b, &r)
	man, sig := filepath.Join(dir, "manifest.json"), filepath.Join(dir, "manifest.sig")
	os.WriteFile(man, r.Manifest, 0o644)
	os.WriteFile(sig, []byte(base64Std(r.Signature)+"\n"), 0o644)
	gh(t, 0, "release", "add", "--config", cfg, bin, "--manifest", man, "--signature", sig)
	gh(t, 2, "release", "add", "--config", cfg, bin, "--manifest", man)
	gh(t, 2, "release", "add", "--config", cfg, bin, "--release", rel, "--manifest", man, "--signature", sig)
}

// A rotated key: releases signed by the new key are accepted through the
// endorsement chain in the config, and refused without it.
func TestReleaseKeyRotation(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := filepath.Join(dir, "k1"), filepath.Join(dir, "k2")
	pub1, _ := gh(t, 0, "release", "keygen", "--out", k1)
	gh(t, 0, "release", "keygen", "--out", k2)
	endorsement, _ := gh(t, 0, "release", "endorse", "--old-key", k1, "--new-key", k2)
	var e release.Endorsement
	if err := json.Unmarshal([]byte(endorsement), &e); err != nil || len(e.Signature) != 64 {
		t.Fatalf("endorse printed %q (%v)", endorsement, err)
	}
	gh(t, 2, "release", "endorse", "--old-key", k1, "--new-key", k1)
	gh(t, 2, "release", "endorse", "--old-key", k1)

	bin := filepath.Join(dir, "bin")
	os.WriteFile(bin, []byte("connector v2.0.0"), 0o755)
	rel := filepath.Join(dir, "rel.json")
	gh(t, 0, "release", "sign", "--key", k2, "--binary", bin, "--version", "v2.0.0", "--out", rel)

	without := releaseConfig(t, t.TempDir(), strings.TrimSpace(pub1))
	if _, e := gh(t, 1, "release", "add", "--config", without, bin, "--release", rel); !strings.Contains(e, "does not verify") {
		t.Errorf("add of a rotated-key release without the endorsement said %q", e)
	}
	with := releaseConfig(t, dir, strings.TrimSpace(pub1), strings.TrimSpace(endorsement))
	gh(t, 0, "release", "add", "--config", with, bin, "--release", rel)
	if list := storedReleases(t, with); len(list) != 1 || list[0].Manifest.Version != "v2.0.0" {
		t.Fatalf("stored %+v", list)
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
