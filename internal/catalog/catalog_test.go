package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/catalog/pgtest"
)

// backend is a database engine the catalog runs on. Every test that is not about one
// engine runs against all of them (forEachBackend): the embedded SQLite and a real
// PostgreSQL (pgtest, Debian's server).
type backend struct {
	name string
	dsn  func(t *testing.T) string // a fresh, empty database for t
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "sub", "catalog.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Start(t).URL() }},
}

// forEachBackend runs f once per backend as a subtest, with a freshly migrated catalog
// on an empty database; dsn opens that same database again.
func forEachBackend(t *testing.T, f func(t *testing.T, c *Catalog, dsn string)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			f(t, openDSN(t, dsn), dsn)
		})
	}
}

// openDSN opens (and migrates) the catalog at dsn and closes it when the test ends.
func openDSN(t *testing.T, dsn string) *Catalog {
	t.Helper()
	c, err := Open(context.Background(), dsn, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// open is a catalog on the embedded default: SQLite at the default file.
func open(t *testing.T) (*Catalog, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "sub", "catalog.db")
	c, err := Open(context.Background(), "", file, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, file
}

func TestAssetLifecycle(t *testing.T) { forEachBackend(t, testAssetLifecycle) }

func testAssetLifecycle(t *testing.T, c *Catalog, dsn string) {
	ctx := context.Background()
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	a := Asset{ID: "r20261123t132700-abc123", Kind: KindRecording, StreamPath: "school-a/room-101", State: StateRecording, StartedAt: start}
	if err := c.CreateAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	// Announcing it again (a recovered recording) keeps the row as it is.
	if err := c.CreateAsset(ctx, Asset{ID: a.ID, Kind: KindRecording, State: StateQueued}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Asset(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateRecording || got.StreamPath != a.StreamPath || !got.StartedAt.Equal(start) {
		t.Fatalf("got %+v", got)
	}
	if err := c.SetRecorded(ctx, a.ID, start.Add(45*time.Minute), 45*time.Minute, "sources/x/recording.mp4"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetQueued(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.SetProgress(ctx, a.ID, "ladder", 142); err != nil {
		t.Fatal(err)
	}
	got, _ = c.Asset(ctx, a.ID)
	if got.State != StateProcessing || got.Step != "ladder" || got.Percent != 100 || got.Duration != 45*time.Minute || got.SourceKey == "" {
		t.Fatalf("processing: %+v", got)
	}
	r := []Rendition{{Name: "720p", Width: 1280, Height: 720, Bandwidth: 2_800_000, Codecs: "avc1.4d401f,mp4a.40.2"}}
	if err := c.SetReady(ctx, a.ID, 45*time.Minute+time.Second, 1280, 720, r); err != nil {
		t.Fatal(err)
	}
	// A task handed back after the asset became ready must not hide it again.
	if err := c.SetQueued(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = c.Asset(ctx, a.ID)
	if got.State != StateReady || len(got.Renditions) != 1 || got.Renditions[0] != r[0] || got.Width != 1280 {
		t.Fatalf("ready: %+v", got)
	}

	// The data survive a reopen (migrations are not applied twice).
	c.Close()
	c2 := openDSN(t, dsn)
	if got, err := c2.Asset(ctx, a.ID); err != nil || got.State != StateReady {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
}

func TestErrors(t *testing.T) { forEachBackend(t, testErrors) }

func testErrors(t *testing.T, c *Catalog, _ string) {
	ctx := context.Background()
	if _, err := c.Asset(ctx, "nope-123"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing asset: %v", err)
	}
	if err := c.SetFailed(ctx, "nope-123", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	for _, id := range []string{"", "../etc", "A-upper", "a/b", "ab"} {
		if err := c.CreateAsset(ctx, Asset{ID: id, Kind: KindUpload, State: StateQueued}); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
}

func TestUnsupportedURL(t *testing.T) {
	_, err := Open(context.Background(), "mysql://x", "", slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), `unsupported url scheme "mysql"`) {
		t.Fatalf("mysql: %v", err)
	}
}

func TestListPagingAndConcurrentWriters(t *testing.T) {
	forEachBackend(t, testListPagingAndConcurrentWriters)
}

func testListPagingAndConcurrentWriters(t *testing.T, c *Catalog, _ string) {
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			state := StateReady
			if i%4 == 0 {
				state = StateFailed
			}
			errs <- c.CreateAsset(ctx, Asset{ID: "u" + time.Duration(i).String() + "-item", Kind: KindUpload, State: state, CreatedAt: base.Add(time.Duration(i) * time.Second)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	page, total, err := c.ListAssets(ctx, AssetFilter{State: StateReady, Limit: 7, Offset: 7})
	if err != nil {
		t.Fatal(err)
	}
	if total != 30 || len(page) != 7 {
		t.Fatalf("total %d page %d", total, len(page))
	}
	for i := 1; i < len(page); i++ {
		if page[i].CreatedAt.After(page[i-1].CreatedAt) {
			t.Fatal("not newest first")
		}
		if page[i].State != StateReady {
			t.Fatal("filter ignored")
		}
	}
	all, total, _ := c.ListAssets(ctx, AssetFilter{Limit: 1000})
	if total != 40 || len(all) != 40 {
		t.Fatalf("all: %d %d", total, len(all))
	}
}

func TestEmbeddedDefault(t *testing.T) {
	c, file := open(t)
	if c.dialect != "sqlite" {
		t.Fatalf("dialect %q", c.dialect)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("default file not created with its directory: %v", err)
	}
}

// Reopening applies nothing twice, and two nodes that start at once on an empty
// database both come up with the full schema: one migrates, the other waits for it.
func TestMigrationsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *Catalog, dsn string) {
		ctx := context.Background()
		files, err := fs.Glob(migrations, "migrations/*.sql")
		if err != nil || len(files) == 0 {
			t.Fatalf("migrations: %v %v", files, err)
		}
		want := len(files)
		version := func(c *Catalog) int {
			t.Helper()
			var v int
			if err := c.db.QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version`).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := version(c); v != want {
			t.Fatalf("schema version %d, want %d (one per file in migrations/)", v, want)
		}
		if err := c.CreateAsset(ctx, Asset{ID: "kept-1", Kind: KindUpload, State: StateQueued}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		var wg sync.WaitGroup
		opened := make([]*Catalog, 3)
		for i := range opened {
			wg.Go(func() {
				c, err := Open(ctx, dsn, "", slog.New(slog.DiscardHandler))
				if err != nil {
					t.Error(err)
					return
				}
				opened[i] = c
			})
		}
		wg.Wait()
		for _, c := range opened {
			if c == nil {
				t.FailNow()
			}
			defer c.Close()
			if v := version(c); v != want {
				t.Fatalf("after reopen: schema version %d, want %d", v, want)
			}
			if _, err := c.Asset(ctx, "kept-1"); err != nil {
				t.Fatalf("after reopen: %v", err)
			}
		}
		var applied int
		if err := opened[0].db.QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil || applied != want {
			t.Fatalf("%d migrations recorded (%v), want %d: one was applied twice", applied, err, want)
		}
	})
}

// Nodes that start at once on an empty database all come up with the full schema: on
// PostgreSQL one takes the migration lock and the others wait for it; SQLite serializes
// the writers with its file lock and busy timeout.
func TestConcurrentFirstOpen(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			var wg sync.WaitGroup
			errs := make(chan error, 3)
			for i := range 3 {
				wg.Go(func() {
					c, err := Open(context.Background(), dsn, "", slog.New(slog.DiscardHandler))
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					errs <- c.CreateAsset(context.Background(), Asset{ID: fmt.Sprintf("node-%d", i), Kind: KindUpload, State: StateQueued})
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			c := openDSN(t, dsn)
			if _, total, err := c.ListAssets(context.Background(), AssetFilter{}); err != nil || total != 3 {
				t.Fatalf("after concurrent first open: %d assets, %v", total, err)
			}
		})
	}
}

func TestNumberPlaceholders(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`},
		{`SELECT '?' FROM t WHERE x = ?`, `SELECT '?' FROM t WHERE x = $1`},
		{`SELECT 'it''s ?', ? FROM "odd?name" WHERE z = ?`, `SELECT 'it''s ?', $1 FROM "odd?name" WHERE z = $2`},
		{`UPDATE t SET a = ?, b = '' WHERE c = ?`, `UPDATE t SET a = $1, b = '' WHERE c = $2`},
		{`no placeholders`, `no placeholders`},
		{`ten ? ? ? ? ? ? ? ? ? ?`, `ten $1 $2 $3 $4 $5 $6 $7 $8 $9 $10`},
	} {
		if got := numberPlaceholders(tc.in); got != tc.want {
			t.Errorf("numberPlaceholders(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// A "?" inside a string literal reaches the database as text on both engines, next to
// real placeholders.
func TestQuestionMarkInLiteral(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *Catalog, _ string) {
		ctx := context.Background()
		if err := c.CreateAsset(ctx, Asset{ID: "lit-1", Kind: KindUpload, Title: "why?", State: StateQueued}); err != nil {
			t.Fatal(err)
		}
		var title, lit string
		err := c.db.QueryRowContext(ctx, c.q(`SELECT title, 'what''s this?' FROM assets WHERE id = ? AND title = ?`), "lit-1", "why?").Scan(&title, &lit)
		if err != nil || title != "why?" || lit != "what's this?" {
			t.Fatalf("got %q %q %v", title, lit, err)
		}
	})
}

// A PostgreSQL that cannot be reached fails Open quickly with an error that names the
// server but not the password.
func TestPostgresUnreachable(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	check := func(t *testing.T, err error, took time.Duration, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatal("Open succeeded")
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cret") {
			t.Errorf("password in error: %s", msg)
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("error %q does not mention %q", msg, w)
			}
		}
		if took > 5*time.Second {
			t.Errorf("took %v", took)
		}
		t.Logf("%v: %s", took.Round(time.Millisecond), msg)
	}
	open := func(ctx context.Context, dsn string) (time.Duration, error) {
		began := time.Now()
		c, err := Open(ctx, dsn, "", log)
		if err == nil {
			c.Close()
		}
		return time.Since(began), err
	}

	t.Run("refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		took, err := open(ctx, "postgres://classcast:s3cret@"+addr+"/classcast?sslmode=disable")
		check(t, err, took, "catalog: connect to postgres://classcast:xxxxx@"+addr, "refused")
		took, err = open(ctx, "postgres://"+addr+"/classcast?user=classcast&password=s3cret")
		check(t, err, took, "refused")
	})

	// A server that accepts connections and never answers (a firewall that drops, a
	// wrong service): the connect timeout ends the wait.
	silent := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var conns []net.Conn
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			l.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
		return l.Addr().String()
	}
	t.Run("silent-connect_timeout", func(t *testing.T) {
		took, err := open(ctx, "postgres://classcast:s3cret@"+silent(t)+"/classcast?connect_timeout=1")
		check(t, err, took, "timeout")
	})
	t.Run("silent-default-timeout", func(t *testing.T) {
		old := pgConnectTimeout
		pgConnectTimeout = time.Second
		defer func() { pgConnectTimeout = old }()
		took, err := open(ctx, "postgres://classcast:s3cret@"+silent(t)+"/classcast")
		check(t, err, took, "timeout")
	})
	t.Run("silent-context-deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		took, err := open(ctx, "postgres://classcast:s3cret@"+silent(t)+"/classcast")
		check(t, err, took)
	})
	t.Run("malformed", func(t *testing.T) {
		took, err := open(ctx, "postgres://classcast:s3cret@127.0.0.1:notaport/classcast")
		check(t, err, took, "catalog url: invalid port")
		took, err = open(ctx, "postgres://classcast:s3cret@127.0.0.1/classcast?sslmode=sometimes")
		check(t, err, took, "catalog: ", "sslmode")
	})
	t.Run("no-such-database", func(t *testing.T) {
		dsn := strings.Replace(pgtest.Start(t).URL(), "/t_", "/missing_", 1)
		took, err := open(ctx, dsn)
		check(t, err, took, "does not exist")
	})
}
