package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/vault"
	sdkvault "github.com/gatehouse/gatehouse/sdk/vault"
)

// vaultCmd is "gatehouse vault set|delete": an admin stores or removes
// credentials of the password vault, a user's or an app's shared ones
// (used for every user who has none). The password is read from standard
// input, never from the command line (which ps shows to everyone). The
// logic is core/vault's; this is the command line.
func vaultCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "delete") {
		return usageError("did you mean 'gatehouse vault set --app NAME --shared --username U' (password on stdin)?")
	}
	verb := args[0]
	fs, cfgPath := newFlags("vault "+verb, stderr)
	app := fs.String("app", "", "the app (required)")
	user := fs.String("user", "", "the user's subject (or --shared)")
	shared := fs.Bool("shared", false, "the app's shared credentials, for users without their own")
	username := fs.String("username", "", "the backend username (set)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	subject := *user
	if *shared {
		subject = vault.Shared
	}
	if *app == "" || *shared == (*user != "") {
		return usageError("vault " + verb + " needs --app NAME and one of --user SUBJECT or --shared")
	}
	if verb == "set" && *username == "" {
		return usageError("vault set needs --username")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	v, err := vault.ForApp(cfg, *app)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	v.Store = st
	if verb == "delete" {
		if err := v.Delete(ctx, subject); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted the vault credentials of %s for app %q\n", vault.Who(subject), *app)
		return nil
	}
	password, err := vault.ReadPassword(stdin)
	if err != nil {
		return err
	}
	if err := v.Put(ctx, subject, sdkvault.Credentials{Username: *username, Password: password}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stored the vault credentials of %s for app %q, sealed to the connectors' key\n", vault.Who(subject), *app)
	return nil
}
