package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// client returns an HTTPS client that trusts the gateway's development
// CA and sends every host to the gateway's public address, so
// https://app.localhost/... reaches the app. h2 selects HTTP/2 only;
// otherwise HTTP/1.1 only.
func (g *gatewayProc) client(h2 bool) *http.Client {
	return newClient(g.public, &tls.Config{RootCAs: g.caPool()}, h2)
}

func newClient(public string, tc *tls.Config, h2 bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, public)
		},
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 32,
		DisableCompression:  true,
		Protocols:           new(http.Protocols),
	}
	if h2 {
		tr.Protocols.SetHTTP2(true)
	} else {
		tr.Protocols.SetHTTP1(true)
	}
	return &http.Client{Transport: tr}
}

// response is a fully read response.
type response struct {
	Status int
	Header http.Header
	Body   string
	Proto  int // major version
}

// do sends req with a deadline (waitFor, unless the request has its own)
// and reads the whole answer.
func do(t testing.TB, c *http.Client, req *http.Request) (response, error) {
	t.Helper()
	ctx, cancel := req.Context(), context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok { // a request with its own deadline (a 2 GiB upload) keeps it
		ctx, cancel = context.WithTimeout(ctx, waitFor)
	}
	defer cancel()
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Proto: resp.ProtoMajor}, err
}

// get GETs url and fails the test on a transport error.
func get(t testing.TB, c *http.Client, url string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := do(t, c, req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return r
}

// waitServing polls url until it answers 200.
func waitServing(t testing.TB, c *http.Client, url string) {
	t.Helper()
	waitServingStatus(t, c, url, http.StatusOK)
}

// waitServingStatus polls url until it answers status.
func waitServingStatus(t testing.TB, c *http.Client, url string, status int) {
	t.Helper()
	last := "no answer yet"
	deadline := time.Now().Add(waitFor)
	for {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		r, err := do(t, c, req)
		switch {
		case err == nil && r.Status == status:
			return
		case err != nil:
			last = err.Error()
		default:
			last = r.Body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within %v; last answer: %s", url, status, waitFor, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireErrorPage checks a Gatehouse error page: status, the request id
// in X-Request-Id and in the body, and the page's title.
func requireErrorPage(t testing.TB, r response, status int, title string) string {
	t.Helper()
	rid := r.Header.Get("X-Request-Id")
	if r.Status != status || len(rid) != 16 || !strings.Contains(r.Body, rid) || !strings.Contains(r.Body, title) {
		t.Fatalf("want a %d %q page carrying its X-Request-Id; got %d, X-Request-Id %q, body %q", status, title, r.Status, rid, r.Body)
	}
	return rid
}

func mustRequest(t testing.TB, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
