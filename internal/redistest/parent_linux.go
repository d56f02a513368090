package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the Redis when the test binary exits,
// however it exits. Tests have no hook that runs after the last test.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
