// Package vault is the gateway's half of the password vault. A user's
// username and password for an app's backend are sealed here, at once, to
// the public key of the app's connector group (the format is sdk/vault),
// and only the sealed bytes are stored: the gateway keeps, and could
// leak, only what it cannot open. The package holds everything the
// gateway does with them:
//
//   - App: one app's vault (its key and the store), which seals, stores,
//     deletes and finds a user's credentials (Secret: the user's own, else
//     the app's shared ones, handed to sign-in for each request);
//   - Page: the credentials page a signed-in user fills in
//     (reserved.Credentials), which needs core/signin to say who is
//     signed in;
//   - ForApp, ReadPassword, Who: the logic of "gatehouse vault set|delete".
//
// The connector's half (opening the seal and signing in to the backend)
// is the vault plug-in, plugins/vault.
package vault

import (
	"context"
	"crypto/hpke"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/sdk/vault"
)

// A Store keeps sealed credentials by app and subject (core/store).
type Store interface {
	PutCredential(ctx context.Context, app, subject string, sealed []byte) error
	// GetCredential returns store.ErrNotFound when there are none.
	GetCredential(ctx context.Context, app, subject string) ([]byte, error)
	DeleteCredential(ctx context.Context, app, subject string) error
}

// App is one app's vault.
type App struct {
	Name   string
	Key    hpke.PublicKey // the connector group's vault key
	Store  Store
	Logger *slog.Logger
}

// New returns the vault of app name with the public key as config has it
// (apps[].vault.public_key); logger nil discards.
func New(name, publicKey string, st Store, logger *slog.Logger) (*App, error) {
	key, err := vault.PublicKey(publicKey)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &App{Name: name, Key: key, Store: st, Logger: logger}, nil
}

// Secret returns the sealed credentials of subject, else the app's shared
// ones; nil when there are none (the vault plug-in then asks the user).
func (v *App) Secret(ctx context.Context, subject string) ([]byte, error) {
	for _, s := range []string{subject, vault.Shared} {
		sealed, err := v.Store.GetCredential(ctx, v.Name, s)
		if err == nil {
			return sealed, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("vault of app %q: reading credentials: %w", v.Name, err)
		}
	}
	return nil, nil
}

// Put seals c for subject to the app's key and stores it.
func (v *App) Put(ctx context.Context, subject string, c vault.Credentials) error {
	sealed, err := vault.Seal(v.Key, v.Name, subject, c)
	if err != nil {
		return fmt.Errorf("vault of app %q: sealing: %w", v.Name, err)
	}
	if err := v.Store.PutCredential(ctx, v.Name, subject, sealed); err != nil {
		return fmt.Errorf("vault of app %q: storing credentials: %w", v.Name, err)
	}
	return nil
}

// Delete removes subject's credentials.
func (v *App) Delete(ctx context.Context, subject string) error {
	if err := v.Store.DeleteCredential(ctx, v.Name, subject); err != nil {
		return fmt.Errorf("vault of app %q: deleting credentials: %w", v.Name, err)
	}
	return nil
}

// ForApp returns the vault of the app named name in cfg, without a store
// yet (set Store before use), or an error that says how to add one.
func ForApp(cfg *config.Config, name string) (*App, error) {
	for _, a := range cfg.Apps {
		if a.Name == name && a.Vault.PublicKey != "" {
			v, err := New(a.Name, a.Vault.PublicKey, nil, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: app %q: vault.public_key: %w", cfg.Path, name, err)
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("app %q has no vault in %s (add vault: {public_key: ...})", name, cfg.Path)
}
