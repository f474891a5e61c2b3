package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Snapshot is everything a store holds that outlives the gateway
// processes using it, as "gatehouse store migrate" copies it from one
// store to another. Runtime state is left out: named locks, gateway
// nodes and the change feed belong to the processes (or the cluster)
// that made them.
type Snapshot struct {
	CA                 *CA // nil when the store has none yet
	Tokens             []Token
	Connectors         []Connector
	Blobs              []Blob // with their values
	Revocations        []Revocation
	SessionRevocations []SessionRevocation // sign-outs that had not expired when read
	Credentials        []Credential
	SignIns            []SignIn // oldest first
}

// Credential is one subject's sealed vault credentials for one app.
type Credential struct {
	App     string
	Subject string
	Sealed  []byte // as the store holds it: only the gateway's vault key opens it
}

// Lister lists what the Store interface has no list method for. A store
// that can be the source of a copy implements it.
type Lister interface {
	ListTokens(ctx context.Context) ([]Token, error)
	ListCredentials(ctx context.Context) ([]Credential, error)
}

// TableCount is how many records one table of a Snapshot holds.
type TableCount struct {
	Table string
	N     int
}

// Counts returns the number of records per table, in a fixed order.
func (s *Snapshot) Counts() []TableCount {
	ca := 0
	if s.CA != nil {
		ca = 1
	}
	return []TableCount{
		{"ca", ca}, {"tokens", len(s.Tokens)}, {"connectors", len(s.Connectors)},
		{"blobs", len(s.Blobs)}, {"revocations", len(s.Revocations)},
		{"sign-outs", len(s.SessionRevocations)}, {"credentials", len(s.Credentials)},
		{"sign-ins", len(s.SignIns)},
	}
}

