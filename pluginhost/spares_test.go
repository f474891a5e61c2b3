package pluginhost_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
)

// rawSpares adds to a raw plug-in's answer the spares X-Test asks for:
// "spares" as many as asked, "spares+1" one more, "spares-nofor" as many
// without SparesFor, "spares-crlf" one with a CR LF in its value.
func rawSpares(test string, asked int, resp map[string]any) {
	n := asked
	switch test {
	case "spares", "spares-nofor":
	case "spares+1":
		n++
	case "spares-crlf":
		resp["spares"] = []http.Header{{"Authorization": {"Negotiate a\r\nX-Admin: 1"}}}
		resp["spares_for"] = time.Minute
		return
	default:
		return
	}
	spares := make([]http.Header, n)
	for i := range spares {
		spares[i] = http.Header{"Authorization": {fmt.Sprint("Negotiate spare-", i)}}
	}
	resp["spares"] = spares
	if test != "spares-nofor" {
		resp["spares_for"] = time.Minute
	}
}

// injectSpares calls raw once with X-Test: test, asking for asked spares.
func injectSpares(t *testing.T, test string, asked int) (sdk.InjectResult, string, error) {
	t.Helper()
	h, logs := testHost(t)
	inj := h.Injector(binaryEntry(t, "raw"), pluginhost.Use{App: "hr"})
	t.Cleanup(func() { inj.Close() })
	if err := inj.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	res, err := inj.Inject(ctxTimeout(t, 5*time.Second), sdk.InjectRequest{Identity: sdk.Identity{Subject: "alice"},
		Method: "GET", URL: "http://hr.internal/", Header: http.Header{"X-Test": {test}}, Spares: asked})
	return res, logs.String(), err
}

// InjectRequest.Spares and InjectResult.Spares cross the wire to a plug-in
// that speaks the protocol directly; the host clamps what it asks for to
// sdk.MaxSpares, drops every spare of a result that has more than asked
// or no SparesFor (keeping Set, and saying so in the log), and refuses a
// result with a bad header in a spare.
func TestInjectSpares(t *testing.T) {
	res, _, err := injectSpares(t, "spares", 3)
	if err != nil || res.Set.Get("X-Asked") != "3" || len(res.Spares) != 3 || res.SparesFor != time.Minute ||
		res.Spares[2].Get("Authorization") != "Negotiate spare-2" {
		t.Fatalf("3 spares asked: %+v, %v", res, err)
	}
	res, _, err = injectSpares(t, "spares", 1000)
	if err != nil || res.Set.Get("X-Asked") != fmt.Sprint(sdk.MaxSpares) || len(res.Spares) != sdk.MaxSpares {
		t.Fatalf("1000 spares asked: the plug-in was asked for %s and gave %d, %v; want %d", res.Set.Get("X-Asked"), len(res.Spares), err, sdk.MaxSpares)
	}
	res, _, err = injectSpares(t, "spares", -5)
	if err != nil || res.Set.Get("X-Asked") != "0" || len(res.Spares) != 0 {
		t.Fatalf("-5 spares asked: %+v, %v", res, err)
	}
	for _, test := range []string{"spares+1", "spares-nofor"} {
		res, logs, err := injectSpares(t, test, 2)
		if err != nil || res.Spares != nil || res.SparesFor != 0 || res.Set.Get("X-Asked") != "2" {
			t.Errorf("%s: %+v, %v; want Set without spares", test, res, err)
		}
		if !strings.Contains(logs, "plug-in returned spare results it was not asked for") {
			t.Errorf("%s: no warning in the log:\n%s", test, logs)
		}
	}
	res, _, err = injectSpares(t, "spares+1", 0)
	if err != nil || res.Spares != nil {
		t.Errorf("a spare nobody asked for: %+v, %v", res, err)
	}
	if res, _, err := injectSpares(t, "spares-crlf", 2); err == nil || !strings.Contains(err.Error(), "invalid Inject result: Spares[0]") {
		t.Errorf("a spare with CR LF: %+v, %v; want an invalid result", res, err)
	}
}
