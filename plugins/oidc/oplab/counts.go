package oplab

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AuthRequests is how many authorization requests (the start of every
// sign-in at the provider, whether it shows the login form or not) the
// provider has received since it started; transport is as for
// RobotToken.
func (op *OP) AuthRequests(ctx context.Context, transport http.RoundTripper) (int, error) {
	return op.count(ctx, transport, "/test/auth-requests")
}

// count reads one of the provider's test counters (a number at path
// under the issuer); transport is as for RobotToken.
func (op *OP) count(ctx context.Context, transport http.RoundTripper, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, op.Issuer+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Transport: transport, Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
