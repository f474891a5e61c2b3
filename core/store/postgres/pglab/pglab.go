// Package pglab runs, for tests, the PostgreSQL server of scripts/pglab.sh:
// Debian's PostgreSQL, a cluster made by initdb in a fresh directory under
// /tmp, run as a non-root user on a loopback port picked at start. The
// postgres store's tests and multi-node tests use it the same way:
//
//	lab, err := pglab.Start(ctx)
//	... errors.Is(err, pglab.ErrSkip): run without the lab, say why
//	defer lab.Stop()
//	dsn, err := lab.NewDatabase(ctx) // a fresh, empty database
//
// GATEHOUSE_PGLAB decides what Start does:
//
//	unset    start a private lab when PostgreSQL is installed; otherwise skip
//	1        start a private lab, installing PostgreSQL first if needed
//	0        skip
//	DIR      use the lab already running in DIR
//	         (scripts/pglab.sh start DIR)
package pglab

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/labscript"
)

// ErrSkip wraps the reason a lab is not available; a test should skip.
var ErrSkip = errors.New("PostgreSQL lab not available")

// Lab is a running lab.
type Lab struct {
	Dir string
	// DSN connects to the database "gatehouse" over TCP as the superuser,
	// with the password: postgres://USER:PASSWORD@127.0.0.1:PORT/gatehouse.
	DSN      string
	Host     string // 127.0.0.1
	Port     string
	User     string
	Password string

	script  *labscript.Script
	private bool
}

// Start returns a running lab, as GATEHOUSE_PGLAB says (see the package
// doc). The error wraps ErrSkip when the lab is not available here.
func Start(ctx context.Context) (*Lab, error) {
	script, err := labscript.Find("pglab.sh", "PGLAB", "gatehouse-pglab-", ErrSkip)
	if err != nil {
		return nil, err
	}
	lab, started, err := labscript.Open(ctx, labscript.Lab{Script: script, Env: "GATEHOUSE_PGLAB", Name: "the PostgreSQL lab",
		Install: true, Missing: Missing, Skip: ErrSkip}, read)
	if err != nil {
		return nil, err
	}
	lab.script, lab.private = script, started
	return lab, nil
}

// Stop stops a lab that Start started, and removes its directory. A lab
// named by GATEHOUSE_PGLAB=DIR is left running. Stop on nil does nothing.
func (l *Lab) Stop() error {
	if l == nil || !l.private {
		return nil
	}
	return l.script.Stop(l.Dir)
}

// NewDatabase creates a new, empty database with a random name and
// returns a DSN for it.
func (l *Lab) NewDatabase(ctx context.Context) (string, error) {
	name := "gh_" + strings.ToLower(rand.Text())
	conn, err := pgx.Connect(ctx, l.DSN)
	if err != nil {
		return "", fmt.Errorf("connecting to the PostgreSQL lab: %w", err)
	}
	defer conn.Close(context.Background())
	// An identifier cannot be a parameter; the name is ours, and quoted.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("creating database %s in the PostgreSQL lab: %w", name, err)
	}
	return l.dsn(name), nil
}

// dsn returns the DSN of database name.
func (l *Lab) dsn(name string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(l.User, l.Password),
		Host: net.JoinHostPort(l.Host, l.Port), Path: "/" + name, RawQuery: "sslmode=disable"}
	return u.String()
}

// Missing names what this machine lacks to start a lab, and what to do,
// "" if nothing.
func Missing() string {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run `sudo scripts/pglab.sh install` (or make tools) or set GATEHOUSE_PGLAB=1"
	}
	return ""
}

// read loads the lab.env the script wrote in dir.
func read(dir string) (*Lab, error) {
	env, err := labscript.ReadEnv(dir)
	if err != nil {
		return nil, err
	}
	l := &Lab{Dir: env["PGLAB"], DSN: env["DSN"], Host: env["HOST"], Port: env["PORT"], User: env["USER"], Password: env["PASSWORD"]}
	if l.DSN == "" || l.Host == "" || l.Port == "" || l.User == "" || l.Password == "" {
		return nil, fmt.Errorf("%s/lab.env lacks DSN, HOST, PORT, USER or PASSWORD", dir)
	}
	return l, nil
}
