// Command demo is the program behind `make run`. On loopback it starts an
// OpenID provider (panva's oidc-provider, through plugins/oidc/oplab), the
// demo app (an "internal" web app), a Gatehouse gateway with a development
// CA that publishes the app behind OpenID Connect sign-in, and a connector
// enrolled with a fresh one-time token; it waits until a request with an
// access token goes all the way through to https://demo.localhost:PORT/ as a
// signed-in identity, prints the URL, who to sign in as and a curl line to
// try, and stops everything on Ctrl-C.
//
//	go run ./examples/demo [--bin DIR] [--dir DIR] [--public-port N] [--tunnel-port N] [--app-port N] [--oidc-port N] [--admin-port N]
//
// The provider needs Node.js and npm; oplab installs oidc-provider into
// .tools/ on first use. When it cannot run (or GATEHOUSE_OIDC_OP=0), the
// demo publishes the app with auth: passthrough instead, and says so loudly.
//
// Everything it writes lives in one working directory, .run/demo at the
// repository root by default: the gateway config, the gateway's data
// directory, the connector's state and one log file per process. It is
// emptied at every start, except for the development CA, which is kept so
// that a browser told to trust it once keeps trusting it.
//
// The preferred ports are 8443 (gateway, HTTPS), 8444 (gateway, tunnel),
// 9080 (demo app) and 9090 (OpenID provider); a port that is taken is
// replaced by a free one, and 0 means "any free port" (the tests use that,
// so they never collide with a running `make run`).
//
// The gateway, the connector and the demo app run in their own process
// groups, so a Ctrl-C in the terminal does not reach them directly: this
// program stops them itself, in reverse order (SIGTERM to each group, then
// SIGKILL after a grace period), then the provider, and exits 0. The
// provider is oplab's child: it exits when its stdin closes (on stop, or
// when this program dies), and a terminal's Ctrl-C reaches it at once. A
// child that dies on its own, or a provider that stops answering, stops the
// demo with a non-zero status and the tail of its log.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// options are the demo's settings, from the command line.
type options struct {
	bin   string // directory holding gatehouse, gatehouse-connector and demoapp
	dir   string // working directory: config, data, connector state, logs
	ports ports  // preferred ports on 127.0.0.1; 0 picks any free port

	startTimeout time.Duration // per start-up step
	stopGrace    time.Duration // between SIGTERM and SIGKILL
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse demo:", err)
		os.Exit(2)
	}

	// SIGINT or SIGTERM asks for a clean stop. The signals stay caught until
	// the end, so that a repeated Ctrl-C (or a wrapper such as timeout
	// passing the terminal's signal on once more) cannot kill the demo
	// half-way and leave its children running; the stop is bounded anyway.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, opts, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse demo:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	bin := fs.String("bin", "", "directory with the gatehouse, gatehouse-connector and demoapp binaries (default: bin at the repository root)")
	dir := fs.String("dir", "", "working directory, emptied at start (default: .run/demo at the repository root)")
	public := fs.Int("public-port", 8443, "gateway HTTPS port on 127.0.0.1 (0: any free port)")
	tunnel := fs.Int("tunnel-port", 8444, "gateway tunnel port on 127.0.0.1 (0: any free port)")
	app := fs.Int("app-port", 9080, "demo app port on 127.0.0.1 (0: any free port)")
	oidc := fs.Int("oidc-port", 9090, "OpenID provider port on 127.0.0.1 (0: any free port)")
	admin := fs.Int("admin-port", 9180, "gateway admin listener (metrics, admin console) port on 127.0.0.1 (0: any free port)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	opts := options{
		bin:          *bin,
		dir:          *dir,
		ports:        ports{public: *public, tunnel: *tunnel, app: *app, oidc: *oidc, admin: *admin},
		startTimeout: 30 * time.Second,
		stopGrace:    5 * time.Second,
	}
	for _, p := range []int{*public, *tunnel, *app, *oidc, *admin} {
		if p < 0 || p > 65535 {
			return options{}, fmt.Errorf("port %d is out of range (0-65535)", p)
		}
	}
	if opts.bin == "" || opts.dir == "" {
		root, err := repoRoot()
		if err != nil {
			return options{}, err
		}
		if opts.bin == "" {
			opts.bin = filepath.Join(root, "bin")
		}
		if opts.dir == "" {
			opts.dir = filepath.Join(root, ".run", "demo")
		}
	}
	var err error
	if opts.bin, err = filepath.Abs(opts.bin); err != nil {
		return options{}, err
	}
	if opts.dir, err = filepath.Abs(opts.dir); err != nil {
		return options{}, err
	}
	return opts, nil
}
