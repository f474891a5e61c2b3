//go:build wasip1

// Command sdkguest is a test guest written with the SDK
// (sdk/wasm/filter): it checks the SDK end to end and is the Go filter of
// the benchmarks. Without X-Sdk it sets X-Go: 1 and passes the request on.
package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse/sdk/wasm/filter"
)

type config struct {
	Greeting string `json:"greeting"`
}

var cfg config

func init() {
	if err := filter.DecodeConfig(&cfg); err != nil {
		panic(err) // refuses the load, with the message
	}
	filter.HandleRequest(handleRequest)
	filter.HandleResponse(handleResponse)
}

func main() {}

const upper = 7

func handleRequest(req filter.Request, resp filter.Response) (bool, uint32) {
	switch req.Header().Get("X-Sdk") {
	case "":
		req.Header().Set("X-Go", "1")
		return true, 0
	case "describe":
		resp.SetStatusCode(202)
		resp.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(resp.Body(), "%s %s %s %s greeting=%s names=%s multi=%q",
			req.Method(), req.URI(), req.Protocol(), strings.Split(req.SourceAddr(), ":")[0], cfg.Greeting,
			strings.Join(req.Header().Names(), ","), req.Header().Values("X-Multi"))
		return false, 0
	case "body":
		filter.EnableFeatures(filter.BufferRequest)
		b, _ := io.ReadAll(req.Body())
		req.Header().Set("X-Body-Len", fmt.Sprint(len(b)))
		return true, 0
	case "upper":
		if !filter.EnableFeatures(filter.BufferResponse).Has(filter.BufferResponse) {
			panic("no response buffering")
		}
		filter.Logf(filter.LevelInfo, "upper-casing %s", req.URI())
		return true, upper
	case "rewrite":
		req.SetMethod("PATCH")
		req.SetURI("/rewritten")
		req.Header().Add("X-Added", "a")
		req.Header().Add("X-Added", "b")
		req.Header().Del("X-Sdk")
		req.Body().WriteString("new body")
		return true, 0
	}
	panic("unknown X-Sdk")
}

func handleResponse(reqCtx uint32, req filter.Request, resp filter.Response, isError bool) {
	if reqCtx != upper || isError {
		return
	}
	body := resp.Body().Bytes()
	resp.Body().Write(bytes.ToUpper(body))
	resp.Header().Set("X-Upper", fmt.Sprint(resp.StatusCode()))
	resp.SetStatusCode(299)
}
