package wasm

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// This file has the administrative, request and response functions of
// http_handler; headers.go and body.go have the rest. A host function
// traps (panics) on any violation; it never lets a guest change what was
// already passed on.

// current is the instance whose guest called a host function.
func current(ctx context.Context) *instance {
	in, _ := ctx.Value(instanceKey{}).(*instance)
	if in == nil {
		panic("wasm: a host function ran outside an instance's call") // a host bug; wazero turns it into a trap
	}
	return in
}

// inRequest is the exchange of a call made while serving a request.
func inRequest(ctx context.Context, fn string) *exchange {
	in := current(ctx)
	if in.ex.phase == phaseNone {
		violate(fn, "called outside a request (in the start function)")
	}
	return &in.ex
}

// read is guest memory [ptr, ptr+n), trapping when out of range. The
// slice aliases guest memory: copy before keeping it.
func read(mod api.Module, fn string, ptr, n uint32) []byte {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		violate(fn, "memory [%d, %d+%d) is out of range", ptr, ptr, n)
	}
	return b
}

// writeIfFits writes v at buf when it fits in limit and returns its
// length either way: the ABI's buffer-probe convention.
func writeIfFits(mod api.Module, fn string, buf, limit uint32, v []byte) uint32 {
	n := uint32(len(v))
	if n > 0 && n <= limit && !mod.Memory().Write(buf, v) {
		violate(fn, "memory [%d, %d+%d) is out of range", buf, buf, n)
	}
	return n
}

func writeStringIfFits(mod api.Module, fn string, buf, limit uint32, v string) uint32 {
	n := uint32(len(v))
	if n > 0 && n <= limit && !mod.Memory().WriteString(buf, v) {
		violate(fn, "memory [%d, %d+%d) is out of range", buf, buf, n)
	}
	return n
}

// enable_features(features) -> enabled: in the start function for every
// request, in handle_request for this one, later without effect.
func enableFeatures(ctx context.Context, _ api.Module, stack []uint64) {
	in := current(ctx)
	want := features(uint32(stack[0])) & supportedFeatures
	switch in.ex.phase {
	case phaseNone:
		in.features |= want
		stack[0] = uint64(in.features)
	case phaseRequest:
		in.ex.features |= want
		stack[0] = uint64(in.ex.features)
	default:
		stack[0] = uint64(in.ex.features)
	}
}

func getConfig(ctx context.Context, mod api.Module, stack []uint64) {
	in := current(ctx)
	stack[0] = uint64(writeIfFits(mod, "get_config", uint32(stack[0]), uint32(stack[1]), in.f.spec.Config))
}

// maxLogBytes bounds one guest log message.
const maxLogBytes = 4096

// log(level, msg, msg_len): never traps, as the ABI asks.
func logMessage(ctx context.Context, mod api.Module, stack []uint64) {
	in := current(ctx)
	level, ok := slogLevel(int32(uint32(stack[0])))
	if !ok || !in.f.logger.Enabled(context.Background(), level) {
		return
	}
	n := min(uint32(stack[2]), maxLogBytes)
	msg, ok := mod.Memory().Read(uint32(stack[1]), n)
	if !ok {
		return
	}
	attrs := []any{"guest", true}
	if in.ex.requestID != "" {
		attrs = append(attrs, "request_id", in.ex.requestID)
	}
	in.f.logger.Log(context.Background(), level, string(msg), attrs...)
}

func logEnabled(ctx context.Context, _ api.Module, stack []uint64) {
	in := current(ctx)
	level, ok := slogLevel(int32(uint32(stack[0])))
	stack[0] = 0
	if ok && in.f.logger.Enabled(context.Background(), level) {
		stack[0] = 1
	}
}

// slogLevel maps an ABI log level; levelNone and above log nothing.
func slogLevel(l int32) (slog.Level, bool) {
	switch {
	case l <= levelDebug:
		return slog.LevelDebug, true
	case l == levelInfo:
		return slog.LevelInfo, true
	case l == levelWarn:
		return slog.LevelWarn, true
	case l == levelError:
		return slog.LevelError, true
	}
	return 0, false
}

func getMethod(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "get_method")
	stack[0] = uint64(writeStringIfFits(mod, "get_method", uint32(stack[0]), uint32(stack[1]), ex.r.Method))
}

func setMethod(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "set_method")
	mustBeBeforeNext(ex, "set_method")
	m := string(read(mod, "set_method", uint32(stack[0]), uint32(stack[1])))
	if !validToken(m) {
		violate("set_method", "%q is not an HTTP method", m)
	}
	ex.request().Method = m
}

func getURI(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "get_uri")
	stack[0] = uint64(writeStringIfFits(mod, "get_uri", uint32(stack[0]), uint32(stack[1]), ex.r.URL.RequestURI()))
}

// set_uri takes an origin-form URI ("/path?query"), encoded; a dot
// segment is refused, as the gateway refuses it from clients.
func setURI(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "set_uri")
	mustBeBeforeNext(ex, "set_uri")
	uri := string(read(mod, "set_uri", uint32(stack[0]), uint32(stack[1])))
	if uri == "" {
		uri = "/"
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || !strings.HasPrefix(uri, "/") || strings.ContainsFunc(uri, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		violate("set_uri", "%q is not an encoded path and query", uri)
	}
	if hasDotSegment(u.Path) {
		violate("set_uri", "%q has a dot segment", uri)
	}
	r := ex.request()
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.URL.ForceQuery = u.Path, u.RawPath, u.RawQuery, false
	r.RequestURI = uri
}

func hasDotSegment(p string) bool {
	for seg := range strings.FieldsFuncSeq(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func getProtocolVersion(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "get_protocol_version")
	proto := ex.r.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	stack[0] = uint64(writeStringIfFits(mod, "get_protocol_version", uint32(stack[0]), uint32(stack[1]), proto))
}

func getSourceAddr(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "get_source_addr")
	stack[0] = uint64(writeStringIfFits(mod, "get_source_addr", uint32(stack[0]), uint32(stack[1]), ex.r.RemoteAddr))
}

// get_status_code: the guest's own answer in handle_request, the next
// handler's (or the guest's override) in handle_response.
func getStatusCode(ctx context.Context, _ api.Module, stack []uint64) {
	ex := inRequest(ctx, "get_status_code")
	code := ex.status
	if ex.phase == phaseResponse && !ex.statusSet {
		code = ex.rw.statusCode()
	}
	stack[0] = uint64(uint32(code))
}

func setStatusCode(ctx context.Context, _ api.Module, stack []uint64) {
	ex := inRequest(ctx, "set_status_code")
	code := int(int32(uint32(stack[0])))
	if code < 100 || code > 599 {
		violate("set_status_code", "%d is not an HTTP status code", code)
	}
	switch {
	case ex.phase == phaseRequest:
		ex.status = code
	case ex.rw != nil && ex.rw.buffer:
		ex.status, ex.statusSet = code, true
	default:
		violate("set_status_code", "the response was already sent: enable buffer_response (feature 2) in handle_request")
	}
}

// mustBeBeforeNext traps once the request was passed on.
func mustBeBeforeNext(ex *exchange, fn string) {
	if ex.phase != phaseRequest {
		violate(fn, "the request was already passed to the next handler")
	}
}

// validToken reports whether s is an RFC 9110 token (a method or a header
// name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validFieldValue reports whether v may be a header value: no control
// characters but tab, so no header injection.
func validFieldValue(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
