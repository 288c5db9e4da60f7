//go:build !linux

package pgtest

import "syscall"

// sysProcAttr: without a parent-death signal the cluster outlives a killed test process
// here; it is only ever a throwaway server on a loopback port.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
