// Package outdir writes a task's output files under one directory and remembers each
// file and directory it made, so a failed run removes exactly what it wrote (and
// nothing that was there before) and a successful one lists what to publish. The
// ladder and the clip cutter both write this way.
package outdir

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Dir is one output directory. Safe for concurrent use.
type Dir struct {
	root string

	mu      sync.Mutex
	files   []string // relative, slash-separated, in write order
	dirs    []string // directories created, absolute, in creation order
	written map[string]bool
}

// New prepares root, creating it (and remembering each level it made) if needed.
func New(root string) (*Dir, error) {
	d := &Dir{root: root, written: map[string]bool{}}
	if err := d.mkdirAbs(root); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Dir) mkdirAbs(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	// Create (and remember) each missing level, outermost first.
	if parent := filepath.Dir(dir); parent != dir {
		if err := d.mkdirAbs(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return err
	}
	d.mu.Lock()
	d.dirs = append(d.dirs, dir)
	d.mu.Unlock()
	return nil
}

// Mkdir creates the directory rel (slash-separated) under the root.
func (d *Dir) Mkdir(rel string) error {
	return d.mkdirAbs(d.path(rel))
}

// add remembers rel as written and returns its path on disk.
func (d *Dir) add(rel string) string {
	d.mu.Lock()
	if !d.written[rel] {
		d.written[rel] = true
		d.files = append(d.files, rel)
	}
	d.mu.Unlock()
	return d.path(rel)
}

func (d *Dir) path(rel string) string { return filepath.Join(d.root, filepath.FromSlash(rel)) }

// Write stores data as the file rel.
func (d *Dir) Write(rel string, data []byte) error {
	if err := os.WriteFile(d.add(rel), data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	return nil
}

// Create opens the file rel for writing (truncated), for output streamed in.
func (d *Dir) Create(rel string) (*os.File, error) {
	return os.Create(d.add(rel))
}

// List returns the files written, sorted.
func (d *Dir) List() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := slices.Clone(d.files)
	slices.Sort(l)
	return l
}

// RemoveAll deletes every file written and every directory created, leaving what was
// there before untouched.
func (d *Dir) RemoveAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range d.files {
		os.Remove(d.path(f))
	}
	for i := len(d.dirs) - 1; i >= 0; i-- {
		// Only empty directories go: a directory someone else filled meanwhile stays.
		os.Remove(d.dirs[i])
	}
	d.files, d.dirs, d.written = nil, nil, map[string]bool{}
}
