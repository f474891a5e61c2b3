// Command pathfilter is a Gatehouse WASM filter that allows or denies
// requests by path, before they reach the app. See README.md.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o pathfilter.wasm .
package main

func main() {}
