package fastpath

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{"", "httploop,relay,h2,heldconn,rawsock,leanclient,yamux", ""},
		{"on", "httploop,relay,h2,heldconn,rawsock,leanclient,yamux", ""},
		{" off ", "none", ""},
		{"-rawsock", "httploop,relay,h2,heldconn,leanclient,yamux", ""},
		{"-rawsock, -httploop", "relay,h2,heldconn,leanclient,yamux", ""},
		{"-httploop,-relay,-h2,-heldconn,-rawsock,-leanclient,-yamux", "none", ""},
		{"-yamux", "httploop,relay,h2,heldconn,rawsock,leanclient", ""},
		{"rawsock", "", `"rawsock" is not understood`},
		{"-front", "", `"-front" is not understood`},
		{"-rawsock,", "", `"" is not understood`},
		{"OFF", "", `"OFF" is not understood`},
	} {
		s, err := Parse(tt.in)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), EnvVar) {
				t.Errorf("Parse(%q) = %v, %v; want an error naming %s and containing %s", tt.in, s, err, EnvVar, tt.err)
			}
			if s != All {
				t.Errorf("Parse(%q) returned %v with its error", tt.in, s)
			}
		case err != nil:
			t.Errorf("Parse(%q): %v", tt.in, err)
		case s.String() != tt.want:
			t.Errorf("Parse(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
}

func TestSet(t *testing.T) {
	var zero Set
	for _, p := range Paths() {
		if !zero.On(p) || !All.On(p) || None.On(p) {
			t.Errorf("%s: zero %v, All %v, None %v", p, zero.On(p), All.On(p), None.On(p))
		}
		if s := All.Without(p); s.On(p) || s == All {
			t.Errorf("All.Without(%s) still has it on", p)
		}
	}
	// The stricter of two switches wins.
	a, b := All.Without(RawSock), All.Without(HTTPLoop)
	if got := a.And(b); got.On(RawSock) || got.On(HTTPLoop) || !got.On(Relay) {
		t.Errorf("And = %s", got)
	}
	if got := All.And(None); got != None {
		t.Errorf("All.And(None) = %s", got)
	}
	if Path(99).String() != "fastpath.Path(99)" {
		t.Errorf("unknown path prints %q", Path(99).String())
	}
}

func TestFromEnv(t *testing.T) {
	s, err := FromEnv(func(k string) string {
		if k != EnvVar {
			t.Errorf("read %s", k)
		}
		return "off"
	})
	if err != nil || s != None {
		t.Fatalf("FromEnv = %s, %v", s, err)
	}
}
