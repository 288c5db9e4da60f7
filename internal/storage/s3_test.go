package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/config"
	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/internal/storage/s3test"
)

// logBuffer collects log lines so a test can see the retries a user would see.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newS3(t *testing.T, srv *s3test.Server) (*storage.S3, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s, err := storage.NewS3(t.Context(), srv.Config(), slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	return s, logs
}

func TestS3Contract(t *testing.T) {
	srv := s3test.Start(t)
	s, _ := newS3(t, srv)
	storage.TestStore(t, s)
}

// TestS3UploadRetriesWhileStoreIsDown is the issue's "object store unreachable for a
// while: uploads retry and finish when it returns", for each kind of reader.
func TestS3UploadRetriesWhileStoreIsDown(t *testing.T) {
	srv := s3test.Start(t)
	s, logs := newS3(t, srv)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	small := []byte("#EXTM3U\n#EXT-X-ENDLIST\n")
	const bigSize = 20 << 20 // more than one part, from a plain stream of unknown size
	bigSum := sha256.Sum256(chacha(bigSize))
	file := bytes.NewReader(chacha(3 << 20))

	srv.Stop()
	type result struct {
		key string
		err error
		at  time.Duration
	}
	results := make(chan result, 3)
	start := time.Now()
	for key, r := range map[string]struct {
		r    io.Reader
		size int64
	}{
		"vod/a/master.m3u8":   {struct{ io.Reader }{bytes.NewReader(small)}, -1}, // buffered
		"vod/a/source.mp4":    {struct{ io.Reader }{bytes.NewReader(chacha(bigSize))}, -1},
		"vod/a/720p/init.mp4": {file, -1}, // seekable
	} {
		go func() {
			err := s.Put(ctx, key, r.r, r.size, "")
			results <- result{key, err, time.Since(start)}
		}()
	}
	time.Sleep(2 * time.Second)
	select {
	case r := <-results:
		t.Fatalf("put %s returned while the store was down: %v", r.key, r.err)
	default:
	}
	srv.Restart()
	restarted := time.Since(start)
	for range 3 {
		select {
		case r := <-results:
			if r.err != nil {
				t.Fatalf("put %s: %v", r.key, r.err)
			}
			t.Logf("put %s finished %s after the store came back", r.key, (r.at - restarted).Round(time.Millisecond))
		case <-ctx.Done():
			t.Fatal("puts did not finish within 60 s of the store coming back")
		}
	}
	if got := read(t, s, "vod/a/master.m3u8"); !bytes.Equal(got, small) {
		t.Errorf("master.m3u8 came back as %q", got)
	}
	if got := read(t, s, "vod/a/source.mp4"); sha256.Sum256(got) != bigSum {
		t.Errorf("source.mp4 came back different (%d bytes)", len(got))
	}
	if got := read(t, s, "vod/a/720p/init.mp4"); !bytes.Equal(got, chacha(3<<20)) {
		t.Errorf("init.mp4 came back different (%d bytes)", len(got))
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "retrying") || !strings.Contains(out, "attempt=2") {
		t.Errorf("no retry warnings with attempt counts were logged:\n%s", out)
	}
}

// TestS3UnrewindableUploadFailsHonestly: when the store goes away in the middle of a
// multipart upload from a plain stream, the bytes already sent cannot be read again;
// Put must say so rather than retry into a truncated object.
func TestS3UnrewindableUploadFailsHonestly(t *testing.T) {
	srv := s3test.Start(t)
	s, _ := newS3(t, srv)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, "vod/b/source.mp4", pr, -1, "") }()
	// Two parts' worth and a bit: the first part uploads, the second is being read.
	if _, err := pw.Write(chacha(16<<20 + 1<<20)); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	pw.Write(chacha(1 << 20))
	pw.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("put succeeded with the store down")
		}
		t.Logf("put error: %v", err)
		if !strings.Contains(err.Error(), "cannot be retried") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error does not say why it was not retried: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("put did not return")
	}
	srv.Restart()
	if _, err := s.Stat(ctx, "vod/b/source.mp4"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a partial object was stored: stat = %v", err)
	}
}

// TestS3GivesUpWhenContextEnds: retries never outlive the caller's deadline.
func TestS3GivesUpWhenContextEnds(t *testing.T) {
	srv := s3test.Start(t)
	s, _ := newS3(t, srv)
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Stat(ctx, "vod/a/master.m3u8")
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want DeadlineExceeded with the last failure", err)
	}
	if took > 3*time.Second {
		t.Errorf("took %s to give up after a 1.5 s deadline", took)
	}
}

// TestS3ClientErrorsAreNotRetried: wrong credentials fail at once, with the store's
// reason, instead of retrying for minutes.
func TestS3ClientErrorsAreNotRetried(t *testing.T) {
	srv := s3test.Start(t)
	good, _ := newS3(t, srv)
	cfg := srv.Config()
	cfg.SecretKey = "wrong-secret"
	logs := &logBuffer{}
	start := time.Now()
	_, err := storage.NewS3(t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err == nil {
		t.Fatal("NewS3 with a wrong secret succeeded")
	}
	if took := time.Since(start); took > 2*time.Second || strings.Contains(logs.String(), "retrying") {
		t.Errorf("a refused request was retried (%s):\n%s", took, logs.String())
	}
	if !strings.Contains(err.Error(), "Signature") && !strings.Contains(err.Error(), "Access") {
		t.Errorf("error does not say the store refused the credentials: %v", err)
	}
	// NoSuchKey is an answer, not a failure to retry.
	start = time.Now()
	if _, err := good.Stat(t.Context(), "nope"); !errors.Is(err, storage.ErrNotFound) || time.Since(start) > time.Second {
		t.Errorf("stat of a missing key: %v after %s", err, time.Since(start))
	}
}

// TestS3BucketIsCreatedOnce: NewS3 creates the bucket, and a second node finds it.
func TestS3BucketIsCreatedOnce(t *testing.T) {
	srv := s3test.Start(t)
	a, _ := newS3(t, srv)
	if err := a.Put(t.Context(), "x.json", strings.NewReader("{}"), 2, ""); err != nil {
		t.Fatal(err)
	}
	b, _ := newS3(t, srv)
	if got := read(t, b, "x.json"); string(got) != "{}" {
		t.Fatalf("second client reads %q", got)
	}
}

func TestOpenS3(t *testing.T) {
	srv := s3test.Start(t)
	sc := srv.Config()
	c := config.Default()
	c.Storage.Backend = "s3"
	c.Storage.S3 = config.S3Store{Endpoint: sc.Endpoint, Bucket: sc.Bucket, Region: sc.Region,
		AccessKey: sc.AccessKey, SecretKey: sc.SecretKey}
	s, err := storage.Open(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*storage.S3); !ok {
		t.Fatalf("Open gave %T, want *S3", s)
	}
	if err := s.Put(t.Context(), "a/b.vtt", strings.NewReader("WEBVTT\n"), -1, ""); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(t.Context(), "a/b.vtt"); err != nil || info.ContentType != "text/vtt" {
		t.Fatalf("stat: %+v %v", info, err)
	}
}

func read(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	rc, _, err := s.Get(t.Context(), key, nil)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func chacha(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{7}).Read(b)
	return b
}
