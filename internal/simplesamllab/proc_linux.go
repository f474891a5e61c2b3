package simplesamllab

import "syscall"

// sysProcAttr puts PHP in a process group of its own (Server.Stop kills the
// group) and has the kernel kill it when the test binary dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
