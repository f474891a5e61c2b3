// Command custom-signon is an example Injector plug-in: it tells a
// multi-tenant backend which tenant and which user a request is for, and
// proves it. Each request gets X-Tenant, X-Tenant-User and X-Tenant-Time
// (Unix seconds), and X-Tenant-Signature: the hex HMAC-SHA256 of
// "tenant\nuser\ntime" under a key read from key_file, a file on the
// connector that the backend shares. The key never leaves the connector
// and is never logged.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse/gatehouse/sdk"
)

type config struct {
	Tenant  string `json:"tenant"`   // sent as X-Tenant
	KeyFile string `json:"key_file"` // the HMAC key, as text (at least 32 characters)
}

type signer struct {
	tenant string
	key    []byte
}

var headers = []string{"X-Tenant", "X-Tenant-User", "X-Tenant-Time", "X-Tenant-Signature"}

func newSigner(_ context.Context, req sdk.ConfigureRequest) (sdk.Injector, error) {
	var cfg config
	if err := req.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Tenant == "" || strings.ContainsAny(cfg.Tenant, "\r\n\x00") {
		return nil, sdk.FieldErrorf("tenant", "required: the tenant name the backend expects in X-Tenant, on one line")
	}
	if cfg.KeyFile == "" {
		return nil, sdk.FieldErrorf("key_file", "required: a file on the connector holding the HMAC key the backend shares (openssl rand -hex 32)")
	}
	if req.CheckOnly { // the file exists only where the plug-in runs
		return nil, nil
	}
	b, err := os.ReadFile(cfg.KeyFile)
	if err != nil {
		return nil, sdk.FieldErrorf("key_file", "%v", err)
	}
	key := []byte(strings.TrimSpace(string(b)))
	if len(key) < 32 {
		return nil, sdk.FieldErrorf("key_file", "%s holds %d characters; a key needs at least 32 (openssl rand -hex 32)", cfg.KeyFile, len(key))
	}
	req.Log.Info("signing for tenant", "tenant", cfg.Tenant) // never the key
	return &signer{tenant: cfg.Tenant, key: key}, nil
}

func (s *signer) Inject(_ context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
	if strings.ContainsFunc(req.Identity.Subject, unicode.IsControl) {
		return sdk.InjectResult{}, errors.New("the user id holds a control character: not signed") // fail closed
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(s.tenant + "\n" + req.Identity.Subject + "\n" + now))
	return sdk.InjectResult{Remove: headers, Set: http.Header{
		"X-Tenant": {s.tenant}, "X-Tenant-User": {req.Identity.Subject}, "X-Tenant-Time": {now},
		"X-Tenant-Signature": {hex.EncodeToString(mac.Sum(nil))},
	}}, nil
}

func main() {
	if err := sdk.Serve(sdk.Plugin{Injector: newSigner}); err != nil {
		log.Fatal(err)
	}
}
