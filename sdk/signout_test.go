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

// signOuter is an Authenticator that can sign out at its provider.
type signOuter struct {
	got SignOutRequest
	res SignOutResult
}

func (s *signOuter) Authenticate(context.Context, AuthRequest) (AuthResult, error) {
	return NotMine(), nil
}

func (s *signOuter) SignOut(_ context.Context, req SignOutRequest) (SignOutResult, error) {
	s.got = req
	return s.res, nil
}

// plainAuth is an Authenticator without SignOut.
type plainAuth struct{}

func (plainAuth) Authenticate(context.Context, AuthRequest) (AuthResult, error) {
	return NotMine(), nil
}

// serveAuth serves impl as Serve does for a plug-in that declared caps,
// and returns a caller of its methods and the error of Configure.
func serveAuth(t *testing.T, caps []Capability, impl Authenticator) (func(method string, req any) (any, error), error) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	desc := authenticatorService(newInstance(func(context.Context, ConfigureRequest) (Authenticator, error) { return impl, nil }, log,
		kindCapabilities(caps, true)), log)
	call := func(method string, req any) (any, error) {
		for _, m := range desc.Methods {
			if m.MethodName == method {
				dec := func(v any) error {
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
	_, err := call("Configure", ConfigureRequest{App: "hr"})
	return call, err
}

// A plug-in that declared the capability gets the request and its
// answer reaches the host; an invalid Location is refused.
func TestSignOutDeclared(t *testing.T) {
	so := &signOuter{res: SignOutResult{Location: "https://idp.example/logout?x=1"}}
	call, err := serveAuth(t, []Capability{CapabilitySignOut}, so)
	if err != nil {
		t.Fatal(err)
	}
	req := SignOutRequest{Identity: Identity{Subject: "alice"}, ReturnURL: "https://app.example/.gatehouse/auth/app/signedout", State: "s1"}
	out, err := call("SignOut", req)
	if err != nil {
		t.Fatal(err)
	}
	if got := *out.(*SignOutResult); got.Location != so.res.Location {
		t.Errorf("answered %+v, want %+v", got, so.res)
	}
	if so.got.Identity.Subject != "alice" || so.got.ReturnURL != req.ReturnURL || so.got.State != "s1" {
		t.Errorf("the plug-in got %+v, want %+v", so.got, req)
	}
	for _, bad := range []string{"/relative", "javascript:alert(1)", "https://idp.example/\r\nX: y", "ftp://idp.example/"} {
		so.res = SignOutResult{Location: bad}
		_, err := call("SignOut", req)
		if st, _ := status.FromError(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "SignOut returned an invalid result") {
			t.Errorf("Location %q: got %v, want Internal: SignOut returned an invalid result", bad, err)
		}
	}
}

// A plug-in that did not declare it is never asked, and one that
// declared it without the method is refused at Configure.
func TestSignOutNotDeclared(t *testing.T) {
	so := &signOuter{res: SignOutResult{Location: "https://idp.example/logout"}}
	call, err := serveAuth(t, nil, so)
	if err != nil {
		t.Fatal(err)
	}
	_, err = call("SignOut", SignOutRequest{ReturnURL: "https://app.example/x"})
	if st, _ := status.FromError(err); st.Code() != codes.Unimplemented {
		t.Errorf("got %v, want Unimplemented", err)
	}
	if so.got.ReturnURL != "" {
		t.Error("the plug-in was asked to sign out without declaring the capability")
	}
	if _, err := serveAuth(t, []Capability{CapabilitySignOut}, plainAuth{}); err == nil || !strings.Contains(err.Error(), "has no SignOut method") {
		t.Errorf("Configure of an Authenticator without SignOut: got %v, want an error saying so", err)
	}
	newInj := func(context.Context, ConfigureRequest) (Injector, error) { return nil, nil }
	if err := (Plugin{Injector: newInj, Capabilities: []Capability{CapabilitySignOut}}).checkCapabilities(); err == nil ||
		!strings.Contains(err.Error(), `capability "signout" is for Authenticators`) {
		t.Errorf("signout on an Injector: got %v", err)
	}
}
