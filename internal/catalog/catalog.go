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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
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
	file    string // the SQLite file
	log     *slog.Logger
}

// Open opens the catalog at dsn and applies pending migrations. An empty dsn or a
// sqlite:// URL selects SQLite at that file (created with its directory); a postgres://
// or postgresql:// URL (libpq syntax, e.g. postgres://user:pass@host:5432/db?sslmode=disable)
// selects PostgreSQL, which several nodes can share. Without connect_timeout in the URL a
// PostgreSQL connection attempt gives up after 10 s, so a wrong host fails start-up
// instead of hanging it.
func Open(ctx context.Context, dsn, defaultFile string, log *slog.Logger) (*Catalog, error) {
	if dsn == "" {
		dsn = "sqlite://" + defaultFile
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// Not the *url.Error itself: it quotes the whole URL, password included.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
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
		c.dialect, c.file = "sqlite", file
	case "postgres", "postgresql":
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			// pgx masks the password in its parse errors.
			return nil, fmt.Errorf("catalog: %w", err)
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = pgConnectTimeout
		}
		c.db = stdlib.OpenDB(*cfg)
		// Every node holds at most this many connections, so a district's nodes together
		// stay under PostgreSQL's max_connections (100 by default). Idle connections are
		// closed after a while, and every connection is renewed hourly so a failover or a
		// pooler in front of the server spreads the load again.
		c.db.SetMaxOpenConns(pgMaxOpenConns)
		c.db.SetMaxIdleConns(pgMaxIdleConns)
		c.db.SetConnMaxIdleTime(5 * time.Minute)
		c.db.SetConnMaxLifetime(time.Hour)
		c.dialect = "postgres"
	default:
		return nil, fmt.Errorf("catalog: unsupported url scheme %q (want sqlite:// or postgres://)", u.Scheme)
	}
	if c.dialect == "sqlite" {
		// goose has no lock for SQLite, and the first connection to a new file switches
		// it to WAL, which SQLite refuses at once (SQLITE_BUSY, no busy wait) while
		// another process does the same. A file lock beside the database lets the server
		// and a worker started at the same time on a new data directory take turns for
		// the first connection and the migrations.
		unlock, err := lockFile(ctx, c.file+".migrate.lock")
		if err != nil {
			c.db.Close()
			return nil, fmt.Errorf("catalog: %w", err)
		}
		defer unlock()
	}
	if err := c.db.PingContext(ctx); err != nil {
		c.db.Close()
		return nil, fmt.Errorf("catalog: connect to %s: %w", redact(u), err)
	}
	if err := c.migrate(ctx); err != nil {
		c.db.Close()
		return nil, err
	}
	return c, nil
}

// redact masks the password of u for messages, in the user part or as libpq's
// ?password= parameter.
func redact(u *url.URL) string {
	r := *u
	if q := r.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		r.RawQuery = q.Encode()
	}
	return r.Redacted()
}

// PostgreSQL connection settings; see Open.
const (
	pgMaxOpenConns = 20
	pgMaxIdleConns = 5
)

// pgConnectTimeout bounds a connection attempt whose URL sets no connect_timeout (a
// variable so a test can shorten it).
var pgConnectTimeout = 10 * time.Second

// migrationLockID names the PostgreSQL advisory lock that nodes starting at the same time
// take in turn, so only one of them applies a migration. It is our own number rather than
// goose's default, so another goose-migrated application in the same database does not
// wait on ours.
const migrationLockID int64 = 0x636c617373636173 // "classcas"

func (c *Catalog) migrate(ctx context.Context) error {
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if c.dialect == "postgres" {
		dialect = goose.DialectPostgres
		// Probe the lock every second for up to 5 minutes: a node that starts while
		// another migrates waits for it instead of failing or running the same DDL.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("catalog migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, c.db, mustSub(migrations, "migrations"), opts...)
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

// q rewrites the "?" placeholders that every query here is written with into the
// dialect's own: SQLite takes "?" as it is, PostgreSQL wants $1, $2, ...
//
// A "?" inside a standard quoted string literal ('...', where a quote written twice
// stands for one) or a quoted identifier ("...") is left alone. Beyond that the rule for
// queries in this package is: "?" is a placeholder and nothing else, so no "?" in SQL
// comments, no E'...' strings with backslash escapes, and none of PostgreSQL's JSON
// operators ?, ?| and ?& (use jsonb_exists() and friends if ever needed).
func (c *Catalog) q(query string) string {
	if c.dialect != "postgres" {
		return query
	}
	return numberPlaceholders(query)
}

func numberPlaceholders(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte // the quote we are inside, or 0
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case quote != 0:
			// A doubled quote inside a quoted run escapes itself: both bytes are written
			// and the run goes on, which this toggling does by leaving and re-entering.
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// queryAll runs a query and scans every row with scan; what names the rows in errors.
func queryAll[T any](ctx context.Context, c *Catalog, what, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := c.db.QueryContext(ctx, c.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list %s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: list %s: %w", what, err)
	}
	return out, nil
}

// listPage counts the rows a filtered listing matches and returns one page of them:
// from is the FROM/WHERE part shared by both queries, order the ORDER BY list.
func listPage[T any](ctx context.Context, c *Catalog, what, columns, from, order string, args []any, limit, offset int, scan func(scanner) (T, error)) ([]T, int, error) {
	var total int
	if err := c.db.QueryRowContext(ctx, c.q(`SELECT COUNT(*) `+from), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: count %s: %w", what, err)
	}
	limit, offset = page(limit, offset)
	out, err := queryAll(ctx, c, what, `SELECT `+columns+` `+from+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(append([]any(nil), args...), limit, offset), scan)
	return out, total, err
}
