package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"
)

// reserved is the local store's own top-level folder: temp files being written and
// content-type sidecars. Keys under it are refused so an object can never overwrite
// the store's bookkeeping.
const (
	reserved = ".classcast"
	tmpDir   = reserved + "/tmp"
	metaDir  = reserved + "/meta"
)

// staleTemp is how old an abandoned temp file (a Put cut off by a crash) must be
// before NewLocal removes it; younger ones may belong to another process writing now.
const staleTemp = time.Hour

// Local is a Store in a directory: the object "a/b/c.m4s" is the file DIR/a/b/c.m4s,
// so the tree can be inspected, backed up and served with ordinary tools. Every access
// goes through an os.Root, so no key (and no symlink planted in the tree) reaches a
// file outside DIR.
//
// A content type other than the extension default is kept in a sidecar file under
// DIR/.classcast/meta. A key cannot be both an object and a folder of other objects
// ("a/b" and "a/b/c"), which a filesystem cannot represent; such a Put fails.
type Local struct {
	dir  string
	root *os.Root
}

// NewLocal opens (creating if needed) the store in dir.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("storage: local directory is empty")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create local directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: open local directory: %w", err)
	}
	l := &Local{dir: dir, root: root}
	if err := root.MkdirAll(tmpDir, 0o755); err != nil {
		root.Close()
		return nil, fmt.Errorf("storage: create %s in %s: %w", tmpDir, dir, err)
	}
	l.removeStaleTemp()
	return l, nil
}

// Dir is the directory the store lives in.
func (l *Local) Dir() string { return l.dir }

// Close releases the directory handle. The store must not be used afterwards.
func (l *Local) Close() error { return l.root.Close() }

func (l *Local) removeStaleTemp() {
	entries, err := fs.ReadDir(l.root.FS(), tmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			_ = l.root.Remove(tmpDir + "/" + e.Name())
		}
	}
}

// checkKey is ValidKey plus the local store's reserved folder.
func checkKey(key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if key == reserved || strings.HasPrefix(key, reserved+"/") {
		return fmt.Errorf("%w %q: %s/ is reserved by the local store", ErrInvalidKey, key, reserved)
	}
	return nil
}

// Put implements Store: the bytes go to a temp file which is synced and then renamed
// over the key, so a reader sees the old object or the new one, never a mix.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	tmp := tmpDir + "/" + rand.Text()
	f, err := l.root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("storage: put %q: %w", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			_ = l.root.Remove(tmp)
		}
	}()
	if err := copyExact(f, &ctxReader{ctx: ctx, r: r}, size); err != nil {
		return fmt.Errorf("storage: put %q: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storage: put %q: sync: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storage: put %q: %w", key, err)
	}
	if err := l.writeMeta(key, contentType); errors.Is(err, syscall.ENAMETOOLONG) {
		return fmt.Errorf("storage: put %q: %w: a segment is longer than this filesystem allows (255 bytes)", key, ErrInvalidKey)
	} else if err != nil {
		return fmt.Errorf("storage: put %q: content type: %w", key, err)
	}
	if err := l.rename(tmp, key); err != nil {
		return fmt.Errorf("storage: put %q: %w", key, err)
	}
	committed = true
	l.syncDir(path.Dir(key))
	return nil
}

