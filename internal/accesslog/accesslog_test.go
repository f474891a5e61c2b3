package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hard holds strings that need every escape: quotes, backslashes,
// control bytes, invalid UTF-8, U+2028/2029, '=', spaces, non-ASCII.
var hard = []string{
	"", "plain", "/a/b?c=d", `he said "hi"`, `back\slash`, "tab\there", "nl\nhere\r",
	"\x00\x01\x1f\x7f", "bad\xffutf8\xc3", "line\u2028para\u2029", "k=v", "héllo wörld",
	"\ufffd", "日本語", "a b", "\u00a0nbsp", "<script>&amp;</script>", "x\u200by",
}

// write logs one line with every field type through both paths: slog's
// handler (with a Record, as the code did before) and the fast Line.
func write(t *testing.T, format string, with []any, s string) (slogOut, fastOut []byte) {
	t.Helper()
	var a, b bytes.Buffer
	var sl slog.Handler = slog.NewJSONHandler(&a, nil)
	if format != "json" {
		sl = slog.NewTextHandler(&a, nil)
	}
	fh := NewHandler(&b, format, nil)
	if len(with) > 0 {
		sl = slog.New(sl).With(with...).Handler()
		fh = slog.New(fh).With(with...).Handler()
	}
	h, ok := fh.(*Handler)
	if !ok {
		t.Fatalf("With(%v) left the fast path", with)
	}
	now := time.Date(2026, 12, 7, 19, 36, 12, 120_450_000, time.FixedZone("x", 3600))
	d := 1234567 * time.Nanosecond
	r := slog.NewRecord(now, slog.LevelInfo, "access", 0)
	r.AddAttrs(slog.String("request_id", s), slog.String("path", s), slog.Int("status", 200),
		slog.Int64("bytes_out", -42), slog.Duration("duration", d), slog.String(s, "key"))
	if err := sl.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	l := h.Begin(now, slog.LevelInfo, "access")
	l.Str(NewKey("request_id"), s)
	l.Str(NewKey("path"), s)
	l.Int(NewKey("status"), 200)
	l.Int(NewKey("bytes_out"), -42)
	l.Dur(NewKey("duration"), d)
	l.Str(NewKey(s), "key")
	if err := l.End(); err != nil {
		t.Fatal(err)
	}
	return a.Bytes(), b.Bytes()
}

// TestMatchesSlog: the fast line is byte for byte what slog's JSON and
// text handlers write for the same record, with and without With
// attributes; JSON lines also parse to the same map.
func TestMatchesSlog(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		for _, with := range [][]any{nil, {"connector", "c-1", "group", "g x"}} {
			for _, s := range hard {
				want, got := write(t, format, with, s)
				if !bytes.Equal(want, got) {
					t.Errorf("%s %q:\nslog %s\nfast %s", format, s, want, got)
				}
				if format == "json" {
					var mw, mg map[string]any
					if err := json.Unmarshal(want, &mw); err != nil {
						t.Fatalf("slog line %s: %v", want, err)
					}
					if err := json.Unmarshal(got, &mg); err != nil {
						t.Fatalf("fast line %s: %v", got, err)
					}
					if !reflect.DeepEqual(mw, mg) {
						t.Errorf("%q: maps differ:\nslog %v\nfast %v", s, mw, mg)
					}
				}
			}
		}
	}
}

// TestFallbacks: records that are not fast lines still go through slog;
// a level above INFO drops fast lines; a group or a non-string With
// attribute leaves the fast path.
func TestFallbacks(t *testing.T) {
	var b bytes.Buffer
	h := NewHandler(&b, "json", &slog.HandlerOptions{Level: slog.LevelWarn})
	slog.New(h).Warn("ordinary", "n", 1)
	if !strings.Contains(b.String(), `"msg":"ordinary","n":1`) {
		t.Errorf("an ordinary record was not written by slog: %q", b.String())
	}
	if l := h.(*Handler).Begin(time.Now(), slog.LevelInfo, "access"); l != nil {
		t.Error("Begin at INFO returned a line with the level at WARN")
	}
	var nilLine *Line
	nilLine.Str(NewKey("a"), "b")
	if err := nilLine.End(); err != nil {
		t.Error(err)
	}
	if _, ok := h.WithGroup("g").(*Handler); ok {
		t.Error("WithGroup kept the fast path")
	}
	if _, ok := h.WithAttrs([]slog.Attr{slog.Int("n", 1)}).(*Handler); ok {
		t.Error("a non-string With attribute kept the fast path")
	}
	if _, ok := NewHandler(&b, "json", &slog.HandlerOptions{AddSource: true}).(*Handler); ok {
		t.Error("AddSource kept the fast path")
	}
}

