package connector

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// Time limits on a request stream.
const (
	headerTimeout = 30 * time.Second // to read the first request head from the gateway
	idleWait      = 90 * time.Second // for the next request on a reused stream (the gateway parks for 30 s)
	configWait    = 5 * time.Second  // for a config as new as the request's
	finWait       = 30 * time.Minute // for the gateway to finish reading a response
	maxHead       = 1 << 20          // tunnel header + HTTP request head
)

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
)

// serveStream serves the requests of one stream: one, or several in turn
// when the gateway reuses the stream for requests without a body. It ends
// when the gateway closes the stream.
func (s *session) serveStream(ctx context.Context, stream net.Conn) {
	// One context for all the stream's requests: they come one after the
	// other, and a cancelled one (abandoned, or a response that could not
	// be relayed) ends the stream. A cancelable context per request cost
	// the connector measurable CPU in child maps and locks (figures in
	// bench/RESULTS.md).
	ctx, cancelCtx := context.WithCancel(ctx)
	abort := &backendAbort{}
	ctx = context.WithValue(ctx, backendAbortKey{}, abort)
	stopAbort := context.AfterFunc(ctx, abort.fire) // the session stops
	cancel := func() { cancelCtx(); abort.fire() }
	defer cancelCtx()
	defer stopAbort()
	lim := &tunnel.HeaderLimit{R: stream}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(lim)
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(stream)
	reusable := true
	clock := s.sweep.add(stream)
	defer func() {
		s.sweep.remove(clock)
		stream.Close()
		if reusable { // nothing else may still read br
			br.Reset(nil)
			readerPool.Put(br)
		}
		bw.Reset(nil)
		writerPool.Put(bw)
	}()
	wait := headerTimeout
	for {
		var again bool
		again, reusable = s.serveOne(ctx, cancel, stream, clock, lim, br, bw, wait)
		if !again {
			return
		}
		wait = idleWait
	}
}

// serveOne relays one request from the gateway to the app's backend and
// the response back. It reports whether the stream may carry another
// request, and whether br may be reused (not while the backend transport
// may still read an unfinished request body from it).
// cancel cancels ctx and the backend call under way; the stream is then
// not reused.
func (s *session) serveOne(ctx context.Context, cancel func(), stream net.Conn, clock *streamClock, lim *tunnel.HeaderLimit, br *bufio.Reader, bw *bufio.Writer, wait time.Duration) (again, reusable bool) {
	w := &watcher{stream: stream, br: br, cancel: cancel}
	complete := false
	defer func() {
		again, reusable = w.finish(complete)
		clock.deadline = clock.deadline || w.done != nil // finish left a read deadline
	}()

	hdr, req, ok := s.readRequest(w, clock, lim, bw, wait)
	if !ok {
		return
	}
	if req == nil { // a TCP app's connection (tcp.go)
		s.serveTCP(ctx, stream, w.br, hdr)
		return
	}
	if hdr.App == tunnel.ProbeApp {
		complete = s.probe(bw, req) // updates.go
		return
	}
	log := reqLog{s.log, &hdr}
	a := s.lookup(ctx, hdr.App, hdr.ConfigVersion, configWait)
	if a == nil {
		log.Warn("request for an app this connector does not know")
		complete = writeError(bw, http.StatusBadGateway, tunnel.ErrCodeUnknownApp, fmt.Sprintf("connector has no app %q", hdr.App))
		return
	}
	sv := served{start: time.Now()}
	defer s.finish(a, &hdr, req, &sv) // accesslog.go
	out := outbound(ctx, req, a)
	rejectStatus := 0
	if err := s.admitHost(ctx, a, hdr, req.Host, out, &rejectStatus); err != nil { // wildcard.go
		status, code := refusal(err)
		s.c.metrics.refused(a, err)
		log.Warn("request refused before the backend", "error", err)
		sv.status, sv.errCode = status, code
		complete = writeError(bw, status, code, err.Error())
		return
	}
	clock.backendCall(w.watch)
	resp, err := backendCall(a, out)
	clock.backendDone()
	if err != nil {
		if w.abandoned() {
			return
		}
		s.c.metrics.backend(hdr.App, 0, 0, err)
		log.Warn("backend request failed", "error", err)
		sv.status, sv.errCode = http.StatusBadGateway, backendErrorCode(err)
		complete = writeError(bw, http.StatusBadGateway, sv.errCode, err.Error())
		return
	}
	s.c.metrics.backend(hdr.App, time.Since(sv.start), resp.StatusCode, nil)
	sv.status = resp.StatusCode
	s.forgetSignOn(a, &hdr, out, resp.StatusCode) // signon.go: a reused result the backend refused
	if rejectStatus != 0 && resp.StatusCode == rejectStatus {
		// The backend refused the credentials the sign-on plug-in gave:
		// the gateway asks the user for new ones instead.
		resp.Body.Close()
		log.Info("backend refused the injected credentials", "status", resp.StatusCode)
		sv.status, sv.errCode = http.StatusUnauthorized, tunnel.ErrCodeAskCreds
		complete = writeError(bw, http.StatusUnauthorized, tunnel.ErrCodeAskCreds, "the backend refused the stored credentials")
		return
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		s.upgrade(resp, stream, br, bw, log)
		return
	}
	var err2 error
	if sv.out, err2 = writeResponse(bw, resp, w.watch); err2 != nil {
		sv.status = 0
		cancel()
		stream.Close() // now, so that the gateway sees a cut response as cut
		log.Debug("relaying response", "error", err2, "abandoned", w.abandoned())
		return
	}
	complete = true
	return
}