// rename moves tmp to key, creating the folders on the way. A concurrent Delete may
// prune a folder between MkdirAll and Rename; that is retried a few times.
func (l *Local) rename(tmp, key string) error {
	var err error
	for range 5 {
		if fi, serr := l.root.Lstat(key); serr == nil && fi.IsDir() {
			return fmt.Errorf("the key is a folder holding other objects")
		}
		if dir := path.Dir(key); dir != "." {
			if err = l.root.MkdirAll(dir, 0o755); err != nil {
				if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("a parent of the key is an object, not a folder: %w", err)
				}
				continue
			}
		}
		if err = l.root.Rename(tmp, key); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

// syncDir makes a rename durable; failure only weakens durability, so it is ignored.
func (l *Local) syncDir(dir string) {
	if d, err := l.root.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// writeMeta records a content type that differs from the key's default, or removes a
// stale record. It runs before the data rename, so the type never lags the data.
func (l *Local) writeMeta(key, contentType string) error {
	name := metaDir + "/" + key
	if contentType == "" || contentType == DefaultContentType(key) {
		if err := l.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := l.root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	tmp := tmpDir + "/" + rand.Text()
	if err := l.root.WriteFile(tmp, []byte(contentType), 0o644); err != nil {
		return err
	}
	if err := l.root.Rename(tmp, name); err != nil {
		_ = l.root.Remove(tmp)
		return err
	}
	return nil
}

func (l *Local) contentType(key string) string {
	b, err := l.root.ReadFile(metaDir + "/" + key)
	if err != nil || len(b) == 0 {
		return DefaultContentType(key)
	}
	return string(b)
}

func (l *Local) info(key string, fi fs.FileInfo) Info {
	return Info{
		Key:         key,
		Size:        fi.Size(),
		ContentType: l.contentType(key),
		ModTime:     fi.ModTime(),
		ETag:        fmt.Sprintf("%x-%x", fi.ModTime().UnixNano(), fi.Size()),
	}
}

// notFound maps "no such file" (or a parent that is a file) to ErrNotFound.
func notFound(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("storage: %s %q: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("storage: %s %q: %w", op, key, err)
}

// Get implements Store.
func (l *Local) Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	f, err := l.root.Open(key)
	if err != nil {
		return nil, Info{}, notFound("get", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("storage: get %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, Info{}, fmt.Errorf("storage: get %q: %w", key, ErrNotFound)
	}
	info := l.info(key, fi)
	if rng == nil {
		return f, info, nil
	}
	start, n, err := rng.resolve(fi.Size())
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("storage: get %q: %w", key, err)
	}
	return readCloser{io.NewSectionReader(f, start, n), f}, info, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	fi, err := l.root.Stat(key)
	if err != nil {
		return Info{}, notFound("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("storage: stat %q: %w", key, ErrNotFound)
	}
	return l.info(key, fi), nil
}

// List implements Store.
func (l *Local) List(ctx context.Context, prefix string) ([]Info, error) {
	dir, err := folder(prefix)
	if err != nil {
		return nil, err
	}
	start := "."
	if dir != "" {
		start = strings.TrimSuffix(dir, "/")
	}
	var out []Info
	err = fs.WalkDir(l.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
				return fs.SkipAll // nothing under this prefix
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p == reserved {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || p == start {
			return nil // symlinks and such are not objects; a file at start is not under it
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed while we walked
		}
		out = append(out, Info{
			Key:     p,
			Size:    fi.Size(),
			ModTime: fi.ModTime(),
			ETag:    fmt.Sprintf("%x-%x", fi.ModTime().UnixNano(), fi.Size()),
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list %q: %w", prefix, err)
	}
	// WalkDir orders names per folder; keys order differently ("a.txt" < "a/b").
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := l.root.Lstat(key)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("storage: delete %q: %w", key, err)
	}
	if fi.IsDir() {
		return nil // a folder of other objects: no object by this key
	}
	if err := l.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: delete %q: %w", key, err)
	}
	_ = l.root.Remove(metaDir + "/" + key)
	l.prune(path.Dir(key))
	l.prune(path.Dir(metaDir + "/" + key))
	return nil
}

// prune removes dir and its parents while they are empty, so deleted objects leave no
// folders behind (S3 has none either). Remove refuses a non-empty folder, which stops it.
func (l *Local) prune(dir string) {
	for dir != "." && dir != "/" && dir != metaDir && dir != reserved {
		if err := l.root.Remove(dir); err != nil {
			return
		}
		dir = path.Dir(dir)
	}
}

// DeletePrefix implements Store.
func (l *Local) DeletePrefix(ctx context.Context, prefix string) error {
	dir, err := folder(prefix)
	if err != nil {
		return err
	}
	if dir == "" {
		return fmt.Errorf("storage: delete prefix: refusing an empty prefix (the whole store)")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir = strings.TrimSuffix(dir, "/")
	if dir == reserved {
		return fmt.Errorf("%w %q: %s/ is reserved by the local store", ErrInvalidKey, prefix, reserved)
	}
	for _, d := range []string{dir, metaDir + "/" + dir} {
		fi, err := l.root.Lstat(d)
		if err != nil || !fi.IsDir() {
			continue // nothing there, or an object named like the folder: not under it
		}
		if err := l.root.RemoveAll(d); err != nil {
			return fmt.Errorf("storage: delete prefix %q: %w", prefix, err)
		}
		l.prune(path.Dir(d))
	}
	return nil
}

// URL implements Store: a directory has no URLs of its own.
func (l *Local) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return "", ErrNoURL
}

// copyExact copies r to w; with size >= 0 the reader must hold exactly size bytes.
func copyExact(w io.Writer, r io.Reader, size int64) error {
	buf := make([]byte, 256<<10)
	if size < 0 {
		_, err := io.CopyBuffer(w, r, buf)
		return err
	}
	n, err := io.CopyBuffer(w, io.LimitReader(r, size), buf)
	if err != nil {
		return err
	}
	if n < size {
		return fmt.Errorf("the reader ended after %d of %d bytes", n, size)
	}
	var one [1]byte
	if m, _ := io.ReadFull(r, one[:]); m > 0 {
		return fmt.Errorf("the reader holds more than the %d bytes announced", size)
	}
	return nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type readCloser struct {
	io.Reader
	io.Closer
}
