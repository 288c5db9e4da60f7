// Package redistest starts a real redis-server for tests in other packages: on a free
// loopback port, with its append-only file in a temporary directory, killed when the
// test ends. Restart and Kill let a test take Redis away mid-queue.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server under a test's control.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	proc *process // nil while down
}

type process struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed when the process has exited
	err  error
}

// Start runs redis-server on a free port and stops it when the test ends. It skips the
// test if redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (make deps installs it)")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(func() { s.stop(syscall.SIGKILL) })
	// A free port found by listening on :0 may be taken again before redis-server binds
	// it; a few tries make that race harmless.
	for range 5 {
		s.port = freePort(t)
		err = s.start()
		if err == nil {
			return s
		}
		if !strings.Contains(err.Error(), "in use") {
			t.Fatal(err)
		}
	}
	t.Fatalf("redistest: no free port for redis-server: %v", err)
	return nil
}

// Addr is 127.0.0.1:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is redis://127.0.0.1:port/0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir is the directory holding the append-only file.
func (s *Server) Dir() string { return s.dir }

// Restart shuts the server down gracefully (or finds it killed) and starts it again on
// the same port with the same append-only file: every acknowledged write survives.
func (s *Server) Restart() {
	s.t.Helper()
	s.stop(syscall.SIGTERM)
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// Kill ends the server with SIGKILL and leaves it down until Restart. Writes are
// fsynced on every command (appendfsync always), so none that was answered is lost.
func (s *Server) Kill() {
	s.stop(syscall.SIGKILL)
}

func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--daemonize", "no", "--logfile", "", "--loglevel", "warning",
		"--maxmemory-policy", "noeviction")
	p := &process{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = sysProcAttr()
	// Pdeathsig fires when the thread that forked the child exits: hold that thread for
	// the child's whole life.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("redistest: start redis-server: %w", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("redistest: redis-server exited (%v): %s", p.err, p.out.String())
		default:
		}
		if ping(s.Addr()) {
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("redistest: redis-server did not answer PING: %s", p.out.String())
}

func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// ping reports whether a Redis answers PONG on addr.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() < 64<<10 {
		w.b.Write(p)
	}
	return len(p), nil
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
