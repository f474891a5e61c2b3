// Command backend is the minimal backend of `make bench`'s ratio
// scenarios: it does nothing per request but answer, so that the
// backend's own cost blurs the ratios (direct, nginx with TLS, Gatehouse)
// as little as it can. The demo app routes through a ServeMux, parses the
// size and sets its headers for every request; here a reply's headers and
// (up to 1 MiB) body are built once per size and reused.
//
//	GET /bytes/N       N bytes (suffix k, m or g: 100, 1m, 1g), Content-Length set
//	GET /hold/N?group=G&n=K
//	                   N bytes, but after the first 64 KiB the reply waits until
//	                   K requests of group G have arrived (all K in flight at
//	                   once), then sends the rest: the bench's RSS scenario
//
// Any other request gets a 404. bench/run.sh builds it; bench/main.go
// starts it with --addr 127.0.0.1:PORT.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9081", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("backend: %v", err)
	}
	fmt.Fprintf(os.Stderr, "bench backend listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: newBackend(60 * time.Second), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}
