//go:build wasip1

package main

import (
	"fmt"

	"github.com/gatehouse/gatehouse/sdk/wasm/filter"
)

func init() {
	var cfg Config
	if err := filter.DecodeConfig(&cfg); err != nil {
		panic(err)
	}
	set, remove, err := cfg.plan()
	if err != nil {
		panic(fmt.Errorf("filter config: %w", err))
	}
	// Response headers set before the app answers are applied again over
	// the app's own header by the host: no buffering needed.
	filter.HandleRequest(func(_ filter.Request, resp filter.Response) (bool, uint32) {
		h := resp.Header()
		for _, s := range set {
			h.Set(s.name, s.value)
		}
		for _, r := range remove {
			h.Del(r)
		}
		return true, 0
	})
}
