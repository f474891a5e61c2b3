package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/postgres"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// loadStore loads the config file at path and opens its store; the
// caller closes it.
func loadStore(ctx context.Context, path string) (*config.Config, store.Store, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

// openStore opens the store that cfg.Store selects.
func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	s := cfg.Store
	switch s.Driver {
	case config.DriverSQLite:
		return sqlite.Open(ctx, s.Path)
	case config.DriverPostgres:
		return postgres.Open(ctx, s.ConnString, postgres.Options{
			MaxConns:        int32(s.MaxConns),
			MinConns:        int32(s.MinConns),
			MaxConnLifetime: time.Duration(s.MaxConnLifetime),
			MaxConnIdleTime: time.Duration(s.MaxConnIdleTime),
		})
	default:
		return nil, fmt.Errorf("store.driver %q is not supported (use sqlite or postgres)", s.Driver)
	}
}