// ReadSnapshot reads everything s holds through the Store interface, and
// through l what that interface cannot list. Sign-outs that expired
// before now are left out: they no longer refuse anything.
func ReadSnapshot(ctx context.Context, s Store, l Lister, now time.Time) (*Snapshot, error) {
	snap := &Snapshot{}
	ca, err := s.LoadCA(ctx)
	switch {
	case err == nil:
		snap.CA = &ca
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	if snap.Tokens, err = l.ListTokens(ctx); err != nil {
		return nil, err
	}
	if snap.Connectors, err = s.ListConnectors(ctx); err != nil {
		return nil, err
	}
	if snap.Blobs, err = readBlobs(ctx, s); err != nil {
		return nil, err
	}
	if snap.Revocations, err = s.ListRevocations(ctx); err != nil {
		return nil, err
	}
	if snap.SessionRevocations, err = s.ListSessionRevocations(ctx, now); err != nil {
		return nil, err
	}
	if snap.Credentials, err = l.ListCredentials(ctx); err != nil {
		return nil, err
	}
	signins, err := s.ListSignIns(ctx, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	slices.Reverse(signins) // oldest first, the order they are written in
	snap.SignIns = signins
	snap.sort()
	return snap, nil
}

// sort puts the records that no method returns in a defined order in
// key order, so two snapshots compare record by record.
func (s *Snapshot) sort() {
	slices.SortFunc(s.Tokens, func(a, b Token) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(s.Revocations, func(a, b Revocation) int { return strings.Compare(a.Subject, b.Subject) })
	slices.SortFunc(s.SessionRevocations, func(a, b SessionRevocation) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(s.Credentials, func(a, b Credential) int {
		return cmp.Or(strings.Compare(a.App, b.App), strings.Compare(a.Subject, b.Subject))
	})
}

// readBlobs reads every blob with its value, in key order.
func readBlobs(ctx context.Context, s Store) ([]Blob, error) {
	keys, err := s.ListBlobs(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]Blob, 0, len(keys))
	for _, k := range keys {
		b, err := s.GetBlob(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Verify reads s back through the Store interface and checks that it
// holds what want holds, record by record. Tokens and credentials, which
// the interface cannot list, are each read by key.
func Verify(ctx context.Context, s Store, want *Snapshot, now time.Time) error {
	got := &Snapshot{}
	ca, err := s.LoadCA(ctx)
	switch {
	case err == nil:
		got.CA = &ca
	case !errors.Is(err, ErrNotFound):
		return err
	}
	for _, t := range want.Tokens {
		tok, err := s.GetToken(ctx, t.ID)
		if err != nil {
			return fmt.Errorf("token %s: %w", t.ID, err)
		}
		got.Tokens = append(got.Tokens, tok)
	}
	for _, c := range want.Credentials {
		sealed, err := s.GetCredential(ctx, c.App, c.Subject)
		if err != nil {
			return fmt.Errorf("credentials of %q for app %q: %w", c.Subject, c.App, err)
		}
		got.Credentials = append(got.Credentials, Credential{App: c.App, Subject: c.Subject, Sealed: sealed})
	}
	read, err := ReadSnapshot(ctx, s, (*listed)(got), now)
	if err != nil {
		return err
	}
	return Diff(want, read)
}

// listed is a Lister that answers with what a Snapshot already holds.
type listed Snapshot

func (l *listed) ListTokens(context.Context) ([]Token, error)           { return l.Tokens, nil }
func (l *listed) ListCredentials(context.Context) ([]Credential, error) { return l.Credentials, nil }

// Diff returns nil when a and b hold the same records (times compared
// as instants), or an error naming the first table that differs.
func Diff(a, b *Snapshot) error {
	ca, cb := a.Counts(), b.Counts()
	for i := range ca {
		if ca[i].N != cb[i].N {
			return fmt.Errorf("%s: %d records, want %d", ca[i].Table, cb[i].N, ca[i].N)
		}
	}
	checks := []struct {
		table string
		same  bool
	}{
		{"ca", a.CA == nil || bytes.Equal(a.CA.CertPEM, b.CA.CertPEM) && bytes.Equal(a.CA.KeyPEM, b.CA.KeyPEM)},
		{"tokens", slices.EqualFunc(a.Tokens, b.Tokens, sameToken)},
		{"connectors", slices.EqualFunc(a.Connectors, b.Connectors, sameConnector)},
		{"blobs", slices.EqualFunc(a.Blobs, b.Blobs, func(x, y Blob) bool {
			return x.Key == y.Key && bytes.Equal(x.Value, y.Value) && x.Modified.Equal(y.Modified)
		})},
		{"revocations", slices.EqualFunc(a.Revocations, b.Revocations, func(x, y Revocation) bool {
			return x.Subject == y.Subject && x.Before.Equal(y.Before)
		})},
		{"sign-outs", slices.EqualFunc(a.SessionRevocations, b.SessionRevocations, func(x, y SessionRevocation) bool {
			return x.ID == y.ID && x.Expires.Equal(y.Expires)
		})},
		{"credentials", slices.EqualFunc(a.Credentials, b.Credentials, func(x, y Credential) bool {
			return x.App == y.App && x.Subject == y.Subject && bytes.Equal(x.Sealed, y.Sealed)
		})},
		{"sign-ins", slices.EqualFunc(a.SignIns, b.SignIns, func(x, y SignIn) bool {
			at := x.At.Equal(y.At)
			x.At, y.At = time.Time{}, time.Time{}
			return at && x == y
		})},
	}
	for _, c := range checks {
		if !c.same {
			return fmt.Errorf("%s: the records differ", c.table)
		}
	}
	return nil
}

func sameToken(x, y Token) bool {
	return x.ID == y.ID && bytes.Equal(x.SecretHash, y.SecretHash) && x.Group == y.Group &&
		x.CreatedAt.Equal(y.CreatedAt) && x.ExpiresAt.Equal(y.ExpiresAt) && x.UsedAt.Equal(y.UsedAt)
}

func sameConnector(x, y Connector) bool {
	return x.ID == y.ID && x.Group == y.Group && x.Hostname == y.Hostname && x.Version == y.Version &&
		x.Addr == y.Addr && x.CertSerial == y.CertSerial && x.CreatedAt.Equal(y.CreatedAt) && x.LastSeen.Equal(y.LastSeen)
}
