package acme

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/gatehouse/gatehouse/core/store"
)

var _ certmagic.Storage = (*Storage)(nil)

// Lock timing: a held lock is extended every lockRefresh and lapses
// lockTTL after its holder stops extending it (a crashed node); a waiter
// retries every lockPoll.
const (
	lockTTL     = time.Minute
	lockRefresh = 15 * time.Second
	lockPoll    = time.Second
)

// Storage is certmagic.Storage on the gateway's store: certificates, keys
// and the ACME account are blobs, and certmagic's locks are store locks,
// so gateway nodes sharing a store share certificates and never obtain the
// same one twice.
type Storage struct {
	store store.Store
	now   func() time.Time
	log   *slog.Logger
	id    string // this Storage's lock owner prefix
	seq   atomic.Uint64

	mu   sync.Mutex
	held map[string]*heldLock // by lock name
}

// heldLock is a lock this process holds and keeps extending.
type heldLock struct {
	owner string
	stop  context.CancelFunc
	done  chan struct{}
}

// NewStorage returns a Storage on s. now nil means time.Now.
func NewStorage(s store.Store, now func() time.Time, log *slog.Logger) (*Storage, error) {
	if now == nil {
		now = time.Now
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("acme storage: lock owner id: %w", err)
	}
	return &Storage{store: s, now: now, log: log, id: hex.EncodeToString(b), held: map[string]*heldLock{}}, nil
}

// notExist marks a store.ErrNotFound as fs.ErrNotExist, which certmagic tests for.
func notExist(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return err
}

// Store puts value at key.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	return s.store.PutBlob(ctx, key, value, s.now())
}

// Load returns the value at key, or an error wrapping fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.store.GetBlob(ctx, key)
	if err != nil {
		return nil, notExist(err)
	}
	return b.Value, nil
}

// Delete deletes key and every key below it; a missing key is not an error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	_, err := s.store.DeleteBlobs(ctx, key)
	return err
}

// Exists reports whether key is a stored value or a prefix ("directory") of one.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// List returns the keys below path: all of them if recursive, else its
// immediate children (values and "directories").
func (s *Storage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	prefix := strings.TrimSuffix(path, "/") + "/"
	if path == "" {
		prefix = ""
	}
	keys, err := s.store.ListBlobs(ctx, prefix)
	if err != nil {
		return nil, err
	}
	if recursive {
		return keys, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		child, _, _ := strings.Cut(strings.TrimPrefix(k, prefix), "/")
		if !seen[child] {
			seen[child] = true
			out = append(out, prefix+child)
		}
	}
	return out, nil
}

// Stat describes key; a prefix of stored keys is a non-terminal key.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	b, err := s.store.StatBlob(ctx, key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: b.Modified, Size: b.Size, IsTerminal: true}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return certmagic.KeyInfo{}, err
	}
	below, err := s.store.ListBlobs(ctx, strings.TrimSuffix(key, "/")+"/")
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if len(below) == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("acme storage: %q: %w", key, fs.ErrNotExist)
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// Lock blocks until it holds the named lock or ctx is done. Every call has
// its own owner, so two goroutines of one process exclude each other too.
// The lock is extended in the background until Unlock.
func (s *Storage) Lock(ctx context.Context, name string) error {
	owner := fmt.Sprintf("%s-%d", s.id, s.seq.Add(1))
	for {
		now := s.now()
		ok, err := s.store.TryLock(ctx, name, owner, now, now.Add(lockTTL))
		if err != nil {
			return fmt.Errorf("acme storage: locking %q: %w", name, err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("acme storage: waiting for lock %q: %w", name, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	h := &heldLock{owner: owner, stop: stop, done: make(chan struct{})}
	go s.keepLock(rctx, name, h)
	s.mu.Lock()
	s.held[name] = h
	s.mu.Unlock()
	return nil
}

// keepLock extends a held lock until Unlock stops it.
func (s *Storage) keepLock(ctx context.Context, name string, h *heldLock) {
	defer close(h.done)
	t := time.NewTicker(lockRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := s.now()
			if ok, err := s.store.TryLock(ctx, name, h.owner, now, now.Add(lockTTL)); err != nil || !ok {
				if ctx.Err() == nil {
					s.log.Warn("acme: extending storage lock failed", "lock", name, "held", ok, "error", err)
				}
			}
		}
	}
}

// Unlock releases a lock taken by Lock.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("acme storage: unlocking %q: not held by this node", name)
	}
	h.stop()
	<-h.done
	if err := s.store.Unlock(ctx, name, h.owner); err != nil {
		return fmt.Errorf("acme storage: unlocking %q: %w", name, err)
	}
	return nil
}
