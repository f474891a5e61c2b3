// Command custom-sso is an example Authenticator plug-in: API-key sign-in
// for scripts and services. A request carrying a known key in the
// configured header is signed in as the key's subject; an unknown key gets
// a 401; a request without the header is not this plug-in's business.
// Keys are stored as SHA-256 hashes, so the config holds no secret.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"net/http"

	"github.com/gatehouse/gatehouse/sdk"
)

type config struct {
	Header string   `json:"header"`
	Keys   []apiKey `json:"keys"`
}

type apiKey struct {
	SHA256  string   `json:"sha256"` // hex SHA-256 of the key: printf %s KEY | sha256sum
	Subject string   `json:"subject"`
	UPN     string   `json:"upn"` // optional: the user principal name (user@REALM)
	Groups  []string `json:"groups"`
}

type apiKeys struct {
	header string
	keys   map[[32]byte]apiKey // by hash: a lookup's timing tells nothing about a key
}

func newAPIKeys(_ context.Context, req sdk.ConfigureRequest) (sdk.Authenticator, error) {
	cfg := config{Header: "X-Api-Key"}
	if err := req.Decode(&cfg); err != nil {
		return nil, err
	}
	if len(cfg.Keys) == 0 {
		return nil, sdk.FieldErrorf("keys", "at least one key is required")
	}
	a := &apiKeys{header: cfg.Header, keys: map[[32]byte]apiKey{}}
	for i, k := range cfg.Keys {
		sum, err := hex.DecodeString(k.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return nil, sdk.FieldErrorf(fmt.Sprintf("keys[%d].sha256", i), "want the 64 hex digits of the key's SHA-256")
		}
		if k.Subject == "" {
			return nil, sdk.FieldErrorf(fmt.Sprintf("keys[%d].subject", i), "is required")
		}
		a.keys[[32]byte(sum)] = k
	}
	return a, nil
}

func (a *apiKeys) Authenticate(_ context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	presented := req.Header.Get(a.header)
	if presented == "" {
		return sdk.NotMine(), nil
	}
	k, ok := a.keys[sha256.Sum256([]byte(presented))]
	if !ok {
		res := sdk.Challenge(http.StatusUnauthorized,
			http.Header{"Www-Authenticate": {fmt.Sprintf("ApiKey header=%q", a.header)}}, []byte("invalid API key\n"))
		res.Reason = "unknown API key"
		return res, nil
	}
	return sdk.Authenticated(sdk.Identity{Subject: k.Subject, UPN: k.UPN, Groups: k.Groups, AMR: []string{"apikey"}}), nil
}

func main() {
	if err := sdk.Serve(sdk.Plugin{Authenticator: newAPIKeys}); err != nil {
		log.Fatal(err)
	}
}
