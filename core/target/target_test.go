package target

import (
	"net/url"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in               string
		escaped, decoded string // "" with refused
		refused          error
		slash, reserved  bool
	}{
		{in: "/", escaped: "/", decoded: "/"},
		{in: "", escaped: "/", decoded: "/"},
		{in: "/hr/x.css", escaped: "/hr/x.css", decoded: "/hr/x.css"},
		{in: "/hr/.hidden/x..y/...z", escaped: "/hr/.hidden/x..y/...z", decoded: "/hr/.hidden/x..y/...z"},
		{in: "/donn%C3%A9es/a%20b", escaped: "/donn%C3%A9es/a%20b", decoded: "/données/a b"},
		{in: "/100%25", escaped: "/100%25", decoded: "/100%"},
		{in: "/100%25zz", escaped: "/100%25zz", decoded: "/100%zz"},
		{in: "/a:b@c,d=e&f+g$h!i'(j)*~", escaped: "/a:b@c,d=e&f+g$h!i'(j)*~", decoded: "/a:b@c,d=e&f+g$h!i'(j)*~"},
		// merged
		{in: "//hr/x", escaped: "/hr/x", decoded: "/hr/x"},
		{in: "/a///b//", escaped: "/a/b/", decoded: "/a/b/"},
		{in: "/%68r//x", escaped: "/%68r/x", decoded: "/hr/x"},
		// escaped slashes: kept, flagged
		{in: "/a%2Fb", escaped: "/a%2Fb", decoded: "/a/b", slash: true},
		{in: "/a%2fb", escaped: "/a%2fb", decoded: "/a/b", slash: true},
		{in: "/a%5Cb", escaped: "/a%5Cb", decoded: `/a\b`, slash: true},
		{in: "/a%5cb", escaped: "/a%5cb", decoded: `/a\b`, slash: true},
		// reserved, in every spelling
		{in: "/.gatehouse/jwks.json", escaped: "/.gatehouse/jwks.json", decoded: "/.gatehouse/jwks.json", reserved: true},
		{in: "/.gatehouse", escaped: "/.gatehouse", decoded: "/.gatehouse", reserved: true},
		{in: "/.GATEHOUSE/x", escaped: "/.GATEHOUSE/x", decoded: "/.GATEHOUSE/x", reserved: true},
		{in: "//.gatehouse/x", escaped: "/.gatehouse/x", decoded: "/.gatehouse/x", reserved: true},
		{in: "/%2egatehouse/x", escaped: "/%2egatehouse/x", decoded: "/.gatehouse/x", reserved: true},
		{in: "/%2E%47atehouse", escaped: "/%2E%47atehouse", decoded: "/.Gatehouse", reserved: true},
		{in: "/.gatehouse./x", escaped: "/.gatehouse./x", decoded: "/.gatehouse./x", reserved: true},
		{in: "/%2F.gatehouse/x", escaped: "/%2F.gatehouse/x", decoded: "//.gatehouse/x", slash: true, reserved: true},
		{in: "/x/.gatehouse/", escaped: "/x/.gatehouse/", decoded: "/x/.gatehouse/"},
		{in: "/.gatehousex/", escaped: "/.gatehousex/", decoded: "/.gatehousex/"},
		// refused
		{in: "*", refused: errNotAbsolute},
		{in: "hr/x", refused: errNotAbsolute},
		{in: "/hr/..;/admin", refused: errSemicolon},
		{in: "/;x/admin", refused: errSemicolon},
		{in: "/hr;jsessionid=1", refused: errSemicolon},
		{in: "/hr%3bx", refused: errSemicolon},
		{in: "/hr/../admin", refused: errDotSegment},
		{in: "/hr/./admin", refused: errDotSegment},
		{in: "/hr/..", refused: errDotSegment},
		{in: "/hr/%2e%2e/admin", refused: errDotSegment},
		{in: "/hr/%2E%2e/admin", refused: errDotSegment},
		{in: "/hr/.%2e/admin", refused: errDotSegment},
		{in: "/hr/%2e/admin", refused: errDotSegment},
		{in: "/hr/..%2Fadmin", refused: errDotSegment},
		{in: "/hr/..%5Cadmin", refused: errDotSegment},
		{in: "/hr%5C..%5Cadmin", refused: errDotSegment},
		{in: "/hr/.../admin", refused: errDotSegment},
		{in: "/hr/..%20/admin", refused: errDotSegment},
		{in: "/hr/x%00", refused: errControl},
		{in: "/hr/x%0d%0aX-Bad:%201", refused: errControl},
		{in: "/hr/x%7F", refused: errControl},
		{in: "/hr/x\x00", refused: errControl},
		{in: "/hr\\admin", refused: errRaw},
		{in: "/hr/é", refused: errRaw},
		{in: "/hr/%", refused: errEscape},
		{in: "/hr/%2", refused: errEscape},
		{in: "/hr/%zz", refused: errEscape},
		{in: "/hr/%u002e", refused: errEscape},
		{in: "/hr/%C0%AE%C0%AE/admin", refused: errUTF8},
		{in: "/hr/%C0%AF", refused: errUTF8},
		{in: "/hr/%E9t%E9", refused: errUTF8},
		{in: "/hr/%ED%A0%80", refused: errUTF8},
		{in: "/hr/%252e%252e/admin", refused: errDouble},
		{in: "/hr/%252F", refused: errDouble},
	} {
		p, err := Parse(tt.in)
		if tt.refused != nil {
			if err != tt.refused {
				t.Errorf("Parse(%q) = %+v, %v; want refused: %v", tt.in, p, err, tt.refused)
			}
			continue
		}
		want := Path{Escaped: tt.escaped, Decoded: tt.decoded, EscapedSlash: tt.slash, Reserved: tt.reserved}
		if err != nil || p != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, p, err, want)
		}
	}
}

