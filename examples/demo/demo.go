package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

const (
	appName = "demo"
	appHost = "demo.localhost"
	// portalHost is the My Apps portal: one sign-in for every app.
	portalHost = "apps.localhost"
	group      = "default"
	tailSize   = 20 // log lines shown when a component fails
)

// demo is one run: what it started and where it reports.
type demo struct {
	opts  options
	out   io.Writer
	exits chan *proc // each child, once, when it exits
	procs []*proc    // in start order

	prov     *provider      // the OpenID provider, started before the children
	provDown chan error     // once, if the provider stops answering
	wg       sync.WaitGroup // the provider's watcher
}

// setup is what start-up produced, for the banner.
type setup struct {
	ports  ports
	config string    // gateway config file
	caFile string    // development CA
	prov   *provider // sign-in, or why it is off
}

// run starts everything, waits for Ctrl-C (ctx done) or a child's death,
// and stops everything. It returns nil after a requested stop.
func run(ctx context.Context, opts options, out io.Writer) error {
	d := &demo{opts: opts, out: out, exits: make(chan *proc, 3), provDown: make(chan error, 1)}
	for _, name := range []string{"gatehouse", "gatehouse-connector", "demoapp"} {
		if fi, err := os.Stat(d.bin(name)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is missing or not executable: build it first (make build; make run does it for you)", d.bin(name))
		}
	}
	if err := os.MkdirAll(opts.dir, 0o755); err != nil {
		return fmt.Errorf("creating the working directory: %w", err)
	}
	unlock, err := lockDir(opts.dir)
	if err != nil {
		return err
	}
	defer unlock()
	keptCA, err := cleanDir(opts.dir)
	if err != nil {
		return err
	}
	if keptCA {
		fmt.Fprintf(out, "gatehouse demo: starting in %s (keeping the development CA of earlier runs)\n", opts.dir)
	} else {
		fmt.Fprintf(out, "gatehouse demo: starting in %s\n", opts.dir)
	}

	defer d.stopAll()
	// Cancelled (and the provider's watcher waited for) before stopAll runs.
	ctx, cancel := context.WithCancel(ctx)
	defer d.wg.Wait()
	defer cancel()
	s, err := d.start(ctx)
	if ctx.Err() != nil {
		fmt.Fprintln(out, "\ngatehouse demo: interrupted during start-up")
		return nil
	}
	if err != nil {
		return err
	}
	d.printReady(s)

	select {
	case <-ctx.Done():
		fmt.Fprintln(out)
		return nil
	case p := <-d.exits:
		return d.failed(p, "exited unexpectedly ("+p.exitStatus()+")")
	case err := <-d.provDown:
		if ctx.Err() != nil { // a Ctrl-C in the terminal reaches the provider too
			fmt.Fprintln(out)
			return nil
		}
		return d.providerFailed(err)
	}
}

// start brings the OpenID provider and the three processes up in order,
// each ready before the next.
func (d *demo) start(ctx context.Context) (*setup, error) {
	p, notes, err := pickPorts(d.opts.ports)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		fmt.Fprintln(d.out, "  note:     ", n)
	}
	s := &setup{ports: p, caFile: filepath.Join(d.opts.dir, dataDir, devTLSDir, "dev-ca.pem")}

	if s.prov, err = d.startProvider(ctx, p.oidc, s.callbackURL(), s.consoleCallbackURL(), s.portalCallbackURL()); err != nil {
		return nil, err
	}
	if op := s.prov.op; op != nil {
		d.prov = s.prov
		d.watchProvider(ctx)
		fmt.Fprintf(d.out, "  %-10s %s answers: oidc-provider with users %s and %s; client %q may return to %s and %s\n",
			"provider", op.Issuer, oplab.Alice, oplab.Bob, oplab.ClientID, s.callbackURL(), s.consoleCallbackURL())
	}
	if err := d.startApp(ctx, p); err != nil {
		return nil, err
	}
	if err := d.startGateway(ctx, s); err != nil {
		return nil, err
	}
	return s, d.startConnector(ctx, s)
}

