package pluginhost_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/wire"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// serveRaw serves the test plug-ins "raw" and "raw-credentials": Injectors
// written against the protocol itself, not the sdk (as one built with
// another SDK, or an older one, would be), so the host's own checks are
// what the tests see, not the sdk's. Only raw-credentials declares
// the credentials capability. Both report in X-Secret the Secret they got,
// and answer AskCredentials when the request's X-Test is "ask" and
// RejectStatus 401 when it is "reject", declared or not.
func serveRaw(declare bool) int {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  wire.Handshake(wire.ProtocolVersion),
		VersionedPlugins: map[int]goplugin.PluginSet{wire.ProtocolVersion: {wire.Injector: &rawPlugin{declare: declare}}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.ForceServerCodec(wire.Codec{}))...)
		},
	})
	return 0
}

type rawPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	declare bool
}

func (p *rawPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("the plug-in side has no client")
}

func (p *rawPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	method := func(name string, h func(dec func(any) error) (any, error)) grpc.MethodDesc {
		return grpc.MethodDesc{MethodName: name, Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			return h(dec)
		}}
	}
	s.RegisterService(&grpc.ServiceDesc{ServiceName: wire.InjectorService, HandlerType: (*any)(nil), Methods: []grpc.MethodDesc{
		method(wire.MethodConfigure, func(dec func(any) error) (any, error) {
			var req map[string]any
			if err := dec(&req); err != nil {
				return nil, err
			}
			resp := map[string]any{}
			if p.declare {
				resp["capabilities"] = []string{"credentials"}
			}
			return resp, nil
		}),
		method(wire.MethodInject, func(dec func(any) error) (any, error) {
			var req struct {
				Header http.Header `json:"header"`
				Secret []byte      `json:"secret"`
				Spares int         `json:"spares"`
			}
			if err := dec(&req); err != nil {
				return nil, err
			}
			resp := map[string]any{"remove": []string{"X-Secret"}, "set": http.Header{"X-Secret": {fmt.Sprintf("%q", req.Secret)},
				"X-Asked": {fmt.Sprint(req.Spares)}}}
			switch test := req.Header.Get("X-Test"); test {
			case "ask":
				resp["ask_credentials"] = true
			case "reject":
				resp["reject_status"] = 401
			default:
				rawSpares(test, req.Spares, resp) // spares_test.go
			}
			return resp, nil
		}),
	}}, nil)
	return nil
}

// injectOnce opens test plug-in name and calls it once with secret, X-Test:
// test.
func injectOnce(t *testing.T, name, test string, secret []byte) (*pluginhost.Injector, sdk.InjectResult, error) {
	t.Helper()
	h, _ := testHost(t)
	inj := h.Injector(binaryEntry(t, name), pluginhost.Use{App: "hr"})
	t.Cleanup(func() { inj.Close() })
	if err := inj.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	res, err := inj.Inject(ctxTimeout(t, 5*time.Second), sdk.InjectRequest{Identity: sdk.Identity{Subject: "alice"},
		Method: "GET", URL: "http://hr.internal/", Header: http.Header{"X-Test": {test}}, Secret: secret})
	return inj, res, err
}

// A plug-in that declared the credentials capability gets the Secret and
// may ask for credentials or name a reject status.
func TestCredentialsCapabilityDeclared(t *testing.T) {
	for _, test := range []string{"", "ask", "reject"} {
		inj, res, err := injectOnce(t, "raw-credentials", test, []byte("sealed"))
		if err != nil {
			t.Fatalf("X-Test %q: %v", test, err)
		}
		if got := res.Set.Get("X-Secret"); got != `"sealed"` {
			t.Errorf("X-Test %q: the plug-in got Secret %s, want \"sealed\"", test, got)
		}
		if res.AskCredentials != (test == "ask") || (res.RejectStatus == 401) != (test == "reject") {
			t.Errorf("X-Test %q: got %+v", test, res)
		}
		if caps := inj.Capabilities(); !slices.Equal(caps, []sdk.Capability{sdk.CapabilityCredentials}) {
			t.Errorf("Capabilities() = %q, want [credentials]", caps)
		}
	}
}

// A plug-in that did not declare it never gets the Secret, and a result of
// its that asks for credentials or names a reject status is refused.
func TestCredentialsCapabilityNotDeclared(t *testing.T) {
	inj, res, err := injectOnce(t, "raw", "", []byte("sealed"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Set.Get("X-Secret"); got != `""` {
		t.Errorf("the plug-in got Secret %s; it did not declare the credentials capability", got)
	}
	if caps := inj.Capabilities(); caps != nil {
		t.Errorf("Capabilities() = %q, want none", caps)
	}
	for _, test := range []string{"ask", "reject"} {
		_, res, err := injectOnce(t, "raw", test, nil)
		if !errors.Is(err, pluginhost.ErrUndeclared) || !strings.Contains(err.Error(), `plug-in "raw" (app "hr"): invalid Inject result`) ||
			!strings.Contains(err.Error(), `needs capability "credentials", which the plug-in did not declare`) {
			t.Errorf("X-Test %q: got %+v, %v; want an error wrapping ErrUndeclared", test, res, err)
		}
	}
}
