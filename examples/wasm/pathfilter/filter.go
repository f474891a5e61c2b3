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
	r, err := cfg.compile()
	if err != nil {
		panic(fmt.Errorf("filter config: %w", err))
	}
	filter.HandleRequest(func(req filter.Request, resp filter.Response) (bool, uint32) {
		uri := req.URI()
		ok, reason := r.decide(uri)
		if ok {
			return true, 0
		}
		rid := req.Header().Get("X-Request-Id")
		filter.Logf(filter.LevelInfo, "pathfilter: %s %s refused: %s", req.Method(), uri, reason)
		resp.SetStatusCode(r.status)
		resp.Header().Set("Content-Type", "text/plain; charset=utf-8")
		resp.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(resp.Body(), "%s (request id %s)\n", r.message, rid)
		return false, 0
	})
}
