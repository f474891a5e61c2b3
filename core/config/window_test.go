package config

import (
	"testing"
	"time"
)

// Windows contain the times they say, including one past midnight and
// one with a day list; the empty window is any time.
func TestWindowContains(t *testing.T) {
	at := func(day, hhmm string) time.Time { // 2024-01-01 was a Monday
		days := map[string]int{"Mon": 1, "Tue": 2, "Wed": 3, "Thu": 4, "Fri": 5, "Sat": 6, "Sun": 7}
		tm, err := time.Parse("15:04", hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2024, 1, days[day], tm.Hour(), tm.Minute(), 0, 0, time.UTC)
	}
	cases := []struct {
		window, day, at string
		want            bool
	}{
		{"", "Tue", "13:00", true},
		{"Mon-Fri 02:00-05:00", "Wed", "02:00", true},
		{"Mon-Fri 02:00-05:00", "Wed", "05:00", false},
		{"Mon-Fri 02:00-05:00", "Sat", "03:00", false},
		{"Sat 02:00-05:00", "Sat", "04:59", true},
		{"Sat 22:00-02:00", "Sun", "01:30", true},
		{"Sat 22:00-02:00", "Sat", "01:30", false},
		{"Sat 22:00-02:00", "Sun", "22:30", false},
		{"Fri-Mon 12:00-24:00", "Sun", "23:59", true},
		{"Fri-Mon 12:00-24:00", "Tue", "13:00", false},
		{"sat,SUN 10:00-11:00", "Sun", "10:15", true},
		{"03:00-04:00", "Thu", "03:30", true},
	}
	for _, c := range cases {
		w, err := ParseWindow(c.window)
		if err != nil {
			t.Fatalf("%q: %v", c.window, err)
		}
		if got := w.Contains(at(c.day, c.at)); got != c.want {
			t.Errorf("%q contains %s %s = %v, want %v", c.window, c.day, c.at, got, c.want)
		}
	}
}
