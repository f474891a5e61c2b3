// Command securityheaders is a Gatehouse WASM filter that sets security
// headers (HSTS, CSP, frame options, …) on every response of an app and
// removes headers that reveal the backend. The values win over the app's
// own, and responses still stream: nothing is buffered. See README.md.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o securityheaders.wasm .
package main

func main() {}
