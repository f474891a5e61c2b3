package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/wasm"
	"github.com/gatehouse/gatehouse/internal/fingerprint"
)

// chains are the loaded WASM filters of one snapshot, by app, in order.
// Each remembers what it was loaded with, so a reload that does not
// change a step keeps its compiled module and warm instances.
type chains map[string][]*loadedFilter

type loadedFilter struct {
	*wasm.Filter
	sum fingerprint.Sum // of the catalog entry and the step's config
}

// loadChains loads every app's filter chain, reusing prev's filters whose
// module and config did not change. On error it closes what it loaded.
func loadChains(ctx context.Context, rt *wasm.Runtime, cfg *config.Config, prev chains) (chains, error) {
	catalog := map[string]config.Filter{}
	for _, f := range cfg.Filters {
		catalog[f.Name] = f
	}
	out := chains{}
	var errs []error
	for i, a := range cfg.Apps {
		for j, u := range a.Filters {
			f := catalog[u.Filter]
			conf, err := json.Marshal(u.Config.Value)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: apps[%d].filters[%d].config: %w", cfg.Path, i, j, err))
				continue
			}
			if u.Config.Value == nil {
				conf = []byte("{}")
			}
			sum, err := fingerprint.Of(f, u.Config.Value, u.FreshPerRequest)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: apps[%d].filters[%d].config: %w", cfg.Path, i, j, err))
				continue
			}
			if old := prev.at(a.Name, j); old != nil && old.sum == sum {
				out[a.Name] = append(out[a.Name], old)
				continue
			}
			lf, err := rt.Load(ctx, wasm.Spec{Name: u.Filter, App: a.Name, Path: f.Path, SHA256: f.SHA256,
				Config: conf, FreshPerRequest: u.FreshPerRequest})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: apps[%d].filters[%d]: %w", cfg.Path, i, j, err))
				continue
			}
			out[a.Name] = append(out[a.Name], &loadedFilter{Filter: lf, sum: sum})
		}
	}
	if len(errs) > 0 {
		_ = out.unused(prev).closeAll(ctx)
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func (c chains) at(app string, i int) *loadedFilter {
	if i < len(c[app]) {
		return c[app][i]
	}
	return nil
}

// wrap returns the chain of app around the next handler: the first
// filter sees the request first. nil when the app has no filters.
func (c chains) wrap(app string) func(http.Handler) http.Handler {
	steps := c[app]
	if len(steps) == 0 {
		return nil
	}
	return func(next http.Handler) http.Handler {
		for i := len(steps) - 1; i >= 0; i-- {
			next = steps[i].Wrap(next)
		}
		return next
	}
}

// unused returns the filters of c that keep does not use.
func (c chains) unused(keep chains) chains {
	used := map[*loadedFilter]bool{}
	for _, steps := range keep {
		for _, f := range steps {
			used[f] = true
		}
	}
	out := chains{}
	for app, steps := range c {
		for _, f := range steps {
			if !used[f] {
				out[app] = append(out[app], f)
			}
		}
	}
	return out
}

// closeAll closes every filter of c, waiting until each has (ctx bounds
// the wait for requests still inside one).
func (c chains) closeAll(ctx context.Context) error {
	var errs []error
	for _, steps := range c {
		for _, f := range steps {
			errs = append(errs, f.Close(ctx))
		}
	}
	return errors.Join(errs...)
}