// startApp starts the demo backend and waits until it answers.
func (d *demo) startApp(ctx context.Context, p ports) error {
	appURL := "http://127.0.0.1:" + strconv.Itoa(p.app)
	app, err := d.spawn("demo app", "demoapp.log", nil, d.bin("demoapp"), "--addr", "127.0.0.1:"+strconv.Itoa(p.app))
	if err != nil {
		return err
	}
	if err := d.waitReady(ctx, app, "did not answer "+appURL, httpOK(plainClient, appURL+"/")); err != nil {
		return err
	}
	d.status(app, "%s answers", appURL)
	return nil
}

// startGateway writes and checks the config, starts the gateway and waits
// until it answers TLS.
func (d *demo) startGateway(ctx context.Context, s *setup) error {
	p := s.ports
	var err error
	if s.config, err = writeConfig(d.opts.dir, p, s.prov); err != nil {
		return err
	}
	checked, err := d.command(ctx, true, d.bin("gatehouse"), "config", "check", s.config)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  %-10s %s\n", "config", strings.TrimSpace(checked))

	gw, err := d.spawn("gateway", "gateway.log", nil, d.bin("gatehouse"), "serve", "--config", s.config)
	if err != nil {
		return err
	}
	if err := d.waitReady(ctx, gw, fmt.Sprintf("did not answer TLS on 127.0.0.1:%d", p.public),
		tlsAnswers(s.caFile, appHost, p.public)); err != nil {
		return err
	}
	d.status(gw, "https://127.0.0.1:%d (users) and 127.0.0.1:%d (connectors) answer TLS", p.public, p.tunnel)
	return nil
}

// startConnector enrolls a connector and waits until a request gets
// through it (signed in, with a provider).
func (d *demo) startConnector(ctx context.Context, s *setup) error {

	// The token is a secret: it goes to the connector in its environment,
	// not on its command line (which any local user can read with ps).
	token, err := d.command(ctx, false, d.bin("gatehouse"), "token", "create", "--config", s.config, "--group", group)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  %-10s one-time enrollment token created for connector group %q\n", "token", group)

	conn, err := d.spawn("connector", "connector.log", []string{"GATEHOUSE_TOKEN=" + strings.TrimSpace(token)},
		d.bin("gatehouse-connector"), "--state", filepath.Join(d.opts.dir, connectorDir))
	if err != nil {
		return err
	}
	client, err := gatewayClient(s.caFile, s.ports.public)
	if err != nil {
		return err
	}
	url := s.url()
	if s.prov.op == nil {
		if err := d.waitReady(ctx, conn, "did not get a request through ("+url+")", httpOK(client, url)); err != nil {
			return err
		}
		d.status(conn, "enrolled; %s answers 200 through the tunnel (no sign-in)", url)
		return nil
	}
	if err := d.waitReady(ctx, conn, "did not get a signed-in request through ("+url+"headers)",
		signedIn(client, url, s.prov.op)); err != nil {
		return err
	}
	d.status(conn, "enrolled; %s answers the robot's token through the tunnel, and 401 without one", url)
	return nil
}

// spawn starts a long-running child that logs to file in the working directory.
func (d *demo) spawn(name, file string, env []string, bin string, args ...string) (*proc, error) {
	p, err := startProc(name, filepath.Join(d.opts.dir, file), d.exits, env, bin, args...)
	if err != nil {
		return nil, err
	}
	d.procs = append(d.procs, p)
	return p, nil
}

