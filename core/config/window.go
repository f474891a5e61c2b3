package config

import (
	"fmt"
	"strings"
	"time"
)

// Window is a weekly maintenance window: on each of Days, from Start to
// End (minutes after midnight, local time). End <= Start runs past
// midnight into the next day. The zero Window (Any) is any time.
type Window struct {
	Any        bool
	Days       [7]bool // by time.Weekday
	Start, End int     // minutes after midnight; End may be 24*60
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWindow reads a window written "[DAYS ]HH:MM-HH:MM": DAYS is a
// comma-separated list of days (Mon … Sun) and day ranges ("Mon-Fri",
// "Fri-Mon"), every day when left out; the times are 24-hour, the end may
// be 24:00, and an end before the start runs past midnight ("Sat
// 22:00-02:00" ends on Sunday). "" is any time.
func ParseWindow(s string) (Window, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Window{Any: true}, nil
	}
	fields := strings.Fields(s)
	var w Window
	var times string
	switch len(fields) {
	case 1:
		times = fields[0]
		for d := range w.Days {
			w.Days[d] = true
		}
	case 2:
		if err := parseDays(fields[0], &w.Days); err != nil {
			return Window{}, fmt.Errorf("window %q: %v", s, err)
		}
		times = fields[1]
	default:
		return Window{}, fmt.Errorf("window %q: write days then a time range, e.g. \"Mon-Fri 02:00-05:00\" or \"Sat 02:00-05:00\"", s)
	}
	from, to, ok := strings.Cut(times, "-")
	var err error
	if !ok {
		return Window{}, fmt.Errorf("window %q: %q is not a time range; write HH:MM-HH:MM, e.g. 02:00-05:00", s, times)
	}
	if w.Start, err = parseClock(from, false); err == nil {
		w.End, err = parseClock(to, true)
	}
	if err != nil {
		return Window{}, fmt.Errorf("window %q: %v", s, err)
	}
	if w.Start == w.End || (w.Start == 0 && w.End == 24*60) {
		return Window{}, fmt.Errorf("window %q: the range %s covers no time or the whole day; leave window empty for any time", s, times)
	}
	return w, nil
}

func parseDays(s string, days *[7]bool) error {
	for _, item := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(item, "-")
		first, err := parseDay(a)
		if err != nil {
			return err
		}
		last := first
		if isRange {
			if last, err = parseDay(b); err != nil {
				return err
			}
		}
		for d := first; ; d = (d + 1) % 7 {
			days[d] = true
			if d == last {
				break
			}
		}
	}
	return nil
}

func parseDay(s string) (int, error) {
	for i, n := range dayNames {
		if strings.EqualFold(s, n) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%q is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun, a range such as Mon-Fri, or a list such as Sat,Sun", s)
}

func parseClock(s string, end bool) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not a time; write HH:MM (24-hour), e.g. 02:00", s)
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, fmt.Errorf("%q is not a time; write HH:MM (24-hour, 00:00 to 23:59; 24:00 only as an end)", s)
	}
	return h*60 + m, nil
}

// Contains reports whether t (in its own location) falls in the window.
func (w Window) Contains(t time.Time) bool {
	if w.Any {
		return true
	}
	m := t.Hour()*60 + t.Minute()
	day := int(t.Weekday())
	if w.Start < w.End {
		return w.Days[day] && m >= w.Start && m < w.End
	}
	return (w.Days[day] && m >= w.Start) || (w.Days[(day+6)%7] && m < w.End)
}
