package embedded

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/embedded/redistest"
)

func needRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func mustCmd(t *testing.T, addr string, args ...string) any {
	t.Helper()
	v, err := command(addr, 2*time.Second, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

func startRedis(t *testing.T, addr, dir string) *Redis {
	t.Helper()
	r, err := StartRedis(t.Context(), "redis-server", addr, dir, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	return r
}

// A killed redis-server comes back on its own with the data that was acknowledged.
func TestRedisRestartsAfterKillAndKeepsData(t *testing.T) {
	needRedis(t)
	addr, dir := freeAddr(t), t.TempDir()
	r := startRedis(t, addr, dir)
	if want := "redis://" + addr + "/0"; r.URL() != want {
		t.Fatalf("URL = %q, want %q", r.URL(), want)
	}
	mustCmd(t, addr, "SET", "lesson", "math-101")
	// The configuration the task queue relies on.
	for key, want := range map[string]string{"appendonly": "yes", "appendfsync": "always", "save": "", "protected-mode": "yes", "maxmemory-policy": "noeviction"} {
		kv := mustCmd(t, addr, "CONFIG", "GET", key).([]any)
		if len(kv) != 2 || kv[1] != want {
			t.Errorf("CONFIG GET %s = %v, want %q", key, kv, want)
		}
	}

	old := r.PID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for r.PID() == 0 || r.PID() == old {
		if time.Since(start) > 10*time.Second {
			t.Fatal("redis-server was not restarted within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("restarted in %v", time.Since(start).Round(time.Millisecond))
	if got := mustCmd(t, addr, "GET", "lesson"); got != "math-101" {
		t.Fatalf("after kill -9 and restart GET = %v, want math-101", got)
	}
	pid, err := os.ReadFile(filepath.Join(dir, pidFileName))
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(r.PID()) {
		t.Fatalf("pid file = %q (%v), want %d", pid, err, r.PID())
	}
}

// Stop flushes the append-only file; the next start on the same dir has the data.
func TestRedisStopThenStartKeepsData(t *testing.T) {
	needRedis(t)
	addr, dir := freeAddr(t), t.TempDir()
	r := startRedis(t, addr, dir)
	pid := r.PID()
	mustCmd(t, addr, "RPUSH", "queue", "a", "b", "c")
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		t.Fatal("redis-server still running after Stop")
	}
	if _, err := os.Stat(filepath.Join(dir, pidFileName)); !os.IsNotExist(err) {
		t.Fatalf("pid file left after Stop: %v", err)
	}
	if err := r.Stop(); err != nil { // a second Stop is harmless
		t.Fatal(err)
	}
	startRedis(t, addr, dir)
	if n := mustCmd(t, addr, "LLEN", "queue"); n != int64(3) {
		t.Fatalf("LLEN after restart = %v, want 3", n)
	}
}

// Ending the context stops the server.
func TestRedisStopsWithContext(t *testing.T) {
	needRedis(t)
	ctx, cancel := context.WithCancel(t.Context())
	r, err := StartRedis(ctx, "", freeAddr(t), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := r.PID()
	cancel()
	for i := 0; processAlive(pid); i++ {
		if i > 500 {
			t.Fatal("redis-server still running 10 s after the context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisPortTakenByAnotherProgram(t *testing.T) {
	needRedis(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and say nothing, like a stuck service
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = StartRedis(t.Context(), "redis-server", l.Addr().String(), t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "already in use by another program (not a Redis server)") ||
		!strings.Contains(err.Error(), "redis.url") {
		t.Fatalf("err = %v, want a clear 'already in use' error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v to notice", d)
	}
	t.Log(err)
}

func TestRedisPortTakenByAnotherRedis(t *testing.T) {
	other := redistest.Start(t)
	_, err := StartRedis(t.Context(), "redis-server", other.Addr(), t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "another Redis server (data in "+other.Dir()) {
		t.Fatalf("err = %v, want 'another Redis server'", err)
	}
	// And it left the other one alone.
	if got := mustCmd(t, other.Addr(), "PING"); got != "PONG" {
		t.Fatalf("the other Redis answers %v", got)
	}
}

func TestRedisClearErrors(t *testing.T) {
	_, err := StartRedis(t.Context(), "no-such-redis-server", "127.0.0.1:6390", t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "install redis-server or set redis.url") {
		t.Fatalf("missing binary: err = %v", err)
	}
	for _, addr := range []string{"0.0.0.0:6390", "192.0.2.1:6390", "6390", "127.0.0.1:0", "example.com:6390"} {
		_, err := StartRedis(t.Context(), "redis-server", addr, t.TempDir(), nil)
		if err == nil {
			t.Errorf("address %q accepted", addr)
		}
	}
}

// Two classcast processes on one data directory would corrupt the append-only file.
func TestRedisDirLocked(t *testing.T) {
	needRedis(t)
	dir := t.TempDir()
	startRedis(t, freeAddr(t), dir)
	_, err := StartRedis(t.Context(), "redis-server", freeAddr(t), dir, nil)
	if err == nil || !strings.Contains(err.Error(), "in use by another classcast process") {
		t.Fatalf("err = %v", err)
	}
}

// startOrphan runs redis-server in dir the way StartRedis does, but not supervised: what a
// classcast killed on a system without the parent-death signal leaves behind.
func startOrphan(t *testing.T, addr, dir string, writePID bool) int {
	t.Helper()
	r := &Redis{dir: dir}
	r.host, r.port, _ = net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", r.args()...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	t.Cleanup(func() { cmd.Process.Kill() })
	for i := 0; ; i++ {
		if v, err := command(addr, time.Second, "PING"); err == nil && v == "PONG" {
			break
		}
		if i > 500 {
			t.Fatal("orphan redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustCmd(t, addr, "SET", "left", "behind")
	if writePID {
		os.WriteFile(filepath.Join(dir, pidFileName), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	}
	return cmd.Process.Pid
}

// A leftover of ours on the same port (no pid file) is shut down and replaced.
func TestRedisReplacesLeftoverOnSamePort(t *testing.T) {
	needRedis(t)
	addr, dir := freeAddr(t), t.TempDir()
	real, _ := filepath.EvalSymlinks(dir)
	pid := startOrphan(t, addr, real, false)
	r := startRedis(t, addr, dir)
	if processAlive(pid) || r.PID() == pid {
		t.Fatalf("leftover %d still running", pid)
	}
	if got := mustCmd(t, addr, "GET", "left"); got != "behind" {
		t.Fatalf("data of the leftover lost: %v", got)
	}
}

// A leftover found through the pid file is stopped even when it listens elsewhere: two
// servers must not share one append-only file.
func TestRedisStopsLeftoverFromPIDFile(t *testing.T) {
	needRedis(t)
	dir := t.TempDir()
	real, _ := filepath.EvalSymlinks(dir)
	pid := startOrphan(t, freeAddr(t), real, true)
	addr := freeAddr(t)
	startRedis(t, addr, dir)
	if processAlive(pid) {
		t.Fatalf("leftover %d still running", pid)
	}
	if got := mustCmd(t, addr, "GET", "left"); got != "behind" {
		t.Fatalf("data of the leftover lost: %v", got)
	}
}

// kill -9 of classcast itself takes its redis-server down too (parent-death signal).
func TestRedisDiesWithParent(t *testing.T) {
	needRedis(t)
	if os.Getenv("EMBEDDED_HELPER_DIR") != "" {
		t.Skip("helper")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperParent$", "-test.v")
	cmd.Env = append(os.Environ(), "EMBEDDED_HELPER_DIR="+t.TempDir(), "EMBEDDED_HELPER_ADDR="+freeAddr(t))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var pid int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "redis-pid %d", &pid); err == nil {
			break
		}
	}
	if pid == 0 {
		t.Fatal("helper did not start redis")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	// Let the helper's goroutines move around threads for a while: the parent-death
	// signal must survive that.
	time.Sleep(300 * time.Millisecond)
	if !processAlive(pid) {
		t.Fatal("redis-server died before its parent")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for i := 0; processAlive(pid); i++ {
		if i > 500 {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatal("redis-server outlived its killed parent by 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHelperParent(t *testing.T) {
	dir := os.Getenv("EMBEDDED_HELPER_DIR")
	if dir == "" {
		t.Skip("only run by TestRedisDiesWithParent")
	}
	r, err := StartRedis(context.Background(), "redis-server", os.Getenv("EMBEDDED_HELPER_ADDR"), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("redis-pid %d\n", r.PID())
	// Busy goroutines so the runtime spreads work over threads.
	for range 8 {
		go func() {
			for {
				time.Sleep(time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Minute)
}
