// Package accesslog writes access-log lines without log/slog's general
// machinery: a Handler is a slog.Handler (every other record goes to
// slog's own JSON or text handler on the same writer), and its Begin /
// Str / Path / Int / Dur / End methods append one line's fixed fields straight
// into a pooled buffer, in exactly the bytes slog's handler of the same
// format would write, and hand the line to the writer in one Write. No
// slog.Record (which allocates past five attributes), no interface
// boxing, no reflection.
package accesslog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/linebuf"
)

// Handler is a slog.Handler for an access log with a fast path for its
// lines. WithAttrs with string attributes keeps the fast path (the
// connector adds its id and group); anything else returns slog's handler.
type Handler struct {
	slog.Handler // slog's own handler: every record that is not a fast line
	w            io.Writer
	mu           *sync.Mutex // one Write at a time, shared with With copies, as slog's handlers do; nil for a linebuf.Writer, which takes each Write whole
	json         bool
	level        slog.Leveler
	prefix       []byte // the encoded WithAttrs attributes, each with its leading separator
	heads        *heads // the level, message and prefix of the latest Begin, encoded
}

// heads keeps a handler's latest encoded line head: an access log's
// lines all have the same level and message.
type heads struct{ last atomic.Pointer[head] }

type head struct {
	level slog.Level
	msg   string
	b     []byte // the level's value, the message's key and value, the prefix
}

// NewHandler returns a handler writing format ("json", else text) to w;
// opts as for slog's handlers (only Level is used by the fast path:
// AddSource and ReplaceAttr make every line go through slog).
func NewHandler(w io.Writer, format string, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	json := format == "json"
	var inner slog.Handler
	if json {
		inner = slog.NewJSONHandler(w, opts)
	} else {
		inner = slog.NewTextHandler(w, opts)
	}
	if opts.AddSource || opts.ReplaceAttr != nil {
		return inner
	}
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	h := &Handler{Handler: inner, w: w, json: json, level: level, heads: &heads{}}
	if _, ok := w.(*linebuf.Writer); !ok {
		h.mu = &sync.Mutex{}
	}
	return h
}

// WithAttrs keeps the fast path when every attribute is a string.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	inner := h.Handler.WithAttrs(as)
	prefix := append([]byte(nil), h.prefix...)
	for _, a := range as {
		if a.Value.Kind() != slog.KindString {
			return inner
		}
		prefix = h.appendKey(prefix, a.Key)
		prefix = h.appendString(prefix, a.Value.String())
	}
	c := *h
	c.Handler, c.prefix, c.heads = inner, prefix, &heads{}
	return &c
}

// WithGroup leaves the fast path: a group changes every key.
func (h *Handler) WithGroup(name string) slog.Handler { return h.Handler.WithGroup(name) }

// Line is one line being written; End writes it and returns it to the
// pool, after which it must not be used.
type Line struct {
	h   *Handler
	buf []byte
}

var pool = sync.Pool{New: func() any { return &Line{buf: make([]byte, 0, 512)} }}

// Begin starts a line at level with msg, or returns nil when the level is
// off (every Line method is a no-op on nil).
func (h *Handler) Begin(t time.Time, level slog.Level, msg string) *Line {
	if level < h.level.Level() {
		return nil
	}
	l := pool.Get().(*Line)
	l.h = h
	b := l.buf[:0]
	if h.json {
		b = append(b, `{"time":"`...)
		b = appendTime(b, t, true)
		b = append(b, `","level":`...)
	} else {
		b = append(b, "time="...)
		b = appendTime(b, t, false)
		b = append(b, " level="...)
	}
	hd := h.heads.last.Load()
	if hd == nil || hd.level != level || hd.msg != msg {
		hd = h.newHead(level, msg)
		h.heads.last.Store(hd)
	}
	l.buf = append(b, hd.b...)
	return l
}

// newHead encodes what follows the time in a line at level with msg.
func (h *Handler) newHead(level slog.Level, msg string) *head {
	b := h.appendString(nil, level.String())
	if h.json {
		b = append(b, msgKey.json...)
	} else {
		b = append(b, msgKey.text...)
	}
	b = h.appendString(b, msg)
	return &head{level: level, msg: msg, b: append(b, h.prefix...)}
}

