//go:build !wasip1

package filter

import "unsafe"

// Outside a WASM host every host function panics; the package still
// builds, so a filter's logic can be tested natively.

const notInHost = "filter: not running in a WASM host (build with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared)"

func enableFeatures(uint32) uint32                                                  { panic(notInHost) }
func getConfig(unsafe.Pointer, uint32) uint32                                       { panic(notInHost) }
func logMessage(int32, unsafe.Pointer, uint32)                                      { panic(notInHost) }
func logEnabled(int32) uint32                                                       { panic(notInHost) }
func getHeaderNames(uint32, unsafe.Pointer, uint32) uint64                          { panic(notInHost) }
func getHeaderValues(uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) uint64 { panic(notInHost) }
func setHeaderValue(uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32)         { panic(notInHost) }
func addHeaderValue(uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32)         { panic(notInHost) }
func removeHeader(uint32, unsafe.Pointer, uint32)                                   { panic(notInHost) }
func readBody(uint32, unsafe.Pointer, uint32) uint64                                { panic(notInHost) }
func writeBody(uint32, unsafe.Pointer, uint32)                                      { panic(notInHost) }
func getMethod(unsafe.Pointer, uint32) uint32                                       { panic(notInHost) }
func setMethod(unsafe.Pointer, uint32)                                              { panic(notInHost) }
func getURI(unsafe.Pointer, uint32) uint32                                          { panic(notInHost) }
func setURI(unsafe.Pointer, uint32)                                                 { panic(notInHost) }
func getProtocolVersion(unsafe.Pointer, uint32) uint32                              { panic(notInHost) }
func getSourceAddr(unsafe.Pointer, uint32) uint32                                   { panic(notInHost) }
func getStatusCode() uint32                                                         { panic(notInHost) }
func setStatusCode(uint32)                                                          { panic(notInHost) }
