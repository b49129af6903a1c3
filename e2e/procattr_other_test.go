//go:build !linux

package e2e

import "os/exec"

// killWithParent does nothing outside Linux: there, a process outlives a
// test binary that dies without running its cleanups.
func killWithParent(*exec.Cmd) {}
