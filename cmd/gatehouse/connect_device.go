package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/reserved"
)

// deviceAuth is the gateway's answer to starting a device sign-in
// (RFC 8628's device authorization response).
type deviceAuth struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
}

// oauthError is an error answer of reserved.CLIDevice or CLIToken.
type oauthError struct {
	Code string `json:"error"`
	Desc string `json:"error_description"`
}

// post sends form to path on the app's host; it returns the status and
// at most 64 KiB of the body.
func (c *connectClient) post(ctx context.Context, path string, form url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("sign-in: cannot reach the gateway at %s: %w", c.base.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}

// deviceSignIn signs the user in with a code they approve in a browser
// anywhere: it starts the flow, shows the address and the code, and polls
// until the gateway answers with a token, refuses, or the code expires.
func (c *connectClient) deviceSignIn(ctx context.Context) (cachedToken, error) {
	status, body, err := c.post(ctx, reserved.CLIDevice, url.Values{})
	if err != nil {
		return cachedToken{}, err
	}
	var d deviceAuth
	if status != http.StatusOK {
		return cachedToken{}, fmt.Errorf("sign-in failed: %s refused to start a device sign-in: %s", c.base.Host, describe(status, body))
	}
	want := c.base.String() + reserved.CLIDevice + "?"
	if json.Unmarshal(body, &d) != nil || d.DeviceCode == "" || d.UserCode == "" || !strings.HasPrefix(d.VerificationURI, want) {
		return cachedToken{}, fmt.Errorf("sign-in failed: %s answered the device sign-in with something else than a Gatehouse device code", c.base.Host)
	}
	fmt.Fprintf(c.stderr, "gatehouse: to sign in to %s, open this address in a browser on any device:\n\n    %s\n\nand check the code %s\n\n",
		c.base.Host, d.VerificationURI, d.UserCode)
	wait := time.Duration(min(max(d.ExpiresIn, 1), 1800)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	interval := time.Duration(min(max(d.Interval, 1), 60)) * time.Second
	for {
		select {
		case <-ctx.Done():
			return cachedToken{}, errors.New("sign-in: the code was not approved in time (or interrupted); run the command again")
		case <-time.After(interval):
		}
		status, body, err := c.post(ctx, reserved.CLIToken, url.Values{"device_code": {d.DeviceCode}})
		if err != nil {
			if ctx.Err() != nil {
				continue // the loop says why
			}
			return cachedToken{}, err
		}
		var e oauthError
		_ = json.Unmarshal(body, &e)
		switch {
		case status == http.StatusOK:
			return c.tokenAnswer(body)
		case e.Code == "authorization_pending":
			continue
		case e.Code == "slow_down":
			interval += 5 * time.Second
			continue
		}
		return cachedToken{}, fmt.Errorf("sign-in failed: %s refused the device sign-in: %s", c.base.Host, describe(status, body))
	}
}

// tokenAnswer reads a token answer.
func (c *connectClient) tokenAnswer(body []byte) (cachedToken, error) {
	var t cachedToken
	if err := json.Unmarshal(body, &t); err != nil || t.Token == "" || t.ExpiresAt.IsZero() {
		return cachedToken{}, fmt.Errorf("sign-in failed: %s answered with something other than a token", c.base.Host)
	}
	fmt.Fprintf(c.stderr, "gatehouse: signed in to %s until %s\n", c.base.Host, t.ExpiresAt.Local().Format(time.DateTime))
	return t, nil
}

// describe says what an error answer says: its description, else its status.
func describe(status int, body []byte) string {
	var e oauthError
	if json.Unmarshal(body, &e) == nil && e.Desc != "" {
		return e.Desc
	}
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}
