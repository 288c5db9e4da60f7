package pgtest

import "syscall"

// sysProcAttr runs the supervisor as cred in its own process group (a Ctrl-C on the
// terminal reaches the test process, not postgres) and has the kernel send it SIGTERM
// when the test process dies, whatever way it dies. Go sets the parent-death signal
// after switching to cred, so the switch does not clear it.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM, Credential: cred}
}
