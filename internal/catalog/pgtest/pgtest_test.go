package pgtest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestStartGivesFreshDatabases(t *testing.T) {
	began := time.Now()
	a := Start(t)
	t.Logf("cluster up and first database created in %v", time.Since(began))
	began = time.Now()
	b := Start(t)
	t.Logf("second database in %v", time.Since(began))
	if a.URL() == b.URL() || !strings.HasPrefix(a.URL(), "postgres://") {
		t.Fatalf("urls %q %q", a.URL(), b.URL())
	}
	ctx := context.Background()
	dbA, err := sql.Open("pgx", a.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer dbA.Close()
	if _, err := dbA.ExecContext(ctx, `CREATE TABLE only_in_a (v TEXT); INSERT INTO only_in_a VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := dbA.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil || name != a.Database() {
		t.Fatalf("current_database %q %v, want %q", name, err, a.Database())
	}
	dbB, err := sql.Open("pgx", b.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer dbB.Close()
	var n int
	err = dbB.QueryRowContext(ctx, `SELECT count(*) FROM only_in_a`).Scan(&n)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("table of database a seen in b: %v", err)
	}
	if _, err := os.Stat(theServer.dir); err != nil {
		t.Fatal(err)
	}
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("uses", func(t *testing.T) { name = Start(t).Database() })
	var n int
	if err := theServer.admin.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database %s left behind: %d %v", name, n, err)
	}
}

// The cluster must not outlive a test process that is killed outright: the child
// process below starts one, reports where it lives and waits to be killed.
func TestClusterGoneWhenTestProcessKilled(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		s := Start(t)
		fmt.Printf("DIR=%s URL=%s\n", theServer.dir, s.URL())
		time.Sleep(time.Minute)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterGoneWhenTestProcessKilled$", "-test.v")
	cmd.Env = append(os.Environ(), "PGTEST_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var dir, url string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "DIR=%s URL=%s", &dir, &url); err == nil {
			break
		}
	}
	if dir == "" {
		t.Fatal("child printed no cluster directory")
	}
	db, err := sql.Open("pgx", url+"&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxIdleConns(0)
	if err := db.Ping(); err != nil {
		t.Fatalf("child's cluster not reachable: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, statErr := os.Stat(dir)
		pingErr := db.Ping()
		if os.IsNotExist(statErr) && pingErr != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the test process died: directory %s: %v; server answers: %v", dir, statErr, pingErr == nil)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
