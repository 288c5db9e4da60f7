package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/config"
)

func TestLocalContract(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	testStore(t, l)
}

// TestLocalPathTraversal: no key, prefix or planted symlink reaches outside the store.
func TestLocalPathTraversal(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	storeDir := filepath.Join(base, "store")
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	os.WriteFile(filepath.Join(base, "secret"), []byte("secret"), 0o644)
	l, err := NewLocal(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := t.Context()

	for _, k := range []string{"../secret", "../outside/secret", "a/../../secret", "/etc/passwd",
		filepath.Join(base, "secret"), "..\\secret", "a/..\\..\\secret"} {
		if rc, _, err := l.Get(ctx, k, nil); err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Get(%q) read %q", k, b)
		} else if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Get(%q) = %v, want ErrInvalidKey", k, err)
		}
		if err := l.Put(ctx, k, strings.NewReader("pwned"), -1, ""); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", k, err)
		}
		if err := l.Delete(ctx, k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", k, err)
		}
		if err := l.DeletePrefix(ctx, k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("DeletePrefix(%q) = %v, want ErrInvalidKey", k, err)
		}
	}

	// A symlink someone planted in the tree must not lead out of it either.
	if err := os.Symlink(outside, filepath.Join(storeDir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Get(ctx, "link/secret", nil); err == nil {
		t.Error("Get through a symlink out of the store succeeded")
	}
	if err := l.Put(ctx, "link/new", strings.NewReader("pwned"), -1, ""); err == nil {
		t.Error("Put through a symlink out of the store succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Error("Put wrote a file outside the store")
	}
	l.Delete(ctx, "link/secret")
	l.DeletePrefix(ctx, "link")
	for _, p := range []string{filepath.Join(outside, "secret"), filepath.Join(base, "secret")} {
		if b, err := os.ReadFile(p); err != nil || string(b) != "secret" {
			t.Errorf("%s was touched: %q %v", p, b, err)
		}
	}
	// The store's own bookkeeping folder is not reachable as keys.
	for _, k := range []string{".classcast/tmp/x", ".classcast", ".classcast/meta/a"} {
		if err := l.Put(ctx, k, strings.NewReader("x"), -1, ""); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
	if err := l.DeletePrefix(ctx, ".classcast"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("DeletePrefix(.classcast) = %v, want ErrInvalidKey", err)
	}
}

// TestLocalPutIsAtomic: while a Put is half written, readers see the old object (or
// none), never the partial one; a failed Put leaves nothing behind.
func TestLocalPutIsAtomic(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := t.Context()
	put(t, l, "vod/a/seg.m4s", []byte("old"), -1, "")

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- l.Put(ctx, "vod/a/seg.m4s", pr, -1, "") }()
	if _, err := pw.Write(bytes.Repeat([]byte("n"), 1<<20)); err != nil {
		t.Fatal(err)
	}
	// Half written: the old object is still whole.
	if got, info := get(t, l, "vod/a/seg.m4s", nil); string(got) != "old" || info.Size != 3 {
		t.Fatalf("mid-put read %d bytes (%+v), want the old 3", len(got), info)
	}
	if got := keysOf(list(t, l, "")); len(got) != 1 {
		t.Fatalf("mid-put List = %v, want only the old object (no temp files)", got)
	}
	pw.Write(bytes.Repeat([]byte("n"), 1<<20))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, info := get(t, l, "vod/a/seg.m4s", nil); info.Size != 2<<20 {
		t.Fatalf("after put: %d bytes, want %d", info.Size, 2<<20)
	}

	// A reader that fails half way: no object, no temp file.
	pr, pw = io.Pipe()
	go func() {
		pw.Write([]byte("partial"))
		pw.CloseWithError(errors.New("encoder crashed"))
	}()
	err = l.Put(ctx, "vod/a/broken.m4s", pr, -1, "")
	if err == nil || !strings.Contains(err.Error(), "encoder crashed") {
		t.Fatalf("put from a failing reader: %v", err)
	}
	if _, err := l.Stat(ctx, "vod/a/broken.m4s"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("failed put left an object: %v", err)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, ".classcast", "tmp")); len(tmp) != 0 {
		t.Fatalf("failed put left %d temp files", len(tmp))
	}
	// A cancelled context stops a Put.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Put(cctx, "vod/a/cancelled.m4s", strings.NewReader("x"), 1, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("put with a cancelled context: %v", err)
	}
}

