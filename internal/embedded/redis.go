// Package embedded runs the servers that the all-in-one classcast starts for itself when
// no external one is configured: today a supervised redis-server for the task queue.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// readyTimeout bounds the wait for a fresh redis-server to answer PING. Loading a
	// large append-only file can take a while; a failed start exits long before.
	readyTimeout = 2 * time.Minute
	// stopTimeout is how long a graceful shutdown (AOF fsync) may take before SIGKILL.
	stopTimeout = 15 * time.Second
	// Restart backoff after redis-server dies on its own.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// stableAfter resets the backoff: a redis-server that ran this long was healthy.
	stableAfter = 30 * time.Second

	pidFileName = "redis-server.pid"
)

// Redis is a redis-server child process that classcast supervises: it is restarted with
// backoff if it dies and stopped gracefully (its append-only file flushed) on Stop.
type Redis struct {
	bin, addr, dir string
	host, port     string
	log            *slog.Logger
	lock           *os.File

	stop     chan struct{} // closed by Stop
	done     chan struct{} // closed when the supervisor has stopped the child
	stopOnce sync.Once
	stopErr  error

	mu   sync.Mutex
	proc *process // the running child, for tests and Stop
}

// StartRedis starts redis-server (bin, a path or a name looked up in PATH) bound to addr,
// which must be a loopback address, with dir holding its append-only file (appendonly
// yes, appendfsync always: the queue writes a few keys per task, so syncing every write
// costs nothing and a power cut loses no enqueued task; no RDB snapshots, protected
// mode, no config file that CONFIG REWRITE could change). It returns once the server answers PING, and restarts
// it with backoff if it dies, until ctx ends or Stop is called.
//
// A redis-server left behind by an earlier classcast on the same dir (found by its pid
// file, or answering on addr with dir as its working directory) is shut down first.
// Anything else on addr is an error: classcast never talks to a Redis it did not start
// unless redis.url says so.
func StartRedis(ctx context.Context, bin, addr, dir string, log *slog.Logger) (*Redis, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, port, err := loopbackAddr(addr)
	if err != nil {
		return nil, err
	}
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("embedded redis: %q not found (install redis-server or set redis.url to an external Redis): %w", bin, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded redis: data directory: %w", err)
	}
	real, err := filepath.Abs(dir)
	if err == nil {
		real, err = filepath.EvalSymlinks(real)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded redis: data directory: %w", err)
	}
	lock, err := lockDir(real)
	if err != nil {
		return nil, fmt.Errorf("embedded redis: %w", err)
	}
	r := &Redis{
		bin: path, addr: net.JoinHostPort(host, port), dir: real, host: host, port: port,
		log:  log,
		lock: lock, stop: make(chan struct{}), done: make(chan struct{}),
	}
	fail := func(err error) (*Redis, error) {
		lock.Close()
		return nil, err
	}
	r.stopStale()
	if err := r.claimPort(); err != nil {
		return fail(err)
	}
	p, err := r.launch()
	if err != nil {
		return fail(err)
	}
	r.log.Info("embedded redis started", "address", r.addr, "dir", r.dir, "pid", p.pid())
	go r.supervise(p)
	go func() {
		select {
		case <-ctx.Done():
			r.Stop()
		case <-r.done:
		}
	}()
	return r, nil
}

// URL is the address for Redis clients: redis://127.0.0.1:port/0.
func (r *Redis) URL() string { return "redis://" + r.addr + "/0" }

// Addr is host:port of the server.
func (r *Redis) Addr() string { return r.addr }

// PID is the process id of the running redis-server, 0 while it is being restarted.
func (r *Redis) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return 0
	}
	return r.proc.pid()
}

