package conformance

import (
	"context"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
)

// target is a plug-in instance of either kind, as the checks drive it.
type target interface {
	Open(ctx context.Context) error
	Close() error
	PID() int
	// normal makes one well-formed call.
	normal(ctx context.Context) error
	// garbage is the list of hostile inputs for this kind.
	garbage() []garbageCase
}

type garbageCase struct {
	name string
	size int // bytes of input, roughly: big inputs get more time
	call func(ctx context.Context) error
}

func newTarget(h pluginhost.Host, kind Kind, e pluginhost.Entry, u pluginhost.Use) target {
	if kind == Authenticator {
		return &authTarget{h.Authenticator(e, u)}
	}
	return &injectTarget{h.Injector(e, u)}
}

type authTarget struct{ *pluginhost.Authenticator }

func (a *authTarget) normal(ctx context.Context) error {
	_, err := a.Authenticate(ctx, sampleAuthRequest())
	return err
}

func sampleAuthRequest() sdk.AuthRequest {
	return sdk.AuthRequest{
		Method: "GET", URL: "https://app.example.com/reports?q=1", RemoteAddr: "192.0.2.10",
		Header:      http.Header{"User-Agent": {"conformance"}, "Accept": {"text/html"}},
		CallbackURL: "https://app.example.com/.gatehouse/callback",
	}
}

func (a *authTarget) garbage() []garbageCase {
	var cases []garbageCase
	for _, h := range hostileHeaders() {
		req := sampleAuthRequest()
		req.Header = h.header
		cases = append(cases, garbageCase{h.name, headerSize(h.header), a.call(req)})
	}
	bad := string([]byte{0xff, 0xfe, 0xc3, 0x28})
	return append(cases,
		garbageCase{"an empty request", 0, a.call(sdk.AuthRequest{})},
		garbageCase{"invalid UTF-8 everywhere", 0, a.call(sdk.AuthRequest{Method: bad, URL: "https://app/" + bad, RemoteAddr: bad,
			CallbackURL: bad, State: []byte(bad), Body: []byte(bad), Header: http.Header{bad: {bad}}})},
		garbageCase{"a URL that does not parse", 0, a.call(sdk.AuthRequest{Method: "GET", URL: "http://[::1:%zz/\x00"})},
		garbageCase{"forged state on the callback", 0, a.call(func() sdk.AuthRequest {
			r := sampleAuthRequest()
			r.URL, r.State = r.CallbackURL+"?code=x&state=y", []byte("forged state \x00\x01")
			return r
		}())},
		garbageCase{"a 1 MiB body", 1 << 20, a.call(sdk.AuthRequest{Method: "POST", URL: "https://app.example.com/.gatehouse/callback",
			Body: []byte(strings.Repeat("a=b&", 1<<18))})},
	)
}

func (a *authTarget) call(req sdk.AuthRequest) func(context.Context) error {
	return func(ctx context.Context) error { _, err := a.Authenticate(ctx, req); return err }
}

type injectTarget struct{ *pluginhost.Injector }

func sampleInjectRequest() sdk.InjectRequest {
	return sdk.InjectRequest{
		Identity: sdk.Identity{Subject: "00u1conformance", UPN: "alice@EXAMPLE.COM", Email: "alice@example.com",
			Name: "Alice", Groups: []string{"staff", "hr"}, AMR: []string{"pwd", "mfa"}},
		Method: "GET", URL: "http://backend.internal/reports",
		Header: http.Header{"User-Agent": {"conformance"}},
	}
}

func (i *injectTarget) normal(ctx context.Context) error {
	_, err := i.Inject(ctx, sampleInjectRequest())
	return err
}

func (i *injectTarget) garbage() []garbageCase {
	var cases []garbageCase
	for _, h := range hostileHeaders() {
		req := sampleInjectRequest()
		req.Header = h.header
		cases = append(cases, garbageCase{h.name, headerSize(h.header), i.call(req)})
	}
	bad := string([]byte{0xff, 0xfe, 0xc3, 0x28})
	many := make([]string, 10000)
	for n := range many {
		many[n] = "group-" + strings.Repeat("x", n%50)
	}
	return append(cases,
		garbageCase{"an empty request", 0, i.call(sdk.InjectRequest{})},
		garbageCase{"invalid UTF-8 in the identity", 0, i.call(sdk.InjectRequest{Identity: sdk.Identity{Subject: bad, UPN: bad, Email: bad,
			Name: bad, Groups: []string{bad}, Claims: map[string]any{bad: bad}}, Method: bad, URL: bad})},
		garbageCase{"line breaks in the identity", 0, i.call(sdk.InjectRequest{Identity: sdk.Identity{Subject: "a\r\nX-Admin: 1",
			UPN: "b\nc", Email: "d\x00e", Name: "f\rg", Groups: []string{"h\r\ni"}}})},
		garbageCase{"10,000 groups", 10000 * 32, i.call(sdk.InjectRequest{Identity: sdk.Identity{Subject: "many", Groups: many}})},
		// The host passes a Secret only to a plug-in that declared the credentials capability.
		garbageCase{"a secret that is not sealed credentials", 0, i.call(sdk.InjectRequest{Identity: sdk.Identity{Subject: "alice"},
			Method: "GET", URL: "http://backend.internal/", Secret: []byte(strings.Repeat("\x00garbage", 512))})},
		garbageCase{"nested claims", 0, i.call(sdk.InjectRequest{Identity: sdk.Identity{Subject: "c",
			Claims: map[string]any{"a": map[string]any{"b": []any{1.0, nil, true}}, "n": nil}}})},
	)
}

func (i *injectTarget) call(req sdk.InjectRequest) func(context.Context) error {
	return func(ctx context.Context) error { _, err := i.Inject(ctx, req); return err }
}

type namedHeader struct {
	name   string
	header http.Header
}

// hostileHeaders are request headers no client should send, but some will.
func hostileHeaders() []namedHeader {
	many := make(http.Header, 10000)
	for n := range 10000 {
		many["X-H"+strings.Repeat("a", n%40)+string(rune('a'+n%26))+string(rune('a'+n/26%26))+string(rune('a'+n/676))] = []string{"v"}
	}
	return []namedHeader{
		{"a 1 MiB header value", http.Header{"Cookie": {strings.Repeat("c", 1<<20)}, "Authorization": {"Bearer " + strings.Repeat("t", 1<<16)}}},
		{"10,000 headers", many},
		{"empty and nil header fields", http.Header{"": {""}, "X-Nil": nil, "X-Empty": {}, "Authorization": {""}}},
		{"a 5 MiB request (over the wire limit)", http.Header{"X-Big": {strings.Repeat("b", 5<<20)}}},
	}
}

// headerSize is the number of bytes in h's names and values.
func headerSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}