// backendCall sends out to the app's backend. The answer loses its
// X-Gatehouse-* fields (only the connector may set them: the gateway
// shows its own error page for tunnel.ErrorHeader), and a status below 100,
// which net/http takes, is refused.
func backendCall(a *app, out *http.Request) (*http.Response, error) {
	resp, err := a.roundTrip(out)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 100 {
		resp.Body.Close()
		return nil, fmt.Errorf("backend answered with status %d", resp.StatusCode)
	}
	stripGatehouse(resp.Header)
	return resp, nil
}

// reqLog logs with a request's id and app; it adds them only when a line
// is written, which most requests never do.
type reqLog struct {
	l   *slog.Logger
	hdr *tunnel.RequestHeader
}

func (r reqLog) Warn(msg string, args ...any) { r.l.Warn(msg, r.with(args)...) }
func (r reqLog) Info(msg string, args ...any) { r.l.Info(msg, r.with(args)...) }

func (r reqLog) Debug(msg string, args ...any) {
	if r.l.Enabled(context.Background(), slog.LevelDebug) {
		r.l.Debug(msg, r.with(args)...)
	}
}

func (r reqLog) with(args []any) []any {
	return append([]any{"request_id", r.hdr.RequestID, "app", r.hdr.App}, args...)
}

// outbound turns the tunnelled request into one for the backend: the
// app's path prefix is replaced by the backend URL's path, so
// https://portal.example.com/hr/x with prefix /hr and backend
// http://hr.corp/ reaches http://hr.corp/x (the escaped form of the path is
// kept, so %2F stays %2F).
func outbound(ctx context.Context, req *http.Request, a *app) *http.Request {
	out := req.WithContext(ctx)
	out.RequestURI = ""
	base := a.base
	if label, err := a.label(req.Host); err == nil && label != "" {
		base = a.baseFor(label) // a wildcard app's {label} template (wildcard.go)
	}
	u := *base
	prefix := a.cfg.PathPrefix
	u.Path = joinPath(base.Path, trimPrefix(req.URL.Path, prefix))
	u.RawPath = joinPath(base.EscapedPath(), trimEscapedPrefix(req.URL.EscapedPath(), prefix))
	u.RawQuery = req.URL.RawQuery
	out.URL = &u
	if !a.cfg.PreserveHost {
		out.Host = u.Host
	}
	if out.Header.Get("User-Agent") == "" {
		out.Header["User-Agent"] = nil // do not add Go's default
	}
	return out
}

