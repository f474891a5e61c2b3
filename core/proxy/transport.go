package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// Dialer opens a request stream to a connector of a group, avoiding the
// connectors named in avoid; with reuse it may hand out a parked stream. It
// returns the stream, the connector's id and a func to call when the
// request is over. The registry implements it.
type Dialer interface {
	DialGroup(ctx context.Context, group string, avoid []string, reuse bool) (net.Conn, string, func(), error)
}

// AppDialer is a Dialer that is told the app too, so that it picks only
// connectors that run the app's sign-on (the registry does).
type AppDialer interface {
	DialApp(ctx context.Context, group, app string, avoid []string, reuse bool) (net.Conn, string, func(), error)
}

// parker is a stream that can carry another request after this one
// (registry.Stream).
type parker interface {
	Park()
	Reused() bool
}

// maxAttempts bounds tries of a retryable request across connectors.
const maxAttempts = 3

// Transport is the http.RoundTripper that carries a request through a
// connector tunnel: one yamux stream per request. A request that may be
// repeated (GET, HEAD, OPTIONS without a body) and fails before any byte
// of the response arrived is retried on another connector of the group.
type Transport struct {
	Dialer Dialer
	Logger *slog.Logger
}

type routeKey struct{}

// routeInfo travels in the request context from the handler to RoundTrip.
type routeInfo struct {
	route     *Route
	version   uint64
	requestID string
	envelope  []byte      // the signed identity; nil for passthrough apps
	secret    []byte      // the user's sealed vault credentials, if any
	trailer   http.Header // the incoming request's, filled at body EOF
	obs       *observed   // the request's measurement; nil without metrics
}

// connectorError is a failure the connector reported instead of a backend
// answer (its ErrorHeader), or a tunnel failure before any response byte.
type connectorError struct {
	code      string // tunnel.ErrCode…, codeTunnel, or "tunnel_response"
	connector string
	detail    string
	retryable bool // nothing reached the backend, or it may be repeated
}

func (e *connectorError) Error() string {
	return fmt.Sprintf("connector %s: %s %s", e.connector, e.code, e.detail)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ri, _ := req.Context().Value(routeKey{}).(*routeInfo)
	if ri == nil {
		return nil, errors.New("proxy: request has no route")
	}
	body := req.Body != nil && req.Body != http.NoBody
	var write requestWriter = (*stdRequest)(req)
	if body {
		write = newStdBodyRequest(req)
	}
	return t.roundTrip(req, ri, body, retryable(req), write)
}

// requestWriter writes an HTTP/1.1 request onto a stream's buffer.
type requestWriter interface {
	writeRequest(bw *bufio.Writer) error
}

// stdRequest is written by net/http (the ReverseProxy path).
type stdRequest http.Request

func (r *stdRequest) writeRequest(bw *bufio.Writer) error { return (*http.Request)(r).Write(bw) }

// roundTrip carries one request through a connector tunnel: write puts the
// HTTP request (head and body) on the stream; req is only read for its
// method and context. body says whether write sends a body (it then runs
// while the response is read), retry whether the request may be repeated.
func (t *Transport) roundTrip(req *http.Request, ri *routeInfo, body, retry bool, write requestWriter) (*http.Response, error) {
	defer ri.obs.toBackend(time.Now())
	// Only requests that may be repeated ride on reused streams: a parked
	// stream can have gone stale, and then the request is sent again.
	reuse := retry
	var avoid []string
	var last error // why the previous attempt failed
	for attempt := 1; ; attempt++ {
		if err := req.Context().Err(); err != nil {
			// The client is gone (an HTTP/2 stream reset, a closed
			// connection): nothing is sent for it.
			return nil, fmt.Errorf("request abandoned by the client before it was sent: %w", err)
		}
		stream, conn, release, err := t.dial(req.Context(), ri.route, avoid, reuse)
		if err != nil {
			if last != nil {
				return nil, last // no connector left to retry on: report the real failure
			}
			return nil, err
		}
		ri.obs.via(conn)
		resp, err := exchange(req, stream, ri, release, retry, body, write)
		if err == nil {
			return resp, nil
		}
		stream.Close()
		release()
		var ce *connectorError
		if !errors.As(err, &ce) {
			return nil, err
		}
		ce.connector = conn
		if !retry || !ce.retryable || attempt == maxAttempts || req.Context().Err() != nil {
			return nil, err
		}
		last = err
		if p, ok := stream.(parker); ok && p.Reused() && ce.code == codeTunnel {
			// A parked stream that went stale says little about its
			// connector: try once more on a fresh stream, which does not
			// count as an attempt.
			t.Logger.Debug("parked stream was stale; retrying on a fresh one", "request_id", ri.requestID, "connector", conn)
			reuse = false
			attempt--
			continue
		}
		t.Logger.Warn("retrying request on another connector", "request_id", ri.requestID,
			"app", ri.route.App, "connector", conn, "error", err)
		avoid = append(avoid, conn)
	}
}

// dial opens a stream to a connector of r's group (AppDialer: one that
// runs r's sign-on).
func (t *Transport) dial(ctx context.Context, r *Route, avoid []string, reuse bool) (net.Conn, string, func(), error) {
	if d, ok := t.Dialer.(AppDialer); ok {
		return d.DialApp(ctx, r.Group, r.App, avoid, reuse)
	}
	return t.Dialer.DialGroup(ctx, r.Group, avoid, reuse)
}

