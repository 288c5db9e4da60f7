package reclaim

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/internal/storage"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A micro-lecture cut again and a deleted lesson give their media back after the
// grace period, on the real catalog and store; media in use, media used again within
// the grace period and recordings stay.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(dir, "catalog.db"), "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	st, err := storage.NewLocal(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	put := func(id, kind, source string, keys ...string) {
		t.Helper()
		if err := cat.CreateAsset(ctx, catalog.Asset{ID: id, Kind: kind, State: catalog.StateReady, SourceKey: source}); err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			b := bytes.Repeat([]byte{'x'}, 1000*(i+1))
			if err := st.Put(ctx, k, bytes.NewReader(b), int64(len(b)), ""); err != nil {
				t.Fatal(err)
			}
			sizes[id] += int64(len(b))
		}
	}
	put("u-a", catalog.KindUpload, "sources/u-a/upload.mp4", "sources/u-a/upload.mp4", "vod/u-a/master.m3u8", "vod/u-a/720p/seg_00001.m4s")
	put("clip-1", catalog.KindClip, "vod/u-a/", "vod/clip-1/master.m3u8", "vod/clip-1/720p/seg_00001.m4s")
	put("clip-2", catalog.KindClip, "vod/u-a/", "vod/clip-2/master.m3u8", "vod/clip-2/720p/seg_00001.m4s")
	put("rec-1", catalog.KindRecording, "sources/rec-1/recording.mp4", "sources/rec-1/recording.mp4", "vod/rec-1/master.m3u8")
	if err := cat.CreateLesson(ctx, catalog.Lesson{ID: "les-a", Title: "勾股定理", TeacherID: "u-1", AssetID: "u-a", Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateMicroLecture(ctx, catalog.MicroLecture{ID: "ml-1", LessonID: "les-a", Title: "证明", End: time.Minute}); err != nil {
		t.Fatal(err)
	}
	use := func(asset string) {
		t.Helper()
		if _, err := cat.UpdateMicroLecture(ctx, "ml-1", catalog.MicroLectureChange{AssetID: &asset}); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(key string) bool {
		_, err := st.Stat(ctx, key)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	now := t0
	r := New(Options{Catalog: cat, Store: st, Now: func() time.Time { return now }})
	sweep := func(at time.Duration, waiting int, deleted ...string) Result {
		t.Helper()
		now = t0.Add(at)
		res, err := r.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(res.Deleted)
		if res.Waiting != waiting || !slices.Equal(res.Deleted, deleted) {
			t.Fatalf("sweep at %v: %d waiting, deleted %v; want %d, %v", at, res.Waiting, res.Deleted, waiting, deleted)
		}
		return res
	}

	use("clip-2") // the teacher cut again: clip-1 is unused
	sweep(0, 1)
	sweep(59*time.Minute, 1)
	use("clip-1") // ...and went back to the first cut within the hour: clip-2 unused from now
	sweep(61*time.Minute, 1)
	if !exists("vod/clip-1/master.m3u8") || !exists("vod/clip-2/master.m3u8") {
		t.Fatal("media in use or in its grace period was deleted")
	}
	before := testutil.ToFloat64(metrics.ReclaimedBytes)
	res := sweep(122*time.Minute, 0, "clip-2")
	if got := testutil.ToFloat64(metrics.ReclaimedBytes) - before; got != float64(sizes["clip-2"]) {
		t.Errorf("classcast_reclaimed_bytes_total grew by %v, want %d", got, sizes["clip-2"])
	}
	if res.Bytes != sizes["clip-2"] || exists("vod/clip-2/master.m3u8") || exists("vod/clip-2/720p/seg_00001.m4s") {
		t.Fatalf("clip-2: %d bytes reported (want %d), objects left: %v", res.Bytes, sizes["clip-2"], exists("vod/clip-2/master.m3u8"))
	}
	if _, err := cat.Asset(ctx, "clip-2"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("clip-2's record: %v", err)
	}

	// The lesson is deleted: its upload (source and ladder) and its clip go, after the
	// grace period; the clip's source key is the lesson's media, and the recording stays.
	if err := cat.DeleteLesson(ctx, "les-a"); err != nil {
		t.Fatal(err)
	}
	sweep(123*time.Minute, 2)
	res = sweep(184*time.Minute, 0, "clip-1", "u-a")
	if res.Bytes != sizes["clip-1"]+sizes["u-a"] {
		t.Fatalf("%d bytes reported, want %d", res.Bytes, sizes["clip-1"]+sizes["u-a"])
	}
	left, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range left {
		keys = append(keys, o.Key)
	}
	if !slices.Equal(keys, []string{"sources/rec-1/recording.mp4", "vod/rec-1/master.m3u8"}) {
		t.Fatalf("objects left: %v, want the recording's only", keys)
	}
	sweep(300*time.Minute, 0)
}
