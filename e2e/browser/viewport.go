package browser

// Viewport and page measurements: what a responsive-layout test needs.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/chromedp/chromedp"
)

// SetViewport makes the tab a window of width x height CSS pixels; mobile
// makes it behave like a phone's browser (the page's viewport meta tag
// decides the layout width, as on a real phone: a page without one is
// laid out 980 pixels wide). It holds for later navigations.
func (b *Browser) SetViewport(ctx context.Context, width, height int, mobile bool) error {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
	}
	if err := b.run(ctx, chromedp.EmulateViewport(int64(width), int64(height), opts...)); err != nil {
		return fmt.Errorf("setting the viewport to %dx%d: %w", width, height, err)
	}
	return nil
}

// EvalJSON evaluates a JavaScript expression in the page and decodes its
// value, which must survive JSON.stringify, into out.
func (b *Browser) EvalJSON(ctx context.Context, expr string, out any) error {
	c, cancel := b.callContext(ctx)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string]("JSON.stringify(("+expr+"))"))
	if err != nil {
		return fmt.Errorf("evaluating on %s: %w", b.where(), err)
	}
	return json.Unmarshal([]byte(s), out)
}

// FullScreenshot returns a PNG of the whole page, beyond the viewport.
func (b *Browser) FullScreenshot(ctx context.Context) ([]byte, error) {
	c, cancel := b.callContext(ctx)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		return nil, fmt.Errorf("taking a full screenshot of %s: %w", b.where(), err)
	}
	return png, nil
}
