package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// proc is one long-running child process whose output goes to a log file.
type proc struct {
	name string // as shown to the user: "demo app", "gateway", "connector"
	log  string // path of its log file
	cmd  *exec.Cmd

	done chan struct{} // closed once the process has exited
	err  error         // cmd.Wait's result; read only after done
}

// startProc starts bin with args in its own process group, appending its
// stdout and stderr to logFile, and sends the proc on exits when it ends.
// env is added to this process's environment.
func startProc(name, logFile string, exits chan<- *proc, env []string, bin string, args ...string) (*proc, error) {
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the %s log: %w", name, err)
	}
	defer f.Close() // the child has its own copy
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s: %w", name, err)
	}
	p := &proc{name: name, log: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
		exits <- p
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitStatus describes how the process ended (after done).
func (p *proc) exitStatus() string {
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// stop asks the process group to end with SIGTERM and kills it after grace.
// It returns once the process and everything left in its group (a
// gateway's plug-in processes, say, which may outlive it by a moment) have
// exited, and reports whether it had to kill. The group is signalled even
// when the process has exited on its own, for the children it left.
func (p *proc) stop(grace time.Duration) (killed bool) {
	if p.exited() && !groupAlive(p.cmd) {
		return false
	}
	terminate(p.cmd)
	if p.waitGone(grace) {
		return false
	}
	kill(p.cmd)
	p.waitGone(grace)
	return true
}

// waitGone waits up to d for the process to exit and its group to empty.
func (p *proc) waitGone(d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	select {
	case <-p.done:
	case <-deadline.C:
		return false
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for groupAlive(p.cmd) {
		select {
		case <-tick.C:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// tail returns the last n lines of a log file, indented for display.
func tail(file string, n int) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return "    (" + err.Error() + ")\n"
	}
	return tailText(string(data), n)
}

// tailText returns the last n lines of a log, indented for display.
func tailText(log string, n int) string {
	log = strings.TrimRight(log, "\n")
	if len(log) == 0 {
		return "    (the log is empty)\n"
	}
	lines := strings.Split(log, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ") + "\n"
}
