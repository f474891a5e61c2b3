package simplesamllab

// Clean-up after test binaries that died without Stop: their labs' directories and PHP processes.

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pidFile, in a lab's directory, holds the pid of its PHP process.
const pidFile = "php.pid"

// Sweep removes the directories (in the temporary directory, named
// prefix*) of labs whose test binary died without stopping them, and
// stops their PHP process if the kernel has not: the pid in the
// directory's pid file, only if that process still has the directory on
// its command line and its parent is gone.
func Sweep(prefix string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, pidFile))
		if err != nil {
			if info, err := os.Stat(dir); err == nil && time.Since(info.ModTime()) > time.Hour {
				os.RemoveAll(dir) // never started
			}
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		if running, orphan := processOf(pid, dir); running {
			if !orphan {
				continue // another test binary's lab
			}
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	}
}

// processOf reports whether pid is a PHP process serving dir, and whether
// it is an orphan: re-parented to init because its test binary died where
// the kernel does not kill it along (not Linux).
func processOf(pid int, dir string) (running, orphan bool) {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
		return false, false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 2 {
		return true, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	return true, ppid == 1
}