func TestCheck(t *testing.T) {
	ci := Options{FoldCase: true}
	keep := Options{KeepEscapedSlashes: true}
	for _, tt := range []struct {
		in   string
		o    Options
		want error
	}{
		{"/a%2Fb", Options{}, errEscapedSlash},
		{"/a%5Cb", Options{}, errEscapedSlash},
		{"/a%2Fb", keep, nil},
		{"/a%5Cb", keep, nil},
		{"/admin./x", Options{}, nil},
		{"/admin./x", ci, errWindowsName},
		{"/admin%20/x", ci, errWindowsName},
		{"/ADMINI~1/x", ci, errWindowsName},
		{"/~alice/x", ci, nil},
		{"/a~b~2", ci, errWindowsName},
		{"/Admin/X.aspx", ci, nil},
	} {
		p, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := p.Check(tt.o); got != tt.want {
			t.Errorf("Parse(%q).Check(%+v) = %v, want %v", tt.in, tt.o, got, tt.want)
		}
	}
}

func TestMatchPrefix(t *testing.T) {
	for _, tt := range []struct {
		path, prefix string
		fold         bool
		n            int
		ok           bool
	}{
		{"/anything", "/", false, 0, true},
		{"/hr", "/hr", false, 3, true},
		{"/hr/x", "/hr", false, 3, true},
		{`/hr\x`, "/hr", false, 3, true},
		{"/hrx", "/hr", false, 0, false},
		{"/HR/x", "/hr", false, 0, false},
		{"/HR/x", "/hr", true, 3, true},
		{"/Hr", "/hr", true, 3, true},
		{"/HRx", "/hr", true, 0, false},
		{"/H", "/hr", true, 0, false},
		{"/DONNÉES/x", "/données", true, len("/DONNÉES"), true},
		{"/données/x", "/Données", true, len("/données"), true},
	} {
		n, ok := MatchPrefix(tt.path, tt.prefix, tt.fold)
		if n != tt.n || ok != tt.ok {
			t.Errorf("MatchPrefix(%q, %q, %v) = %d, %v; want %d, %v", tt.path, tt.prefix, tt.fold, n, ok, tt.n, tt.ok)
		}
	}
}

