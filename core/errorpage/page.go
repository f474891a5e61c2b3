// Package errorpage writes the pages Gatehouse itself answers with (errors,
// denials, sign-in problems): HTML for browsers, one text line for other
// clients, always with the request id an operator can look up in the logs.
// Its layout (Frame, Serve) is the one every page a person sees from the
// gateway is drawn in: the start page, the portal, the device and vault
// pages, "Signed out".
package errorpage

import (
	"encoding/binary"
	"encoding/hex"
	"html/template"
	"math/rand/v2"
	"net/http"
	"strings"
)

// NewRequestID returns 16 hex characters from the runtime's fast,
// unpredictable generator (no system call per request): ids neither
// repeat in practice nor reveal request volume.
func NewRequestID() string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// pageTmpl is an error page's own content; the layout adds the title,
// the links and the request id.
var pageTmpl = template.Must(template.New("page").Parse(`<p>{{.}}</p>`))

// Page is one answer.
type Page struct {
	Status int
	// Title is words only ("Access denied"): the page never shows the
	// status number.
	Title     string
	Text      string
	RequestID string
	// Links are actions the page offers (HTML only).
	Links []Link
}

// Write answers with an error page: HTML for browsers, a text line for
// everything else. The request id is in the body and in X-Request-Id.
func Write(w http.ResponseWriter, r *http.Request, p Page) {
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		body, _ := Body(pageTmpl, p.Text) // a string into a fixed template: no error
		Serve(w, Frame{Title: p.Title, Status: p.Status, RequestID: p.RequestID, Links: p.Links}, body)
		return
	}
	h := w.Header()
	h.Set("X-Request-Id", p.RequestID)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(p.Status)
	_, _ = w.Write([]byte(p.Title + ": " + p.Text + " (request id " + p.RequestID + ")\n"))
}
