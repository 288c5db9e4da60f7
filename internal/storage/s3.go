package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says where an S3-compatible store is.
type S3Config struct {
	// Endpoint is host:port of the S3 API, without scheme.
	Endpoint string
	// Bucket holds every object; NewS3 creates it if missing.
	Bucket string
	// Region is the bucket's region; empty lets the client ask the server.
	Region    string
	AccessKey string
	SecretKey string
	// UseSSL talks https to Endpoint.
	UseSSL bool
}

// partSize is the multipart part size: objects larger than this (or of unknown size
// and longer than this) go up in parts; at most one part per Put is held in memory.
const partSize = 16 << 20

// minioRetries is how often minio-go itself tries one request. Kept small: it only
// rides out blips (notably inside a multipart upload, where it resends the buffered
// part); outages are the outer retry's job, which logs and backs off to 8 s.
const minioRetries = 3

// S3 is a Store in a bucket of an S3-compatible service (MinIO, Ceph RGW, SeaweedFS,
// versitygw, a cloud). Every operation is retried with exponential backoff (0.5 s up to
// 8 s, for at most retryFor or until ctx ends) on transient failures: network errors,
// 5xx, SlowDown and similar. Client errors (NoSuchKey, AccessDenied, InvalidArgument)
// fail at once.
type S3 struct {
	client *minio.Client
	core   minio.Core
	bucket string
	log    *slog.Logger
	retry  retryPolicy
}

// NewS3 connects to the store and creates the bucket if missing. It retries while the
// store is unreachable, bounded by ctx and the retry policy.
func NewS3(ctx context.Context, cfg S3Config, log *slog.Logger) (*S3, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("storage: s3 needs an endpoint and a bucket")
	}
	if strings.Contains(cfg.Endpoint, "://") {
		return nil, fmt.Errorf("storage: s3 endpoint %q: give host:port without scheme", cfg.Endpoint)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.UseSSL,
		Region:     cfg.Region,
		MaxRetries: minioRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: s3 client for %s: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, core: minio.Core{Client: client}, bucket: cfg.Bucket, log: log, retry: defaultRetry}
	err = s.do(ctx, "create bucket", cfg.Bucket, func(int) error {
		ok, err := client.BucketExists(ctx, cfg.Bucket)
		if err != nil || ok {
			return err
		}
		err = client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			return nil // created meanwhile, by another node
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: s3 bucket %q at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	return s, nil
}

// s3Error maps minio's errors to the package's sentinels.
func s3Error(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch er.Code {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("storage: %s %q: %w", op, key, ErrNotFound)
		case "InvalidRange":
			return fmt.Errorf("storage: %s %q: %w", op, key, ErrInvalidRange)
		}
	}
	return fmt.Errorf("storage: s3 %s %q: %w", op, key, err)
}

// do runs fn under the retry policy, logging each retry.
func (s *S3) do(ctx context.Context, op, key string, fn func(attempt int) error) error {
	return s.retry.run(ctx, fn, func(attempt int, wait time.Duration, err error) {
		s.log.Warn("object store operation failed; retrying", "op", op, "key", key,
			"attempt", attempt, "retry_in", wait.Round(time.Millisecond), "error", err)
	})
}