func TestWithPrefix(t *testing.T) {
	for _, tt := range []struct {
		in, prefix       string
		fold             bool
		escaped, decoded string
	}{
		{"/hr/x", "/hr", false, "/hr/x", "/hr/x"},
		{"/HR/X", "/hr", true, "/hr/X", "/hr/X"},
		{"/%68R/a%2Fb", "/hr", true, "/hr/a%2Fb", "/hr/a/b"},
		{"/DONN%C3%89ES/x", "/données", true, "/donn%C3%A9es/x", "/données/x"},
		{"/donn%c3%a9es/x", "/données", false, "/donn%C3%A9es/x", "/données/x"},
		{"/anything", "/", false, "/anything", "/anything"},
	} {
		p, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		n, ok := MatchPrefix(p.Decoded, tt.prefix, tt.fold)
		if !ok {
			t.Fatalf("MatchPrefix(%q, %q) did not match", p.Decoded, tt.prefix)
		}
		q := p.WithPrefix(tt.prefix, n)
		if q.Escaped != tt.escaped || q.Decoded != tt.decoded {
			t.Errorf("%q with prefix %q = %q (%q), want %q (%q)", tt.in, tt.prefix, q.Escaped, q.Decoded, tt.escaped, tt.decoded)
		}
		if d, err := url.PathUnescape(q.Escaped); err != nil || d != q.Decoded {
			t.Errorf("%q: Escaped %q decodes to %q, not Decoded %q", tt.in, q.Escaped, d, q.Decoded)
		}
	}
}

func TestPolicy(t *testing.T) {
	if got := Policy("/HR/Admin", true); got != "/hr/admin" {
		t.Errorf("Policy fold = %q", got)
	}
	if got := Policy("/HR/Admin", false); got != "/HR/Admin" {
		t.Errorf("Policy = %q", got)
	}
}

func TestHost(t *testing.T) {
	for _, tt := range []struct {
		in, name, canonical string
		ok                  bool
	}{
		{"hr.example.com", "hr.example.com", "hr.example.com", true},
		{"HR.Example.COM", "hr.example.com", "hr.example.com", true},
		{"hr.example.com.", "hr.example.com", "hr.example.com", true},
		{"hr.example.com:8443", "hr.example.com", "hr.example.com:8443", true},
		{"HR.example.com.:443", "hr.example.com", "hr.example.com:443", true},
		{"app.localhost", "app.localhost", "app.localhost", true},
		{"", "", "", false},
		{":443", "", "", false},
		{"hr.example.com:", "", "", false},
		{"hr.example.com:x", "", "", false},
		{"hr.example.com:443:1", "", "", false},
		{"hr.example.com:123456", "", "", false},
		{"alice@hr.example.com", "", "", false},
		{"alice:pw@hr.example.com", "", "", false},
		{"[::1]:8443", "", "", false},
		{"hr.example.com/x", "", "", false},
		{"hr..example.com", "", "", false},
		{".hr.example.com", "", "", false},
		{"hr.example.com..", "", "", false},
		{"hr example.com", "", "", false},
		{"hr.exämple.com", "", "", false},
	} {
		name, canonical, ok := Host(tt.in)
		if name != tt.name || canonical != tt.canonical || ok != tt.ok {
			t.Errorf("Host(%q) = %q, %q, %v; want %q, %q, %v", tt.in, name, canonical, ok, tt.name, tt.canonical, tt.ok)
		}
	}
}

func TestMisdirected(t *testing.T) {
	for _, tt := range []struct {
		sni, name string
		want      bool
	}{
		{"", "hr.example.com", false},
		{"hr.example.com", "hr.example.com", false},
		{"HR.example.com", "hr.example.com", false},
		{"hr.example.com.", "hr.example.com", false},
		{"wiki.example.com", "hr.example.com", true},
		{"hr.example.com.evil", "hr.example.com", true},
		{"127.0.0.1", "hr.example.com", false}, // an address names no app (wrk sends one)
		{"::1", "hr.example.com", false},
		{"127.0.0.1.example.com", "hr.example.com", true},
	} {
		if got := Misdirected(tt.sni, tt.name); got != tt.want {
			t.Errorf("Misdirected(%q, %q) = %v, want %v", tt.sni, tt.name, got, tt.want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("/hr/assets/app.min.js"); err != nil {
			b.Fatal(err)
		}
	}
}
