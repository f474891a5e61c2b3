package idplab

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// SignOut opens location (the LogoutRequest a plug-in's SignOut points
// to) with this browser's IdP session, and returns where the IdP then
// sends the browser: the service provider's SingleLogoutService, with
// the LogoutResponse (SAMLResponse) and RelayState in the query.
func (b *Browser) SignOut(ctx context.Context, location string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 3 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, fmt.Errorf("the IdP answered the LogoutRequest with %d, not a redirect to the service provider:\n%s", resp.StatusCode, text(body))
	}
	return resp.Location()
}

// SignedIn reports whether the IdP still has a session for this browser:
// location (an AuthnRequest) is answered at once with a SAMLResponse
// form (true), or with the login page (false).
func (b *Browser) SignedIn(ctx context.Context, location string) (bool, error) {
	p, err := b.do(ctx, http.MethodGet, location, nil)
	if err != nil {
		return false, err
	}
	if _, ok := samlPost(p); ok {
		return true, nil
	}
	if _, _, err := loginForm(p); err == nil {
		return false, nil
	}
	return false, fmt.Errorf("the IdP answered with neither a SAMLResponse nor its login page (%s, status %d):\n%s", p.url, p.status, text(p.body))
}
