package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/release"
)

// releaseCmd runs 'gatehouse release keygen|sign|endorse|add|list'. keygen,
// sign and endorse run where the private key is kept (offline, not on the
// gateway); add and list work on the gateway's store.
func releaseCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("release needs a subcommand: keygen, sign, endorse, add or list")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "keygen":
		return releaseKeygen(rest, stdout, stderr)
	case "sign":
		return releaseSign(rest, stdout, stderr)
	case "endorse":
		return releaseEndorse(rest, stdout, stderr)
	case "add":
		return releaseAdd(ctx, rest, stdout, stderr)
	case "list":
		return releaseList(ctx, rest, stdout, stderr)
	default:
		return usageError(fmt.Sprintf("release: unknown subcommand %q (keygen, sign, endorse, add or list)", sub))
	}
}

// keyFlags is a flag set for the commands that take no --config.
func keyFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gatehouse release "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// noArgs parses flags and refuses positional arguments.
func noArgs(fs *flag.FlagSet, args []string, name string) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError(fmt.Sprintf("release %s takes no arguments (got %q)", name, pos))
	}
	return nil
}

func releaseKeygen(args []string, stdout, stderr io.Writer) error {
	fs := keyFlags("keygen", stderr)
	out := fs.String("out", "", "new private key file (required; written mode 0600, never overwritten); keep it offline")
	if err := noArgs(fs, args, "keygen"); err != nil {
		return err
	}
	if *out == "" {
		return usageError("release keygen: --out FILE is required")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("release keygen: %s exists; it may be the key your connectors trust, so it is never overwritten (remove it first, or pick another --out)", *out)
		}
		return fmt.Errorf("release keygen: %w", err)
	}
	_, err = fmt.Fprintln(f, release.FormatPrivateKey(priv))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return fmt.Errorf("release keygen: writing %s: %w", *out, err)
	}
	fmt.Fprintln(stdout, release.FormatPublicKey(pub))
	fmt.Fprintf(stderr, "private key written to %s (mode 0600): keep it offline, off the gateway.\n"+
		"Put the public key above into the gateway config:\n  release:\n    public_key: %s\n", *out, release.FormatPublicKey(pub))
	return nil
}

// readPrivateKey reads a key file written by keygen.
func readPrivateKey(path, flagName string) (ed25519.PrivateKey, error) {
	if path == "" {
		return nil, usageError(fmt.Sprintf("--%s FILE is required", flagName))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("release key: %w", err)
	}
	k, err := release.ParsePrivateKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func releaseSign(args []string, stdout, stderr io.Writer) error {
	fs := keyFlags("sign", stderr)
	keyFile := fs.String("key", "", "private key file from 'gatehouse release keygen' (required)")
	bin := fs.String("binary", "", "the gatehouse-connector binary to sign (required)")
	ver := fs.String("version", "", "its version, a semantic version like v1.4.0 (required)")
	goos := fs.String("os", runtime.GOOS, "the OS it runs on")
	arch := fs.String("arch", runtime.GOARCH, "the CPU architecture it runs on")
	minGW := fs.String("min-gateway", "", "the oldest gateway version it works with (optional)")
	out := fs.String("out", "", "release file to write, JSON {\"manifest\", \"signature\"} (required; never overwritten)")
	if err := noArgs(fs, args, "sign"); err != nil {
		return err
	}
	switch {
	case *bin == "":
		return usageError("release sign: --binary FILE is required")
	case *ver == "":
		return usageError("release sign: --version V is required (like v1.4.0)")
	case *out == "":
		return usageError("release sign: --out FILE is required")
	}
	priv, err := readPrivateKey(*keyFile, "key")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(*bin)
	if err != nil {
		return fmt.Errorf("release sign: %w", err)
	}
	sum := sha256.Sum256(b)
	m := release.Manifest{Version: *ver, OS: *goos, Arch: *arch, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)), MinGateway: *minGW}
	r, err := release.Sign(priv, m)
	if err != nil {
		return usageError(err.Error())
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := writeNew(*out, append(j, '\n'), 0o644); err != nil {
		return fmt.Errorf("release sign: %w", err)
	}
	fmt.Fprintf(stdout, "signed %s %s/%s (%d bytes, sha256 %s) with %s into %s\n",
		m.Version, m.OS, m.Arch, m.Size, m.SHA256, release.FormatPublicKey(priv.Public().(ed25519.PublicKey)), *out)
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

func releaseEndorse(args []string, stdout, stderr io.Writer) error {
	fs := keyFlags("endorse", stderr)
	oldFile := fs.String("old-key", "", "the private key file connectors trust now (required)")
	newFile := fs.String("new-key", "", "the new private key file, from 'gatehouse release keygen' (required)")
	if err := noArgs(fs, args, "endorse"); err != nil {
		return err
	}
	old, err := readPrivateKey(*oldFile, "old-key")
	if err != nil {
		return err
	}
	next, err := readPrivateKey(*newFile, "new-key")
	if err != nil {
		return err
	}
	if old.Equal(next) {
		return usageError("release endorse: --old-key and --new-key are the same key")
	}
	e := release.Endorse(old, next.Public().(ed25519.PublicKey))
	j, err := json.Marshal(e)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(j))
	fmt.Fprintln(stderr, "append it to release.endorsements in the gateway config (oldest first, keep public_key as it is):\n  release:\n    endorsements:\n      - "+string(j))
	return nil
}

