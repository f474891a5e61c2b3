package saml

import (
	"bytes"
	"html/template"
	"net/http"
	"regexp"

	"github.com/gatehouse/gatehouse/sdk"
)

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}code{background:#eee;padding:0 .3em}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p>
{{- if .Code}}<p>The identity provider said: <code>{{.Code}}</code></p>{{end}}
</body></html>
`))

// statusCode matches the last part of a SAML status code URI
// (urn:oasis:names:tc:SAML:2.0:status:AuthnFailed); anything else is not
// shown.
var statusCode = regexp.MustCompile(`^[A-Za-z]{1,64}$`)

// failed is a Challenge with a small HTML page: title and text for the
// user, reason for the sign-in log, and the IdP's status code, if any and
// if it looks like one.
func failed(status int, reason, title, text, code string) sdk.AuthResult {
	if !statusCode.MatchString(code) {
		code = ""
	}
	var b bytes.Buffer
	_ = pageTemplate.Execute(&b, struct{ Title, Text, Code string }{title, text, code})
	res := sdk.Challenge(status, http.Header{"Content-Type": {"text/html; charset=utf-8"}}, b.Bytes())
	res.Reason = reason
	return res
}
