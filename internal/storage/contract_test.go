package storage

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testStore is the contract every Store keeps; it runs against each backend.
func testStore(t *testing.T, s Store) {
	ctx := t.Context()

	t.Run("RoundTrip", func(t *testing.T) {
		small := []byte("#EXTM3U\n#EXT-X-VERSION:7\n")
		put(t, s, "rt/small.m3u8", small, -1, "")
		put(t, s, "rt/small-sized.m3u8", small, int64(len(small)), "")
		put(t, s, "rt/empty.json", nil, 0, "")
		put(t, s, "rt/empty-unknown.json", nil, -1, "")
		for key, want := range map[string][]byte{
			"rt/small.m3u8": small, "rt/small-sized.m3u8": small,
			"rt/empty.json": {}, "rt/empty-unknown.json": {},
		} {
			got, info := get(t, s, key, nil)
			if !bytes.Equal(got, want) || info.Size != int64(len(want)) || info.Key != key {
				t.Errorf("%s: got %q (info %+v), want %q", key, got, info, want)
			}
		}
	})

	t.Run("Large40MiBStreamedUnknownSize", func(t *testing.T) {
		const size = 40 << 20
		// A plain io.Reader (no Seek, no ReaderAt, no WriterTo): the S3 backend must
		// upload it in parts of unknown count.
		src := struct{ io.Reader }{io.LimitReader(rand.NewChaCha8([32]byte{1}), size)}
		start := time.Now()
		if err := s.Put(ctx, "rt/big.mp4", src, -1, ""); err != nil {
			t.Fatalf("put 40 MiB: %v", err)
		}
		t.Logf("40 MiB put in %s", time.Since(start).Round(time.Millisecond))
		want := sha256.New()
		io.Copy(want, io.LimitReader(rand.NewChaCha8([32]byte{1}), size))
		rc, info, err := s.Get(ctx, "rt/big.mp4", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got := sha256.New()
		n, err := io.Copy(got, rc)
		if err != nil || n != size || info.Size != size {
			t.Fatalf("read back %d bytes (info.Size %d), err %v; want %d", n, info.Size, err, size)
		}
		if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			t.Fatal("40 MiB object came back with different bytes")
		}
		if _, ok := s.(*S3); ok && !strings.HasSuffix(info.ETag, "-3") {
			// S3 marks a multipart upload's ETag with its part count: 40 MiB in 16 MiB parts.
			t.Errorf("ETag %q: want a 3-part multipart upload", info.ETag)
		}
		// A range deep in the last part.
		rc2, _, err := s.Get(ctx, "rt/big.mp4", &Range{Start: size - 100, End: -1})
		if err != nil {
			t.Fatal(err)
		}
		tailGot, _ := io.ReadAll(rc2)
		rc2.Close()
		all, _ := io.ReadAll(io.LimitReader(rand.NewChaCha8([32]byte{1}), size))
		if !bytes.Equal(tailGot, all[size-100:]) {
			t.Fatal("last 100 bytes of the 40 MiB object differ")
		}
	})

	t.Run("SeekableReaderAtOffset", func(t *testing.T) {
		// A file positioned past a header: only the bytes from there on are the object,
		// with size -1 measured from the file.
		f, err := os.Create(filepath.Join(t.TempDir(), "src"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString("JUNKpayload-bytes")
		f.Seek(4, io.SeekStart)
		put(t, s, "rt/offset.bin", nil, 0, "") // placeholder, overwritten below
		if err := s.Put(ctx, "rt/offset.bin", f, -1, ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := get(t, s, "rt/offset.bin", nil); string(got) != "payload-bytes" {
			t.Fatalf("got %q, want %q", got, "payload-bytes")
		}
	})

	t.Run("WrongSizeFails", func(t *testing.T) {
		err := s.Put(ctx, "rt/short.bin", struct{ io.Reader }{strings.NewReader("12345")}, 10, "")
		if err == nil {
			t.Fatal("a reader shorter than the announced size was accepted")
		}
		if _, err := s.Stat(ctx, "rt/short.bin"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after a failed put: stat = %v, want ErrNotFound", err)
		}
		err = s.Put(ctx, "rt/long.bin", struct{ io.Reader }{strings.NewReader("12345")}, 3, "")
		if err == nil {
			t.Fatal("a reader longer than the announced size was accepted")
		}
		if _, err := s.Stat(ctx, "rt/long.bin"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after a failed put: stat = %v, want ErrNotFound", err)
		}
	})

	t.Run("Ranges", func(t *testing.T) {
		data := pattern(1000)
		put(t, s, "rng/obj.m4s", data, int64(len(data)), "")
		for _, c := range []struct {
			rng        Range
			start, end int // inclusive expected slice
		}{
			{Range{0, 9}, 0, 9},
			{Range{100, 199}, 100, 199},
			{Range{990, -1}, 990, 999},
			{Range{995, 5000}, 995, 999}, // clipped like HTTP
			{Range{0, -1}, 0, 999},
			{Range{999, 999}, 999, 999},
		} {
			got, info := get(t, s, "rng/obj.m4s", &c.rng)
			if !bytes.Equal(got, data[c.start:c.end+1]) {
				t.Errorf("range %+v: got %d bytes, want bytes %d-%d", c.rng, len(got), c.start, c.end)
			}
			if info.Size != 1000 || info.ContentType != "video/iso.segment" {
				t.Errorf("range %+v: info %+v, want the whole object's (1000 bytes, video/iso.segment)", c.rng, info)
			}
		}
		for _, bad := range []Range{{1000, -1}, {5000, 6000}, {5, 2}, {-1, 3}} {
			rc, _, err := s.Get(ctx, "rng/obj.m4s", &bad)
			if err == nil {
				rc.Close()
			}
			if !errors.Is(err, ErrInvalidRange) {
				t.Errorf("range %+v: err = %v, want ErrInvalidRange", bad, err)
			}
		}
		put(t, s, "rng/empty.m4s", nil, 0, "")
		if _, _, err := s.Get(ctx, "rng/empty.m4s", &Range{0, -1}); !errors.Is(err, ErrInvalidRange) {
			t.Errorf("range on an empty object: err = %v, want ErrInvalidRange", err)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		if _, err := s.Stat(ctx, "missing/x.m4s"); !errors.Is(err, ErrNotFound) {
			t.Errorf("stat missing: %v, want ErrNotFound", err)
		}
		if _, _, err := s.Get(ctx, "missing/x.m4s", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("get missing: %v, want ErrNotFound", err)
		}
		if _, _, err := s.Get(ctx, "missing/x.m4s", &Range{0, 9}); !errors.Is(err, ErrNotFound) {
			t.Errorf("get range of missing: %v, want ErrNotFound", err)
		}
	})

	t.Run("Stat", func(t *testing.T) {
		before := time.Now().Add(-time.Minute)
		put(t, s, "stat/a.vtt", []byte("WEBVTT\n"), -1, "")
		info, err := s.Stat(ctx, "stat/a.vtt")
		if err != nil {
			t.Fatal(err)
		}
		if info.Key != "stat/a.vtt" || info.Size != 7 || info.ContentType != "text/vtt" || info.ETag == "" ||
			info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Minute)) {
			t.Fatalf("stat: %+v", info)
		}
		if strings.Contains(info.ETag, `"`) {
			t.Errorf("ETag %q has quotes", info.ETag)
		}
		put(t, s, "stat/a.vtt", []byte("WEBVTT\n\n00:00.000 --> 00:01.000\nx\n"), -1, "")
		info2, _ := s.Stat(ctx, "stat/a.vtt")
		if info2.ETag == info.ETag {
			t.Errorf("ETag %q did not change when the object did", info.ETag)
		}
	})

	t.Run("List", func(t *testing.T) {
		keys := []string{
			"ls/vod/a/sub/2.m4s", "ls/vod/a/1.m4s", "ls/vod/a/master.m3u8",
			"ls/vod/ab/x.m4s", "ls/vod/a.txt", "ls/vod/a-b/y.m4s",
		}
		for i, k := range keys {
			put(t, s, k, pattern(i+1), -1, "")
		}
		want := []string{"ls/vod/a/1.m4s", "ls/vod/a/master.m3u8", "ls/vod/a/sub/2.m4s"}
		for _, p := range []string{"ls/vod/a", "ls/vod/a/"} {
			got := list(t, s, p)
			if !slices.Equal(keysOf(got), want) {
				t.Errorf("List(%q) = %v, want %v", p, keysOf(got), want)
			}
			for _, in := range got {
				if in.Size != int64(slices.Index(keys, in.Key)+1) || in.ETag == "" || in.ModTime.IsZero() {
					t.Errorf("List(%q): %+v has the wrong size or no ETag/ModTime", p, in)
				}
			}
		}
		all := keysOf(list(t, s, "ls"))
		wantAll := slices.Clone(keys)
		slices.Sort(wantAll)
		if !slices.Equal(all, wantAll) {
			t.Errorf("List(ls) = %v, want %v (sorted by key)", all, wantAll)
		}
		if got := list(t, s, "ls/vod/none"); len(got) != 0 {
			t.Errorf("List of an empty folder = %v", keysOf(got))
		}
		if got := list(t, s, "ls/vod/a.txt"); len(got) != 0 {
			t.Errorf("List of an object's own key (not a folder) = %v", keysOf(got))
		}
		whole := keysOf(list(t, s, ""))
		if !slices.IsSorted(whole) {
			t.Errorf("List(\"\") is not sorted: %v", whole)
		}
		for _, k := range keys {
			if !slices.Contains(whole, k) {
				t.Errorf("List(\"\") misses %s", k)
			}
		}
	})

	t.Run("Delete", func(t *testing.T) {
		put(t, s, "del/one/a.jpg", []byte("x"), -1, "")
		put(t, s, "del/one/b.jpg", []byte("y"), -1, "")
		if err := s.Delete(ctx, "del/one/a.jpg"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "del/one/a.jpg"); !errors.Is(err, ErrNotFound) {
			t.Errorf("after delete: stat = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "del/one/a.jpg"); err != nil {
			t.Errorf("deleting it again: %v", err)
		}
		if err := s.Delete(ctx, "del/never/was.jpg"); err != nil {
			t.Errorf("deleting a key that never existed: %v", err)
		}
		if got := keysOf(list(t, s, "del/one")); !slices.Equal(got, []string{"del/one/b.jpg"}) {
			t.Errorf("after delete, List = %v", got)
		}
		if err := s.Delete(ctx, "del/one/b.jpg"); err != nil {
			t.Fatal(err)
		}
		if got := list(t, s, "del"); len(got) != 0 {
			t.Errorf("everything deleted, List = %v", keysOf(got))
		}
	})

	t.Run("DeletePrefix", func(t *testing.T) {
		for _, k := range []string{"dp/vod/a/1.m4s", "dp/vod/a/720p/2.m4s", "dp/vod/ab/keep.m4s", "dp/vod/a.txt"} {
			put(t, s, k, []byte(k), -1, "")
		}
		if err := s.DeletePrefix(ctx, "dp/vod/a"); err != nil {
			t.Fatal(err)
		}
		if got, want := keysOf(list(t, s, "dp")), []string{"dp/vod/a.txt", "dp/vod/ab/keep.m4s"}; !slices.Equal(got, want) {
			t.Errorf("after DeletePrefix(dp/vod/a): %v, want %v", got, want)
		}
		if err := s.DeletePrefix(ctx, "dp/vod/none/"); err != nil {
			t.Errorf("DeletePrefix of an empty folder: %v", err)
		}
		if err := s.DeletePrefix(ctx, ""); err == nil {
			t.Error("DeletePrefix(\"\") was accepted")
		}
		if got := list(t, s, "dp"); len(got) != 2 {
			t.Errorf("after refused DeletePrefix(\"\"): %v", keysOf(got))
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		put(t, s, "ow/poster.jpg", []byte("first version, longer"), -1, "image/png")
		put(t, s, "ow/poster.jpg", []byte("second"), -1, "")
		got, info := get(t, s, "ow/poster.jpg", nil)
		if string(got) != "second" || info.Size != 6 || info.ContentType != "image/jpeg" {
			t.Errorf("after overwrite: %q %+v", got, info)
		}
		put(t, s, "ow/poster.jpg", []byte("third"), -1, "image/webp")
		if info, _ := s.Stat(ctx, "ow/poster.jpg"); info.ContentType != "image/webp" || info.Size != 5 {
			t.Errorf("after second overwrite: %+v", info)
		}
	})

	t.Run("BadKeys", func(t *testing.T) {
		bad := []string{"", "/abs/x", "../x", "a/../../x", "..", ".", "a/./b", "a//b", "a\\b",
			"a\x00b", "a\nb", "a/", strings.Repeat("k", 1025), "\xff\xfe"}
		for _, k := range bad {
			if err := s.Put(ctx, k, strings.NewReader("x"), 1, ""); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put(%q) = %v, want ErrInvalidKey", k, err)
			}
			if _, _, err := s.Get(ctx, k, nil); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Get(%q) = %v, want ErrInvalidKey", k, err)
			}
			if _, err := s.Stat(ctx, k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Stat(%q) = %v, want ErrInvalidKey", k, err)
			}
			if err := s.Delete(ctx, k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Delete(%q) = %v, want ErrInvalidKey", k, err)
			}
			if _, err := s.URL(ctx, k, time.Minute); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("URL(%q) = %v, want ErrInvalidKey", k, err)
			}
		}
		for _, p := range []string{"/abs", "../x", "a/../..", "a//b"} {
			if _, err := s.List(ctx, p); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("List(%q) = %v, want ErrInvalidKey", p, err)
			}
			if err := s.DeletePrefix(ctx, p); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("DeletePrefix(%q) = %v, want ErrInvalidKey", p, err)
			}
		}
		// 1024 bytes in segments a filesystem can hold (a name is at most 255 bytes).
		long := strings.Repeat(strings.Repeat("k", 99)+"/", 10) + strings.Repeat("z", 24)
		if len(long) != MaxKeyLen {
			t.Fatalf("test key is %d bytes", len(long))
		}
		put(t, s, long, []byte("max length key"), -1, "")
		if got, _ := get(t, s, long, nil); string(got) != "max length key" {
			t.Errorf("1024-byte key: got %q", got)
		}
		uni := "ct/课程/第一课 intro (1).m4s"
		put(t, s, uni, []byte("unicode"), -1, "")
		if got, info := get(t, s, uni, nil); string(got) != "unicode" || info.ContentType != "video/iso.segment" {
			t.Errorf("unicode key: got %q %+v", got, info)
		}
	})

	t.Run("ContentTypes", func(t *testing.T) {
		for key, want := range map[string]string{
			"ct/master.m3u8":    "application/vnd.apple.mpegurl",
			"ct/seg_00001.m4s":  "video/iso.segment",
			"ct/init.mp4":       "video/mp4",
			"ct/poster.jpg":     "image/jpeg",
			"ct/storyboard.vtt": "text/vtt",
			"ct/meta.json":      "application/json",
			"ct/UPPER.M3U8":     "application/vnd.apple.mpegurl",
			"ct/noext":          "application/octet-stream",
		} {
			put(t, s, key, []byte("x"), 1, "")
			if info, err := s.Stat(ctx, key); err != nil || info.ContentType != want {
				t.Errorf("Stat(%s).ContentType = %q (err %v), want %q", key, info.ContentType, err, want)
			}
			if _, info := get(t, s, key, nil); info.ContentType != want {
				t.Errorf("Get(%s) content type = %q, want %q", key, info.ContentType, want)
			}
		}
		put(t, s, "ct/given.json", []byte("{}"), 2, "text/plain; charset=utf-8")
		if info, _ := s.Stat(ctx, "ct/given.json"); info.ContentType != "text/plain; charset=utf-8" {
			t.Errorf("given content type came back as %q", info.ContentType)
		}
		if _, info := get(t, s, "ct/given.json", &Range{0, 0}); info.ContentType != "text/plain; charset=utf-8" {
			t.Errorf("given content type came back from a ranged Get as %q", info.ContentType)
		}
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				data := pattern(1000 + i*20000)
				if err := s.Put(ctx, fmt.Sprintf("cc/seg_%05d.m4s", i), bytes.NewReader(data), -1, ""); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		got := list(t, s, "cc")
		if len(got) != n {
			t.Fatalf("listed %d objects after %d concurrent puts", len(got), n)
		}
		for i := range n {
			data, _ := get(t, s, fmt.Sprintf("cc/seg_%05d.m4s", i), nil)
			if !bytes.Equal(data, pattern(1000+i*20000)) {
				t.Errorf("cc/seg_%05d.m4s came back different", i)
			}
		}
	})

	t.Run("URL", func(t *testing.T) {
		data := pattern(5000)
		put(t, s, "url/seg.m4s", data, -1, "")
		u, err := s.URL(ctx, "url/seg.m4s", time.Minute)
		if _, local := s.(*Local); local {
			if !errors.Is(err, ErrNoURL) || u != "" {
				t.Fatalf("local URL = %q, %v; want ErrNoURL", u, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, rangeHdr := range []string{"", "bytes=10-19"} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if rangeHdr != "" {
				req.Header.Set("Range", rangeHdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want, status := data, http.StatusOK
			if rangeHdr != "" {
				want, status = data[10:20], http.StatusPartialContent
			}
			if resp.StatusCode != status || !bytes.Equal(body, want) {
				t.Errorf("GET presigned URL (Range %q): %s, %d bytes; want %d, %d bytes", rangeHdr, resp.Status, len(body), status, len(want))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "video/iso.segment" {
				t.Errorf("presigned URL content type %q", ct)
			}
		}
		if _, err := s.URL(ctx, "url/seg.m4s", 0); err == nil {
			t.Error("URL with ttl 0 was accepted")
		}
	})
}

func put(t *testing.T, s Store, key string, data []byte, size int64, ct string) {
	t.Helper()
	// A plain reader, so both the buffered and the streaming paths get exercised by size.
	if err := s.Put(t.Context(), key, struct{ io.Reader }{bytes.NewReader(data)}, size, ct); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func get(t *testing.T, s Store, key string, rng *Range) ([]byte, Info) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key, rng)
	if err != nil {
		t.Fatalf("get %s %v: %v", key, rng, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b, info
}

func list(t *testing.T, s Store, prefix string) []Info {
	t.Helper()
	got, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	return got
}

func keysOf(in []Info) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.Key
	}
	return out
}

// pattern is n bytes where each position is recognisable.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}
