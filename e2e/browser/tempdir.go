package browser

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// dirPrefix starts the name of every Browser's temporary directory; the pid
// of the test process follows it, so a later Start can tell orphans (whose
// test process died without Close) from the browsers of live processes.
const dirPrefix = "gatehouse-browser-"

// tempDir is one Browser's throw-away files:
//
//	home/            HOME, XDG dirs; home/.pki/nssdb is the NSS database
//	profile/         --user-data-dir
//	tmp/             TMPDIR (Chromium's shared memory files)
type tempDir struct{ root string }

func newTempDir() (*tempDir, error) {
	root, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("creating the browser's temporary directory: %w", err)
	}
	d := &tempDir{root: root}
	for _, sub := range []string{"home", "profile", "tmp"} {
		if err := os.Mkdir(filepath.Join(root, sub), 0o700); err != nil {
			d.remove()
			return nil, fmt.Errorf("creating the browser's temporary directory: %w", err)
		}
	}
	return d, nil
}

func (d *tempDir) home() string    { return filepath.Join(d.root, "home") }
func (d *tempDir) profile() string { return filepath.Join(d.root, "profile") }
func (d *tempDir) nssDB() string   { return filepath.Join(d.home(), ".pki", "nssdb") }

// env is Chromium's whole environment.
func (d *tempDir) env() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{
		"HOME=" + d.home(),
		"PATH=" + path,
		"TMPDIR=" + filepath.Join(d.root, "tmp"),
		"XDG_CONFIG_HOME=" + filepath.Join(d.home(), ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(d.home(), ".cache"),
		"XDG_DATA_HOME=" + filepath.Join(d.home(), ".local", "share"),
		"LANG=C.UTF-8",
		"TZ=UTC",
	}
}

func (d *tempDir) remove() error {
	if err := os.RemoveAll(d.root); err != nil {
		return fmt.Errorf("removing the browser's temporary directory: %w", err)
	}
	return nil
}

// lineWriter passes Chromium's output to a Logf line by line.
type lineWriter struct {
	mu     sync.Mutex
	logf   func(string, ...any)
	prefix string
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(w.buf[:i]), "\r"); line != "" && !noise(line) {
			w.logf("%s%s", w.prefix, line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.logf("%s%s", w.prefix, w.buf)
		w.buf = nil
	}
}

// noise reports Chromium output that says nothing about a test: containers
// have no D-Bus, which headless Chromium asks for anyway.
func noise(line string) bool {
	return strings.Contains(line, ":ERROR:dbus/")
}
