package filter

import (
	"slices"
	"testing"
)

func TestSplitNUL(t *testing.T) {
	for _, tc := range []struct {
		in    string
		count int
		want  []string
	}{
		{"", 0, nil},
		{"a\x00", 1, []string{"a"}},
		{"a=b\x00c=d\x00", 2, []string{"a=b", "c=d"}},
		{"\x00x\x00", 2, []string{"", "x"}},
	} {
		if got := splitNUL([]byte(tc.in), tc.count); !slices.Equal(got, tc.want) {
			t.Errorf("splitNUL(%q, %d) = %q, want %q", tc.in, tc.count, got, tc.want)
		}
	}
}