// Stop shuts redis-server down gracefully (SIGTERM, which Redis handles like SHUTDOWN:
// the append-only file is fsynced), waits for it, and stops supervising. It falls back
// to SIGKILL after 15 s. Safe to call more than once.
func (r *Redis) Stop() error {
	r.stopOnce.Do(func() {
		close(r.stop)
		<-r.done
		os.Remove(filepath.Join(r.dir, pidFileName))
		r.lock.Close()
	})
	return r.stopErr
}

// supervise waits for the child to exit and starts a new one, until Stop.
func (r *Redis) supervise(p *process) {
	defer close(r.done)
	backoff := minBackoff
	for {
		if p != nil {
			select {
			case <-r.stop:
				r.stopErr = r.terminate(p)
				r.log.Info("embedded redis stopped")
				return
			case <-p.exited:
			}
			r.mu.Lock()
			r.proc = nil
			r.mu.Unlock()
			if time.Since(p.started) > stableAfter {
				backoff = minBackoff
			}
			r.log.Warn("embedded redis-server exited; restarting", "error", p.err, "log", p.lastLines(), "in", backoff)
		}
		select {
		case <-r.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
		var err error
		p, err = r.launch()
		if err != nil {
			r.log.Error("embedded redis-server did not restart", "error", err)
			p = nil
			continue
		}
		r.log.Info("embedded redis restarted", "pid", p.pid())
	}
}

// launch starts a child and waits until it answers PING.
func (r *Redis) launch() (*process, error) {
	p, err := spawn(r.bin, r.dir, r.args(), r.log)
	if err != nil {
		return nil, fmt.Errorf("embedded redis: start %s: %w", r.bin, err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, pidFileName), []byte(strconv.Itoa(p.pid())+"\n"), 0o600); err != nil {
		r.log.Warn("cannot write redis pid file", "error", err)
	}
	if err := waitReady(r.addr, p); err != nil {
		r.terminate(p)
		return nil, fmt.Errorf("embedded redis on %s: %w", r.addr, err)
	}
	r.mu.Lock()
	r.proc = p
	r.mu.Unlock()
	return p, nil
}

func (r *Redis) args() []string {
	return []string{
		"--bind", r.host, "--port", r.port, "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--protected-mode", "yes", "--daemonize", "no", "--logfile", "", "--loglevel", "notice",
		// The task queue must never lose a key to eviction.
		"--maxmemory-policy", "noeviction",
	}
}

// terminate stops a child gracefully, then by force.
func (r *Redis) terminate(p *process) error {
	r.mu.Lock()
	if r.proc == p {
		r.proc = nil
	}
	r.mu.Unlock()
	select {
	case <-p.exited:
		return nil
	default:
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopTimeout):
	}
	p.signal(syscall.SIGKILL)
	<-p.exited
	return fmt.Errorf("embedded redis: did not shut down within %s; killed (the last second of writes may be lost)", stopTimeout)
}

// stopStale shuts down a redis-server left running by an earlier classcast in this dir
// (its pid file names a live redis-server whose working directory is dir), whatever
// port it listens on: two servers must never share one append-only file.
func (r *Redis) stopStale() {
	b, err := os.ReadFile(filepath.Join(r.dir, pidFileName))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || !redisProcessIn(pid, r.dir) {
		return
	}
	r.log.Warn("stopping a redis-server left behind by an earlier classcast", "pid", pid)
	stopPID(pid)
}

