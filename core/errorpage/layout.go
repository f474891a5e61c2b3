package errorpage

import (
	"bytes"
	"html/template"
	"io"
	"net/http"
)

// Link is an action a page offers: "Sign in again", "Open the app again".
type Link struct {
	Text string
	Href string
}

// Frame is what the layout needs besides a page's own content. Every page
// a person sees from Gatehouse (errors, notices, the start page, the
// portal, the device and vault pages) is drawn in it, so they all look
// alike and share the same landmarks: a header with the brand, a main
// with the h1, a footer.
type Frame struct {
	// Title is the page's <title> and its <h1>: words only, never a
	// status number.
	Title string
	// Status is the HTTP status Serve writes; 0 is 200.
	Status int
	// RequestID, when set, is shown on the page; pages with Status >=
	// 400 must set it, so the user can quote it.
	RequestID string
	// User, when set, is shown in the header as "Signed in as User".
	User string
	// SignOut, when set, is the address of a "Sign out" link in the header.
	SignOut string
	// Links are actions shown after the body.
	Links []Link
	// Head is extra markup for <head> (a meta tag, a script): trusted
	// markup only, never user input.
	Head template.HTML
	// Wide widens the main column for lists (the portal).
	Wide bool
}

// frameData is what the layout template sees.
type frameData struct {
	Frame
	Body  template.HTML
	Error bool
	CSS   template.CSS
}

// Render writes the whole document: f's frame around body, which the
// caller's own html/template produced (see Body).
func Render(w io.Writer, f Frame, body template.HTML) error {
	return layoutTmpl.Execute(w, frameData{Frame: f, Body: body, Error: f.Status >= 400, CSS: template.CSS(css)})
}

// Serve answers with a page drawn in the layout: the headers every
// Gatehouse page carries (no caching, no framing, no sniffing, the request
// id), f.Status (200 when 0), then the document.
func Serve(w http.ResponseWriter, f Frame, body template.HTML) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	if f.RequestID != "" {
		h.Set("X-Request-Id", f.RequestID)
	}
	if f.Status == 0 {
		f.Status = http.StatusOK
	}
	var b bytes.Buffer
	if err := Render(&b, f, body); err != nil {
		// The layout is fixed and its data typed: this does not happen,
		// but a page cut short must not be sent as if whole.
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "Gatehouse could not draw this page (request id "+f.RequestID+")\n")
		return
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write(b.Bytes())
}

// Body runs t with data into markup for Render or Serve: t's own
// escaping applies, so what data holds is escaped as usual.
func Body(t *template.Template, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil //nolint:gosec // produced by an html/template
}

