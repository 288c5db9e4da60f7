package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// benchCatalog measures catalog search latency with 100,000 lessons on SQLite and on
// PostgreSQL and returns the BENCHMARKS.md section. It runs the catalog package's
// BenchmarkSearch100k with `go test`, because that is where a throwaway PostgreSQL
// (internal/catalog/pgtest) can be started; the benchmark writes its Markdown table to
// the file named by CLASSCAST_BENCH_OUT. Run from the repository root (make bench).
func benchCatalog(ctx context.Context) (markdown string, err error) {
	dir, err := os.MkdirTemp("", "classcast-bench-catalog")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "search.md")
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^$", "-bench", "^BenchmarkSearch100k$",
		"-benchtime", "1x", "-timeout", "30m", "./internal/catalog/")
	cmd.Env = append(os.Environ(), "CLASSCAST_BENCH_OUT="+out)
	cmd.Stderr = os.Stderr
	log.Printf("bench: catalog search with 100,000 lessons (SQLite and PostgreSQL)")
	if b, err := cmd.Output(); err != nil {
		return "", fmt.Errorf("catalog benchmark: %w\n%s", err, b)
	}
	table, err := os.ReadFile(out)
	if err != nil {
		return "", fmt.Errorf("catalog benchmark wrote no table: %w", err)
	}
	var b strings.Builder
	b.WriteString("## Catalog search with 100,000 lessons\n\n")
	b.WriteString("`go test -run '^$' -bench BenchmarkSearch100k -benchtime 1x ./internal/catalog/`: 100,000 generated " +
		"published lessons (Chinese titles, teacher names and three knowledge points each) on the embedded SQLite and " +
		"on PostgreSQL (Debian's server, default settings). Each query is `ListLessons` as the library API calls it " +
		"(the page of 20 and the total count), run 21 times after a warm-up. The substring search is " +
		"`LIKE '%…%'` over one lower-cased column per lesson (title, teacher, knowledge points), a scan: Chinese " +
		"queries are mostly 2–4 characters, too short for trigram indexes.\n\n")
	b.Write(table)
	return b.String(), nil
}
