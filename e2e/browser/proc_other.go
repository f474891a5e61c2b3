//go:build !linux

package browser

// Process clean-up beyond chromedp's own reads /proc, which only Linux has.

func killProfile(string) int            { return 0 }
func sweepOrphans(func(string, ...any)) {}
