package sdk

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// secretInjector records the Secret it was given and answers res.
type secretInjector struct {
	got []byte
	res InjectResult
}

func (s *secretInjector) Inject(_ context.Context, req InjectRequest) (InjectResult, error) {
	s.got = req.Secret
	return s.res, nil
}

// served is an Injector behind the plug-in side of the protocol, as
// [Serve] serves it for a plug-in that declared caps, and configured.
type served struct {
	inj  *secretInjector
	call func(method string, req any) (any, error)
	conf *ConfigureResponse
}

func serveInjector(t *testing.T, caps []Capability, res InjectResult) served {
	t.Helper()
	inj := &secretInjector{res: res}
	log := slog.New(slog.DiscardHandler)
	desc := injectorService(newInstance(func(context.Context, ConfigureRequest) (Injector, error) { return inj, nil }, log, caps), log)
	call := func(method string, req any) (any, error) {
		for _, m := range desc.Methods {
			if m.MethodName == method {
				dec := func(v any) error { // as the wire codec does
					b, err := json.Marshal(req)
					if err != nil {
						return err
					}
					return json.Unmarshal(b, v)
				}
				return m.Handler(nil, context.Background(), dec, nil)
			}
		}
		t.Fatalf("no method %s", method)
		return nil, nil
	}
	resp, err := call("Configure", ConfigureRequest{App: "hr"})
	if err != nil {
		t.Fatal(err)
	}
	return served{inj: inj, call: call, conf: resp.(*ConfigureResponse)}
}

// A plug-in that declared the credentials capability says so in its
// answer to Configure, gets the Secret, and may ask for credentials.
func TestCredentialsDeclared(t *testing.T) {
	for _, res := range []InjectResult{{AskCredentials: true}, {RejectStatus: 401, Set: map[string][]string{"Authorization": {"Basic x"}}}} {
		s := serveInjector(t, []Capability{CapabilityCredentials}, res)
		if len(s.conf.Capabilities) != 1 || s.conf.Capabilities[0] != CapabilityCredentials {
			t.Fatalf("Configure answered %+v, want the credentials capability", s.conf)
		}
		out, err := s.call("Inject", InjectRequest{Identity: Identity{Subject: "alice"}, Secret: []byte("sealed")})
		if err != nil {
			t.Fatalf("%+v: %v", res, err)
		}
		if string(s.inj.got) != "sealed" {
			t.Errorf("the plug-in got Secret %q, want %q", s.inj.got, "sealed")
		}
		if got := *out.(*InjectResult); got.AskCredentials != res.AskCredentials || got.RejectStatus != res.RejectStatus {
			t.Errorf("answered %+v, want %+v", got, res)
		}
	}
}

// A plug-in that did not declare it never sees a Secret, even one a host
// sent by mistake, and cannot ask for credentials.
func TestCredentialsNotDeclared(t *testing.T) {
	s := serveInjector(t, nil, InjectResult{Set: map[string][]string{"X-User": {"alice"}}})
	if s.conf.Capabilities != nil {
		t.Fatalf("Configure answered %+v, want no capabilities", s.conf)
	}
	if _, err := s.call("Inject", InjectRequest{Identity: Identity{Subject: "alice"}, Secret: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	if s.inj.got != nil {
		t.Errorf("the plug-in got Secret %q; it did not declare the credentials capability", s.inj.got)
	}
	for _, tc := range []struct {
		res  InjectResult
		want string
	}{
		{InjectResult{AskCredentials: true}, "AskCredentials is set, but the plug-in did not declare capability \"credentials\""},
		{InjectResult{RejectStatus: 401}, "RejectStatus is set, but the plug-in did not declare capability \"credentials\""},
	} {
		s := serveInjector(t, nil, tc.res)
		_, err := s.call("Inject", InjectRequest{Identity: Identity{Subject: "alice"}})
		if st, _ := status.FromError(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), tc.want) {
			t.Errorf("%+v: got %v, want Internal: ...%s", tc.res, err, tc.want)
		}
	}
}

func TestPluginCapabilities(t *testing.T) {
	newInj := func(context.Context, ConfigureRequest) (Injector, error) { return nil, nil }
	newAuth := func(context.Context, ConfigureRequest) (Authenticator, error) { return nil, nil }
	for _, tc := range []struct {
		p    Plugin
		want string
	}{
		{Plugin{Injector: newInj}, ""},
		{Plugin{Injector: newInj, Capabilities: []Capability{CapabilityCredentials}}, ""},
		{Plugin{Injector: newInj, Capabilities: []Capability{"credential"}}, `unknown capability "credential" in Plugin.Capabilities (known: ["credentials" "signout"])`},
		{Plugin{Authenticator: newAuth, Capabilities: []Capability{CapabilityCredentials}}, `capability "credentials" is for Injectors`},
	} {
		err := tc.p.checkCapabilities()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: got %v, want %q", tc.p.Capabilities, err, tc.want)
		}
		if tc.want != "" {
			if err := Serve(tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Serve: got %v, want %q", err, tc.want)
			}
		}
	}
}
