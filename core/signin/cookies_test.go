package signin

import (
	"net/http"
	"slices"
	"testing"
)

func TestGatewayCookie(t *testing.T) {
	for name, want := range map[string]bool{
		"__Host-gatehouse.hr": true, "__Host-gatehouse-state.hr": true, "__host-gatehouse.hr": true,
		"__HOST-GATEHOUSE.hr": true, " __Host-gatehouse.hr": true, `"__Host-gatehouse.hr"`: true,
		"%5F_Host-gatehouse.hr": true, "%255F%255FHost-gatehouse.hr": true, "__Host_gatehouse_hr": true,
		"__Host-gatehouse": true, "%5f%5fhost%2Dgatehouse": true,
		"gatehouse": false, "session": false, "__Host-other": false, "__Secure-gatehouse.hr": false, "": false, "%zz": false,
	} {
		if got := GatewayCookie(name); got != want {
			t.Errorf("GatewayCookie(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestStripCookies(t *testing.T) {
	h := http.Header{"Cookie": {
		"a=1; __Host-gatehouse.hr=s; b=2",
		"__host-gatehouse.wiki=x",
		"c=3, __Host-gatehouse.hr=y; d=4",
		"=__Host-gatehouse.hr=nameless; e=5",
		"plain=gatehouse; f=6",
	}}
	StripCookies(h)
	want := []string{"a=1; b=2", "d=4", "e=5", "plain=gatehouse; f=6"}
	if got := h["Cookie"]; !slices.Equal(got, want) {
		t.Errorf("Cookie = %q, want %q", got, want)
	}
	h = http.Header{"Cookie": {"__Host-gatehouse.hr=s"}}
	if StripCookies(h); h["Cookie"] != nil {
		t.Errorf("Cookie = %q, want none", h["Cookie"])
	}
}

func TestForeignSetCookies(t *testing.T) {
	in := []string{"a=1; Path=/", "__Host-gatehouse.hr=x; Path=/; Secure", "__HOST-gatehouse.hr=y",
		"=__Host-gatehouse.hr=z", "__Host-gatehouse.hr", "%5F_Host-gatehouse.hr=w", "b=2"}
	if got, want := ForeignSetCookies(in), []string{"a=1; Path=/", "b=2"}; !slices.Equal(got, want) {
		t.Errorf("ForeignSetCookies = %q, want %q", got, want)
	}
	clean := []string{"a=1", "b=2"}
	if got := ForeignSetCookies(clean); &got[0] != &clean[0] {
		t.Error("ForeignSetCookies copied lines that all stay")
	}
}
