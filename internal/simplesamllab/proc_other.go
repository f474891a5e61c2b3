//go:build !linux

package simplesamllab

import "syscall"

// sysProcAttr puts PHP in a process group of its own (Server.Stop kills the
// group). Without Linux's parent-death signal, a PHP left behind by a
// killed test binary is stopped by the next lab's Sweep.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
