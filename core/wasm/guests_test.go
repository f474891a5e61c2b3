package wasm

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Guests are built at test time from the sources in testdata (Go) and
// from WAT text (with wat2wasm from Debian's wabt), into a directory that
// lives for the test process: nothing binary is checked in. Compiled
// machine code is cached across runs in the user cache directory, so
// only the first run pays wazero's compilation of the Go guests.

var (
	guestDir   string
	buildMu    sync.Mutex
	builtPaths = map[string]string{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-wasm-guests-")
	if err != nil {
		panic(err)
	}
	guestDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// compileCacheDir is wazero's compilation cache for the tests.
func compileCacheDir(tb testing.TB) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return tb.TempDir()
	}
	return filepath.Join(dir, "gatehouse", "wasm-test-compiled")
}

// goGuest builds the Go guest in pkg (a directory) once per process and
// returns the module's path.
func goGuest(tb testing.TB, pkg string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builtPaths[pkg]; ok {
		return p
	}
	out := filepath.Join(guestDir, strings.NewReplacer("/", "_", ".", "_").Replace(pkg)+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building the Go guest %s: %v\n%s", pkg, err, b)
	}
	builtPaths[pkg] = out
	return out
}

var (
	wabtOnce sync.Once
	wabtPath string
	wabtErr  string
)

// wat2wasm finds wat2wasm, installing Debian's wabt with
// scripts/install-wabt.sh when it is missing; the test is skipped, with
// the reason, only when that fails.
func wat2wasm(tb testing.TB) string {
	tb.Helper()
	wabtOnce.Do(func() {
		if p, err := exec.LookPath("wat2wasm"); err == nil {
			wabtPath = p
			return
		}
		out, err := exec.Command("sh", "../../scripts/install-wabt.sh").CombinedOutput()
		if p, lerr := exec.LookPath("wat2wasm"); lerr == nil {
			wabtPath = p
			return
		}
		wabtErr = "wat2wasm is not installed and scripts/install-wabt.sh could not install it: " + strings.TrimSpace(string(out))
		if err != nil {
			wabtErr += " (" + err.Error() + ")"
		}
	})
	if wabtPath == "" {
		tb.Skip(wabtErr)
	}
	return wabtPath
}

// watGuest assembles WAT source once per process and returns the
// module's path.
func watGuest(tb testing.TB, name, src string) string {
	tb.Helper()
	tool := wat2wasm(tb)
	buildMu.Lock()
	defer buildMu.Unlock()
	key := "wat:" + name
	if p, ok := builtPaths[key]; ok {
		return p
	}
	in := filepath.Join(guestDir, name+".wat")
	out := filepath.Join(guestDir, name+".wasm")
	if err := os.WriteFile(in, []byte(src), 0o600); err != nil {
		tb.Fatal(err)
	}
	if b, err := exec.Command(tool, in, "-o", out).CombinedOutput(); err != nil {
		tb.Fatalf("assembling %s: %v\n%s", name, err, b)
	}
	builtPaths[key] = out
	return out
}

// watFile assembles testdata/NAME.wat.
func watFile(tb testing.TB, name string) string {
	tb.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name+".wat"))
	if err != nil {
		tb.Fatal(err)
	}
	return watGuest(tb, name, string(src))
}

func fileSHA256(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
