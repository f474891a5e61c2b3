package proxy

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestAdmitRefusesConnect(t *testing.T) {
	for _, major := range []int{1, 2} {
		r := httptest.NewRequest(http.MethodConnect, "/", nil)
		r.ProtoMajor = major
		w := httptest.NewRecorder()
		if admit(w, r) {
			t.Fatalf("HTTP/%d CONNECT admitted", major)
		}
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") == "" || w.Header().Get("X-Request-Id") == "" ||
			!strings.Contains(w.Body.String(), "request id") {
			t.Fatalf("HTTP/%d CONNECT: %d %v %q", major, w.Code, w.Header(), w.Body)
		}
		if got := w.Header().Get("Connection") == "close"; got != (major == 1) {
			t.Fatalf("HTTP/%d CONNECT: Connection %q", major, w.Header().Get("Connection"))
		}
	}
}

func TestAdmitDropsH2C(t *testing.T) {
	for _, c := range []struct {
		in, want http.Header
	}{
		{http.Header{"Connection": {"Upgrade, HTTP2-Settings"}, "Upgrade": {"h2c"}, "Http2-Settings": {"AA"}}, http.Header{}},
		{http.Header{"Connection": {"keep-alive, upgrade", "HTTP2-Settings"}, "Upgrade": {"websocket, H2C"}, "X-A": {"b"}},
			http.Header{"Connection": {"keep-alive"}, "X-A": {"b"}}},
		{http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}, http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header = c.in.Clone()
		if !admit(httptest.NewRecorder(), r) {
			t.Fatalf("%v refused", c.in)
		}
		if !reflect.DeepEqual(r.Header, c.want) {
			t.Errorf("%v: got %v, want %v", c.in, r.Header, c.want)
		}
	}
}

// A credential field sent twice is refused before anything reads it,
// whichever value is the valid one; one of each is fine.
func TestAdmitRefusesTwoCredentials(t *testing.T) {
	for _, c := range []struct {
		name  string
		h     http.Header
		admit bool
	}{
		{"one Authorization", http.Header{"Authorization": {"Bearer a"}}, true},
		{"Authorization and Proxy-Authorization", http.Header{"Authorization": {"Bearer a"}, "Proxy-Authorization": {"Basic b"}}, true},
		{"two Authorization", http.Header{"Authorization": {"Bearer good", "Bearer bad"}}, false},
		{"two empty Authorization", http.Header{"Authorization": {"", ""}}, false},
		{"two Proxy-Authorization", http.Header{"Proxy-Authorization": {"Basic a", "Basic b"}}, false},
	} {
		r := httptest.NewRequest("GET", "https://app.example.com/", nil)
		r.Header = c.h
		w := httptest.NewRecorder()
		if got := admit(w, r); got != c.admit {
			t.Errorf("%s: admit = %v, want %v", c.name, got, c.admit)
		}
		if !c.admit && (w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "more than once")) {
			t.Errorf("%s: answered %d %q, want a 400 page", c.name, w.Code, w.Body.String())
		}
	}
}
