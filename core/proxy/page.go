package proxy

import (
	"encoding/binary"
	"encoding/hex"
	"html/template"
	"math/rand/v2"
	"net/http"
	"strings"
)

// newRequestID returns 16 hex characters from the runtime's fast,
// unpredictable generator (no system call per request): ids neither
// repeat in practice nor reveal request volume.
func newRequestID() string {
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

type page struct {
	Status    int
	Title     string
	Text      string
	RequestID string
}

// writePage answers with an error page: HTML for browsers, a text line for
// everything else. The request id is in the body and in X-Request-Id.
func writePage(w http.ResponseWriter, r *http.Request, p page) {
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

var (
	pageUnknownHost = page{Status: http.StatusNotFound, Title: "No such app",
		Text: "Nothing is published at this address. Check the link, or ask your IT team whether the app has moved."}
	pageNoConnector = page{Status: http.StatusServiceUnavailable, Title: "App unavailable",
		Text: "The connection to the network where this app runs is down. Try again in a minute."}
	pageBackend = page{Status: http.StatusBadGateway, Title: "App not answering",
		Text: "The app did not answer. Try again in a minute; if it keeps happening, tell your IT team."}
	pageBadPath = page{Status: http.StatusBadRequest, Title: "Bad address",
		Text: "The address contains \".\" or \"..\" path segments, which Gatehouse does not forward."}
	pageTimeout = page{Status: http.StatusGatewayTimeout, Title: "App too slow",
		Text: "The app took too long to answer."}
)