// FuzzAccessLogEscape: for any string, as a value and as a key, the fast JSON and
// text lines are what slog writes, and the JSON line is valid JSON whose
// value is the string with invalid UTF-8 replaced by U+FFFD.
func FuzzAccessLogEscape(f *testing.F) {
	for _, s := range hard {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, format := range []string{"json", "text"} {
			want, got := write(t, format, nil, s)
			if !bytes.Equal(want, got) {
				t.Fatalf("%s %q:\nslog %s\nfast %s", format, s, want, got)
			}
		}
		// Path: s split in two halves (a cut may fall inside a rune).
		p, q := s[:len(s)/2], s[len(s)/2:]
		for _, format := range []string{"json", "text"} {
			var x, y bytes.Buffer
			h := NewHandler(&x, format, nil).(*Handler)
			joined := p
			if q != "" {
				joined += "?" + q
			}
			lx := h.Begin(time.Unix(0, 0), slog.LevelInfo, "m")
			lx.Str(NewKey("path"), joined)
			_ = lx.End()
			y.Write(x.Bytes())
			x.Reset()
			ly := h.Begin(time.Unix(0, 0), slog.LevelInfo, "m")
			ly.Path(NewKey("path"), p, q)
			_ = ly.End()
			if x.String() != y.String() {
				t.Fatalf("%s Path(%q, %q):\nStr  %s\nPath %s", format, p, q, y.String(), x.String())
			}
		}
		b := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		if want := validPerByte(s); back != want {
			t.Fatalf("%q round-trips to %q, want %q", s, back, want)
		}
	})
}

// validPerByte is s with each byte of invalid UTF-8 replaced by U+FFFD
// (strings.ToValidUTF8 folds a run of them into one).
func validPerByte(s string) string {
	var b strings.Builder
	for _, r := range s { // range yields U+FFFD for each invalid byte
		b.WriteRune(r)
	}
	return b.String()
}

