// Package s3test runs a real S3-compatible server (versitygw, posix backend) for tests
// of any package that talks to an object store:
//
//	srv := s3test.Start(t)
//	store, err := storage.NewS3(ctx, srv.Config(), log)
//
// Stop and Restart simulate the store being unreachable for a while.
package s3test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/storage"
)

// Credentials of the server's root account.
const (
	AccessKey = "classcast-test"
	SecretKey = "classcast-test-secret"
)

// Server is one versitygw process serving a temp directory on 127.0.0.1.
type Server struct {
	t      testing.TB
	bin    string
	addr   string
	data   string
	logf   string
	bucket string
	extra  []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *os.File
}

// Start starts versitygw on a free loopback port with a fresh data directory, waits
// until it answers and stops it when the test ends. The binary comes from
// $VERSITYGW_BIN, else <repo>/.deps/bin/versitygw (built by `make deps`), else PATH.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := findBinary()
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	dir := t.TempDir()
	s := &Server{
		t:      t,
		bin:    bin,
		data:   filepath.Join(dir, "data"),
		logf:   filepath.Join(dir, "versitygw.log"),
		bucket: "test-" + strings.ToLower(rand.Text()[:12]),
	}
	if err := os.MkdirAll(s.data, 0o755); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	// The posix backend keeps object metadata (content type, ETag) in user xattrs; on
	// a filesystem without them, use its sidecar directory instead.
	if !xattrsWork(s.data) {
		side := filepath.Join(dir, "meta")
		if err := os.MkdirAll(side, 0o755); err != nil {
			t.Fatalf("s3test: %v", err)
		}
		s.extra = []string{"--sidecar", side}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("s3test: find a free port: %v", err)
	}
	s.addr = l.Addr().String()
	l.Close()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			if b, err := os.ReadFile(s.logf); err == nil && len(b) > 0 {
				t.Logf("s3test: versitygw log (last 4 KiB):\n%s", tail(b, 4096))
			}
		}
	})
	if err := s.start(); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	return s
}

// Config is how to reach the server, with a bucket name unique to this server (NewS3
// creates it).
func (s *Server) Config() storage.S3Config {
	return storage.S3Config{
		Endpoint:  s.addr,
		Bucket:    s.bucket,
		Region:    "us-east-1",
		AccessKey: AccessKey,
		SecretKey: SecretKey,
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Stop ends the server (SIGTERM, then SIGKILL after 5 s) and waits for it; the data
// stays. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	cmd, done := s.cmd, s.done
	s.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	s.out.Close()
}

// Restart starts the server again on the same port with the same data, and waits
// until it answers. The test fails if it cannot.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Errorf("s3test: restart: %v", err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	out, err := os.OpenFile(s.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{"--port", s.addr, "--quiet", "posix"}, s.extra...)
	args = append(args, s.data)
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	cmd.Stdout, cmd.Stderr = out, out
	// If the test binary dies, take the server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if err := waitReady(s.addr, done, 10*time.Second); err != nil {
		_ = cmd.Process.Kill()
		<-done
		out.Close()
		b, _ := os.ReadFile(s.logf)
		return fmt.Errorf("versitygw on %s did not come up: %v\n%s", s.addr, err, tail(b, 2048))
	}
	s.cmd, s.done, s.out = cmd, done, out
	return nil
}

// waitReady polls until the server answers HTTP (any status: without credentials it
// says 403, which proves it is serving).
func waitReady(addr string, exited <-chan struct{}, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		last = err
		select {
		case <-exited:
			return fmt.Errorf("it exited: %w", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("no answer in %s: %w", limit, last)
}

func findBinary() (string, error) {
	if p := os.Getenv("VERSITYGW_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("VERSITYGW_BIN=%s: %w", p, err)
		}
		return p, nil
	}
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, ".deps", "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", errors.New("versitygw not found (set VERSITYGW_BIN, or run `make deps` to build it into .deps/bin)")
}

// repoRoot is the nearest folder above the working directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func xattrsWork(dir string) bool {
	f, err := os.CreateTemp(dir, ".xattr-probe-")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	defer os.Remove(name)
	if err := syscall.Setxattr(name, "user.classcast.probe", []byte("1"), 0); err != nil {
		return false
	}
	buf := make([]byte, 8)
	n, err := syscall.Getxattr(name, "user.classcast.probe", buf)
	return err == nil && bytes.Equal(buf[:n], []byte("1"))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