// Key is a field name, encoded once for both formats (NewKey) so that a
// line copies it rather than escaping it again on every request.
type Key struct{ json, text string }

var msgKey = NewKey(slog.MessageKey)

// NewKey encodes name as a field key.
func NewKey(name string) Key {
	return Key{
		json: "," + string(AppendJSONString(nil, name)) + ":",
		text: " " + string(AppendTextString(nil, name)) + "=",
	}
}

func (l *Line) key(k Key) {
	if l.h.json {
		l.buf = append(l.buf, k.json...)
	} else {
		l.buf = append(l.buf, k.text...)
	}
}

// Str adds a string field.
func (l *Line) Str(k Key, v string) {
	if l != nil {
		l.key(k)
		l.buf = l.h.appendString(l.buf, v)
	}
}

// Path adds a string field whose value is path, then "?" and query when
// query is not empty: the bytes Str writes for path+"?"+query, without
// making that string.
func (l *Line) Path(k Key, path, query string) {
	if l == nil {
		return
	}
	if query == "" {
		l.Str(k, path)
		return
	}
	l.key(k)
	b := l.buf
	switch {
	case l.h.json:
		b = append(b, '"')
		b = appendJSONBody(b, path)
		b = append(b, '?')
		b = appendJSONBody(b, query)
		b = append(b, '"')
	case !textHasSpecial(path) && !textHasSpecial(query):
		b = append(append(append(b, path...), '?'), query...)
	default:
		// Quoted, '?' between: strconv.Quote escapes rune by rune, and
		// no rune spans the ASCII '?', so the halves quote as the whole.
		b = strconv.AppendQuote(b, path)
		b = append(b[:len(b)-1], '?')
		n := len(b)
		b = strconv.AppendQuote(b, query)
		b = append(b[:n], b[n+1:]...) // its opening quote
	}
	l.buf = b
}

// Int adds an integer field.
func (l *Line) Int(k Key, v int64) {
	if l != nil {
		l.key(k)
		l.buf = appendInt(l.buf, v)
	}
}

// appendInt is strconv.AppendInt in base 10, with a shortcut for the
// numbers below 1000 that most fields hold (a status, small sizes).
func appendInt(b []byte, v int64) []byte {
	switch u := uint64(v); {
	case u < 10:
		return append(b, byte('0'+u))
	case u < 100:
		return append(b, byte('0'+u/10), byte('0'+u%10))
	case u < 1000:
		return append(b, byte('0'+u/100), byte('0'+u/10%10), byte('0'+u%10))
	}
	return strconv.AppendInt(b, v, 10)
}

// Dur adds a duration: nanoseconds in JSON, Duration.String in text, as
// slog writes them.
func (l *Line) Dur(k Key, d time.Duration) {
	if l == nil {
		return
	}
	l.key(k)
	if l.h.json {
		l.buf = appendInt(l.buf, int64(d))
	} else {
		l.buf = append(l.buf, d.String()...)
	}
}

// End finishes the line and writes it in one Write.
func (l *Line) End() error {
	if l == nil {
		return nil
	}
	h := l.h
	if h.json {
		l.buf = append(l.buf, '}')
	}
	l.buf = append(l.buf, '\n')
	var err error
	if h.mu == nil {
		_, err = h.w.Write(l.buf)
	} else {
		h.mu.Lock()
		_, err = h.w.Write(l.buf)
		h.mu.Unlock()
	}
	l.h = nil
	if cap(l.buf) <= 16<<10 { // do not keep a huge buffer for every later line
		pool.Put(l)
	}
	return err
}

// Enabled is as slog's: at or above the level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

func (h *Handler) appendKey(b []byte, key string) []byte {
	if h.json {
		b = append(b, ',')
		b = AppendJSONString(b, key)
		return append(b, ':')
	}
	b = append(b, ' ')
	b = AppendTextString(b, key)
	return append(b, '=')
}

func (h *Handler) appendString(b []byte, s string) []byte {
	if h.json {
		return AppendJSONString(b, s)
	}
	return AppendTextString(b, s)
}
