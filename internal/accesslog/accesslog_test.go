package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
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
