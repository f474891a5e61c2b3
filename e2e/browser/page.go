package browser

// Page actions of a Browser: navigate, wait, fill and click, and read the page.

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// callContext returns a context of the tab that ends with ctx. Cancelling it
// aborts the action, not the tab.
func (b *Browser) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(b.tab)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// run runs chromedp actions in the tab for a caller's ctx.
func (b *Browser) run(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	c, cancel := b.callContext(ctx)
	defer cancel()
	return chromedp.Do(c, actions...)
}

// Navigate opens rawURL in the tab, follows redirects, waits until the final
// page has loaded, and returns that page's HTTP status. A TLS, DNS or
// connection failure is an error (such as net::ERR_CERT_AUTHORITY_INVALID).
func (b *Browser) Navigate(ctx context.Context, rawURL string) (status int, err error) {
	b.logf("browser: navigate %s", redact(rawURL))
	c, cancel := b.callContext(ctx)
	defer cancel()
	resp, err := chromedp.Run(c, chromedp.NavigateResponse(rawURL))
	if err != nil {
		return 0, fmt.Errorf("navigating to %s: %w", redact(rawURL), err)
	}
	if resp == nil {
		return 0, nil
	}
	return int(resp.Status), nil
}

// WaitVisible waits until an element matching the CSS selector is visible.
func (b *Browser) WaitVisible(ctx context.Context, selector string) error {
	if err := b.run(ctx, chromedp.WaitVisible(chromedp.CSS(selector))); err != nil {
		return fmt.Errorf("waiting for %q on %s: %w", selector, b.where(), err)
	}
	return nil
}

// Fill clears the first input matching the CSS selector and types value
// into it key by key, as a user would. It waits for the input to be visible.
func (b *Browser) Fill(ctx context.Context, selector, value string) error {
	sel := chromedp.CSS(selector)
	if err := b.run(ctx,
		chromedp.WaitVisible(sel),
		chromedp.Clear(sel),
		chromedp.SendKeys(sel, value),
	); err != nil {
		return fmt.Errorf("filling %q on %s: %w", selector, b.where(), err)
	}
	return nil
}

// Click clicks the first element matching the CSS selector once it is
// visible. It does not wait for a navigation the click starts: follow it with
// WaitVisible, WaitURL or WaitText, or use ClickAndWait.
func (b *Browser) Click(ctx context.Context, selector string) error {
	if err := b.run(ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		return fmt.Errorf("clicking %q on %s: %w", selector, b.where(), err)
	}
	return nil
}

// ClickAndWait clicks like Click, waits until the page the click opens has
// loaded (after its redirects), and returns that page's HTTP status. Pages
// that go on by script (an auto-submitted SAML form) need WaitURL after it.
func (b *Browser) ClickAndWait(ctx context.Context, selector string) (status int, err error) {
	c, cancel := b.callContext(ctx)
	defer cancel()
	resp, err := chromedp.RunResponse(c, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		return 0, fmt.Errorf("clicking %q on %s and waiting for the next page: %w", selector, b.where(), err)
	}
	if resp == nil {
		return 0, nil
	}
	b.logf("browser: landed on %s (%d)", redact(resp.URL), resp.Status)
	return int(resp.Status), nil
}

// URL returns the address of the page in the tab, with its #fragment.
func (b *Browser) URL(ctx context.Context) (string, error) {
	c, cancel := b.callContext(ctx)
	defer cancel()
	u, err := chromedp.Run(c, chromedp.Location())
	if err != nil {
		return "", fmt.Errorf("reading the location: %w", err)
	}
	return u, nil
}

// WaitURL waits until the tab's address satisfies match, and returns it.
func (b *Browser) WaitURL(ctx context.Context, match func(*url.URL) bool) (*url.URL, error) {
	var last string
	err := poll(ctx, func() (bool, error) {
		s, err := b.URL(ctx)
		if err != nil { // between two documents; try again
			return false, nil
		}
		last = s
		u, err := url.Parse(s)
		return err == nil && match(u), nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for a matching URL (last %s): %w", redact(last), err)
	}
	return url.Parse(last)
}

// Text returns the text of the page as a user sees it (the body's innerText).
func (b *Browser) Text(ctx context.Context) (string, error) {
	c, cancel := b.callContext(ctx)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "", fmt.Errorf("reading the text of %s: %w", b.where(), err)
	}
	return s, nil
}

// WaitText waits until the page text contains substr, and returns the text.
func (b *Browser) WaitText(ctx context.Context, substr string) (string, error) {
	var last string
	err := poll(ctx, func() (bool, error) {
		s, err := b.Text(ctx)
		last = s
		return err == nil && strings.Contains(s, substr), nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for %q on %s (page text %.200q): %w", substr, b.where(), last, err)
	}
	return last, nil
}

// HTML returns the serialized DOM of the page.
func (b *Browser) HTML(ctx context.Context) (string, error) {
	c, cancel := b.callContext(ctx)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](`document.documentElement ? document.documentElement.outerHTML : ""`))
	if err != nil {
		return "", fmt.Errorf("reading the HTML of %s: %w", b.where(), err)
	}
	return s, nil
}

// Screenshot returns a PNG of the visible part of the page, for a failing
// test to save.
func (b *Browser) Screenshot(ctx context.Context) ([]byte, error) {
	c, cancel := b.callContext(ctx)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		return nil, fmt.Errorf("taking a screenshot of %s: %w", b.where(), err)
	}
	return png, nil
}

// where names the current page in errors, best effort and quickly.
func (b *Browser) where() string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, cancel2 := b.callContext(ctx)
	defer cancel2()
	u, err := chromedp.Run(c, chromedp.Location())
	if err != nil || u == "" {
		return "the page"
	}
	return redact(u)
}

// poll calls f every 50 ms until it reports done, returns an error, or ctx
// ends.
func poll(ctx context.Context, f func() (bool, error)) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// redact drops the query and fragment of a URL for the log: they can carry
// codes, tokens and SAML responses.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.Fragment, u.RawFragment, u.User = "", "", nil
	return u.String()
}
