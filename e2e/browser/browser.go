// Package browser drives a real headless Chromium from end-to-end tests: open
// a URL, follow redirects through sign-in pages, type into forms, click, and
// read where the browser landed, the page text and the cookies it holds.
//
// It runs Debian's Chromium (scripts/install-chromium.sh installs it) through
// the DevTools protocol with chromedp. Every Browser is a fresh process with
// its own throw-away profile and home directory, so tests share nothing:
//
//   - Host names never reach real DNS. Options.Hosts maps names (or
//     wildcards) to loopback addresses, Options.ResolveTo catches every other
//     name, and with neither a name fails to resolve. Loopback literals and
//     "localhost" always stay reachable, so a loopback IdP needs no mapping.
//   - Options.ExtraCA is trusted the way an administrator would trust it: it
//     goes into the NSS database ($HOME/.pki/nssdb, with certutil) that
//     Chromium on Linux reads, in the Browser's own temporary HOME. Nothing
//     switches certificate checks off, so a test that reaches an https page
//     has proved that the server's chain verifies to that CA for that name.
//   - Close, and the death of the test process, end every Chromium process:
//     the kernel kills the browser when the test process dies
//     (PR_SET_PDEATHSIG, set by chromedp), Close also kills any helper
//     process that still has the profile on its command line, and Start
//     sweeps up after test processes that died without Close.
//
// Tests call Available first and skip with its reason when it is not empty.
package browser

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultChromium is the Chromium binary of Debian's chromium package. It is
// the real binary, not the /usr/bin/chromium wrapper script, which reads
// /etc/chromium.d (API keys, extra flags) and adds nothing a test wants.
const DefaultChromium = "/usr/lib/chromium/chromium"

// Options configure a Browser. The zero value is a browser that reaches only
// loopback addresses and "localhost", and trusts only the public roots.
type Options struct {
	// Chromium is the browser binary; DefaultChromium when empty.
	Chromium string

	// Hosts maps host names to the address that serves them, "ip:port" or
	// "ip". With a port, the port of the URL is replaced too, so
	// https://app.example.test/ reaches a test server on 127.0.0.1:41234
	// while the browser still sends Host and SNI app.example.test and checks
	// the certificate for that name. A key may be a wildcard pattern such as
	// "*.example.test".
	Hosts map[string]string

	// ResolveTo is the address, "ip:port" or "ip", of every host name that
	// Hosts does not map, except "localhost" and loopback literals. With a
	// port, every such name also goes to that port: map names that need
	// other ports in Hosts. Empty: unmapped names fail to resolve
	// (net::ERR_NAME_NOT_RESOLVED), so a test never reaches the real network.
	ResolveTo string

	// ExtraCA holds PEM certificates, such as a gateway's development CA,
	// that the browser trusts as roots for TLS servers, in addition to the
	// public roots. Adding them needs certutil (Debian's libnss3-tools).
	ExtraCA []byte

	// Logf receives what the browser does (navigations, the page's console,
	// Chromium's own output). Nil discards it. Pass t.Logf.
	Logf func(format string, args ...any)

	// StartTimeout bounds the start of Chromium; 30 s when zero.
	StartTimeout time.Duration
}

// Browser is one running headless Chromium with one tab. Its methods are
// safe to call from one goroutine at a time, like a user at a keyboard.
type Browser struct {
	logf    func(string, ...any)
	log     *logger
	dir     *tempDir
	tab     context.Context // chromedp context of the tab; owned by Close
	cancel  func()          // ends the tab, the browser and the allocator; idempotent
	pid     int
	closing sync.Once
	closed  error
}

// Available returns why no browser can be started here, or "" when one can.
// A test that needs a browser skips with the reason:
//
//	if why := browser.Available(); why != "" {
//		t.Skip("SKIPPING BROWSER TEST: " + why)
//	}
func Available() string {
	if fi, err := os.Stat(DefaultChromium); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Sprintf("Chromium is not installed at %s (run scripts/install-chromium.sh, or make tools)", DefaultChromium)
	}
	if _, err := exec.LookPath("certutil"); err != nil {
		return "certutil (Debian libnss3-tools) is not installed; it adds test CAs to the browser (run scripts/install-chromium.sh, or make tools)"
	}
	return ""
}

