package wildcard

import "testing"

func TestLabel(t *testing.T) {
	for _, c := range []struct {
		pattern, host, label string
		ok                   bool
	}{
		{"*.apps.test", "a.apps.test", "a", true},
		{"*.apps.test", "build-42.apps.test", "build-42", true},
		{"*.apps.test", "apps.test", "", false},
		{"*.apps.test", ".apps.test", "", false},
		{"*.apps.test", "a.b.apps.test", "", false},
		{"*.apps.test", "..apps.test", "", false},
		{"*.apps.test", "a..apps.test", "", false},
		{"*.apps.test", "%61.apps.test", "", false},
		{"*.apps.test", "a_b.apps.test", "", false},
		{"*.apps.test", "-a.apps.test", "", false},
		{"*.apps.test", "a-.apps.test", "", false},
		{"*.apps.test", "A.apps.test", "", false},
		{"*.apps.test", "a.apps.test.evil", "", false},
		{"*.apps.test", "aapps.test", "", false},
		{"*.apps.test", "x.otherapps.test", "", false},
		{"*.apps.test", string(make([]byte, 64)) + ".apps.test", "", false},
		{"apps.test", "a.apps.test", "", false},
		{"*.", "a.", "", false},
	} {
		label, ok := Label(c.pattern, c.host)
		if label != c.label || ok != c.ok {
			t.Errorf("Label(%q, %q) = %q, %v; want %q, %v", c.pattern, c.host, label, ok, c.label, c.ok)
		}
	}
}

func TestPattern(t *testing.T) {
	for host, want := range map[string]string{
		"a.apps.test": "*.apps.test", "apps.test": "", "a": "", "a_b.apps.test": "", "-x.apps.test": "",
	} {
		got, ok := Pattern(host)
		if got != want || ok != (want != "") {
			t.Errorf("Pattern(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
}

func TestExpand(t *testing.T) {
	if got := Expand("https://{label}.corp.local/{label}/", "hr"); got != "https://hr.corp.local/hr/" {
		t.Errorf("Expand = %q", got)
	}
	if !HasTemplate("http://x/{label}") || HasTemplate("http://x/label") {
		t.Error("HasTemplate")
	}
	if !Covers("a.test", "a.test") || !Covers("*.test.example", "b.test.example") || Covers("*.test.example", "test.example") {
		t.Error("Covers")
	}
}
