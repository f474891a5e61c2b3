//go:build !unix

package main

import "os/exec"

// Without Unix process groups and signals, children share the console and
// are stopped by killing them; the working directory is not locked.

func ownProcessGroup(*exec.Cmd) {}

func terminate(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func kill(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func groupAlive(*exec.Cmd) bool { return false }

func lockDir(string) (unlock func(), err error) { return func() {}, nil }