// Start starts Chromium with a blank tab. ctx bounds the start only; the
// browser runs until Close. Call Close when done, even after a failed test.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	t0 := time.Now()
	log := &logger{f: opts.Logf}
	logf := log.logf
	chrome := opts.Chromium
	if chrome == "" {
		chrome = DefaultChromium
	}
	if _, err := os.Stat(chrome); err != nil {
		return nil, fmt.Errorf("starting chromium: %w (run scripts/install-chromium.sh)", err)
	}
	rules, err := hostRules(opts.Hosts, opts.ResolveTo)
	if err != nil {
		return nil, err
	}
	sweepOrphans(logf)
	dir, err := newTempDir()
	if err != nil {
		return nil, err
	}
	if len(opts.ExtraCA) > 0 {
		if err := trustCA(ctx, dir.nssDB(), opts.ExtraCA); err != nil {
			dir.remove()
			return nil, err
		}
	}

	out := &lineWriter{logf: logf, prefix: "chromium: "}
	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.UserDataDir(dir.profile()),
		chromedp.Headless,
		chromedp.NoSandbox, // root in containers; the tests trust their own pages
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-domain-reliability", true),
		// No translate prompts, no optimization downloads, and no automatic
		// http:// → https:// upgrades: a test that opens http:// means it.
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,InterestFeedContentSuggestions,NetworkTimeServiceQuerying"),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("host-resolver-rules", rules),
		chromedp.WindowSize(1280, 900),
		// Only what Chromium needs from the environment: no proxies, no
		// secrets of the test process, and HOME is the one with the NSS DB.
		chromedp.NoInheritEnv,
		chromedp.Env(dir.env()...),
		chromedp.CombinedOutput(out),
	}
	// The browser outlives ctx: it belongs to the Browser until Close.
	actx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), allocOpts...)
	tab, cancelTab := chromedp.NewContext(actx,
		chromedp.WithLogf(logf),
		chromedp.WithErrorf(func(f string, a ...any) { logf("chromedp error: "+f, a...) }),
		chromedp.WithBrowserOption(chromedp.WithConsolef(func(f string, a ...any) { logf("console: "+f, a...) })),
	)
	var once sync.Once
	b := &Browser{
		logf: logf,
		log:  log,
		dir:  dir,
		tab:  tab,
		cancel: func() {
			once.Do(func() {
				cancelTab()
				cancelAlloc()
				out.flush()
			})
		},
	}

	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	// The first action allocates the browser with the context it runs in, so
	// it must be the tab's own context; ctx and the timeout stop it from
	// outside instead.
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(sctx, b.cancel)
	err = chromedp.Do(tab) // starts the browser, opens the tab
	if !stop() && err == nil {
		err = sctx.Err()
	}
	if err != nil {
		if sctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", sctx.Err(), err)
		}
		b.Close()
		return nil, fmt.Errorf("starting chromium %s: %w", chrome, err)
	}
	if c := chromedp.FromContext(tab); c != nil && c.Browser != nil {
		if p := c.Browser.Process(); p != nil {
			b.pid = p.Pid
		}
	}
	logf("browser: chromium pid %d started in %v (host rules %q)", b.pid, time.Since(t0).Round(time.Millisecond), rules)
	return b, nil
}

// PID is the process id of the main Chromium process.
func (b *Browser) PID() int { return b.pid }

// ProfileDir is the browser's --user-data-dir; every Chromium process of
// this Browser has it on its command line.
func (b *Browser) ProfileDir() string { return b.dir.profile() }

// Close ends the browser and every process it started, and removes its
// temporary files. It is safe to call more than once.
func (b *Browser) Close() error {
	b.closing.Do(func() {
		// No graceful Browser.close: the profile is thrown away, and a
		// polite shutdown costs about a second. Cancelling SIGKILLs the main
		// process and waits for it; its helpers follow it.
		b.cancel()
		if n := killProfile(b.dir.profile()); n > 0 {
			b.logf("browser: killed %d leftover chromium processes", n)
		}
		b.closed = b.dir.remove()
		b.log.stop() // t.Logf panics once the test is over
	})
	return b.closed
}

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

// logger is Options.Logf until Close, and silent after it.
type logger struct {
	mu      sync.Mutex
	f       func(string, ...any)
	stopped bool
}

func (l *logger) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil && !l.stopped {
		l.f(format, args...)
	}
}

func (l *logger) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
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