// Put implements Store. A seekable r is rewound for each retry; an unseekable one is
// buffered when it fits in one part, and otherwise retried only while none of it has
// been consumed (the store being down before the upload starts); after that the error
// is returned as is, since the bytes already read cannot be read again.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = DefaultContentType(key)
	}
	body, err := newReplayable(r, size)
	if err != nil {
		return fmt.Errorf("storage: put %q: %w", key, err)
	}
	opts := minio.PutObjectOptions{ContentType: contentType, PartSize: partSize}
	var last error
	err = s.do(ctx, "put", key, func(attempt int) error {
		rd, err := body.open(attempt)
		if err != nil {
			return permanent{fmt.Errorf("%w; the failure was: %w", err, last)}
		}
		_, last = s.client.PutObject(ctx, s.bucket, key, rd, body.size, opts)
		return last
	})
	return s3Error("put", key, err)
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	opts := minio.GetObjectOptions{}
	if rng != nil {
		if rng.Start < 0 || rng.End < -1 || (rng.End != -1 && rng.End < rng.Start) {
			return nil, Info{}, fmt.Errorf("storage: get %q: %w: bytes %d-%d is malformed", key, ErrInvalidRange, rng.Start, rng.End)
		}
		// Set the header directly: SetRange(0, -1) would mean "the last byte".
		if rng.End == -1 {
			opts.Set("Range", fmt.Sprintf("bytes=%d-", rng.Start))
		} else {
			opts.Set("Range", fmt.Sprintf("bytes=%d-%d", rng.Start, rng.End))
		}
	}
	var (
		body io.ReadCloser
		oi   minio.ObjectInfo
		hdr  http.Header
	)
	err := s.do(ctx, "get", key, func(int) error {
		var err error
		body, oi, hdr, err = s.core.GetObject(ctx, s.bucket, key, opts)
		return err
	})
	if err != nil {
		return nil, Info{}, s3Error("get", key, err)
	}
	info := objectInfo(oi)
	if rng != nil {
		// The response's size is the range's; the whole object's is in Content-Range.
		total, ok := contentRangeTotal(hdr.Get("Content-Range"))
		if !ok {
			body.Close()
			return nil, Info{}, fmt.Errorf("storage: get %q: the store answered a range request without a usable Content-Range (%q)", key, hdr.Get("Content-Range"))
		}
		info.Size = total
	}
	return body, info, nil
}

// contentRangeTotal reads the total from "bytes 0-99/1234".
func contentRangeTotal(h string) (int64, bool) {
	_, total, ok := strings.Cut(h, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil && n >= 0
}

func objectInfo(oi minio.ObjectInfo) Info {
	return Info{
		Key:         oi.Key,
		Size:        oi.Size,
		ContentType: oi.ContentType,
		ModTime:     oi.LastModified,
		ETag:        strings.Trim(oi.ETag, `"`),
	}
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	var oi minio.ObjectInfo
	err := s.do(ctx, "stat", key, func(int) error {
		var err error
		oi, err = s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
		return err
	})
	if err != nil {
		return Info{}, s3Error("stat", key, err)
	}
	info := objectInfo(oi)
	info.Key = key
	return info, nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	dir, err := folder(prefix)
	if err != nil {
		return nil, err
	}
	var out []Info
	err = s.do(ctx, "list", prefix, func(int) error {
		out, err = s.list(ctx, dir)
		return err
	})
	if err != nil {
		return nil, s3Error("list", prefix, err)
	}
	return out, nil
}

func (s *S3) list(ctx context.Context, dir string) ([]Info, error) {
	// The listing goroutine stops when ctx ends; cancel it if we stop reading early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out []Info
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
		if oi.Err != nil {
			cancel()
			return nil, oi.Err
		}
		if strings.HasSuffix(oi.Key, "/") {
			continue // a folder marker some servers report, not an object
		}
		info := objectInfo(oi)
		info.ContentType = "" // listings do not carry it; see Info
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	err := s.do(ctx, "delete", key, func(int) error {
		err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil
		}
		return err
	})
	return s3Error("delete", key, err)
}

// DeletePrefix implements Store: it lists the folder and removes what it found with
// multi-object deletes, again on retry until nothing fails.
func (s *S3) DeletePrefix(ctx context.Context, prefix string) error {
	dir, err := folder(prefix)
	if err != nil {
		return err
	}
	if dir == "" {
		return fmt.Errorf("storage: delete prefix: refusing an empty prefix (the whole store)")
	}
	err = s.do(ctx, "delete prefix", prefix, func(int) error {
		objs, err := s.list(ctx, dir)
		if err != nil || len(objs) == 0 {
			return err
		}
		return s.removeAll(ctx, objs)
	})
	return s3Error("delete prefix", prefix, err)
}

