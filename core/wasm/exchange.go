package wasm

import (
	"net/http"
)

// phase is where a request is in the filter.
type phase uint8

const (
	phaseNone     phase = iota // outside a request: the guest's start function
	phaseRequest               // in handle_request
	phaseNext                  // the next handler runs: no guest call
	phaseResponse              // in handle_response
)

// exchange is the state of one request as the guest sees it. An instance
// reuses its exchange from request to request.
type exchange struct {
	phase     phase
	requestID string
	features  features // enabled for this request (instance features included)
	maxBody   int64    // Spec.MaxBodyBytes

	r         *http.Request // what the next handler will get
	copied    bool          // r is a shallow copy of the incoming request
	w         http.ResponseWriter
	status    int         // the guest's answer, or what it set in handle_response
	statusSet bool        // set_status_code was called in handle_response
	saved     http.Header // the response header before the guest touched it
	replay    []headerOp  // response header changes made in handle_request
	scratch   []byte      // NUL-terminated lists

	// request body
	reqBuf      []byte // buffered request body (buffer_request)
	reqBuffered bool
	reqPos      int
	reqEOF      bool   // the unbuffered body was read to its end
	reqNew      []byte // body written by the guest
	reqWritten  bool

	// response body
	rw          *responseWriter // set once the next handler runs
	respPos     int             // read position in the buffered response
	respNew     []byte          // body written by the guest
	respWritten bool

	clientErr error // a host limit the client broke (see clientError)
}

// reset prepares ex for a new request.
func (ex *exchange) reset(w http.ResponseWriter, r *http.Request, rid string, f features, maxBody int64) {
	*ex = exchange{
		phase:     phaseRequest,
		requestID: rid,
		features:  f,
		maxBody:   maxBody,
		r:         r,
		w:         w,
		status:    http.StatusOK,
		replay:    ex.replay[:0],
		scratch:   ex.scratch[:0],
		reqBuf:    ex.reqBuf[:0],
		reqNew:    ex.reqNew[:0],
		respNew:   ex.respNew[:0],
	}
}

// request returns r for changing its method, URI or body: a shallow copy
// of the incoming request the first time, so the caller's stays intact.
// Headers are changed in place, as every middleware does.
func (ex *exchange) request() *http.Request {
	if !ex.copied {
		cp := new(http.Request)
		*cp = *ex.r
		u := *ex.r.URL
		cp.URL = &u
		ex.r = cp
		ex.copied = true
	}
	return ex.r
}

// saveHeader keeps the response header as it was before the guest or the
// next handler changed it, so a failure can answer with it.
func (ex *exchange) saveHeader() {
	if ex.saved == nil {
		ex.saved = ex.w.Header().Clone()
		if ex.saved == nil {
			ex.saved = http.Header{}
		}
	}
}

// restoreHeader undoes the changes made since saveHeader.
func (ex *exchange) restoreHeader() {
	if ex.saved == nil {
		return
	}
	h := ex.w.Header()
	clear(h)
	for k, v := range ex.saved {
		h[k] = v
	}
}

// headerOp is a response header change made in handle_request, applied
// again when the next handler sends its header so that the guest's value
// wins over the backend's.
type headerOp struct {
	remove bool
	name   string
	values []string
}

func (ex *exchange) replayHeader() {
	h := ex.w.Header()
	for _, op := range ex.replay {
		if op.remove {
			h.Del(op.name)
		} else {
			h[op.name] = op.values
		}
	}
}
