package proxy

import "testing"

func TestHasDotSegment(t *testing.T) {
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/", false},
		{"/hr/x", false},
		{"/hr/.hidden", false},
		{"/hr/x..y", false},
		{"/hr/../secret", true},
		{"/hr/./x", true},
		{"/hr/..", true},
		{"/..", true},
		{`/hr/..\secret`, true},
		{`/hr\..\secret`, true},
	} {
		if got := hasDotSegment(tt.path); got != tt.want {
			t.Errorf("hasDotSegment(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
