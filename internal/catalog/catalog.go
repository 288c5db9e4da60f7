// Package catalog is classcast's SQL catalog: lessons and their media assets, with
// schema migrations. SQLite (pure Go) is the embedded default; the SQL is kept portable
// so the same statements run on PostgreSQL when several nodes share one catalog.
package catalog

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the embedded default driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned for a missing row.
var ErrNotFound = errors.New("catalog: not found")

// Catalog is an open, migrated catalog database.
type Catalog struct {
	db      *sql.DB
	dialect string // "sqlite" or "postgres"
	log     *slog.Logger
}

// Open opens the catalog at dsn and applies pending migrations. An empty dsn or a
// sqlite:// URL selects SQLite at that file (created with its directory).
func Open(ctx context.Context, dsn, defaultFile string, log *slog.Logger) (*Catalog, error) {
	if dsn == "" {
		dsn = "sqlite://" + defaultFile
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog url: %w", err)
	}
	c := &Catalog{log: log}
	switch u.Scheme {
	case "sqlite":
		file := strings.TrimPrefix(dsn, "sqlite://")
		if i := strings.IndexByte(file, '?'); i >= 0 {
			file = file[:i]
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		// WAL lets a separate worker process on this machine read and write while the
		// server does; busy_timeout makes concurrent writers wait instead of failing.
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		c.db, err = sql.Open("sqlite", "file:"+file+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("catalog: open %s: %w", file, err)
		}
		c.dialect = "sqlite"
	case "postgres", "postgresql":
		return nil, fmt.Errorf("catalog: PostgreSQL is not available in this build yet; leave catalog.url empty for SQLite")
	default:
		return nil, fmt.Errorf("catalog: unsupported url scheme %q", u.Scheme)
	}
	if err := c.db.PingContext(ctx); err != nil {
		c.db.Close()
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if err := c.migrate(ctx); err != nil {
		c.db.Close()
		return nil, err
	}
	return c, nil
}

func (c *Catalog) migrate(ctx context.Context) error {
	dialect := goose.DialectSQLite3
	if c.dialect == "postgres" {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, c.db, mustSub(migrations, "migrations"))
	if err != nil {
		return fmt.Errorf("catalog migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("catalog migrations: %w", err)
	}
	for _, r := range res {
		c.log.Info("catalog migration applied", "version", r.Source.Version, "file", filepath.Base(r.Source.Path), "took", r.Duration)
	}
	return nil
}

// Close closes the database.
func (c *Catalog) Close() error { return c.db.Close() }

// q rewrites "?" placeholders for the dialect.
func (c *Catalog) q(query string) string {
	if c.dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
