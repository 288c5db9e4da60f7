package redistest

import "syscall"

// sysProcAttr stops redis-server when the test binary dies without running its cleanups
// (a test timeout panics).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
