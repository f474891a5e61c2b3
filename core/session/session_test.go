package session

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

func newSealer(t *testing.T) *Sealer {
	t.Helper()
	s, err := NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSessionRoundTripAndRefusals(t *testing.T) {
	sl := newSealer(t)
	now := time.Unix(1_800_000_000, 0)
	s := Session{ID: "sid-1", IssuedAt: now, Expires: now.Add(time.Hour), Envelope: []byte("\x01signed")}
	v, err := sl.SealSession("hr", "hr.example.com", s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sl.OpenSession("hr", "hr.example.com", v, now.Add(time.Minute))
	if err != nil || got.ID != s.ID || !got.Expires.Equal(s.Expires) || !got.IssuedAt.Equal(now) || !bytes.Equal(got.Envelope, s.Envelope) {
		t.Fatalf("OpenSession = %+v, %v", got, err)
	}

	other, _ := NewSealer(bytes.Repeat([]byte{8}, 32))
	foreign, _ := other.SealSession("hr", "hr.example.com", s)
	flip := []byte(v)
	flip[len(flip)/2] ^= 1
	tests := []struct {
		name, app, host, value string
		at                     time.Time
		want                   error
	}{
		{"other app", "payroll", "hr.example.com", v, now, ErrInvalid},
		{"other host", "hr", "evil.example.com", v, now, ErrInvalid},
		{"tampered", "hr", "hr.example.com", string(flip), now, ErrInvalid},
		{"truncated", "hr", "hr.example.com", v[:len(v)-3], now, ErrInvalid},
		{"another gateway's key", "hr", "hr.example.com", foreign, now, ErrInvalid},
		{"garbage", "hr", "hr.example.com", "%%%not base64", now, ErrInvalid},
		{"empty", "hr", "hr.example.com", "", now, ErrInvalid},
		{"huge", "hr", "hr.example.com", strings.Repeat("A", 100000), now, ErrInvalid},
		{"expired", "hr", "hr.example.com", v, now.Add(time.Hour), ErrExpired},
		{"a state value", "hr", "hr.example.com", sl.SealState("hr", "hr.example.com", State{Return: "/", Expires: now.Add(time.Hour)}), now, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sl.OpenSession(tt.app, tt.host, tt.value, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	sl := newSealer(t)
	if sl.Seal("p", []byte("x")) == sl.Seal("p", []byte("x")) {
		t.Fatal("two seals of the same value are equal: nonce reuse")
	}
}

func TestSessionTooLargeForCookie(t *testing.T) {
	sl := newSealer(t)
	big := make([]byte, MaxCookie)
	rand.Read(big)
	if _, err := sl.SealSession("hr", "h", Session{ID: "s", Expires: time.Now().Add(time.Hour), Envelope: big}); err == nil {
		t.Fatal("an oversized session was sealed")
	}
}

func TestState(t *testing.T) {
	sl := newSealer(t)
	now := time.Unix(1_800_000_000, 0)
	v := sl.SealState("hr", "h", State{Plugin: []byte("nonce"), Return: "/x?y#z", Expires: now.Add(10 * time.Minute)})
	st, err := sl.OpenState("hr", "h", v, now)
	if err != nil || string(st.Plugin) != "nonce" || st.Return != "/x?y#z" {
		t.Fatalf("OpenState = %+v, %v", st, err)
	}
	if _, err := sl.OpenState("hr", "h", v, now.Add(11*time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired state: %v", err)
	}
	if _, err := sl.OpenState("payroll", "h", v, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("state for another app: %v", err)
	}
}