func stopPID(pid int) {
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(stopTimeout)
	for processAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if processAlive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		for i := 0; i < 100 && processAlive(pid); i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// claimPort makes sure addr is free: a Redis of ours still listening there (same
// working directory) is shut down; anything else is an error that says what to do.
func (r *Redis) claimPort() error {
	conn, err := net.DialTimeout("tcp", r.addr, 500*time.Millisecond)
	if err != nil {
		return nil // nothing listens
	}
	conn.Close()
	busy := func(what string) error {
		return fmt.Errorf("embedded redis: %s is already in use by %s; set redis.embedded_address to a free port, or redis.url to use an external Redis", r.addr, what)
	}
	reply, err := command(r.addr, time.Second, "CONFIG", "GET", "dir")
	if err != nil {
		var re respError
		if errors.As(err, &re) {
			return busy(fmt.Sprintf("another Redis server (%s)", re))
		}
		return busy("another program (not a Redis server)")
	}
	kv, _ := reply.([]any)
	if len(kv) != 2 || kv[1] != r.dir {
		other := "?"
		if len(kv) == 2 {
			other = fmt.Sprint(kv[1])
		}
		return busy(fmt.Sprintf("another Redis server (data in %s)", other))
	}
	r.log.Warn("shutting down a redis-server of ours left listening on the port", "address", r.addr)
	command(r.addr, stopTimeout, "SHUTDOWN")
	deadline := time.Now().Add(stopTimeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", r.addr, 200*time.Millisecond)
		if err != nil {
			return nil
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	return busy("a redis-server of ours that would not shut down")
}

// waitReady polls PING until it answers PONG, the child exits, or readyTimeout passes.
func waitReady(addr string, p *process) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("redis-server exited at start (%v): %s", p.err, p.lastLines())
		default:
		}
		reply, err := command(addr, time.Second, "PING")
		if err == nil && reply == "PONG" {
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redis-server did not answer PING within %s: %v", readyTimeout, last)
}

// loopbackAddr checks that addr is host:port on a loopback address: the embedded Redis
// has no password, so it must never be reachable from the network.
func loopbackAddr(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("embedded redis: address %q: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", "", fmt.Errorf("embedded redis: address %q: port must be 1-65535", addr)
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", "", fmt.Errorf("embedded redis: address %q must be a loopback address such as 127.0.0.1 (the embedded Redis has no password)", addr)
	}
	return ip.String(), port, nil
}

// process is one redis-server child.
type process struct {
	cmd     *exec.Cmd
	started time.Time
	exited  chan struct{} // closed after Wait
	err     error         // Wait's result, set before exited closes
	out     *logWriter
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) signal(s syscall.Signal) { p.cmd.Process.Signal(s) }

func (p *process) lastLines() string { return p.out.tail() }

// spawn starts bin in its own goroutine locked to one OS thread for the child's whole
// life: Pdeathsig is delivered when the forking thread exits, and the Go runtime may
// otherwise retire that thread while the child runs.
func spawn(bin, dir string, args []string, log *slog.Logger) (*process, error) {
	p := &process{exited: make(chan struct{}), out: &logWriter{log: log}}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Stdout = p.out
		cmd.Stderr = p.out
		cmd.SysProcAttr = sysProcAttr()
		cmd.Env = []string{} // nothing of ours leaks into Redis
		p.cmd = cmd
		p.started = time.Now()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// redisLogLine matches "pid:role dd Mon yyyy hh:mm:ss.mmm <level> message".
var redisLogLine = regexp.MustCompile(`^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ ([.\-*#]) (.*)$`)

// logWriter forwards redis-server's output to slog at debug level, line by line, and
// keeps the last lines: a failed start or a crash reports them at warn level instead,
// so Redis's start-up advice (overcommit_memory, TCP backlog) is not noise on every run.
type logWriter struct {
	log     *slog.Logger
	mu      sync.Mutex
	partial []byte
	last    []string
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, b...)
	for {
		i := strings.IndexByte(string(w.partial), '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.partial[:i]), "\r")
		w.partial = w.partial[i+1:]
		if strings.TrimSpace(line) == "" {
			continue
		}
		msg := line
		if m := redisLogLine.FindStringSubmatch(line); m != nil {
			msg = m[2]
		}
		w.log.Debug("redis-server: " + msg)
		w.last = append(w.last, msg)
		if len(w.last) > 5 {
			w.last = w.last[1:]
		}
	}
	if len(w.partial) > 64<<10 { // a line that never ends is not worth keeping
		w.partial = w.partial[:0]
	}
	return len(b), nil
}

func (w *logWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.last, " | ")
}
