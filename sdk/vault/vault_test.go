package vault

import (
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	privPEM, pub, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	pk, err := PublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := PrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := Seal(pk, "hr", "alice", Credentials{Username: "alice", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(sk, "hr", "alice", sealed)
	if err != nil || c.Username != "alice" || c.Password != "s3cret" {
		t.Fatalf("Open = %v, %v", c, err)
	}
	otherPEM, _, _ := NewKey()
	other, _ := PrivateKey(otherPEM)
	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-1] ^= 1
	for name, try := range map[string]func() error{
		"another user": func() error { _, err := Open(sk, "hr", "bob", sealed); return err },
		"another app":  func() error { _, err := Open(sk, "payroll", "alice", sealed); return err },
		"another key":  func() error { _, err := Open(other, "hr", "alice", sealed); return err },
		"tampered":     func() error { _, err := Open(sk, "hr", "alice", flipped); return err },
		"truncated":    func() error { _, err := Open(sk, "hr", "alice", sealed[:10]); return err },
	} {
		if err := try(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
	if s := (Credentials{Username: "alice", Password: "s3cret"}).String(); s != "credentials for alice" {
		t.Errorf("String() = %q", s)
	}
}
