package releases

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/release"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var signKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))

func signed(t *testing.T, version, goos, arch string, bin []byte) release.Release {
	t.Helper()
	sum := sha256.Sum256(bin)
	r, err := release.Sign(signKey, release.Manifest{Version: version, OS: goos, Arch: arch, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(bin))})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPutGetListNewest(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	if got, err := List(ctx, st); err != nil || len(got) != 0 {
		t.Fatalf("List on an empty store = %v, %v", got, err)
	}
	if _, _, err := Newest(ctx, st, "linux", "amd64"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Newest on an empty store: %v, want ErrNotFound", err)
	}
	bins := map[string][]byte{}
	for _, v := range []struct{ version, goos, arch string }{
		{"v1.2.0", "linux", "amd64"}, {"v1.10.0", "linux", "amd64"}, {"v1.9.0", "linux", "amd64"},
		{"v1.11.0", "linux", "arm64"}, {"v1.10.0", "darwin", "arm64"},
	} {
		bin := []byte("binary " + v.version + " " + v.goos + "/" + v.arch)
		bins[v.version+v.goos+v.arch] = bin
		if err := Put(ctx, st, signed(t, v.version, v.goos, v.arch, bin), bin); err != nil {
			t.Fatal(err)
		}
		r, b, err := Get(ctx, st, v.version, v.goos, v.arch)
		if err != nil || !bytes.Equal(b, bin) {
			t.Fatalf("Get(%s) = %q, %v", v.version, b, err)
		}
		if m, err := release.Verify(signKey.Public().(ed25519.PublicKey), nil, r); err != nil || m.Version != v.version {
			t.Fatalf("stored release does not verify: %+v, %v", m, err)
		}
	}
	entries, err := List(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Manifest.Version+" "+e.Manifest.OS+"/"+e.Manifest.Arch)
		if e.Added.IsZero() {
			t.Errorf("entry %s has no Added time", e.Manifest.Version)
		}
	}
	want := "v1.11.0 linux/arm64,v1.10.0 darwin/arm64,v1.10.0 linux/amd64,v1.9.0 linux/amd64,v1.2.0 linux/amd64"
	if strings.Join(got, ",") != want {
		t.Fatalf("List = %v, want %s (newest semver first, not string order)", got, want)
	}
	r, b, err := Newest(ctx, st, "linux", "amd64")
	if err != nil || !bytes.Equal(b, bins["v1.10.0linuxamd64"]) {
		t.Fatalf("Newest(linux/amd64) = %q, %v; want v1.10.0", b, err)
	}
	if m, _ := release.ParseManifest(r.Manifest); m.Version != "v1.10.0" {
		t.Fatalf("Newest manifest = %+v", m)
	}
	if _, _, err := Newest(ctx, st, "windows", "amd64"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Newest(windows): %v, want ErrNotFound", err)
	}
	if _, _, err := Get(ctx, st, "v1.3.0", "linux", "amd64"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(missing): %v, want ErrNotFound", err)
	}
	// Adding the same release again replaces it.
	if err := Put(ctx, st, signed(t, "v1.2.0", "linux", "amd64", bins["v1.2.0linuxamd64"]), bins["v1.2.0linuxamd64"]); err != nil {
		t.Fatal(err)
	}
	if entries, _ := List(ctx, st); len(entries) != 5 {
		t.Fatalf("after adding a release again, List has %d entries, want 5", len(entries))
	}
}

func TestGetRefusesDamagedEntries(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	bin := []byte("the binary")
	if err := Put(ctx, st, signed(t, "v1.0.0", "linux", "amd64", bin), bin); err != nil {
		t.Fatal(err)
	}
	k := "releases/v1.0.0/linux-amd64"
	// A binary that does not match its manifest is never handed out.
	if err := st.PutBlob(ctx, k+"/binary", []byte("the binarY"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Get(ctx, st, "v1.0.0", "linux", "amd64"); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("Get with a changed binary: %v, want a sha256 error", err)
	}
	// A release without its binary (half-deleted).
	if _, err := st.DeleteBlobs(ctx, k+"/binary"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Get(ctx, st, "v1.0.0", "linux", "amd64"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get without a binary: %v, want ErrNotFound", err)
	}
	// A release stored under another version's signKey.
	other := []byte("other")
	r2 := signed(t, "v2.0.0", "linux", "amd64", other)
	rj := []byte(`{"manifest":"` + b64(r2.Manifest) + `","signature":"` + b64(r2.Signature) + `"}`)
	if err := st.PutBlob(ctx, k+"/release", rj, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.PutBlob(ctx, k+"/binary", other, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Get(ctx, st, "v1.0.0", "linux", "amd64"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Get of a misplaced release: %v, want 'damaged'", err)
	}
	// Not JSON at all: List says which signKey.
	if err := st.PutBlob(ctx, k+"/release", []byte("garbage"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := List(ctx, st); err == nil || !strings.Contains(err.Error(), k+"/release") {
		t.Fatalf("List with a damaged entry: %v, want an error naming the signKey", err)
	}
	for _, bad := range [][3]string{{"", "linux", "amd64"}, {"v1.0.0/../x", "linux", "amd64"}, {"v1.0.0", "linux/x", "amd64"}} {
		if _, _, err := Get(ctx, st, bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("Get(%q) = nil error", bad)
		}
	}
	// Put refuses a manifest that does not parse.
	if err := Put(ctx, st, release.Release{Manifest: []byte(`{}`)}, bin); err == nil {
		t.Fatal("Put with an empty manifest succeeded")
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
