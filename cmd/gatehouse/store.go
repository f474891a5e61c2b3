package main

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	switch cfg.Store.Driver {
	case "sqlite":
		return sqlite.Open(ctx, cfg.Store.Path)
	default:
		return nil, fmt.Errorf("store.driver %q is not supported (use sqlite)", cfg.Store.Driver)
	}
}
