// Package storage is the object store of the VOD plane: lesson sources, HLS renditions,
// posters and storyboards. One small interface, Store, has two implementations: a local
// directory (Local, the embedded default) and any S3-compatible service through minio-go
// (S3). Open picks one from the configuration.
//
// Keys are slash-separated paths such as "vod/<asset>/720p/seg_00001.m4s"; ValidKey says
// which are accepted. A prefix given to List or DeletePrefix names a folder: "vod/a" and
// "vod/a/" both mean everything under "vod/a/", never "vod/ab/...", so deleting one
// asset can never touch another whose id merely starts the same way.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/classcast/classcast/internal/config"
)

// ErrNotFound is returned (wrapped) when a key has no object.
var ErrNotFound = errors.New("storage: object not found")

// ErrNoURL is returned by URL when the backend cannot hand out direct URLs (the local
// directory); callers then serve the object themselves.
var ErrNoURL = errors.New("storage: backend has no direct URLs")

// ErrInvalidRange is returned (wrapped) by Get when a range does not fit the object:
// it starts at or past the end (like HTTP 416), or it is malformed.
var ErrInvalidRange = errors.New("storage: range not satisfiable")

// ErrInvalidKey is returned (wrapped) for a key or prefix that ValidKey rejects.
var ErrInvalidKey = errors.New("storage: invalid key")

// MaxKeyLen is the longest key accepted, in bytes (S3's own limit).
const MaxKeyLen = 1024

// Info describes a stored object.
type Info struct {
	Key  string
	Size int64
	// ContentType is what Put was given, or the extension default (DefaultContentType).
	// List leaves it empty: S3 listings do not carry it; use Stat.
	ContentType string
	ModTime     time.Time
	// ETag is an opaque version tag without quotes: it changes when the object does.
	ETag string
}

// Range selects bytes of an object: Start and End are inclusive offsets as in an HTTP
// Range header; End -1 means to the end. An End past the end is clipped to it; a Start
// at or past the end is ErrInvalidRange.
type Range struct {
	Start, End int64
}

// Store is an object store. Every method is safe for concurrent use.
type Store interface {
	// Put stores r under key; size is the length or -1 if unknown. Atomic: readers
	// never see a partial object (local: write temp + fsync + rename). An empty
	// contentType means the extension default (DefaultContentType).
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens key, optionally a byte range (nil = whole). Info describes the whole
	// object. The caller closes the reader.
	Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Info, error)
	// Stat describes key, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// List returns every object under prefix (recursive), sorted by key. Prefix names
	// a folder (see the package doc); "" lists the whole store.
	List(ctx context.Context, prefix string) ([]Info, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every object under the folder prefix. An empty prefix is
	// refused: wiping the whole store is never what a caller means.
	DeletePrefix(ctx context.Context, prefix string) error
	// URL returns a presigned GET URL valid for ttl, or ErrNoURL.
	URL(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Both backends keep the whole contract (contract_test.go runs against each).
var (
	_ Store = (*Local)(nil)
	_ Store = (*S3)(nil)
)

// Open returns the store the configuration asks for: storage.backend "local" (a
// directory, c.StorageDir()) or "s3" (storage.s3.*; the bucket is created if missing).
func Open(ctx context.Context, c config.Config, log *slog.Logger) (Store, error) {
	if log == nil {
		log = slog.Default()
	}
	switch c.Storage.Backend {
	case "", "local":
		dir := c.StorageDir()
		l, err := NewLocal(dir)
		if err != nil {
			return nil, err
		}
		log.Info("object store: local directory", "dir", dir)
		return l, nil
	case "s3":
		s3c := c.Storage.S3
		s, err := NewS3(ctx, S3Config{
			Endpoint:  s3c.Endpoint,
			Bucket:    s3c.Bucket,
			Region:    s3c.Region,
			AccessKey: s3c.AccessKey,
			SecretKey: s3c.SecretKey,
			UseSSL:    s3c.UseSSL,
		}, log)
		if err != nil {
			return nil, err
		}
		log.Info("object store: S3", "endpoint", s3c.Endpoint, "bucket", s3c.Bucket)
		return s, nil
	default:
		return nil, fmt.Errorf("storage.backend %q is not one of local, s3", c.Storage.Backend)
	}
}

// ValidKey reports whether key can name an object: non-empty, at most MaxKeyLen bytes
// of UTF-8, relative, made of non-empty slash-separated segments none of which is "."
// or "..", and free of backslashes and control characters (NUL included). The error
// wraps ErrInvalidKey and says what is wrong.
func ValidKey(key string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why)
	}
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes long, the limit is %d", ErrInvalidKey, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("absolute (starts with /)")
	case strings.HasSuffix(key, "/"):
		return bad("ends with / (names a folder, not an object)")
	case strings.Contains(key, "//"):
		return bad("has an empty segment (//)")
	case strings.ContainsRune(key, '\\'):
		return bad("has a backslash")
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			return bad("has a control character")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			return bad("has a " + seg + " segment")
		}
	}
	return nil
}

// folder turns a List/DeletePrefix prefix into the key prefix it stands for: "" stays
// "", anything else gets exactly one trailing slash.
func folder(prefix string) (string, error) {
	if prefix == "" {
		return "", nil
	}
	trimmed := strings.TrimSuffix(prefix, "/")
	if err := ValidKey(trimmed); err != nil {
		return "", fmt.Errorf("prefix: %w", err)
	}
	return trimmed + "/", nil
}

// defaultTypes are the content types of the files the VOD plane writes. A fixed table,
// not mime.TypeByExtension, so every node answers the same whatever its /etc/mime.types.
var defaultTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".m4s":  "video/iso.segment",
	".mp4":  "video/mp4",
	".m4a":  "audio/mp4",
	".ts":   "video/mp2t",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".png":  "image/png",
	".webp": "image/webp",
	".vtt":  "text/vtt",
	".json": "application/json",
}

// DefaultContentType is the content type an object gets when Put is given "": by the
// key's extension (.m3u8, .m4s, .mp4, .jpg, .vtt, .json, ...), else
// application/octet-stream.
func DefaultContentType(key string) string {
	if t, ok := defaultTypes[strings.ToLower(path.Ext(key))]; ok {
		return t
	}
	return "application/octet-stream"
}

// resolve checks r against an object of size bytes and returns the first offset and
// the number of bytes to read.
func (r Range) resolve(size int64) (start, n int64, err error) {
	if r.Start < 0 || r.End < -1 || (r.End != -1 && r.End < r.Start) {
		return 0, 0, fmt.Errorf("%w: bytes %d-%d is malformed", ErrInvalidRange, r.Start, r.End)
	}
	if r.Start >= size {
		return 0, 0, fmt.Errorf("%w: starts at %d, the object has %d bytes", ErrInvalidRange, r.Start, size)
	}
	end := r.End
	if end == -1 || end >= size {
		end = size - 1
	}
	return r.Start, end - r.Start + 1, nil
}
