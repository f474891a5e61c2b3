package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func manifestFor(bin []byte, version string) Manifest {
	sum := sha256.Sum256(bin)
	return Manifest{Version: version, OS: "linux", Arch: "amd64", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(bin)), MinGateway: "v1.0.0"}
}

func mustSign(t testing.TB, priv ed25519.PrivateKey, m Manifest) Release {
	t.Helper()
	r, err := Sign(priv, m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantErr(t *testing.T, err error, sub string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", sub)
	}
	if !strings.Contains(err.Error(), sub) {
		t.Fatalf("error %q does not contain %q", err, sub)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	pub, priv := newKey(t)
	bin := []byte("a connector binary")
	m := manifestFor(bin, "v1.4.0")
	r := mustSign(t, priv, m)
	// A release travels as JSON (the release file, the store, the tunnel).
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Release
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got, err := Verify(pub, nil, back)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got != m {
		t.Fatalf("Verify = %+v, want %+v", got, m)
	}
	if err := got.CheckBinary(bin); err != nil {
		t.Fatalf("CheckBinary: %v", err)
	}
}

func TestVerifyRefusesTampering(t *testing.T) {
	pub, priv := newKey(t)
	r := mustSign(t, priv, manifestFor([]byte("bin"), "v1.4.0"))
	for i := range r.Manifest {
		bad := Release{Manifest: bytes.Clone(r.Manifest), Signature: r.Signature}
		bad.Manifest[i] ^= 0x01
		if _, err := Verify(pub, nil, bad); err == nil {
			t.Fatalf("manifest byte %d flipped: Verify accepted it", i)
		}
	}
	for i := range r.Signature {
		bad := Release{Manifest: r.Manifest, Signature: bytes.Clone(r.Signature)}
		bad.Signature[i] ^= 0x80
		if _, err := Verify(pub, nil, bad); err == nil {
			t.Fatalf("signature byte %d flipped: Verify accepted it", i)
		}
	}
	_, err := Verify(pub, nil, Release{Manifest: r.Manifest, Signature: r.Signature[:10]})
	wantErr(t, err, "signature has 10 bytes")
	_, err = Verify(pub, nil, Release{Manifest: r.Manifest})
	wantErr(t, err, "signature has 0 bytes")
}

func TestVerifyRefusesOtherKey(t *testing.T) {
	pub, _ := newKey(t)
	_, other := newKey(t)
	r := mustSign(t, other, manifestFor([]byte("bin"), "v1.4.0"))
	_, err := Verify(pub, nil, r)
	wantErr(t, err, "signature does not verify with the trusted key")
	_, err = Verify(nil, nil, r)
	wantErr(t, err, "no trusted release key")
}

func TestVerifyRefusesBadManifestEvenIfSigned(t *testing.T) {
	pub, priv := newKey(t)
	good := manifestFor([]byte("bin"), "v1.4.0")
	goodJSON, _ := json.Marshal(good)
	tests := []struct{ name, json, sub string }{
		{"unknown field", strings.Replace(string(goodJSON), `{`, `{"extra":1,`, 1), "unknown field"},
		{"trailing data", string(goodJSON) + `{}`, "trailing data"},
		{"not JSON", `version v1`, "not valid manifest JSON"},
		{"version not semver", strings.Replace(string(goodJSON), `"v1.4.0"`, `"1.4.0"`, 1), "not a full semantic version"},
		{"version shorthand", strings.Replace(string(goodJSON), `"v1.4.0"`, `"v1.4"`, 1), "not a full semantic version"},
		{"version with build metadata", strings.Replace(string(goodJSON), `"v1.4.0"`, `"v1.4.0+abc"`, 1), "not a full semantic version"},
		{"min_gateway not semver", strings.Replace(string(goodJSON), `"v1.0.0"`, `"latest"`, 1), "min_gateway"},
		{"sha256 short", strings.Replace(string(goodJSON), good.SHA256, good.SHA256[:63], 1), "64 hex digits"},
		{"sha256 not hex", strings.Replace(string(goodJSON), good.SHA256, strings.Repeat("z", 64), 1), "not hex"},
		{"no os", strings.Replace(string(goodJSON), `"os":"linux"`, `"os":""`, 1), "os and arch"},
		{"no arch", strings.Replace(string(goodJSON), `"arch":"amd64"`, `"arch":""`, 1), "os and arch"},
		{"os with a slash", strings.Replace(string(goodJSON), `"os":"linux"`, `"os":"../x"`, 1), "os and arch"},
		{"arch upper-case", strings.Replace(string(goodJSON), `"arch":"amd64"`, `"arch":"AMD64"`, 1), "os and arch"},
		{"zero size", strings.Replace(string(goodJSON), `"size":3`, `"size":0`, 1), "size must be positive"},
		{"negative size", strings.Replace(string(goodJSON), `"size":3`, `"size":-3`, 1), "size must be positive"},
		{"too big", `{"version":"v1.0.0","os":"` + strings.Repeat("x", MaxManifestSize) + `"}`, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.json == string(goodJSON) {
				t.Fatal("test case did not change the manifest")
			}
			b := []byte(tt.json)
			_, err := Verify(pub, nil, Release{Manifest: b, Signature: ed25519.Sign(priv, b)})
			wantErr(t, err, tt.sub)
		})
	}
	bad := good
	bad.Version = "latest"
	_, err := Sign(priv, bad)
	wantErr(t, err, "not a full semantic version")
}

func TestRotationChain(t *testing.T) {
	k1, p1 := newKey(t)
	k2, p2 := newKey(t)
	k3, p3 := newKey(t)
	e12, e23 := Endorse(p1, k2), Endorse(p2, k3)
	m := manifestFor([]byte("bin"), "v2.0.0")
	by3 := mustSign(t, p3, m)

	if _, err := Verify(k1, []Endorsement{e12, e23}, by3); err != nil {
		t.Fatalf("good chain k1→k2→k3: %v", err)
	}
	if key, err := Trusted(k1, []Endorsement{e12, e23}); err != nil || !key.Equal(k3) {
		t.Fatalf("Trusted = %v, %v; want k3", key, err)
	}
	// With a chain, the old keys no longer sign releases.
	_, err := Verify(k1, []Endorsement{e12, e23}, mustSign(t, p1, m))
	wantErr(t, err, "signature does not verify")
	// A connector that already trusts k2 needs only the rest of the chain.
	if _, err := Verify(k2, []Endorsement{e23}, by3); err != nil {
		t.Fatalf("chain from k2: %v", err)
	}
	// A chain that skips a link: k3 was endorsed by k2, not k1.
	_, err = Verify(k1, []Endorsement{e23}, by3)
	wantErr(t, err, "endorsement 1: its signature does not verify")
	// Out of order.
	_, err = Verify(k1, []Endorsement{e23, e12}, by3)
	wantErr(t, err, "endorsement 1")
	// A broken link: the signature damaged, or the new key swapped.
	broken := e23
	broken.Signature = bytes.Clone(e23.Signature)
	broken.Signature[0] ^= 1
	_, err = Verify(k1, []Endorsement{e12, broken}, by3)
	wantErr(t, err, "endorsement 2: its signature does not verify")
	swapped := Endorsement{NewKey: FormatPublicKey(k3), Signature: e12.Signature}
	_, err = Verify(k1, []Endorsement{swapped}, by3)
	wantErr(t, err, "endorsement 1")
	_, err = Verify(k1, []Endorsement{{NewKey: "nonsense", Signature: e12.Signature}}, by3)
	wantErr(t, err, "must start with")
	// An endorsement signature is not a release signature, nor the reverse.
	_, err = Verify(k1, nil, Release{Manifest: []byte(e12.NewKey), Signature: e12.Signature})
	wantErr(t, err, "signature does not verify")
}

func TestNewer(t *testing.T) {
	tests := []struct {
		candidate, running string
		want               bool
	}{
		{"v1.4.0", "v1.3.9", true},
		{"v1.10.0", "v1.9.0", true},
		{"v1.4.0", "v1.4.0", false},
		{"v1.3.0", "v1.4.0", false},
		{"v1.4.0", "v1.4.0-rc.1", true},
		{"v1.4.0-rc.1", "v1.4.0", false},
		{"v2.0.0", "(devel)", true},
		{"v0.0.1", "", true},
		{"v1.0.0", "dev", true},
		{"(devel)", "v1.0.0", false},
		{"1.5.0", "v1.0.0", false},
		{"", "(devel)", false},
	}
	for _, tt := range tests {
		if got := Newer(tt.candidate, tt.running); got != tt.want {
			t.Errorf("Newer(%q, %q) = %v, want %v", tt.candidate, tt.running, got, tt.want)
		}
	}
}

func TestCheckBinary(t *testing.T) {
	bin := []byte("the real binary")
	m := manifestFor(bin, "v1.0.0")
	if err := m.CheckBinary(bin); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.CheckBinary(bin[:5]), "binary is 5 bytes, the manifest says 15")
	wantErr(t, m.CheckBinary(append(bytes.Clone(bin), 'x')), "the manifest says 15")
	same := bytes.Clone(bin)
	same[0] ^= 1
	wantErr(t, m.CheckBinary(same), "binary sha256 is")
}

