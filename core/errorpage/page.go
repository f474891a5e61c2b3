// Package errorpage writes the pages Gatehouse itself answers with (errors,
// denials, sign-in problems): HTML for browsers, one text line for other
// clients, always with the request id an operator can look up in the logs.
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

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Status}} {{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;color:#222}code{background:#eee;padding:.1em .3em}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p>
<p>Request ID: <code>{{.RequestID}}</code> — quote it to your IT team.</p>
<hr><small>Gatehouse</small></body></html>
`))

// Page is one answer.
type Page struct {
	Status    int
	Title     string
	Text      string
	RequestID string
}

// Write answers with an error page: HTML for browsers, a text line for
// everything else. The request id is in the body and in X-Request-Id.
func Write(w http.ResponseWriter, r *http.Request, p Page) {
	h := w.Header()
	h.Set("X-Request-Id", p.RequestID)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(p.Status)
		_ = pageTmpl.Execute(w, p)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(p.Status)
	_, _ = w.Write([]byte(p.Title + ": " + p.Text + " (request id " + p.RequestID + ")\n"))
}
