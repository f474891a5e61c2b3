package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/sdk/vault"
)

// vaultCmd is "gatehouse vault set|delete": an admin stores or removes
// credentials of the password vault, a user's or an app's shared ones
// (used for every user who has none). The password is read from standard
// input, never from the command line (which ps shows to everyone).
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
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	subject := *user
	if *shared {
		subject = vault.Shared
	}
	if *app == "" || *shared == (*user != "") {
		return usageError("vault " + verb + " needs --app NAME and one of --user SUBJECT or --shared")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	var a *config.App
	for i := range cfg.Apps {
		if cfg.Apps[i].Name == *app {
			a = &cfg.Apps[i]
		}
	}
	if a == nil || a.Vault.PublicKey == "" {
		return fmt.Errorf("app %q has no vault in %s (add vault: {public_key: ...})", *app, cfg.Path)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if verb == "delete" {
		if err := st.DeleteCredential(ctx, *app, subject); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted the vault credentials of %s for app %q\n", who(subject), *app)
		return nil
	}
	if *username == "" {
		return usageError("vault set needs --username")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the password from standard input: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return errors.New("no password on standard input (pipe it in: printf %s \"$PASSWORD\" | gatehouse vault set ...)")
	}
	pub, err := vault.PublicKey(a.Vault.PublicKey)
	if err != nil {
		return err
	}
	sealed, err := vault.Seal(pub, *app, subject, vault.Credentials{Username: *username, Password: password})
	if err != nil {
		return err
	}
	if err := st.PutCredential(ctx, *app, subject, sealed); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stored the vault credentials of %s for app %q, sealed to the connectors' key\n", who(subject), *app)
	return nil
}

func who(subject string) string {
	if subject == vault.Shared {
		return "everyone (shared)"
	}
	return fmt.Sprintf("%q", subject)
}
