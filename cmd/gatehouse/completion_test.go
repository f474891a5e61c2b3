package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func script(t *testing.T, shell string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"completion", shell}, &stdout, &stderr); err != nil {
		t.Fatalf("completion %s: %v (%s)", shell, err, stderr.String())
	}
	return stdout.String()
}

// bashComplete sources the bash script and asks it to complete line (the
// words typed so far; a trailing space starts a new, empty word).
func bashComplete(t *testing.T, bash, file, line string) []string {
	t.Helper()
	words := strings.Fields(line)
	if strings.HasSuffix(line, " ") {
		words = append(words, "")
	}
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, "'"+w+"'")
	}
	prog := `source "$1" && COMP_WORDS=(` + strings.Join(quoted, " ") + `) && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && { _gatehouse; printf '%s\n' "${COMPREPLY[@]}"; }`
	cmd := exec.Command(bash, "--norc", "-c", prog, "bash", file)
	cmd.Dir = t.TempDir() // file-name completions come from an empty directory
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("completing %q: %v\n%s", line, err, out)
	}
	return strings.Fields(string(out))
}

// The bash script passes bash -n and completes what the usage text lists:
// the commands, their subcommands and their flags.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed: cannot run the bash completion script")
	}
	file := filepath.Join(t.TempDir(), "gatehouse.bash")
	if err := os.WriteFile(file, []byte(script(t, "bash")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bash, "-n", file).CombinedOutput(); err != nil {
		t.Fatalf("bash -n refuses the script: %v\n%s", err, out)
	}

	tops := parseUsage(t)
	var want []string
	for _, name := range tops {
		if w := strings.Fields(name)[0]; !slices.Contains(want, w) {
			want = append(want, w)
		}
	}
	for _, w := range []string{"serve", "store", "completion", "version"} {
		if !slices.Contains(want, w) {
			t.Fatalf("the usage text lacks %q: %q", w, want)
		}
	}
	got := bashComplete(t, bash, file, "gatehouse ")
	if !slices.Equal(got, append(slices.Clone(want), "--help", "--version")) {
		t.Errorf("gatehouse <TAB>: %q\nwant the usage text's commands %q, --help and --version", got, want)
	}
	var st []string // every command that starts with "st"
	for _, w := range want {
		if strings.HasPrefix(w, "st") {
			st = append(st, w)
		}
	}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"gatehouse st", st},
		{"gatehouse store ", []string{"backup", "migrate"}},
		{"gatehouse store backup --c", []string{"--config"}},
		{"gatehouse token create --", []string{"--config", "--group", "--ttl"}},
		{"gatehouse vault ", []string{"set", "delete"}},
		{"gatehouse completion ", []string{"bash", "zsh", "fish"}},
		{"gatehouse token create --group ", nil}, // a group name: nothing to offer
	} {
		if got := bashComplete(t, bash, file, tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("%q<TAB>: %q, want %q", tc.line, got, tc.want)
		}
	}
}

// For every command: its subcommands come first, and its flags after
// "--" wherever it runs (with no subcommand too, as "connectors --json").
func TestBashCompletesEveryCommand(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed: cannot run the bash completion script")
	}
	file := filepath.Join(t.TempDir(), "gatehouse.bash")
	if err := os.WriteFile(file, []byte(script(t, "bash")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmds := commandTree(context.Background())
	if len(cmds) < 10 {
		t.Fatalf("only %d commands: %+v", len(cmds), cmds)
	}
	for _, c := range cmds {
		if len(c.subs) > 0 {
			if got := bashComplete(t, bash, file, "gatehouse "+c.name+" "); !slices.Equal(got, c.subs) {
				t.Errorf("gatehouse %s <TAB>: %q, want %q", c.name, got, c.subs)
			}
		}
		line := "gatehouse " + c.name + " --"
		if len(c.subs) > 0 && !c.bare {
			line = "gatehouse " + c.name + " " + c.subs[0] + " --"
		}
		got := bashComplete(t, bash, file, line)
		for _, f := range commandFlags(context.Background(), strings.Fields(strings.TrimSuffix(line, " --"))[1:]) {
			if !slices.Contains(got, "--"+f.name) {
				t.Errorf("%q<TAB>: %q lacks --%s", line, got, f.name)
			}
		}
	}
}

// The zsh and fish scripts name every command, and the shells accept
// their syntax.
func TestZshAndFishCompletion(t *testing.T) {
	for _, tc := range []struct{ shell, line string }{
		{"zsh", "'%s:"},
		{"fish", "-a %s -d"},
	} {
		s := script(t, tc.shell)
		for _, name := range parseUsage(t) {
			if w := strings.Fields(name)[0]; !strings.Contains(s, strings.Replace(tc.line, "%s", w, 1)) {
				t.Errorf("the %s script does not offer %q", tc.shell, w)
			}
		}
		if !strings.Contains(s, "--config") && !strings.Contains(s, "-l config") {
			t.Errorf("the %s script offers no --config", tc.shell)
		}
		bin, err := exec.LookPath(tc.shell)
		if err != nil {
			t.Skipf("%s is not installed ('make tools' installs it with scripts/install-systemd-tools.sh): its script's syntax is not checked", tc.shell)
		}
		file := filepath.Join(t.TempDir(), "gatehouse."+tc.shell)
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-n", file).CombinedOutput(); err != nil {
			t.Errorf("%s -n refuses the script: %v\n%s", tc.shell, err, out)
		}
	}
}

// A missing or unknown shell is a usage error (exit 2).
func TestCompletionUsage(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q printed a script anyway", args)
		}
	}
}

// "gatehouse --version" and "gatehouse version" print the same line.
func TestVersionFlag(t *testing.T) {
	var a, b bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, &a, &b); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"version"}, &b, &b); err != nil {
		t.Fatal(err)
	}
	if a.String() != "gatehouse "+version+"\n" || a.String() != b.String() {
		t.Fatalf("--version printed %q, version %q", a.String(), b.String())
	}
}