// readRelease reads --release FILE, or --manifest M (the exact signed bytes)
// with --signature S (base64).
func readRelease(relFile, manFile, sigFile string) (release.Release, error) {
	var r release.Release
	switch {
	case relFile != "" && (manFile != "" || sigFile != ""):
		return r, usageError("release add: give --release FILE, or --manifest M with --signature S, not both")
	case relFile != "":
		b, err := os.ReadFile(relFile)
		if err != nil {
			return r, err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return r, fmt.Errorf("%s is not a release file (JSON {\"manifest\", \"signature\"} from 'gatehouse release sign'): %v", relFile, err)
		}
		return r, nil
	case manFile == "" || sigFile == "":
		return r, usageError("release add: --release FILE is required (or --manifest M with --signature S)")
	}
	m, err := os.ReadFile(manFile)
	if err != nil {
		return r, err
	}
	s, err := os.ReadFile(sigFile)
	if err != nil {
		return r, err
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(s)))
	if err != nil {
		return r, fmt.Errorf("%s: the signature must be standard base64: %v", sigFile, err)
	}
	return release.Release{Manifest: m, Signature: sig}, nil
}

func releaseAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("release add", stderr)
	relFile := fs.String("release", "", "the release file 'gatehouse release sign' wrote (required)")
	manFile := fs.String("manifest", "", "instead of --release: the signed manifest JSON file")
	sigFile := fs.String("signature", "", "with --manifest: a file holding its base64 signature")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fmt.Sprintf("release add takes one argument, the connector binary (got %q)", pos))
	}
	r, err := readRelease(*relFile, *manFile, *sigFile)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if cfg.Release.PublicKey == "" {
		return fmt.Errorf("%s has no release.public_key: connectors would trust no release; set it to the key 'gatehouse release keygen' printed", cfg.Path)
	}
	root, err := release.ParsePublicKey(cfg.Release.PublicKey)
	if err != nil {
		return err
	}
	m, err := release.Verify(root, cfg.Release.Chain(), r)
	if err != nil {
		return fmt.Errorf("release refused: %w", err)
	}
	bin, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	if err := m.CheckBinary(bin); err != nil {
		return fmt.Errorf("release refused, %s is not the binary that was signed: %w", pos[0], err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, old, err := releases.Get(ctx, st, m.Version, m.OS, m.Arch); err == nil && m.CheckBinary(old) != nil {
		return fmt.Errorf("release %s %s/%s is already stored with another binary: give the new build a new version", m.Version, m.OS, m.Arch)
	}
	if err := releases.Put(ctx, st, r, bin); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added release %s %s/%s (%d bytes, sha256 %s)\n", m.Version, m.OS, m.Arch, m.Size, m.SHA256)
	return nil
}

// jsonRelease is one release of 'gatehouse release list --json'.
type jsonRelease struct {
	Version    string    `json:"version"`
	OS         string    `json:"os"`
	Arch       string    `json:"arch"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	MinGateway string    `json:"min_gateway"`
	Added      time.Time `json:"added"`
}

func releaseList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("release list", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object: {\"releases\": [...]}")
	if err := noArgs(fs, args, "list"); err != nil {
		return err
	}
	_, st, err := loadStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := releases.List(ctx, st)
	if err != nil {
		return err
	}
	out := make([]jsonRelease, 0, len(list))
	for _, e := range list {
		m := e.Manifest
		out = append(out, jsonRelease{m.Version, m.OS, m.Arch, m.Size, m.SHA256, m.MinGateway, e.Added.UTC()})
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{"releases": out})
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no releases stored; add one with 'gatehouse release add BINARY --release FILE'")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tOS/ARCH\tSIZE\tSHA256\tMIN GATEWAY\tADDED")
	for _, r := range out {
		mg := r.MinGateway
		if mg == "" {
			mg = "-"
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%d\t%s\t%s\t%s\n", r.Version, r.OS, r.Arch, r.Size, r.SHA256[:16], mg, r.Added.Format(time.RFC3339))
	}
	return tw.Flush()
}
