//go:build wasip1

package main

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/sdk/wasm/filter"
)

var (
	links        []mapping
	toExternal   *rewriter
	toInternal   *rewriter
	extraTypes   []string
	maxBodyBytes = 2 << 20
)

func init() {
	var cfg Config
	if err := filter.DecodeConfig(&cfg); err != nil {
		panic(err)
	}
	ms, err := parseLinks(cfg.Links)
	if err != nil {
		panic(fmt.Errorf("filter config: %w", err))
	}
	links, toExternal, toInternal, extraTypes = ms, newRewriter(ms), newRewriter(reversed(ms)), cfg.Types
	if cfg.MaxBodyBytes > 0 {
		maxBodyBytes = cfg.MaxBodyBytes
	}
	filter.HandleRequest(onRequest)
	filter.HandleResponse(onResponse)
}

// reqCtx: bit 0 set when the response is buffered for translation, the
// bits above are the index+1 of the app's own mapping (0 unknown).
func onRequest(req filter.Request, _ filter.Response) (bool, uint32) {
	translateHeaders(req.Header(), requestHeaders, toInternal)
	translateOrigin(req.Header(), links)
	if reason := streamed(req); reason != "" {
		filter.Logf(filter.LevelDebug, "linktranslate: not buffering %s: %s", req.URI(), reason)
		return true, 0
	}
	// Only gzip can be undone here: ask the app for nothing else.
	if acceptsGzip(req.Header().Get("Accept-Encoding")) {
		req.Header().Set("Accept-Encoding", "gzip")
	} else {
		req.Header().Del("Accept-Encoding")
	}
	filter.EnableFeatures(filter.BufferResponse)
	own := ownMapping(links, req.Header().Get("Host"))
	return true, uint32(own+1)<<1 | 1
}

// streamed says why a request's response must not be buffered: it is a
// protocol switch, an event stream, a range, or most likely binary.
func streamed(req filter.Request) string {
	h := req.Header()
	switch {
	case h.Get("Upgrade") != "":
		return "protocol upgrade"
	case strings.Contains(h.Get("Accept"), "text/event-stream"):
		return "event stream"
	case h.Get("Range") != "":
		return "range request"
	}
	p, _, _ := strings.Cut(req.URI(), "?")
	switch strings.ToLower(path.Ext(p)) {
	case ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".ico", ".woff", ".woff2", ".ttf", ".otf",
		".mp3", ".mp4", ".webm", ".ogg", ".zip", ".gz", ".tgz", ".tar", ".pdf", ".wasm", ".exe", ".iso", ".bin":
		return "binary file"
	}
	return ""
}

func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func onResponse(reqCtx uint32, req filter.Request, resp filter.Response, isError bool) {
	if reqCtx&1 == 0 || isError {
		return
	}
	var own *mapping
	if i := int(reqCtx>>1) - 1; i >= 0 && i < len(links) {
		own = &links[i]
	}
	h := resp.Header()
	translateHeaders(h, urlHeaders, toExternal)
	if cookies := h.Values("Set-Cookie"); len(cookies) > 0 {
		out, changed := make([]string, len(cookies)), false
		for i, c := range cookies {
			out[i] = translateCookie(c, links, own)
			changed = changed || out[i] != c
		}
		if changed {
			h.Del("Set-Cookie")
			for _, c := range out {
				h.Add("Set-Cookie", c)
			}
		}
	}
	status := resp.StatusCode()
	ct := h.Get("Content-Type")
	if req.Method() == "HEAD" || status == 204 || status == 304 || status == 206 || !translatable(ct, extraTypes) {
		return
	}
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n > maxBodyBytes {
		filter.Logf(filter.LevelInfo, "linktranslate: %s left alone: %d bytes is over max_body_bytes", req.URI(), n)
		return
	}
	body := resp.Body().Bytes()
	out, changed, reason := translateBody(ct, h.Get("Content-Encoding"), body, maxBodyBytes, toExternal)
	if reason != "" {
		filter.Logf(filter.LevelInfo, "linktranslate: %s left alone: %s", req.URI(), reason)
	}
	if !changed {
		return
	}
	resp.Body().Write(out)
	h.Del("Content-Encoding")
	h.Del("Content-MD5")
	h.Del("Accept-Ranges")
	if etag := h.Get("ETag"); etag != "" {
		h.Set("ETag", weakETag(etag))
	}
}
