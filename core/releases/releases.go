// Package releases keeps signed connector releases in the gateway's store,
// as blobs: releases/<version>/<os>-<arch>/release (the JSON of a
// release.Release) and releases/<version>/<os>-<arch>/binary.
//
// It verifies no signature: callers verify a release with the configured
// release key before Put, and connectors verify it again before they run it.
// Get does check that the stored binary is the one its manifest describes,
// so a damaged or half-written entry is never handed out.
package releases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/release"
	"golang.org/x/mod/semver"
)

// Prefix is the store key every release lives under.
const Prefix = "releases/"

// Entry is one stored release, as List returns it.
type Entry struct {
	Manifest release.Manifest
	Added    time.Time // when its release blob was written
}

func key(version, goos, arch string) string {
	return Prefix + version + "/" + goos + "-" + arch
}

// Put stores r and its binary. It verifies no signature (verify first); it
// only reads the manifest to name the keys. The binary is written first and
// the release last, so a release that List shows always has its binary.
func Put(ctx context.Context, st store.Store, r release.Release, binary []byte) error {
	m, err := release.ParseManifest(r.Manifest)
	if err != nil {
		return err
	}
	rj, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("release %s: %v", m.Version, err)
	}
	k := key(m.Version, m.OS, m.Arch)
	now := time.Now()
	if err := st.PutBlob(ctx, k+"/binary", binary, now); err != nil {
		return fmt.Errorf("storing the binary of release %s %s/%s: %w", m.Version, m.OS, m.Arch, err)
	}
	if err := st.PutBlob(ctx, k+"/release", rj, now); err != nil {
		return fmt.Errorf("storing release %s %s/%s: %w", m.Version, m.OS, m.Arch, err)
	}
	return nil
}

// Get returns the release version for os/arch and its binary, or an error
// wrapping store.ErrNotFound. The binary is checked against the manifest.
func Get(ctx context.Context, st store.Store, version, goos, arch string) (release.Release, []byte, error) {
	if version == "" || goos == "" || arch == "" || strings.Contains(version+goos+arch, "/") {
		return release.Release{}, nil, fmt.Errorf("release %q %q/%q: version, os and arch must be set and contain no '/'", version, goos, arch)
	}
	k := key(version, goos, arch)
	r, m, _, err := readRelease(ctx, st, k+"/release")
	if err != nil {
		return release.Release{}, nil, err
	}
	if m.Version != version || m.OS != goos || m.Arch != arch {
		return release.Release{}, nil, fmt.Errorf("store key %s holds release %s %s/%s: the store is damaged; add the release again", k, m.Version, m.OS, m.Arch)
	}
	b, err := st.GetBlob(ctx, k+"/binary")
	if err != nil {
		return release.Release{}, nil, fmt.Errorf("binary of release %s %s/%s: %w", version, goos, arch, err)
	}
	if err := m.CheckBinary(b.Value); err != nil {
		return release.Release{}, nil, fmt.Errorf("stored %v; add the release again", err)
	}
	return r, b.Value, nil
}

func readRelease(ctx context.Context, st store.Store, k string) (release.Release, release.Manifest, time.Time, error) {
	var r release.Release
	b, err := st.GetBlob(ctx, k)
	if err != nil {
		return r, release.Manifest{}, time.Time{}, fmt.Errorf("release %s: %w", strings.TrimSuffix(strings.TrimPrefix(k, Prefix), "/release"), err)
	}
	if err := json.Unmarshal(b.Value, &r); err != nil {
		return r, release.Manifest{}, time.Time{}, fmt.Errorf("store key %s is not a release: %v", k, err)
	}
	m, err := release.ParseManifest(r.Manifest)
	if err != nil {
		return r, m, time.Time{}, fmt.Errorf("store key %s: %v", k, err)
	}
	return r, m, b.Modified, nil
}

// List returns every stored release, newest version first (then by os and
// arch).
func List(ctx context.Context, st store.Store) ([]Entry, error) {
	keys, err := st.ListBlobs(ctx, Prefix)
	if err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	var out []Entry
	for _, k := range keys {
		if !strings.HasSuffix(k, "/release") {
			continue
		}
		_, m, added, err := readRelease(ctx, st, k)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since ListBlobs
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Manifest: m, Added: added})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Manifest, out[j].Manifest
		if c := semver.Compare(a.Version, b.Version); c != 0 {
			return c > 0
		}
		if a.OS != b.OS {
			return a.OS < b.OS
		}
		return a.Arch < b.Arch
	})
	return out, nil
}

// Newest returns the release with the highest version for os/arch, or an
// error wrapping store.ErrNotFound when there is none.
func Newest(ctx context.Context, st store.Store, goos, arch string) (release.Release, []byte, error) {
	entries, err := List(ctx, st)
	if err != nil {
		return release.Release{}, nil, err
	}
	for _, e := range entries {
		if e.Manifest.OS == goos && e.Manifest.Arch == arch {
			return Get(ctx, st, e.Manifest.Version, goos, arch)
		}
	}
	return release.Release{}, nil, fmt.Errorf("no release for %s/%s: %w", goos, arch, store.ErrNotFound)
}
