package main

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
)

// appName is the app's name in the Gatehouse config (--app): its
// reserved sign-out path is /.gatehouse/auth/APP/signout.
var appName = "demo"

// page is the app's home page: what a company's intranet page would look
// like, with who is signed in (from the identity headers the connector
// adds) and a Sign out link, and below it what reached the app. It fits
// a phone: long header values wrap instead of widening the page.
var page = template.Must(template.New("i").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Example Corp intranet</title>
<style>
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f4f6f9}
header{background:#0f5c4d;color:#fff}
.bar,main{max-width:56rem;margin:0 auto;padding:0 1rem}
.bar{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:center;justify-content:space-between;padding-top:.6rem;padding-bottom:.6rem}
.brand{font-weight:700;font-size:1.1rem}
header nav{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:center}
header a{color:#fff;font-weight:600}
a:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
main{padding-top:1.5rem;padding-bottom:2rem;overflow-wrap:anywhere}
h1{font-size:1.6rem;margin:0 0 .5rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}.card h2{margin-top:0}
.card{background:#fff;border:1px solid #d5dbe3;border-radius:10px;padding:1rem 1.25rem;margin:1rem 0}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f4;padding:.05em .3em;border-radius:4px}
dl{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.2rem 1rem;margin:0}
dt{font-weight:600}dd{margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem;min-width:0}
@media (max-width:36rem){dl{grid-template-columns:1fr}dd{margin-bottom:.5rem}}
.muted{color:#4a5360}
</style></head><body>
<header><div class="bar"><span class="brand">Example Corp intranet</span>
<nav aria-label="Account">{{if .User}}<span>Signed in as <b>{{.User}}</b></span> <a href="{{.SignOut}}">Sign out</a>{{else}}<span>Not signed in</span>{{end}}</nav></div></header>
<main>
<h1>{{if .User}}Hello, {{.User}}{{else}}Hello{{end}}</h1>
<p>Hello from the internal demo app. It runs on a private address and reached you through a Gatehouse connector that only dials out.</p>
<div class="card"><h2>This request</h2>
<dl><dt>From</dt><dd>{{.Remote}} (the connector)</dd><dt>For</dt><dd>{{.Host}}{{.Path}}</dd></dl></div>
<div class="card"><h2>Headers the app received</h2>
<p class="muted">X-Remote-* name the signed-in user; the connector adds them.</p>
<dl>{{range .Headers}}<dt>{{.K}}</dt><dd>{{.V}}</dd>{{end}}</dl></div>
</main></body></html>
`))

type kv struct{ K, V string }

func index(w http.ResponseWriter, r *http.Request) {
	var hs []kv
	for k, vs := range r.Header {
		for _, v := range vs {
			hs = append(hs, kv{k, v})
		}
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].K < hs[j].K })
	user := r.Header.Get("X-Remote-Name")
	if user == "" {
		user = r.Header.Get("X-Remote-User")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{"Remote": r.RemoteAddr, "Host": r.Host, "Path": r.URL.Path, "Headers": hs,
		"User": user, "SignOut": "/.gatehouse/auth/" + url.PathEscape(appName) + "/signout"})
}
