package vault

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse/sdk/vault"
)

// Shared is the subject of an app's shared credentials, used for every
// user who has none of their own.
const Shared = vault.Shared

// ReadPassword reads one line, the password, from in (never from the
// command line, which ps shows to everyone).
func ReadPassword(in io.Reader) (string, error) {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", errors.New("no password on standard input (pipe it in: printf %s \"$PASSWORD\" | gatehouse vault set ...)")
	}
	return password, nil
}

// Who names subject in messages: a user, or everyone for Shared.
func Who(subject string) string {
	if subject == Shared {
		return "everyone (shared)"
	}
	return fmt.Sprintf("%q", subject)
}
