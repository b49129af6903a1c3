package e2e

import (
	"os/exec"
	"syscall"
)

// killWithParent makes Linux kill the process when the test binary dies,
// for example when go test's -timeout panics, which skips every cleanup.
// The signal follows the thread that started the process, and the Go
// runtime does not end threads that the tests do not lock.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
