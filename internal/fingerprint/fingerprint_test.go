package fingerprint

import (
	"math"
	"testing"
)

type section struct {
	Name   string
	Config any
	PEM    []byte
}

func TestSame(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b any
		want bool
	}{
		{"equal structs", section{Name: "a", PEM: []byte("x")}, section{Name: "a", PEM: []byte("x")}, true},
		{"maps built in another order", map[string]any{"a": 1, "b": []any{"x"}, "c": map[string]any{"d": true}},
			map[string]any{"c": map[string]any{"d": true}, "b": []any{"x"}, "a": 1}, true},
		{"pointers to equal values", &section{Name: "a"}, &section{Name: "a"}, true},
		{"a field differs", section{Name: "a"}, section{Name: "b"}, false},
		{"bytes differ", section{PEM: []byte("x")}, section{PEM: []byte("y")}, false},
		{"nested value differs", section{Config: map[string]any{"k": 1}}, section{Config: map[string]any{"k": 2}}, false},
		{"a value JSON cannot encode", section{Config: math.NaN()}, section{Config: math.NaN()}, false},
		{"a channel", make(chan int), make(chan int), false},
	} {
		if got := Same(c.a, c.b); got != c.want {
			t.Errorf("%s: Same = %v, want %v", c.name, got, c.want)
		}
	}
}

// Of takes its parts in order: the same values in another order, or split
// differently, are another config.
func TestOfParts(t *testing.T) {
	ab, err := Of("a", "b")
	if err != nil {
		t.Fatal(err)
	}
	ba, _ := Of("b", "a")
	joined, _ := Of("ab")
	again, _ := Of("a", "b")
	if ab != again {
		t.Error("the same parts give two sums")
	}
	if ab == ba || ab == joined {
		t.Errorf("different parts give one sum: %s %s %s", ab, ba, joined)
	}
	if _, err := Of(math.Inf(1)); err == nil {
		t.Error("Of(+Inf) did not fail")
	}
}