// trimPrefix removes an app's path prefix ("/" or "/x", no trailing
// slash) from a request path; the result starts with "/".
func trimPrefix(p, prefix string) string {
	if prefix == "" || prefix == "/" {
		return p
	}
	p = strings.TrimPrefix(p, prefix)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// trimEscapedPrefix removes the decoded prefix from an escaped path: it
// consumes escaped bytes until they decode to the prefix, so
// "/donn%C3%A9es/a%2Fb" minus "/données" keeps "/a%2Fb".
func trimEscapedPrefix(escaped, prefix string) string {
	if prefix == "" || prefix == "/" {
		return escaped
	}
	i, j := 0, 0 // i in escaped, j in prefix
	for j < len(prefix) && i < len(escaped) {
		c := escaped[i]
		n := 1
		if c == '%' && i+2 < len(escaped) {
			if v, err := strconv.ParseUint(escaped[i+1:i+3], 16, 8); err == nil {
				c, n = byte(v), 3
			}
		}
		if c != prefix[j] {
			return trimPrefix(escaped, prefix) // not this prefix: best effort
		}
		i, j = i+n, j+1
	}
	rest := escaped[i:]
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	return rest
}

// joinPath appends a request path to a backend base path.
func joinPath(base, p string) string {
	if base == "" || base == "/" {
		return p
	}
	return strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(p, "/")
}

// writeResponse writes resp in HTTP/1.1 framing and returns its body
// bytes, always delimited
// (Content-Length or chunked, never until-EOF), flushing after every body
// read so streams such as Server-Sent Events pass at once while a small
// response still leaves in one write with its head.
// long is called when the body needs a second read.
func writeResponse(bw *bufio.Writer, resp *http.Response, long func()) (int64, error) {
	resp.ProtoMajor, resp.ProtoMinor = 1, 1
	if resp.ContentLength < 0 && !hasChunked(resp.TransferEncoding) {
		resp.TransferEncoding = []string{"chunked"}
	}
	body := &flushingBody{ReadCloser: resp.Body, bw: bw, long: long, length: resp.ContentLength}
	resp.Body = body
	// writerOnly hides bufio's ReadFrom: flushingBody flushes bw from
	// inside Read, which must not happen while Read fills bw's buffer.
	err := resp.Write(writerOnly{bw})
	resp.Body.Close()
	if err != nil {
		return body.n, err
	}
	return body.n, bw.Flush()
}

// writerOnly is a bufio.Writer without ReadFrom. It keeps WriteString
// and WriteByte, or Response.Write would copy every header string.
type writerOnly struct{ bw *bufio.Writer }

func (w writerOnly) Write(p []byte) (int, error)       { return w.bw.Write(p) }
func (w writerOnly) WriteString(s string) (int, error) { return w.bw.WriteString(s) }
func (w writerOnly) WriteByte(c byte) error            { return w.bw.WriteByte(c) }

func hasChunked(te []string) bool {
	return len(te) > 0 && te[0] == "chunked"
}

// flushingBody flushes what was written so far before each read after the
// first.
type flushingBody struct {
	io.ReadCloser
	bw     *bufio.Writer
	reads  int
	long   func()
	length int64 // Content-Length, or -1
	n      int64 // bytes read
}

func (f *flushingBody) Read(p []byte) (int, error) {
	// A second read of a body not yet complete makes this a long
	// response. (Response.Write reads once more past a Content-Length
	// to check for excess; that read does not count.)
	if f.reads == 1 && f.long != nil && (f.length < 0 || f.n < f.length) {
		f.long()
	}
	if f.reads > 0 && f.bw.Buffered() > 0 {
		if err := f.bw.Flush(); err != nil {
			return 0, err
		}
	}
	f.reads++
	n, err := f.ReadCloser.Read(p)
	f.n += int64(n)
	return n, err
}

// writeError answers on the connector's behalf; the gateway reads the
// ErrorHeader code and shows its own error page. It reports whether the
// answer was sent.
func writeError(bw *bufio.Writer, status int, code, detail string) bool {
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n%s: %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), tunnel.ErrorHeader, code, len(detail), detail)
	return bw.Flush() == nil
}

// upgrade relays a 101 Switching Protocols answer and then raw bytes both
// ways until either side closes.
func (s *session) upgrade(resp *http.Response, stream net.Conn, br *bufio.Reader, bw *bufio.Writer, log interface{ Debug(string, ...any) }) {
	backend, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		writeError(bw, http.StatusBadGateway, tunnel.ErrCodeBackend, "backend upgrade body is not writable")
		return
	}
	defer backend.Close()
	resp.Body = http.NoBody
	if err := resp.Write(bw); err != nil || bw.Flush() != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(backend, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(stream, backend); done <- struct{}{} }()
	<-done
	backend.Close()
	stream.Close()
	<-done
	log.Debug("upgraded connection closed")
}
