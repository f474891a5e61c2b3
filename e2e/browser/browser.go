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

// The Browser itself: its options, starting Chromium, and Close.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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