// TestLocalLeavesNoEmptyFolders: like S3, deleting the last object of a folder leaves
// no folder behind, and content-type sidecars go with their objects.
func TestLocalLeavesNoEmptyFolders(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := t.Context()
	put(t, l, "vod/x/720p/seg_1.m4s", []byte("a"), -1, "application/x-custom")
	put(t, l, "vod/x/master.m3u8", []byte("b"), -1, "")
	put(t, l, "vod/y/master.m3u8", []byte("c"), -1, "text/plain")
	if err := l.Delete(ctx, "vod/x/720p/seg_1.m4s"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vod/x/720p")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty folder vod/x/720p left behind: %v", err)
	}
	if err := l.DeletePrefix(ctx, "vod/x"); err != nil {
		t.Fatal(err)
	}
	if err := l.DeletePrefix(ctx, "vod/y"); err != nil {
		t.Fatal(err)
	}
	var left []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if rel != "." && rel != ".classcast" && rel != ".classcast/tmp" && rel != ".classcast/meta" {
			left = append(left, rel)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("after deleting everything, the directory still holds %v", left)
	}
	// A stale sidecar must not give a new object the old type.
	put(t, l, "vod/y/master.m3u8", []byte("c"), -1, "")
	if info, _ := l.Stat(ctx, "vod/y/master.m3u8"); info.ContentType != "application/vnd.apple.mpegurl" {
		t.Errorf("re-created object has content type %q", info.ContentType)
	}
}

// TestLocalKeyFolderConflict: a filesystem cannot hold "a/b" both as an object and as
// a folder; the Put says so instead of corrupting anything.
func TestLocalKeyFolderConflict(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := t.Context()
	put(t, l, "a/b", []byte("object"), -1, "")
	if err := l.Put(ctx, "a/b/c", strings.NewReader("x"), -1, ""); err == nil {
		t.Error("put under an object's key succeeded")
	}
	put(t, l, "d/e/f", []byte("x"), -1, "")
	if err := l.Put(ctx, "d/e", strings.NewReader("x"), -1, ""); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("put over a folder: %v", err)
	}
	if _, err := l.Stat(ctx, "d/e"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat of a folder = %v, want ErrNotFound", err)
	}
	if err := l.Delete(ctx, "d/e"); err != nil {
		t.Errorf("Delete of a folder key: %v", err)
	}
	if got, _ := get(t, l, "d/e/f", nil); string(got) != "x" {
		t.Error("Delete of a folder key removed what is inside")
	}
	if got, _ := get(t, l, "a/b", nil); string(got) != "object" {
		t.Error("the object was damaged")
	}
}

func TestLocalRemovesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".classcast", "tmp")
	os.MkdirAll(tmp, 0o755)
	os.WriteFile(filepath.Join(tmp, "old"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(tmp, "fresh"), []byte("x"), 0o644)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(tmp, "old"), old, old)
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := os.Stat(filepath.Join(tmp, "old")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a temp file from a crash 2 h ago was kept")
	}
	if _, err := os.Stat(filepath.Join(tmp, "fresh")); err != nil {
		t.Error("a fresh temp file (maybe another process's Put) was removed")
	}
}

func TestOpenLocal(t *testing.T) {
	c := config.Default()
	c.DataDir = t.TempDir()
	s, err := Open(t.Context(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, ok := s.(*Local)
	if !ok || l.Dir() != c.StorageDir() {
		t.Fatalf("Open gave %T %v, want *Local in %s", s, s, c.StorageDir())
	}
	defer l.Close()
	put(t, s, "vod/a/master.m3u8", []byte("#EXTM3U\n"), -1, "")
	if b, err := os.ReadFile(filepath.Join(c.StorageDir(), "vod/a/master.m3u8")); err != nil || string(b) != "#EXTM3U\n" {
		t.Fatalf("object not at its path in the directory: %q %v", b, err)
	}
	c.Storage.Backend = "ftp"
	if _, err := Open(t.Context(), c, nil); err == nil || !strings.Contains(err.Error(), "ftp") {
		t.Fatalf("Open with backend ftp: %v", err)
	}
}

func TestValidKey(t *testing.T) {
	for _, k := range []string{"a", "vod/abc/720p/seg_00001.m4s", "a.b/c..d/...", "a b/c", "课程/1.mp4", strings.Repeat("x", 1024), ".hidden/x"} {
		if err := ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v, want ok", k, err)
		}
	}
	for k, why := range map[string]string{
		"": "empty", "/a": "absolute", "a/": "ends with /", "a//b": "empty segment", "a\\b": "backslash",
		"a\x00b": "control", "../a": "..", "a/..": "..", "./a": ". segment", strings.Repeat("x", 1025): "1025 bytes",
		"\xff": "UTF-8",
	} {
		err := ValidKey(k)
		if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), why) {
			t.Errorf("ValidKey(%q) = %v, want ErrInvalidKey saying %q", k, err, why)
		}
	}
}