// BenchmarkLine: a gateway access line (12 fields), slog Record against the fast path.
func BenchmarkLine(b *testing.B) {
	w := discard{}
	// The gateway's keys, encoded once as its callers do.
	names := []string{"request_id", "app", "host", "method", "path", "status", "bytes_in", "bytes_out", "duration", "user", "connector", "client_ip"}
	k := make([]Key, len(names))
	for i, n := range names {
		k[i] = NewKey(n)
	}
	for _, fast := range []bool{false, true} {
		name := "slog"
		if fast {
			name = "fast"
		}
		b.Run(name, func(b *testing.B) {
			h := NewHandler(w, "json", nil).(*Handler)
			b.ReportAllocs()
			for b.Loop() {
				if fast {
					l := h.Begin(time.Now(), slog.LevelInfo, "access")
					l.Str(k[0], "01JF3Z8Q9W7X6V5T4S3R2Q1P0N")
					l.Str(k[1], "demo")
					l.Str(k[2], "demo.localhost")
					l.Str(k[3], "GET")
					l.Str(k[4], "/bytes/100")
					l.Int(k[5], 200)
					l.Int(k[6], 0)
					l.Int(k[7], 100)
					l.Dur(k[8], time.Millisecond)
					l.Str(k[9], "")
					l.Str(k[10], "c-0123456789")
					l.Str(k[11], "127.0.0.1")
					_ = l.End()
					continue
				}
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "access", 0)
				r.AddAttrs(slog.String("request_id", "01JF3Z8Q9W7X6V5T4S3R2Q1P0N"), slog.String("app", "demo"),
					slog.String("host", "demo.localhost"), slog.String("method", "GET"),
					slog.String("path", "/bytes/100"), slog.Int("status", 200), slog.Int64("bytes_in", 0),
					slog.Int64("bytes_out", 100), slog.Duration("duration", time.Millisecond),
					slog.String("user", ""), slog.String("connector", "c-0123456789"), slog.String("client_ip", "127.0.0.1"))
				_ = h.Handler.Handle(context.Background(), r)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestTimeMatchesSlog: a line's time, formatted from a cache of the
// second (stamp.go), is what slog writes, in JSON and text: fractions
// with and without trailing zeros, none, near the next millisecond and
// second; UTC, local, fixed zones and a zone change at a second that the
// cache last held for another location; years out of four digits.
func TestTimeMatchesSlog(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	base := time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC) // a second before Paris moves to summer time
	var times []time.Time
	for _, ns := range []int{0, 1, 10, 120_450_000, 999_999_999, 999_500_000, 100_000_000, 5_000, 123_456_789} {
		for _, sec := range []int{0, 1, 2} {
			t0 := base.Add(time.Duration(sec)*time.Second + time.Duration(ns))
			times = append(times, t0, t0.In(paris), t0.In(time.FixedZone("x", -(9*3600+30*60))), t0.Local(), t0)
		}
	}
	times = append(times, time.Now(), time.Now().UTC(), time.Date(12000, 1, 2, 3, 4, 5, 6, time.UTC),
		time.Date(-5, 1, 2, 3, 4, 5, 600_000_000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, paris))
	for _, format := range []string{"json", "text"} {
		for _, tm := range times {
			var a, b bytes.Buffer
			var sl slog.Handler = slog.NewJSONHandler(&a, nil)
			if format != "json" {
				sl = slog.NewTextHandler(&a, nil)
			}
			_ = sl.Handle(context.Background(), slog.NewRecord(tm, slog.LevelInfo, "access", 0))
			h := NewHandler(&b, format, nil).(*Handler)
			if err := h.Begin(tm, slog.LevelInfo, "access").End(); err != nil {
				t.Fatal(err)
			}
			want := a.String()
			if format == "json" && (tm.Year() < 0 || tm.Year() > 9999) {
				// slog writes an error for such a year; the line keeps the time
				continue
			}
			if got := b.String(); got != want {
				t.Errorf("%s %v:\nslog %s\nfast %s", format, tm, want, got)
			}
		}
	}
}

// TestHeadsPerHandler: lines of other levels and messages, and With
// copies, each get their own head.
func TestHeadsPerHandler(t *testing.T) {
	var b bytes.Buffer
	h := NewHandler(&b, "json", nil).(*Handler)
	c := slog.New(h).With("connector", "c-1").Handler().(*Handler)
	now := time.Date(2026, 12, 7, 19, 36, 12, 0, time.UTC)
	for _, x := range []struct {
		h     *Handler
		level slog.Level
		msg   string
	}{{h, slog.LevelInfo, "access"}, {c, slog.LevelInfo, "access"}, {h, slog.LevelWarn, "access"}, {h, slog.LevelInfo, "other"}, {c, slog.LevelInfo, "access"}} {
		b.Reset()
		_ = x.h.Begin(now, x.level, x.msg).End()
		var a bytes.Buffer
		sl := slog.New(slog.NewJSONHandler(&a, nil))
		if x.h == c {
			sl = sl.With("connector", "c-1")
		}
		_ = sl.Handler().Handle(context.Background(), slog.NewRecord(now, x.level, x.msg, 0))
		if a.String() != b.String() {
			t.Errorf("slog %s\nfast %s", a.String(), b.String())
		}
	}
}

// TestPathMatchesStr: Path(path, query) writes what slog writes for
// path+"?"+query (and for path alone when query is empty), for every pair
// of hard strings, in JSON and text.
func TestPathMatchesStr(t *testing.T) {
	now := time.Date(2026, 12, 7, 19, 36, 12, 5, time.UTC)
	for _, format := range []string{"json", "text"} {
		for _, p := range hard {
			for _, q := range hard {
				var a, b bytes.Buffer
				var sl slog.Handler = slog.NewJSONHandler(&a, nil)
				if format != "json" {
					sl = slog.NewTextHandler(&a, nil)
				}
				joined := p
				if q != "" {
					joined += "?" + q
				}
				r := slog.NewRecord(now, slog.LevelInfo, "access", 0)
				r.AddAttrs(slog.String("path", joined))
				_ = sl.Handle(context.Background(), r)
				l := NewHandler(&b, format, nil).(*Handler).Begin(now, slog.LevelInfo, "access")
				l.Path(NewKey("path"), p, q)
				_ = l.End()
				if a.String() != b.String() {
					t.Errorf("%s %q ? %q:\nslog %s\nfast %s", format, p, q, a.String(), b.String())
				}
			}
		}
	}
}

// TestAppendInt: the shortcut for small numbers writes what strconv does.
func TestAppendInt(t *testing.T) {
	for _, v := range []int64{0, 1, 9, 10, 42, 99, 100, 200, 999, 1000, 1001, 65535, -1, -9, -10, -999, -1000, 1 << 62, -1 << 63, 1<<63 - 1} {
		if got, want := string(appendInt([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Errorf("appendInt(%d) = %q, want %q", v, got, want)
		}
	}
}

// TestEscapeEightAtATime: a byte that needs escaping or quoting is found
// at every position of a word read eight bytes at once (escape.go), and
// bytes at the edges of the ranges tested are let through as slog does.
func TestEscapeEightAtATime(t *testing.T) {
	for _, c := range []string{`"`, `\`, "\n", "\x00", "\x1f", " ", "!", "=", "<", "~", "\x7f", "\x80", "\xff", "é", "\u2028", "\u00a0"} {
		for i := range 18 {
			s := strings.Repeat("a", i) + c + strings.Repeat("b", 17-i)
			for _, format := range []string{"json", "text"} {
				if want, got := write(t, format, nil, s); !bytes.Equal(want, got) {
					t.Errorf("%s %q:\nslog %s\nfast %s", format, s, want, got)
				}
			}
		}
	}
}
