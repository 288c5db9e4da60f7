//go:build unix && !linux

package embedded

import (
	"os"
	"path/filepath"
	"syscall"
)

// sysProcAttr puts redis-server in its own process group; there is no parent-death
// signal outside Linux, so a leftover is found through its pid file instead.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// redisProcessIn cannot tell without /proc; the port check still finds a leftover.
func redisProcessIn(int, string) bool { return false }

func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "redis.lock"), os.O_CREATE|os.O_RDWR, 0o600)
}
