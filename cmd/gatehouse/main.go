// Command gatehouse is the Gatehouse gateway and its operator commands.
//
//	gatehouse serve             [--config FILE]                run the gateway
//	gatehouse token create      [--config FILE] --group NAME [--ttl 1h]
//	gatehouse connectors        [--config FILE]                list enrolled connectors and their status
//	gatehouse sessions revoke   [--config FILE] --user SUBJECT
//	gatehouse signins           [--config FILE] [--limit 50]   the sign-in log, newest first
//	gatehouse vault set|delete  [--config FILE] --app NAME (--user SUBJECT | --shared) [--username U]
//	gatehouse policy test       [--config FILE] --app NAME --user SUBJECT [--groups G,...] [--amr M,...] ...
//	gatehouse config check FILE                                validate a config file
//	gatehouse plugin check      [--kind K] [--config FILE] PATH   check a plug-in binary
//	gatehouse version
//
// The commands that read the gateway's config take --config FILE (default
// gatehouse.yaml); 'gatehouse COMMAND -h' lists a command's flags. The list
// above and the usage text the command prints name the same commands in the
// same order (usage_test.go).
package main

import (
	"context"
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
  token create   create a one-time connector enrollment token
  connectors     list enrolled connectors and their status
  sessions revoke  end every session of a user (--user SUBJECT)
  signins        the sign-in log: sign-ins and denials, newest first
  vault set|delete  store or remove password-vault credentials (password on stdin)
  policy test    what an app's access policy decides for a user (--app, --user, ...)
  config check   validate a config file
  plugin check   run the plug-in conformance checks against a plug-in binary
  version        print the version

The commands that read the gateway's config take --config FILE (default
gatehouse.yaml); run 'gatehouse COMMAND -h' for a command's flags.
`

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

type usageError string

func (u usageError) Error() string { return string(u) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stderr)
	case "token":
		if len(rest) == 0 || rest[0] != "create" {
			return usageError("did you mean 'gatehouse token create --group NAME'?")
		}
		return tokenCreate(ctx, rest[1:], stdout, stderr)
	case "connectors":
		return connectors(ctx, rest, stdout, stderr)
	case "config":
		if len(rest) == 0 || rest[0] != "check" {
			return usageError("did you mean 'gatehouse config check FILE'?")
		}
		return configCheck(ctx, rest[1:], stdout, stderr)
	case "plugin":
		return pluginCmd(ctx, rest, stdout, stderr)
	case "sessions":
		if len(rest) == 0 || rest[0] != "revoke" {
			return usageError("did you mean 'gatehouse sessions revoke --user SUBJECT'?")
		}
		return sessionsRevoke(ctx, rest[1:], stdout, stderr)
	case "vault":
		return vaultCmd(ctx, rest, os.Stdin, stdout, stderr)
	case "signins":
		return signIns(ctx, rest, stdout, stderr)
	case "policy":
		if len(rest) == 0 || rest[0] != "test" {
			return usageError("did you mean 'gatehouse policy test --app NAME --user SUBJECT'?")
		}
		return policyTest(ctx, rest[1:], stdout, stderr)
	case "version":
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