func (s *S3) removeAll(ctx context.Context, objs []Info) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, o := range objs {
			select {
			case ch <- minio.ObjectInfo{Key: o.Key}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var first error
	failed := 0
	for e := range s.client.RemoveObjects(ctx, s.bucket, ch, minio.RemoveObjectsOptions{}) {
		if e.Err == nil || minio.ToErrorResponse(e.Err).Code == "NoSuchKey" {
			continue
		}
		if first == nil {
			first = e.Err
		}
		failed++
	}
	if first != nil {
		return fmt.Errorf("%d of %d objects not deleted, first: %w", failed, len(objs), first)
	}
	return ctx.Err()
}

// maxURLTTL is S3's limit for presigned URLs (seven days).
const maxURLTTL = 7 * 24 * time.Hour

// URL implements Store: a presigned GET URL, computed locally without a request.
func (s *S3) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	if ttl < time.Second || ttl > maxURLTTL {
		return "", fmt.Errorf("storage: url %q: ttl %s is outside 1s..%s", key, ttl, maxURLTTL)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("storage: url %q: %w", key, err)
	}
	return u.String(), nil
}

// replayable hands PutObject a fresh reader for each attempt, or says it cannot.
type replayable struct {
	size int64
	// One of three sources: buf alone; seeker (with rest reading the same reader);
	// or rest, preceded by head when the size was unknown.
	buf    []byte    // the whole object, read ahead
	seeker io.Seeker // rewound to off for each attempt
	off    int64
	head   []byte          // a read-ahead first part, followed by rest
	rest   *countingReader // the caller's reader, counted to know if a retry is possible
}

var errNotReplayable = errors.New("the upload failed after reading from a reader that cannot be rewound (not an io.Seeker), so it cannot be retried")

func newReplayable(r io.Reader, size int64) (*replayable, error) {
	if sk, ok := r.(io.Seeker); ok {
		// A pipe is an *os.File too; it fails here and is treated as a stream.
		if off, err := sk.Seek(0, io.SeekCurrent); err == nil {
			if size < 0 {
				end, err := sk.Seek(0, io.SeekEnd)
				if err != nil {
					return nil, fmt.Errorf("measure the reader: %w", err)
				}
				if _, err := sk.Seek(off, io.SeekStart); err != nil {
					return nil, fmt.Errorf("rewind the reader: %w", err)
				}
				size = end - off
			}
			return &replayable{size: size, seeker: sk, off: off, rest: &countingReader{r: r}}, nil
		}
	}
	switch {
	case size >= 0 && size <= partSize:
		// One part: hold it, so every retry can resend it.
		buf := make([]byte, size)
		if n, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("the reader ended after %d of %d bytes: %w", n, size, err)
		}
		var one [1]byte
		if n, _ := io.ReadFull(r, one[:]); n > 0 {
			return nil, fmt.Errorf("the reader holds more than the %d bytes announced", size)
		}
		return &replayable{size: size, buf: buf}, nil
	case size < 0:
		// Read ahead one part: a small object becomes a single PUT of known size.
		head, err := io.ReadAll(io.LimitReader(r, partSize+1))
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		if len(head) <= partSize {
			return &replayable{size: int64(len(head)), buf: head}, nil
		}
		return &replayable{size: -1, head: head, rest: &countingReader{r: r}}, nil
	default:
		return &replayable{size: size, rest: &countingReader{r: r}}, nil
	}
}

func (p *replayable) open(attempt int) (io.Reader, error) {
	switch {
	case p.buf != nil:
		return bytes.NewReader(p.buf), nil
	case p.seeker != nil:
		if attempt > 1 {
			if _, err := p.seeker.Seek(p.off, io.SeekStart); err != nil {
				return nil, fmt.Errorf("rewind the reader for a retry: %w", err)
			}
		}
		// rest hides Seek from minio-go, which would rewind to offset 0, not to off.
		return p.rest, nil
	case attempt > 1 && p.rest.n > 0:
		return nil, errNotReplayable
	case p.head != nil:
		return io.MultiReader(bytes.NewReader(p.head), p.rest), nil
	default:
		return p.rest, nil
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
