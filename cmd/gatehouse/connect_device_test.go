package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/reserved"
)

// A device sign-in shows the address and code, polls through
// "authorization_pending" and takes the token; a refusal says why.
func TestConnectDeviceSignIn(t *testing.T) {
	var polls atomic.Int32
	var deny atomic.Bool
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == reserved.CLIDevice:
			_ = json.NewEncoder(w).Encode(map[string]any{"device_code": "DC", "user_code": "BCDF-GHJK",
				"verification_uri": srv.URL + reserved.CLIDevice + "?user_code=BCDF-GHJK", "expires_in": 600, "interval": 1})
		case r.URL.Path == reserved.CLIToken && r.PostForm.Get("device_code") == "DC":
			if deny.Load() {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"access_denied","error_description":"the sign-in was denied in the browser"}`))
			} else if polls.Add(1) < 3 {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"authorization_pending"}`))
			} else {
				_ = json.NewEncoder(w).Encode(cachedToken{Token: "TOK", ExpiresAt: time.Now().Add(time.Hour)})
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	var stderr bytes.Buffer
	c := testClient(t, srv, &stderr)
	tok, err := c.deviceSignIn(t.Context())
	if err != nil || tok.Token != "TOK" || polls.Load() != 3 {
		t.Fatalf("device sign-in: %v %+v after %d polls", err, tok, polls.Load())
	}
	if !strings.Contains(stderr.String(), srv.URL+reserved.CLIDevice+"?user_code=BCDF-GHJK") || !strings.Contains(stderr.String(), "check the code BCDF-GHJK") {
		t.Fatalf("stderr: %s", stderr.String())
	}
	deny.Store(true)
	if _, err := c.deviceSignIn(t.Context()); err == nil || !strings.Contains(err.Error(), "denied in the browser") {
		t.Fatalf("a denied sign-in: %v", err)
	}
}

// --device with a token is a usage error.
func TestConnectDeviceFlags(t *testing.T) {
	var out bytes.Buffer
	err := connectCmd(t.Context(), []string{"https://a.example.com", "--stdio", "--device", "--token", "x"}, nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--device") {
		t.Fatalf("--device --token: %v", err)
	}
}
