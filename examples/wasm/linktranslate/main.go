// Command linktranslate is a Gatehouse WASM filter that makes an app
// usable at its external URL: it rewrites the app's internal URLs into
// the external ones in response headers (Location, Content-Location,
// Refresh, Link, CORS and CSP headers, Set-Cookie Domain and Path) and in
// HTML, CSS, JavaScript, JSON and XML bodies, and the external URLs in the
// browser's Origin and Referer back into internal ones. See README.md.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o linktranslate.wasm .
package main

func main() {}
