package tunnel

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/release"
)

var testPin = "sha256:" + strings.Repeat("0f", 32)

var testReleaseKey = release.PublicKeyPrefix + base64.StdEncoding.EncodeToString(make([]byte, 32))

func encodeRaw(json string) string {
	return TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(json))
}

func TestTokenRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		tok  Token
	}{
		{"one address", Token{ID: "0123456789abcdef", Secret: strings.Repeat("s", 48), CAPin: testPin, Addrs: []string{"gw.example.com:8444"}}},
		{"several addresses", Token{ID: "a", Secret: "b", CAPin: testPin, Addrs: []string{"10.0.0.1:8444", "[2001:db8::1]:8444"}}},
		{"no address (connector passes --gateway)", Token{ID: "a", Secret: "b", CAPin: testPin}},
		{"with a release key", Token{ID: "a", Secret: "b", CAPin: testPin, Addrs: []string{"h:1"}, ReleaseKey: testReleaseKey}},
		{"characters that need escaping", Token{ID: "a\"b", Secret: "ü/+=\n", CAPin: testPin, Addrs: []string{"h:1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.tok.Encode()
			if !strings.HasPrefix(s, TokenPrefix) {
				t.Fatalf("Encode() = %q, want prefix %q", s, TokenPrefix)
			}
			if strings.ContainsAny(s, " \n\t+/=") {
				t.Fatalf("Encode() = %q is not one copy-pasteable URL-safe word", s)
			}
			for _, in := range []string{s, "  " + s + "\n", "\t" + s + "\r\n"} {
				got, err := ParseToken(in)
				if err != nil {
					t.Fatalf("ParseToken(%q): %v", in, err)
				}
				if !reflect.DeepEqual(got, tt.tok) {
					t.Fatalf("ParseToken = %+v, want %+v", got, tt.tok)
				}
			}
		})
	}
}

func TestParseTokenRejects(t *testing.T) {
	good := Token{ID: "id", Secret: "secret", CAPin: testPin, Addrs: []string{"h:1"}}.Encode()
	tests := []struct {
		name, in, wantSub string
	}{
		{"empty", "", "not a Gatehouse enrollment token"},
		{"no prefix", strings.TrimPrefix(good, TokenPrefix), "not a Gatehouse enrollment token"},
		{"other prefix", "gh2_" + strings.TrimPrefix(good, TokenPrefix), "not a Gatehouse enrollment token"},
		{"upper-case prefix", "GH1_" + strings.TrimPrefix(good, TokenPrefix), "not a Gatehouse enrollment token"},
		{"bad base64", TokenPrefix + "!!!!", "bad base64"},
		{"padded standard base64", TokenPrefix + base64.StdEncoding.EncodeToString([]byte(`{"id":"a"}`)), "bad base64"},
		{"cut in two", good[:len(good)/2] + " " + good[len(good)/2:], "bad base64"},
		{"truncated (bad JSON)", encodeRaw(`{"id":"a","secret":"b"`), "bad JSON"},
		{"not an object", encodeRaw(`"x"`), "bad JSON"},
		{"wrong field type", encodeRaw(`{"id":1,"secret":"b","ca":"` + testPin + `"}`), "bad JSON"},
		{"no id", encodeRaw(`{"secret":"b","ca":"` + testPin + `"}`), "no id or secret"},
		{"no secret", encodeRaw(`{"id":"a","ca":"` + testPin + `"}`), "no id or secret"},
		{"empty object", encodeRaw(`{}`), "no id or secret"},
		{"no pin", encodeRaw(`{"id":"a","secret":"b"}`), "no valid CA pin"},
		{"pin without algorithm", encodeRaw(`{"id":"a","secret":"b","ca":"` + strings.Repeat("0f", 32) + `"}`), "no valid CA pin"},
		{"pin too short", encodeRaw(`{"id":"a","secret":"b","ca":"sha256:` + strings.Repeat("0f", 31) + `"}`), "no valid CA pin"},
		{"pin too long", encodeRaw(`{"id":"a","secret":"b","ca":"` + testPin + `00"}`), "no valid CA pin"},
		{"release key without prefix", encodeRaw(`{"id":"a","secret":"b","ca":"` + testPin + `","release_key":"` + strings.TrimPrefix(testReleaseKey, release.PublicKeyPrefix) + `"}`), "invalid release key"},
		{"release key too short", encodeRaw(`{"id":"a","secret":"b","ca":"` + testPin + `","release_key":"` + release.PublicKeyPrefix + `AAAA"}`), "invalid release key"},
		{"pin with other algorithm", encodeRaw(`{"id":"a","secret":"b","ca":"sha512:` + strings.Repeat("0f", 32) + `"}`), "no valid CA pin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := ParseToken(tt.in)
			if err == nil {
				t.Fatalf("ParseToken(%q) = %+v, nil; want an error", tt.in, tok)
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Fatalf("ParseToken(%q) = %q, want it to contain %q", tt.in, err, tt.wantSub)
			}
			// Errors are shown to operators: they must never echo the secret.
			if strings.Contains(err.Error(), "secret\"") || strings.Contains(err.Error(), tt.in) && tt.in != "" {
				t.Fatalf("error %q repeats the token", err)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	cert := &x509.Certificate{Raw: []byte("not really DER, only hashed")}
	sum := sha256.Sum256(cert.Raw)
	want := "sha256:" + hex.EncodeToString(sum[:])
	if got := Fingerprint(cert); got != want {
		t.Fatalf("Fingerprint = %q, want %q", got, want)
	}
	// A fingerprint is exactly what ParseToken accepts as a pin.
	if _, err := ParseToken(Token{ID: "a", Secret: "b", CAPin: Fingerprint(cert)}.Encode()); err != nil {
		t.Fatalf("ParseToken with a Fingerprint pin: %v", err)
	}
}
