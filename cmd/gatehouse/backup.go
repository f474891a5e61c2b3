package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// storeCmd is "gatehouse store backup [--config FILE] FILE" and
// "gatehouse store migrate" (storemigrate.go).
func storeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "migrate" {
		return storeMigrate(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "backup" {
		return usageError("did you mean 'gatehouse store backup FILE' or 'gatehouse store migrate'?")
	}
	return storeBackup(ctx, args[1:], stdout, stderr)
}

// storeBackup writes an online, consistent copy of the gateway's store to
// a new file, while the gateway keeps serving: see sqlite.Backup.
func storeBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("store backup", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gatehouse store backup [--config FILE] FILE\n\n"+
			"Writes a consistent copy of the store to FILE (mode 0600) while the gateway runs;\n"+
			"FILE must not exist. Run it as the gateway's user.")
		fs.PrintDefaults()
	}
	file, err := onePositional(fs, args)
	if err != nil {
		return err
	}
	if file == "" {
		return usageError("store backup needs FILE, the new file to write the copy to")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	switch cfg.Store.Driver {
	case config.DriverSQLite:
	case config.DriverPostgres:
		return fmt.Errorf("store backup copies a SQLite store; this config uses store.driver %q: back it up with the database's own tools (pg_dump; docs/OPERATING.md)", cfg.Store.Driver)
	default:
		return fmt.Errorf("store backup: store.driver %q is not supported", cfg.Store.Driver)
	}
	res, err := sqlite.Backup(ctx, cfg.Store.Path, file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s: %d bytes, schema version %d, integrity check ok\n",
		cfg.Store.Path, file, res.Bytes, res.SchemaVersion)
	return nil
}

// onePositional parses flags placed before or after one positional
// argument, which it returns ("" when there is none).
func onePositional(fs *flag.FlagSet, args []string) (string, error) {
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if fs.NArg() == 0 {
		return "", nil
	}
	arg := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", usageError(fmt.Sprintf("%s takes one argument; also got %q", strings.TrimPrefix(fs.Name(), "gatehouse "), fs.Args()))
	}
	return arg, nil
}