func TestKeys(t *testing.T) {
	pub, priv := newKey(t)
	s := FormatPublicKey(pub)
	if !strings.HasPrefix(s, PublicKeyPrefix) {
		t.Fatalf("FormatPublicKey = %q", s)
	}
	got, err := ParsePublicKey(" " + s + "\n")
	if err != nil || !got.Equal(pub) {
		t.Fatalf("ParsePublicKey = %v, %v", got, err)
	}
	gotPriv, err := ParsePrivateKey(FormatPrivateKey(priv) + "\n")
	if err != nil || !gotPriv.Equal(priv) {
		t.Fatalf("ParsePrivateKey = %v, %v", gotPriv, err)
	}
	_, err = ParsePublicKey(strings.TrimPrefix(s, PublicKeyPrefix))
	wantErr(t, err, "must start with")
	_, err = ParsePublicKey(PublicKeyPrefix + "!!")
	wantErr(t, err, "not standard base64")
	_, err = ParsePublicKey(PublicKeyPrefix + "AAAA")
	wantErr(t, err, "3 bytes, want 32")
	_, err = ParsePublicKey(FormatPrivateKey(priv))
	wantErr(t, err, "must start with")
	_, err = ParsePrivateKey(s)
	wantErr(t, err, "must start with")
	damaged := bytes.Clone(priv)
	damaged[40] ^= 1
	_, err = ParsePrivateKey(FormatPrivateKey(damaged))
	wantErr(t, err, "does not match")
}
