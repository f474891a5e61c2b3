//go:build !linux

package idplab

import "syscall"

// sysProcAttr puts PHP in a process group of its own (Stop kills the
// group). Without Linux's parent-death signal, a PHP left behind by a
// killed test binary is stopped by the next Start (see sweep).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
