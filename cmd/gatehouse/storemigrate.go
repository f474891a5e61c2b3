package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/postgres"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

const storeMigrateUsage = `usage: gatehouse store migrate --from sqlite:PATH --to postgres-file:FILE|postgres:DSN [--dry-run]

Copies a single-node SQLite store into an empty PostgreSQL database, in one
transaction: the connector CA, enrollment tokens, connectors, blobs (ACME
certificates, account and keys), revocations and sign-outs, vault credentials
(still sealed) and the sign-in log. Locks, gateway nodes and the change feed are
runtime state and are not copied. Stop the gateway first; the SQLite file is
opened read-only. The copy is read back from PostgreSQL and compared.

--to postgres-file:FILE reads the connection string from FILE (as store.dsn_file),
so that the password is not on the command line. A target that holds any data
is refused. --dry-run reads both sides, prints the counts and writes nothing.
`

// storeMigrate is "gatehouse store migrate": see storeMigrateUsage.
func storeMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse store migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the source store, sqlite:PATH")
	to := fs.String("to", "", "the target, postgres-file:FILE (a file holding the DSN) or postgres:DSN")
	dryRun := fs.Bool("dry-run", false, "print what would be copied; write nothing")
	fs.Usage = func() {
		fmt.Fprint(stderr, storeMigrateUsage+"\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("store migrate takes no arguments; got %q (use --from and --to)", fs.Args()))
	}
	path, dsn, err := migrateEnds(*from, *to)
	if err != nil {
		return err
	}
	now := time.Now()
	src, err := sqlite.OpenReadOnly(ctx, path)
	if err != nil {
		return err
	}
	defer src.Close()
	snap, err := store.ReadSnapshot(ctx, src, src, now)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	target := postgres.Redact(dsn, dsn)
	fmt.Fprintf(stdout, "from sqlite:%s (read-only)\nto   %s\n", path, target)
	printCounts(stdout, snap.Counts())
	if *dryRun {
		return migrateDryRun(ctx, dsn, stdout)
	}
	dst, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := dst.Import(ctx, snap); err != nil {
		return err
	}
	if err := store.Verify(ctx, dst, snap, now); err != nil {
		return fmt.Errorf("the copy in %s does not match the source: %w (the data was committed: drop that database before trying again)", target, err)
	}
	fmt.Fprintln(stdout, "copied in one transaction and verified: every record read back from PostgreSQL matches the source.\n"+
		"Next: set store: {driver: postgres, dsn_file: ...} in the gateway's config and start it.")
	return nil
}

// migrateEnds checks --from and --to and returns the SQLite path and the
// DSN. Messages never quote the DSN: it may hold a password.
func migrateEnds(from, to string) (path, dsn string, err error) {
	path, ok := strings.CutPrefix(from, "sqlite:")
	switch {
	case from == "":
		return "", "", usageError("store migrate needs --from sqlite:PATH, the gateway's SQLite store (store.path)")
	case !ok || path == "":
		return "", "", usageError("store migrate: --from must be sqlite:PATH (the only source is a SQLite store)")
	}
	switch {
	case to == "":
		return "", "", usageError("store migrate needs --to postgres-file:FILE (a file holding the connection string) or --to postgres:DSN")
	case strings.HasPrefix(to, "postgres-file:"):
		file := strings.TrimPrefix(to, "postgres-file:")
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("store migrate: reading the connection string from %s: %w", file, err)
		}
		if dsn = strings.TrimSpace(string(b)); dsn == "" {
			return "", "", fmt.Errorf("store migrate: %s is empty; write the connection string in it, e.g. postgres://gatehouse:PASSWORD@db.example.com/gatehouse", file)
		}
	case strings.HasPrefix(to, "postgres:"):
		dsn = strings.TrimPrefix(to, "postgres:")
		if strings.HasPrefix(dsn, "//") { // --to postgres://...: the URL itself
			dsn = to
		}
		if dsn == "" {
			return "", "", usageError("store migrate: --to postgres: needs the connection string after the colon")
		}
	default:
		return "", "", usageError("store migrate: --to must be postgres-file:FILE or postgres:DSN (the only target is PostgreSQL)")
	}
	return path, dsn, nil
}

// migrateDryRun reports whether the target could take the copy, and
// changes nothing there (no schema migration either).
func migrateDryRun(ctx context.Context, dsn string, stdout io.Writer) error {
	counts, err := postgres.Inspect(ctx, dsn)
	if err != nil {
		return err
	}
	var held []string
	for _, c := range counts {
		if c.N > 0 {
			held = append(held, fmt.Sprintf("%s %d", c.Table, c.N))
		}
	}
	if len(held) > 0 {
		return fmt.Errorf("dry run: %w (it holds %s): the copy would be refused; use a new, empty database", postgres.ErrNotEmpty, strings.Join(held, ", "))
	}
	fmt.Fprintln(stdout, "dry run: the target is empty and would take these records; nothing was written.")
	return nil
}

// printCounts prints one line per table.
func printCounts(w io.Writer, counts []store.TableCount) {
	for _, c := range counts {
		fmt.Fprintf(w, "  %-12s %6d\n", c.Table, c.N)
	}
}
