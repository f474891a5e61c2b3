// Command hostileplugin is an Authenticator that misbehaves on purpose, as
// the request's X-Hostile header asks, so the hostile suite
// (e2e/hostile_peers_test.go) can check that the gateway fails closed:
//
//	ok        signs the caller in as "mallory"
//	hang      never answers, whatever the deadline
//	crash     exits the process in the middle of the call
//	panic     panics in the call
//	huge      an identity of 1 MiB of groups (fits a plug-in answer, not an envelope)
//	gigantic  an identity of 8 MiB of groups (larger than a plug-in answer may be)
//	nosubject an "authenticated" result without a subject
//	cookie    a challenge that sets the gateway's own session cookie
//
// Without the header it finds no credentials (sdk.NotMine). It is built by
// the test with go build; it is not part of any release.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

type hostile struct{ app string }

func newHostile(_ context.Context, req sdk.ConfigureRequest) (sdk.Authenticator, error) {
	return hostile{app: req.App}, nil
}

func groups(total int) []string {
	g := strings.Repeat("g", 1023)
	out := make([]string, 0, total/1024)
	for n := 0; n < total; n += 1024 {
		out = append(out, g)
	}
	return out
}

func (h hostile) Authenticate(ctx context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	switch req.Header.Get("X-Hostile") {
	case "ok":
		return sdk.Authenticated(sdk.Identity{Subject: "mallory", Groups: []string{"staff"}, Claims: map[string]any{"app": h.app}}), nil
	case "hang":
		time.Sleep(time.Hour) // ignores ctx on purpose
		return sdk.NotMine(), nil
	case "crash":
		os.Exit(3)
	case "panic":
		var m map[string]int
		m["boom"]++
	case "huge":
		return sdk.Authenticated(sdk.Identity{Subject: "mallory", Groups: groups(1 << 20)}), nil
	case "gigantic":
		return sdk.Authenticated(sdk.Identity{Subject: "mallory", Groups: groups(8 << 20)}), nil
	case "nosubject":
		return sdk.AuthResult{Outcome: sdk.OutcomeAuthenticated, Identity: sdk.Identity{Groups: []string{"admins"}}}, nil
	case "cookie":
		return sdk.Challenge(http.StatusOK, http.Header{
			"Set-Cookie":   {"__Host-gatehouse." + h.app + "=forged; Path=/; Secure; HttpOnly", "theme=dark; Path=/"},
			"Content-Type": {"text/plain"},
		}, []byte("welcome\n")), nil
	}
	return sdk.NotMine(), nil
}

func main() {
	if err := sdk.Serve(sdk.Plugin{Authenticator: newHostile}); err != nil {
		log.Fatal(err)
	}
}
