// Package pgtest gives tests in other packages a real PostgreSQL: Debian's server binaries
// (make deps installs the postgresql package) run one throwaway cluster per test process,
// started on first use on a free loopback port, and every Start creates a fresh database
// on it that is dropped when the test ends.
//
// The cluster lives in a temporary directory and is stopped, and that directory removed,
// when the test process exits, whether it ends normally, panics on a test timeout or is
// killed: a small shell supervisor receives a signal from the kernel when the test
// process dies (PR_SET_PDEATHSIG) and shuts PostgreSQL down.
//
// PostgreSQL refuses to run as root. When the tests run as root (as they do on our
// machines and in CI), initdb and the server run as the "postgres" system user that the
// Debian package creates (or "nobody" where it is missing).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Server is one fresh database on the test process's PostgreSQL cluster.
type Server struct {
	port int
	name string
}

// URL is postgres://postgres@127.0.0.1:port/<database>?sslmode=disable, the database
// that this Start created. The postgres role is a superuser and needs no password.
func (s *Server) URL() string { return dbURL(s.port, s.name) }

// Database is the name of the database this Start created.
func (s *Server) Database() string { return s.name }

// Start creates an empty database for the test on the shared cluster, starting the
// cluster first if this is the first call in the process, and drops the database when
// the test ends. It fails the test if PostgreSQL is not installed or does not start.
func Start(t testing.TB) *Server {
	t.Helper()
	c, err := shared()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v%s", name, err, c.logTail())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends sessions a test left open (a catalog it did not close).
		if _, err := c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return &Server{port: c.port, name: name}
}

func dbURL(port int, name string) string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/" + name + "?sslmode=disable"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// cluster is the one PostgreSQL server of this test process.
type cluster struct {
	dir   string // temporary directory: data/, the socket, postgres.log
	port  int
	admin *sql.DB // to the "postgres" database, for CREATE/DROP DATABASE
	done  chan struct{}
}

var (
	once      sync.Once
	theServer *cluster
	theErr    error
)

// shared starts the cluster on first use. A failure is kept, so the tests after the
// first one fail at once with the same message instead of each waiting for it again.
func shared() (*cluster, error) {
	once.Do(func() {
		theServer, theErr = startCluster()
		if theErr == nil {
			select {
			case <-theServer.done:
				theErr = errors.New("postgres exited right after starting" + theServer.logTail())
			default:
			}
		}
	})
	if theErr != nil {
		return nil, theErr
	}
	select {
	case <-theServer.done:
		return nil, errors.New("the test cluster's postgres has exited" + theServer.logTail())
	default:
	}
	return theServer, nil
}

// binDir finds the directory holding initdb and postgres: Debian's newest
// /usr/lib/postgresql/<version>/bin, or else the PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVer := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil || v <= bestVer {
			continue
		}
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			best, bestVer = d, v
		}
	}
	if best != "" {
		return best, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil && isExecutable(filepath.Join(filepath.Dir(p), "postgres")) {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, postgres) not found under /usr/lib/postgresql/*/bin or on PATH: run make deps (needs postgresql)")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// runAs is who PostgreSQL runs as: nil (this process's user) unless we are root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, and neither the postgres nor the nobody user exists to run PostgreSQL as: run make deps (needs postgresql)")
}

// childEnv keeps the PG* variables of the test's environment (PGHOST, PGPORT, ...) away
// from initdb and the server.
var childEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}

func startCluster() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "classcast-pgtest-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	// trust authentication, the C locale and no fsync: a throwaway cluster that starts
	// in about a second.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Env = childEnv
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, strings.TrimSpace(string(out)))
	}
	// Another process may take a port found free before postgres binds it: try again
	// on a new port a few times.
	for range 5 {
		var c *cluster
		c, err = startServer(bin, dir, cred)
		if err == nil {
			return c, nil
		}
		if !strings.Contains(err.Error(), "already in use") {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// supervisor runs postgres and stops it (fast shutdown) and removes the cluster's
// directory when it receives SIGTERM, which the kernel sends when the test process dies.
// If postgres exits by itself the directory stays for the test process to read the log.
const supervisor = `
pid=
stop() {
	trap '' TERM INT HUP
	if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null; wait "$pid"; fi
	rm -rf "$dir"
	exit 0
}
trap stop TERM INT HUP
bin=$1; dir=$2; shift 2
"$bin/postgres" -D "$dir/data" "$@" >"$dir/postgres.log" 2>&1 &
pid=$!
wait "$pid"
`

func startServer(bin, dir string, cred *syscall.Credential) (*cluster, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, port: port, done: make(chan struct{})}
	cmd := exec.Command("/bin/sh", "-c", supervisor, "pgtest-supervisor", bin, dir,
		"-p", strconv.Itoa(port),
		"-k", dir, // the unix socket stays in our directory, not /var/run/postgresql
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "autovacuum=off",
		"-c", "max_connections=200",
		"-c", "shared_buffers=32MB",
		"-c", "dynamic_shared_memory_type=mmap", // in data/, so it goes with the directory
		"-c", "timezone=UTC",
		"-c", "log_min_messages=warning",
	)
	cmd.Env = childEnv
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr(cred)
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
		cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c.admin, err = sql.Open("pgx", dbURL(port, "postgres")+"&connect_timeout=5")
	if err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	c.admin.SetMaxOpenConns(4)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-c.done:
			c.admin.Close()
			return nil, fmt.Errorf("postgres exited: %s", c.log())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = c.admin.PingContext(ctx)
		cancel()
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			// SIGTERM makes the supervisor stop postgres and remove the directory.
			cmd.Process.Signal(syscall.SIGTERM)
			<-c.done
			c.admin.Close()
			return nil, fmt.Errorf("postgres did not accept connections within 30 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
	return strings.TrimSpace(string(b))
}

// logTail is the end of the server log, for error messages.
func (c *cluster) logTail() string {
	lines := strings.Split(c.log(), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	lines = slices.DeleteFunc(lines, func(s string) bool { return s == "" })
	if len(lines) == 0 {
		return ""
	}
	return "\npostgres log:\n" + strings.Join(lines, "\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