// command runs a gatehouse CLI command to completion and returns its
// stdout. The command line and its stderr go to setup.log; so does stdout
// when logOut is set (it is not for a token).
func (d *demo) command(ctx context.Context, logOut bool, bin string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	ownProcessGroup(cmd)
	err := cmd.Run()

	line := filepath.Base(bin) + " " + strings.Join(args, " ")
	var log bytes.Buffer
	fmt.Fprintf(&log, "$ %s\n", line)
	if logOut {
		log.Write(stdout.Bytes())
	}
	log.Write(stderr.Bytes())
	d.setupLog(log.String())
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("%s failed (%w):\n    %s", line, err,
			strings.ReplaceAll(strings.TrimSpace(stderr.String()), "\n", "\n    "))
	}
	return stdout.String(), nil
}

// setupLog appends text to setup.log in the working directory.
func (d *demo) setupLog(text string) {
	if f, err := os.OpenFile(filepath.Join(d.opts.dir, "setup.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		_, _ = f.WriteString(text)
		f.Close()
	}
}

// status prints the one line a component gets once it is ready.
func (d *demo) status(p *proc, format string, args ...any) {
	fmt.Fprintf(d.out, "  %-10s pid %-7d %s\n", p.name, p.pid(), fmt.Sprintf(format, args...))
}

// failed shows why p failed and the tail of its log, and returns the error
// for the exit message. Everything is stopped afterwards by run.
func (d *demo) failed(p *proc, why string) error {
	fmt.Fprintf(d.out, "\ngatehouse demo: the %s %s; last lines of %s:\n%s", p.name, why, p.log, tail(p.log, tailSize))
	return fmt.Errorf("the %s %s", p.name, why)
}

// stopAll stops the children in reverse start order, then the provider.
func (d *demo) stopAll() {
	if len(d.procs) == 0 && d.prov == nil {
		return
	}
	var names []string
	for i := len(d.procs) - 1; i >= 0; i-- {
		names = append(names, d.procs[i].name)
	}
	if d.prov != nil {
		names = append(names, "OpenID provider")
	}
	fmt.Fprintf(d.out, "gatehouse demo: stopping %s\n", strings.Join(names, ", "))
	for i := len(d.procs) - 1; i >= 0; i-- {
		p := d.procs[i]
		if p.stop(d.opts.stopGrace) {
			fmt.Fprintf(d.out, "  %-10s did not stop on SIGTERM; killed\n", p.name)
		}
	}
	d.stopProvider()
	fmt.Fprintf(d.out, "gatehouse demo: stopped; logs and state are in %s\n", d.opts.dir)
	d.procs = nil
}

func (d *demo) bin(name string) string { return filepath.Join(d.opts.bin, name) }

func (s *setup) url() string { return fmt.Sprintf("https://%s:%d/", appHost, s.ports.public) }

// callbackURL is where the provider sends a browser back after sign-in.
func (s *setup) callbackURL() string {
	return reserved.Callback(fmt.Sprintf("%s:%d", appHost, s.ports.public), appName)
}

// portalURL is the My Apps portal.
func (s *setup) portalURL() string { return fmt.Sprintf("https://%s:%d/", portalHost, s.ports.public) }

// portalCallbackURL is where the provider sends a browser back after
// signing in at the portal.
func (s *setup) portalCallbackURL() string {
	return reserved.Callback(fmt.Sprintf("%s:%d", portalHost, s.ports.public), config.PortalApp)
}

// consoleURL is the admin console, on the gateway's admin listener.
func (s *setup) consoleURL() string { return fmt.Sprintf("http://127.0.0.1:%d/", s.ports.admin) }

// consoleCallbackURL is where the provider sends a browser back after
// signing in to the admin console (plain HTTP: the admin listener is on
// loopback).
func (s *setup) consoleCallbackURL() string {
	return "http" + strings.TrimPrefix(reserved.Callback(fmt.Sprintf("127.0.0.1:%d", s.ports.admin), config.ConsoleApp), "https")
}

// signOutURL ends the demo app's session.
func (s *setup) signOutURL() string {
	return strings.TrimSuffix(s.url(), "/") + reserved.SignOut(appName)
}