var layoutTmpl = template.Must(template.New("layout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>{{.Head}}
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header role="banner"><div class="bar{{if .Wide}} wide{{end}}">
<span class="brand"><svg aria-hidden="true" width="22" height="22" viewBox="0 0 24 24"><path fill="currentColor" d="M12 2 3 6v6c0 5 3.8 9.4 9 10 5.2-.6 9-5 9-10V6l-9-4zm-2 15v-5h4v5h-4zm2-7a2 2 0 1 1 0-4 2 2 0 0 1 0 4z"/></svg>Gatehouse</span>
{{- if or .User .SignOut}}<nav aria-label="Account">{{if .User}}<span class="who">Signed in as <b>{{.User}}</b></span>{{end}}{{if .SignOut}} <a href="{{.SignOut}}">Sign out</a>{{end}}</nav>{{end}}
</div></header>
<main id="main" class="{{if .Wide}}wide{{end}}"><h1>{{.Title}}</h1>
{{.Body}}
{{- if .Links}}
<ul class="actions">{{range .Links}}<li><a href="{{.Href}}">{{.Text}}</a></li>{{end}}</ul>{{end}}
{{- if .RequestID}}
<p class="rid">Request ID: <code>{{.RequestID}}</code>{{if .Error}}. If you ask your IT team for help, give them this ID.{{end}}</p>{{end}}
</main>
<footer><p>Protected by Gatehouse</p></footer>
</body></html>
`))

// css is the layout's one stylesheet, inline (no build step, no extra
// request). Colours keep a contrast of at least 4.5:1 on their
// backgrounds; long words wrap, so nothing scrolls sideways on a phone.
const css = `*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f3f5f8}
a{color:#0b57a4}a:hover{color:#083f77}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em 1em}.skip:focus{left:1em}
header{background:#17324d;color:#fff}
.bar,main,footer p{max-width:40rem;margin:0 auto;padding:0 1rem}
.bar.wide,main.wide{max-width:60rem}
.bar{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.25rem 1rem;min-height:3.25rem;padding-top:.4rem;padding-bottom:.4rem}
.brand{display:inline-flex;align-items:center;gap:.5rem;font-weight:700;font-size:1.1rem;letter-spacing:.01em}
header nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center;font-size:.95rem}
header nav a{color:#fff}
main{background:#fff;margin-top:2rem;padding:1.5rem 1.25rem;border:1px solid #d6dbe1;border-radius:10px;overflow-wrap:anywhere}
@media (max-width:42rem){main{margin-top:0;border-radius:0;border-left:0;border-right:0}}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 .75rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
p{margin:.5rem 0 1rem}
.muted,.rid{color:#57606a}.rid{font-size:.9rem;margin-top:1.5rem;border-top:1px solid #e3e7eb;padding-top:.75rem}
code{font:.92em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f4;padding:.1em .35em;border-radius:4px}
code.big{font-size:1.5rem;font-weight:700;letter-spacing:.12em;padding:.2em .5em}
ul.actions{list-style:none;padding:0;margin:1rem 0;display:flex;flex-wrap:wrap;gap:.75rem}
ul.actions a,a.button,button{display:inline-block;font:inherit;font-weight:600;text-decoration:none;border-radius:6px;padding:.55rem 1rem;border:1px solid #0b57a4;background:#0b57a4;color:#fff;cursor:pointer}
ul.actions a:hover,a.button:hover,button:hover{background:#083f77;color:#fff}
ul.actions li+li a,button.secondary{background:#fff;color:#0b57a4}
ul.actions li+li a:hover,button.secondary:hover{background:#eef4fb;color:#083f77}
label{display:block;margin:.75rem 0;font-weight:600}
input,select{display:block;width:100%;margin-top:.3rem;font:inherit;font-weight:400;padding:.5rem .6rem;border:1px solid #8c959f;border-radius:6px;background:#fff;color:#1f2328}
form.inline,form.search{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:1rem 0}
form.inline label,form.search label{flex:1 1 12rem;margin:0}
.notice,.error{border:1px solid #b6c2cf;border-left:5px solid #0b57a4;border-radius:6px;padding:.75rem 1rem;margin:1rem 0;background:#f6f8fa}
.error{border-left-color:#b42318;background:#fff6f5}
ul.cards{list-style:none;padding:0;margin:1rem 0;display:grid;gap:.75rem;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr))}
ul.cards a{display:flex;gap:.75rem;align-items:flex-start;padding:.75rem;border:1px solid #d6dbe1;border-radius:8px;text-decoration:none;color:#1f2328;height:100%}
ul.cards a:hover{border-color:#0b57a4;background:#f6f9fd}
ul.cards .icon{width:40px;height:40px;flex:none;border-radius:6px;object-fit:contain}
ul.cards .name{display:block;font-weight:600;color:#0b57a4}
ul.cards .desc{display:block;color:#57606a;font-size:.92rem}
li.disabled a{background:#f6f8fa}
.badge{display:inline-block;font-size:.8rem;font-weight:600;padding:.05rem .45rem;border-radius:999px;background:#fff4d6;color:#6b4a00;border:1px solid #e0c36b}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
@media (max-width:30rem){dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.5rem}}
footer{color:#57606a;font-size:.85rem;padding:1rem 0 2rem}`
