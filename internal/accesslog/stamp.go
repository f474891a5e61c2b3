package accesslog

import (
	"sync/atomic"
	"time"
)

// A line's time is written as slog writes it (RFC 3339 with nanoseconds,
// trailing zeros trimmed, in JSON; with exactly three digits of
// milliseconds in text), but the part before the fraction and the zone
// after it change once a second: they are formatted once per second and
// location, and a line copies them and appends its fraction.

// stamp is one second's date-time and zone, formatted.
type stamp struct {
	sec  int64          // Unix second
	loc  *time.Location // the location it was formatted in
	date string         // "2006-01-02T15:04:05"
	zone string         // "Z" or "+01:00"
}

const dateLen = len("2006-01-02T15:04:05")

var lastStamp atomic.Pointer[stamp]

// appendTime appends t: with nanos, as time.RFC3339Nano; else as
// "2006-01-02T15:04:05.000Z07:00".
func appendTime(b []byte, t time.Time, nanos bool) []byte {
	sec, loc := t.Unix(), t.Location()
	st := lastStamp.Load()
	if st == nil || st.sec != sec || st.loc != loc {
		if y := t.Year(); y < 0 || y > 9999 { // not dateLen bytes: format it whole
			if nanos {
				return t.AppendFormat(b, time.RFC3339Nano)
			}
			// As slog does it (the digit it drops is then not the 4th)
			n := len(b)
			b = t.Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
			return append(b[:n+dateLen+4], b[n+dateLen+5:]...)
		}
		s := t.AppendFormat(make([]byte, 0, dateLen+6), "2006-01-02T15:04:05Z07:00")
		st = &stamp{sec: sec, loc: loc, date: string(s[:dateLen]), zone: string(s[dateLen:])}
		lastStamp.Store(st) // once a second: a racing store holds the same text
	}
	b = append(b, st.date...)
	ns := t.Nanosecond()
	if nanos {
		b = appendNanos(b, ns)
	} else {
		ms := ns / 1e6
		b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	}
	return append(b, st.zone...)
}

// appendNanos appends ns as time.RFC3339Nano's ".999999999" does: a dot
// and up to nine digits without trailing zeros; nothing for 0.
func appendNanos(b []byte, ns int) []byte {
	if ns == 0 {
		return b
	}
	var d [10]byte
	d[0] = '.'
	for i := 9; i >= 1; i-- {
		d[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}
