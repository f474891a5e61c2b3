package sdk_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// ReuseFor and ForgetOn are checked, and both stay off the wire when
// unset, so an older host or plug-in sees the answers it always did: a
// plug-in that says nothing about reuse is called for every request.
func TestInjectResultReuseFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  sdk.InjectResult
		err  string
	}{
		{"reuse with 401", sdk.InjectResult{ReuseFor: time.Minute, ForgetOn: []int{401, 403}}, ""},
		{"negative reuse", sdk.InjectResult{ReuseFor: -time.Second}, "negative"},
		{"forget on 200", sdk.InjectResult{ReuseFor: time.Minute, ForgetOn: []int{200}}, "status 200 is not between 400 and 599"},
		{"forget on 600", sdk.InjectResult{ForgetOn: []int{600}}, "status 600"},
		{"too many", sdk.InjectResult{ForgetOn: make([]int, sdk.MaxForgetOn+1)}, "more than 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.res.Validate()
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Validate() = %v, want %q", err, tc.err)
			}
		})
	}

	b, err := json.Marshal(sdk.InjectResult{Remove: []string{"X-User"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "reuse_for") || strings.Contains(s, "forget_on") {
		t.Errorf("unset reuse fields on the wire: %s", s)
	}
	b, err = json.Marshal(sdk.InjectRequest{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "session_expires") {
		t.Errorf("unset SessionExpires on the wire: %s", b)
	}
	var old sdk.InjectResult // what a plug-in built before these fields sends
	if err := json.Unmarshal([]byte(`{"remove":["X-User"],"set":{"X-User":["alice"]}}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.ReuseFor != 0 || old.ForgetOn != nil {
		t.Errorf("an older plug-in's answer decoded as reusable: %+v", old)
	}
	var got sdk.InjectResult
	if err := json.Unmarshal([]byte(`{"reuse_for":60000000000,"forget_on":[401]}`), &got); err != nil || got.ReuseFor != time.Minute || len(got.ForgetOn) != 1 || got.ForgetOn[0] != 401 {
		t.Errorf("decoded %+v, %v", got, err)
	}
}

// Spares and SparesFor are checked like Set, bounded by MaxSpares, and
// stay off the wire when unset; an older plug-in's answer decodes without
// spares, and a request's Spares survives the codec both ways.
func TestInjectSparesFields(t *testing.T) {
	spare := func(v string) http.Header { return http.Header{"Authorization": {v}} }
	many := make([]http.Header, sdk.MaxSpares+1)
	for i := range many {
		many[i] = spare("Negotiate x")
	}
	for _, tc := range []struct {
		name string
		res  sdk.InjectResult
		err  string
	}{
		{"spares", sdk.InjectResult{Spares: []http.Header{spare("Negotiate a"), spare("Negotiate b")}, SparesFor: time.Minute}, ""},
		{"MaxSpares", sdk.InjectResult{Spares: many[:sdk.MaxSpares], SparesFor: time.Minute}, ""},
		{"too many", sdk.InjectResult{Spares: many, SparesFor: time.Minute}, "more than 32"},
		{"negative SparesFor", sdk.InjectResult{Spares: many[:1], SparesFor: -time.Second}, "SparesFor is negative"},
		{"CRLF in a spare", sdk.InjectResult{Spares: []http.Header{spare("ok"), spare("Negotiate a\r\nX-Admin: 1")}, SparesFor: time.Minute}, "Spares[1]"},
		{"bad name in a spare", sdk.InjectResult{Spares: []http.Header{{"Bad Name": {"v"}}}, SparesFor: time.Minute}, "Spares[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.res.Validate()
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Validate() = %v, want %q", err, tc.err)
			}
		})
	}
	if sdk.MaxSpares != 32 {
		t.Errorf("MaxSpares = %d; the docs say 32", sdk.MaxSpares)
	}

	b, err := json.Marshal(sdk.InjectResult{Set: spare("x")})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "spares") {
		t.Errorf("unset spare fields on the wire: %s", s)
	}
	if b, _ := json.Marshal(sdk.InjectRequest{Method: "GET"}); strings.Contains(string(b), "spares") {
		t.Errorf("unset InjectRequest.Spares on the wire: %s", b)
	}
	var old sdk.InjectResult
	if err := json.Unmarshal([]byte(`{"set":{"Authorization":["Negotiate a"]}}`), &old); err != nil || old.Spares != nil || old.SparesFor != 0 {
		t.Errorf("an older plug-in's answer decoded with spares: %+v, %v", old, err)
	}
	in := sdk.InjectResult{Set: spare("Negotiate a"), Spares: []http.Header{spare("Negotiate b"), spare("Negotiate c")}, SparesFor: time.Minute}
	b, _ = json.Marshal(in)
	var got sdk.InjectResult
	if err := json.Unmarshal(b, &got); err != nil || len(got.Spares) != 2 || got.Spares[1].Get("Authorization") != "Negotiate c" || got.SparesFor != time.Minute {
		t.Errorf("round trip %s: %+v, %v", b, got, err)
	}
	var req sdk.InjectRequest
	b, _ = json.Marshal(sdk.InjectRequest{Spares: 4})
	if err := json.Unmarshal(b, &req); err != nil || req.Spares != 4 || !strings.Contains(string(b), `"spares":4`) {
		t.Errorf("InjectRequest.Spares round trip %s: %+v, %v", b, req, err)
	}
}
