package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// An Observer measures the requests of one app (package metrics);
// Route.Observer, nil for none. Its methods run on every request, so
// they must be cheap and safe for concurrent use.
type Observer interface {
	// Start: a request to the app was routed.
	Start()
	// Finish: that request is over, at end. status is the final status (200
	// when the handler wrote nothing, 101 for an upgrade); in and out
	// count body bytes from and to the client; gateway is the time
	// before the request left for a connector (all of it when it never
	// left, then backend is 0); backend runs from leaving to the
	// response head.
	Finish(end time.Time, method string, status int, in, out int64, total, gateway, backend time.Duration)
}

// observed measures one request: the writer the handler serves it
// through (status and bytes out), and when it left for a connector.
// It is pooled: nothing holds it once the handler has returned.
type observed struct {
	http.ResponseWriter
	obs     Observer   // nil: no metrics
	alog    *AccessLog // nil: no access log
	access  accessRequest
	app     string
	rid     string
	method  string
	start   time.Time
	left    bool          // the request left for a connector
	gateway time.Duration // from start until it left
	backend time.Duration // from leaving to the response head
	status  int
	out     int64
	in      *countingBody // nil without a request body
}

var observedPool = sync.Pool{New: func() any { return new(observed) }}

// observe starts measuring r (request id rid), routed to route, for its
// metrics and its access-log line. It returns the writer to serve r
// with, and the measurement to end with done (nil, and w itself, when
// the app has neither an Observer nor an access log).
func observe(w http.ResponseWriter, r *http.Request, route *Route, rid string) (http.ResponseWriter, *observed) {
	if route.Observer == nil && route.AccessLog == nil {
		return w, nil
	}
	o := observedPool.Get().(*observed)
	*o = observed{ResponseWriter: w, obs: route.Observer, alog: route.AccessLog, app: route.App, rid: rid, method: r.Method, start: time.Now()}
	if o.alog != nil {
		o.access.take(r)
	}
	if r.Body != nil && r.Body != http.NoBody {
		// Not pooled: the goroutine that sends the body to the
		// connector may read it after the handler has returned.
		o.in = &countingBody{ReadCloser: r.Body}
		r.Body = o.in
	}
	if o.obs != nil {
		o.obs.Start()
	}
	return o, o
}

// done reports the request to the Observer.
func (o *observed) done() {
	if o == nil {
		return
	}
	// The end's wall time is the start's plus the monotonic time since:
	// one clock read, not two (a wall-clock step during the request
	// shows only in the next one).
	total := time.Since(o.start)
	now := o.start.Add(total)
	gateway := total
	if o.left {
		gateway = o.gateway
	}
	var in int64
	if o.in != nil {
		in = o.in.n.Load()
	}
	status := o.status
	if status == 0 {
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	if o.obs != nil {
		o.obs.Finish(now, o.method, status, in, o.out, total, gateway, o.backend)
	}
	if o.alog != nil {
		o.alog.write(o, status, in, now, total)
	}
	*o = observed{}
	observedPool.Put(o)
}

// toBackend records a trip through the tunnel that began at start and
// has just ended (Transport.roundTrip defers it).
func (o *observed) toBackend(start time.Time) {
	if o == nil || o.obs == nil { // the access log has no use for the split
		return
	}
	if !o.left {
		o.left, o.gateway = true, start.Sub(o.start)
	}
	o.backend += time.Since(start)
}

// signedIn records the user the request was admitted for.
func (o *observed) signedIn(subject string) {
	if o != nil {
		o.access.subject = subject
	}
}

// via records the connector a trip through the tunnel went to.
func (o *observed) via(connector string) {
	if o != nil {
		o.access.connector = connector
	}
}

func (o *observed) WriteHeader(code int) {
	if o.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		o.status = code
	}
	o.ResponseWriter.WriteHeader(code)
}

func (o *observed) Write(p []byte) (int, error) {
	if o.status == 0 {
		o.status = http.StatusOK
	}
	n, err := o.ResponseWriter.Write(p)
	o.out += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer (Flush,
// deadlines).
func (o *observed) Unwrap() http.ResponseWriter { return o.ResponseWriter }

// Hijack hands the connection over for an upgrade, which is then the
// request's status.
func (o *observed) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(o.ResponseWriter).Hijack()
	if err == nil && o.status == 0 {
		o.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// countingBody counts the request body bytes read.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
