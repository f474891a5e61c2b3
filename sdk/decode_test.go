package sdk_test

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

type jwtConfig struct {
	Issuer string        `json:"issuer"`
	TTL    time.Duration `json:"ttl"`
}

type testConfig struct {
	Name    string            `json:"name"`
	Port    uint16            `json:"port"`
	Ratio   float64           `json:"ratio"`
	On      bool              `json:"on"`
	Groups  []string          `json:"groups"`
	Headers map[string]string `json:"headers"`
	JWT     *jwtConfig        `json:"jwt"`
	Net     netip.Prefix      `json:"net"`
	Extra   any               `json:"extra"`
	Secret  string            `json:"-"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       testConfig
		errs       []string
	}{
		{name: "empty", json: ``, want: testConfig{Name: "default"}},
		{name: "null", json: `null`, want: testConfig{Name: "default"}},
		{name: "everything", json: `{"name":"n","port":8080,"ratio":0.5,"on":true,"groups":["a","b"],
			"headers":{"X-A":"1"},"jwt":{"issuer":"gw","ttl":"90s"},"net":"10.0.0.0/8","extra":{"k":[1,"x"]}}`,
			want: testConfig{Name: "n", Port: 8080, Ratio: 0.5, On: true, Groups: []string{"a", "b"},
				Headers: map[string]string{"X-A": "1"}, JWT: &jwtConfig{Issuer: "gw", TTL: 90 * time.Second},
				Net: netip.MustParsePrefix("10.0.0.0/8"), Extra: map[string]any{"k": []any{1.0, "x"}}}},
		{name: "unknown key", json: `{"nmae":"x"}`, errs: []string{"nmae: unknown key (known keys: extra, groups, headers, jwt, name, net, on, port, ratio)"}},
		{name: "ignored field is unknown", json: `{"Secret":"x"}`, errs: []string{"Secret: unknown key"}},
		{name: "nested unknown key", json: `{"jwt":{"isuser":"x"}}`, errs: []string{"jwt.isuser: unknown key (known keys: issuer, ttl)"}},
		{name: "wrong types", json: `{"name":1,"on":"yes","groups":"a","jwt":[]}`, errs: []string{
			"groups: expected a list, got the string \"a\"", "jwt: expected a map of keys, got a list",
			"name: expected a string, got the number 1", "on: expected true or false, got the string \"yes\""}},
		{name: "list element", json: `{"groups":["a",2]}`, errs: []string{"groups[1]: expected a string, got the number 2"}},
		{name: "out of range", json: `{"port":70000}`, errs: []string{"port: expected a whole number, 0 or more, in range, got the number 70000"}},
		{name: "duration", json: `{"jwt":{"ttl":60}}`, errs: []string{`jwt.ttl: expected a duration like "60s", got the number 60`}},
		{name: "bad duration", json: `{"jwt":{"ttl":"1 minute"}}`, errs: []string{`jwt.ttl: expected a duration like "60s" or "1h30m", got "1 minute"`}},
		{name: "text unmarshaler", json: `{"net":"10.0.0.0/33"}`, errs: []string{"net: netip.ParsePrefix"}},
		{name: "not a map", json: `[1]`, errs: []string{"expected a map of keys, got a list"}},
		{name: "not json", json: `{`, errs: []string{"not valid JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := testConfig{Name: "default"}
			err := sdk.ConfigureRequest{Config: []byte(tc.json)}.Decode(&got)
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %+v\nwant %+v", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.errs)
			}
			for _, w := range tc.errs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func ExampleConfigureRequest_Decode() {
	type config struct {
		Header string        `json:"header"`
		TTL    time.Duration `json:"ttl"`
	}
	cfg := config{Header: "X-Api-Key", TTL: time.Hour}
	req := sdk.ConfigureRequest{Config: []byte(`{"ttl": "15m", "heder": "X-Key"}`)}
	fmt.Println(req.Decode(&cfg))
	fmt.Println(cfg.TTL)
	// Output:
	// heder: unknown key (known keys: header, ttl)
	// 15m0s
}
