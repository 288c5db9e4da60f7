package embedded

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// sysProcAttr puts redis-server in its own process group, so a Ctrl-C on the terminal
// reaches classcast alone (which still needs Redis to hand its tasks back while it shuts
// down) and sets the parent-death signal, so a classcast killed with SIGKILL does not
// leave its redis-server running. Pdeathsig fires when the *thread* that forked the
// child exits: spawn keeps that thread locked for the child's whole life.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// redisProcessIn reports whether pid is a live redis-server working in dir (a real path).
func redisProcessIn(pid int, dir string) bool {
	p := "/proc/" + strconv.Itoa(pid)
	cwd, err := os.Readlink(p + "/cwd")
	if err != nil || cwd != dir {
		return false
	}
	comm, err := os.ReadFile(p + "/comm")
	if err != nil {
		return false
	}
	return len(comm) >= len("redis-server") && string(comm[:len("redis-server")]) == "redis-server"
}

// processAlive reports whether pid still exists (and is not a zombie we can ignore).
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z'
		}
	}
	return true
}

// lockDir takes an exclusive lock on dir/redis.lock, so two classcast processes never
// run Redis on one append-only file. The kernel drops the lock when the holder dies,
// even by SIGKILL, so a stale lock never blocks a restart.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "redis.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is in use by another classcast process: %w", dir, err)
	}
	return f, nil
}
