// Command gatehouse is the Gatehouse gateway and its operator commands.
//
//	gatehouse serve             [--config FILE]                run the gateway
//	gatehouse status            [--config FILE] [--admin ADDR] [--json]   what the running gateway serves now
//	gatehouse token create      [--config FILE] --group NAME [--ttl 1h]
//	gatehouse connectors        [--config FILE] [--json]       list enrolled connectors, their status and sign-on plug-ins
//	gatehouse connectors remove [--config FILE] ID             remove a connector: its tunnels close, its certificate is refused
//	gatehouse connectors update [--config FILE] --group G [--version V]   update a group's connectors now, one at a time
//	gatehouse sessions list     [--config FILE] [--user SUBJECT] [--app NAME] [--json]
//	gatehouse sessions revoke   [--config FILE] --user SUBJECT
//	gatehouse signins           [--config FILE] [--user S] [--app A] [--since 24h] [--result R] [--limit 50] [--json]
//	gatehouse vault set|delete  [--config FILE] --app NAME (--user SUBJECT | --shared) [--username U]
//	gatehouse policy test       [--config FILE] --app NAME --user SUBJECT [--groups G,...] [--amr M,...] ...
//	gatehouse config check FILE                                validate a config file, its plug-ins and WASM filters
//	gatehouse plugin check      [--kind K] [--config FILE] PATH   check a plug-in binary
//	gatehouse store backup      [--config FILE] FILE           an online, consistent copy of the store
//	gatehouse store migrate     --from sqlite:PATH --to postgres-file:FILE [--dry-run]   copy a SQLite store into an empty PostgreSQL database
//	gatehouse release keygen    --out FILE                     a new release signing key (keep it offline)
//	gatehouse release sign      --key FILE --binary BIN --version V [--os OS] [--arch ARCH] [--min-gateway V] --out RELEASE
//	gatehouse release endorse   --old-key FILE --new-key FILE  rotate the release key: the new key signed by the old one
//	gatehouse release add       [--config FILE] BIN --release RELEASE   verify a signed connector release and store it
//	gatehouse release list      [--config FILE] [--json]       the stored connector releases
//	gatehouse connect           APP_URL (--listen 127.0.0.1:PORT | --stdio) [--token T | --token-file F] [--no-browser] [--ca-file F]
//	gatehouse completion bash|zsh|fish                         a shell completion script
//	gatehouse version                                          print the version
//
// The commands that read the gateway's config take --config FILE (default
// gatehouse.yaml); 'gatehouse COMMAND -h' lists a command's flags. The list
// above and the usage text the command prints name the same commands in the
// same order (usage_test.go). 'gatehouse --version' is 'gatehouse version'.
// Every list command takes --json: one JSON object on standard output, with
// the field names README.md lists.
//
// Exit codes, the same for every command (exitcode_test.go): 0 done (policy
// test: ALLOW), 1 failed (policy test: DENY or SIGN IN AGAIN), 2 a usage
// error: an unknown command or flag, a missing or malformed argument.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: gatehouse COMMAND [flags]

commands:
  serve          run the gateway
  status         what the running gateway serves now (its admin API)
  token create   create a one-time connector enrollment token
  connectors     list enrolled connectors, their status and sign-on plug-ins
  connectors remove  remove a connector: its tunnels close, its certificate is refused
  connectors update  update a group's connectors to a stored release now, one at a time
  sessions list  the sessions that may still be live (by --user or --app)
  sessions revoke  end every session of a user (--user SUBJECT)
  signins        the sign-in log: sign-ins and denials, newest first
  vault set|delete  store or remove password-vault credentials (password on stdin)
  policy test    what an app's access policy decides for a user (--app, --user, ...)
  config check   validate a config file, its plug-ins and WASM filters
  plugin check   run the plug-in conformance checks against a plug-in binary
  store backup   write an online, consistent copy of the store to a new FILE
  store migrate  copy a SQLite store into an empty PostgreSQL database (--dry-run)
  release keygen  create a release signing key (offline; prints the public key)
  release sign   sign a connector binary into a release file (offline)
  release endorse  rotate the release key: sign the new key with the old one
  release add    verify a signed connector release and store it for rollouts
  release list   the stored connector releases
  connect        carry local TCP connections to a TCP app (signs you in)
  completion bash|zsh|fish  print a shell completion script
  version        print the version (also --version)

The commands that read the gateway's config take --config FILE (default
gatehouse.yaml); run 'gatehouse COMMAND -h' for a command's flags. List
commands take --json. Exit codes: 0 done, 1 failed (or DENY), 2 usage.
`

func main() {
	os.Exit(exitCode(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// exitCode prints err (unless it was printed already) and returns the
// exit code for it: 0 done, 1 failed or denied, 2 a usage error.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	var fe flagError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp): // -h: the flags were printed, as asked
		return 0
	case errors.As(err, &fe): // the flag package printed it, and the flags
		return 2
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "gatehouse:", err)
		fmt.Fprint(stderr, usage)
		return 2
	case errors.Is(err, errDenied): // the verdict is on stdout
		return 1
	default:
		fmt.Fprintln(stderr, "gatehouse:", err)
		return 1
	}
}

type usageError string

func (u usageError) Error() string { return string(u) }

// errDenied is policy test's DENY (and SIGN IN AGAIN): exit code 1.
var errDenied = errors.New("denied")

// flagError is a flag the flag package refused (and printed): exit code 2.
type flagError struct{ error }

func (f flagError) Unwrap() error { return f.error }

// parseFlags is fs.Parse, with a refused flag a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return flagError{err}
	}
	return err
}

// parseArgs parses flags that come before, between or after the
// positional arguments, and returns those.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stderr)
	case "status":
		return status(ctx, rest, stdout, stderr)
	case "token":
		if len(rest) == 0 || rest[0] != "create" {
			return usageError("did you mean 'gatehouse token create --group NAME'?")
		}
		return tokenCreate(ctx, rest[1:], stdout, stderr)
	case "connectors":
		if len(rest) > 0 && rest[0] == "remove" {
			return connectorsRemove(ctx, rest[1:], stdout, stderr)
		}
		if len(rest) > 0 && rest[0] == "update" {
			return connectorsUpdate(ctx, rest[1:], stdout, stderr) // connectors_update.go
		}
		return connectors(ctx, rest, stdout, stderr)
	case "config":
		if len(rest) == 0 || rest[0] != "check" {
			return usageError("did you mean 'gatehouse config check FILE'?")
		}
		return configCheck(ctx, rest[1:], stdout, stderr)
	case "plugin":
		return pluginCmd(ctx, rest, stdout, stderr)
	case "sessions":
		return sessionsCmd(ctx, rest, stdout, stderr)
	case "vault":
		return vaultCmd(ctx, rest, os.Stdin, stdout, stderr)
	case "signins":
		return signIns(ctx, rest, stdout, stderr)
	case "policy":
		if len(rest) == 0 || rest[0] != "test" {
			return usageError("did you mean 'gatehouse policy test --app NAME --user SUBJECT'?")
		}
		return policyTest(ctx, rest[1:], stdout, stderr)
	case "store":
		return storeCmd(ctx, rest, stdout, stderr)
	case "release":
		return releaseCmd(ctx, rest, stdout, stderr)
	case "connect":
		return connectCmd(ctx, rest, os.Stdin, stdout, stderr) // connect.go
	case "completion":
		return completion(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "gatehouse", version)
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError(fmt.Sprintf("unknown command %q", cmd))
	}
}

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("config", "gatehouse.yaml", "gateway config file")
	return fs, cfg
}

// writeJSON writes v as one indented JSON document (--json).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
