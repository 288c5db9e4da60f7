package ladder

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// outputs writes files under one directory and remembers each one, so a
// failed run can remove exactly what it wrote and a successful one can list
// it. Safe for concurrent use.
type outputs struct {
	root string

	mu      sync.Mutex
	files   []string // relative, slash-separated, in write order
	dirs    []string // directories created, absolute, in creation order
	written map[string]bool
}

// newOutputs prepares root, creating it (and remembering that) if needed.
func newOutputs(root string) (*outputs, error) {
	o := &outputs{root: root, written: map[string]bool{}}
	if err := o.mkdirAbs(root); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *outputs) mkdirAbs(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("ladder: %s is not a directory", dir)
		}
		return nil
	}
	// Create (and remember) each missing level, outermost first.
	if parent := filepath.Dir(dir); parent != dir {
		if err := o.mkdirAbs(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("ladder: %w", err)
	}
	o.mu.Lock()
	o.dirs = append(o.dirs, dir)
	o.mu.Unlock()
	return nil
}

// mkdir creates the directory rel under the root.
func (o *outputs) mkdir(rel string) error {
	return o.mkdirAbs(filepath.Join(o.root, filepath.FromSlash(rel)))
}

// write stores data as the file rel (slash-separated, under the root).
func (o *outputs) write(rel string, data []byte) error {
	o.mu.Lock()
	if !o.written[rel] {
		o.written[rel] = true
		o.files = append(o.files, rel)
	}
	o.mu.Unlock()
	if err := os.WriteFile(filepath.Join(o.root, filepath.FromSlash(rel)), data, 0o644); err != nil {
		return fmt.Errorf("ladder: writing %s: %w", rel, err)
	}
	return nil
}

// list returns the files written, sorted.
func (o *outputs) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := slices.Clone(o.files)
	slices.Sort(l)
	return l
}

// removeAll deletes every file written and every directory created,
// leaving what was there before untouched.
func (o *outputs) removeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, f := range o.files {
		os.Remove(filepath.Join(o.root, filepath.FromSlash(f)))
	}
	for i := len(o.dirs) - 1; i >= 0; i-- {
		// Only empty directories go: a directory someone else filled
		// meanwhile stays.
		os.Remove(o.dirs[i])
	}
	o.files, o.dirs, o.written = nil, nil, map[string]bool{}
}