func retryable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return req.Body == nil || req.Body == http.NoBody
	}
	return false
}

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 16<<10) }}

// writeRequest writes the tunnel header and, with write, the request to
// stream.
func writeRequest(stream net.Conn, ri *routeInfo, write requestWriter) error {
	bw := bufPool.Get().(*bufio.Writer)
	defer bufPool.Put(bw)
	defer bw.Reset(nil)
	bw.Reset(stream)
	_, _ = bw.Write(tunnel.AppendRequestHeader(bw.AvailableBuffer(), tunnel.RequestHeader{
		App: ri.route.App, RequestID: ri.requestID, ConfigVersion: ri.version, Envelope: ri.envelope, Secret: ri.secret}))
	if err := write.writeRequest(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// codeTunnel marks a failure of the stream itself, before any response byte.
const codeTunnel = "tunnel"

// exchange sends a request on stream with write and reads the response
// head (req tells its method). With park, the stream goes back to its
// pool once the response was read to its end. When the request's context
// ends first (the client left or reset its stream) or the client's body
// fails, the stream is aborted, which cancels the backend request.
func exchange(req *http.Request, stream net.Conn, ri *routeInfo, release func(), park, body bool, write requestWriter) (*http.Response, error) {
	ctx := req.Context()
	stop := context.AfterFunc(ctx, func() { abort(stream) })
	fail := func(err error) (*http.Response, error) {
		stop()
		if berr := bodyErrOf(write); berr != nil {
			return nil, berr
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("request abandoned by the client: %w", ctx.Err())
		}
		return nil, err
	}
	if !body {
		if err := writeRequest(stream, ri, write); err != nil {
			return fail(&connectorError{code: codeTunnel, detail: "write: " + err.Error(), retryable: true})
		}
	} else {
		// Stream the body while the response is read: the backend may
		// answer (413, 401) before it has read everything.
		go func() {
			if writeRequest(stream, ri, write) != nil {
				if bodyErrOf(write) != nil {
					abort(stream) // the reader below fails at once too
				} else {
					stream.Close()
				}
			}
		}()
	}

	// One allocation for the reader chain and the body that ends it.
	sb := &streamBody{stream: stream, release: release}
	lim := &sb.lim
	*lim = tunnel.HeaderLimit{R: stream, N: 1 << 20}
	cr := &sb.cr
	cr.r = lim
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(cr)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		code := codeTunnel
		if cr.n > 0 {
			code = "tunnel_response"
		}
		return fail(&connectorError{code: code, detail: "read: " + err.Error(), retryable: cr.n == 0})
	}
	lim.Unlimit()
	if code := resp.Header.Get(tunnel.ErrorHeader); code != "" {
		detail, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fail(&connectorError{code: code, detail: string(detail),
			retryable: code == tunnel.ErrCodeBackend || code == tunnel.ErrCodeUnknownApp})
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		stop() // ReverseProxy watches the context of an upgraded connection itself
		resp.Body = &upgradeBody{Reader: br, stream: stream, release: release}
		return resp, nil
	}
	sb.body, sb.br, sb.eof, sb.stop = resp.Body, br, resp.Body == http.NoBody, stop
	if p, ok := stream.(parker); ok && park {
		sb.park = p
	}
	resp.Body = sb
	return resp, nil
}

// readerPool holds the response readers; a reader goes back only after
// its body was read to EOF, so nothing can read it through the old body.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// countReader counts bytes read, to tell whether any response byte came.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// streamBody closes the stream and releases the connector when the
// response body is closed. The gateway always closes first: the connector
// waits for this close before closing its side, and takes a close before
// the response is complete as "abandoned" and stops the backend request
// (see RATIONALE.md). Closing net/http's body before EOF would instead
// drain the rest of the response through the tunnel.
type streamBody struct {
	lim     tunnel.HeaderLimit // reads the stream for br
	cr      countReader        // reads lim
	body    io.ReadCloser
	br      *bufio.Reader
	stream  net.Conn
	park    parker // non-nil: park the stream after a complete response
	release func()
	stop    func() bool // stops the abort on the request's context; false: it ran
	eof     bool
	once    sync.Once
}

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *streamBody) Close() error {
	b.once.Do(func() {
		if !b.stop() {
			b.eof = false // aborted: the stream is not parked
		}
		if b.eof {
			b.body.Close() // at EOF: returns at once
			b.br.Reset(nil)
			readerPool.Put(b.br)
		}
		if b.eof && b.park != nil {
			b.park.Park()
		} else {
			b.stream.Close()
		}
		b.release()
	})
	return nil
}

// upgradeBody is the raw two-way stream after a 101 response; httputil.
// ReverseProxy needs it to be an io.ReadWriteCloser.
type upgradeBody struct {
	*bufio.Reader
	stream  net.Conn
	release func()
	once    sync.Once
}

func (b *upgradeBody) Write(p []byte) (int, error) { return b.stream.Write(p) }

func (b *upgradeBody) Close() error {
	b.once.Do(func() { b.stream.Close(); b.release() })
	return nil
}
