package sdk_test

import (
	"encoding/json"
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
