package browser

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killProfile SIGKILLs every process whose command line has
// --user-data-dir=dir: Chromium passes the flag to each of its helpers
// (zygotes, renderers, the network service), and the directory is unique to
// one Browser. Helpers can fork while their parent dies, so it looks again
// until three passes in a row find nothing (at most two seconds). It returns
// how many processes it killed.
func killProfile(dir string) int {
	want := []byte("--user-data-dir=" + dir)
	killed := 0
	deadline := time.Now().Add(2 * time.Second)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		n := 0
		for _, pid := range procsWith(func(args [][]byte) bool {
			for _, a := range args {
				if bytes.Equal(a, want) {
					return true
				}
			}
			return false
		}) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
		killed += n
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return killed
}

// sweepOrphans kills the Chromium processes, and removes the directories, of
// Browsers whose test process died without Close (a SIGKILL, a crash, a
// timeout panic). The kernel kills such a browser's main process
// (PR_SET_PDEATHSIG); this catches helpers that outlive it. A browser of a
// test process that is still alive is never touched.
func sweepOrphans(logf func(string, ...any)) {
	tmp := os.TempDir()
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPrefix+"*"))
	for _, d := range dirs {
		owner, ok := ownerPID(filepath.Base(d))
		if !ok || alive(owner) {
			continue
		}
		if n := killProfile(filepath.Join(d, "profile")); n > 0 {
			logf("browser: killed %d chromium processes left by dead test process %d", n, owner)
		}
		os.RemoveAll(d)
	}
}

// ownerPID reads the pid out of "gatehouse-browser-<pid>-<random>".
func ownerPID(base string) (int, bool) {
	rest, ok := strings.CutPrefix(base, dirPrefix)
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(s)
	return pid, err == nil && pid > 0
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// procsWith returns the pids (other than this process) whose command line
// satisfies match.
func procsWith(match func(args [][]byte) bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(cmdline) == 0 {
			continue
		}
		if match(bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})) {
			pids = append(pids, pid)
		}
	}
	return pids
}
