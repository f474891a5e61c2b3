package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// fuzzKey is the gateway key the fuzz targets open with. No seed is sealed
// with it: FuzzSealedFlip seals its own values.
var fuzzKey = bytes.Repeat([]byte{0x42}, 32)

var fuzzNow = time.Unix(1_800_000_000, 0)

func fuzzSealer(tb testing.TB) *Sealer {
	tb.Helper()
	s, err := NewSealer(fuzzKey)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// FuzzOpenCookie feeds arbitrary cookie values to OpenSession and
// OpenState, as a browser (or an attacker) sends them. Without the key
// nothing opens: every value is refused with ErrInvalid (never
// ErrExpired, which would mean it was authentic), and nothing panics.
func FuzzOpenCookie(f *testing.F) {
	sl := fuzzSealer(f)
	f.Fuzz(func(t *testing.T, value string) {
		if s, err := sl.OpenSession("hr", "hr.example.com", value, fuzzNow); !errors.Is(err, ErrInvalid) {
			t.Fatalf("OpenSession(%q) = %+v, %v; want ErrInvalid", value, s, err)
		}
		if st, err := sl.OpenState("hr", "hr.example.com", value, fuzzNow); !errors.Is(err, ErrInvalid) {
			t.Fatalf("OpenState(%q) = %+v, %v; want ErrInvalid", value, st, err)
		}
	})
}

// FuzzSealedFlip changes one byte of a valid session cookie and of a valid
// state cookie (mask is XORed into byte pos, modulo the length). Unchanged
// they open; changed, they never do.
func FuzzSealedFlip(f *testing.F) {
	sl := fuzzSealer(f)
	sess, err := sl.SealSession("hr", "hr.example.com", Session{ID: "sid-1", IssuedAt: fuzzNow,
		Expires: fuzzNow.Add(time.Hour), Envelope: []byte("\x01{\"app\":\"hr\"}signature")})
	if err != nil {
		f.Fatal(err)
	}
	state := sl.SealState("hr", "hr.example.com", State{ID: "st-1", Plugin: []byte("nonce"), Return: "/x?y#z", Expires: fuzzNow.Add(time.Hour)})
	f.Fuzz(func(t *testing.T, pos uint16, mask byte) {
		flip := func(v string) (string, int) {
			b := []byte(v)
			i := int(pos) % len(b)
			b[i] ^= mask
			return string(b), i
		}
		v, i := flip(sess)
		s, err := sl.OpenSession("hr", "hr.example.com", v, fuzzNow)
		if (err == nil) != (mask == 0) {
			t.Fatalf("session cookie with byte %d ^%#x: %+v, %v", i, mask, s, err)
		}
		v, i = flip(state)
		st, err := sl.OpenState("hr", "hr.example.com", v, fuzzNow)
		if (err == nil) != (mask == 0) {
			t.Fatalf("state cookie with byte %d ^%#x: %+v, %v", i, mask, st, err)
		}
	})
}

// FuzzSessionPayload seals arbitrary bytes as a session's and a state's
// plaintext, to reach the decoding behind the seal (which only a gateway
// key holder can feed, but a bug there must not crash the gateway): it
// never panics, and whatever opens seals again to the same session.
func FuzzSessionPayload(f *testing.F) {
	sl := fuzzSealer(f)
	f.Fuzz(func(t *testing.T, plain []byte) {
		v := sl.Seal(sessionPurpose("hr", "h"), plain)
		if s, err := sl.OpenSession("hr", "h", v, fuzzNow); err == nil || errors.Is(err, ErrExpired) {
			again, err2 := sl.SealSession("hr", "h", s)
			if err2 != nil {
				return // too large for a cookie once re-encoded
			}
			s2, err2 := sl.OpenSession("hr", "h", again, fuzzNow)
			if !errors.Is(err2, err) || s2.ID != s.ID || !s2.IssuedAt.Equal(s.IssuedAt) || !s2.Expires.Equal(s.Expires) || !bytes.Equal(s2.Envelope, s.Envelope) {
				t.Fatalf("session changed in a round trip: %+v (%v), then %+v (%v)", s, err, s2, err2)
			}
		}
		v = sl.Seal(statePurpose("hr", "h"), plain)
		if st, err := sl.OpenState("hr", "h", v, fuzzNow); err == nil {
			st2, err := sl.OpenState("hr", "h", sl.SealState("hr", "h", st), fuzzNow)
			a, _ := json.Marshal(st)
			b, _ := json.Marshal(st2)
			if err != nil || !bytes.Equal(a, b) {
				t.Fatalf("state changed in a round trip: %s, then %s (%v)", a, b, err)
			}
		}
	})
}
