package catalog

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T) (*Catalog, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "sub", "catalog.db")
	c, err := Open(context.Background(), "", file, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, file
}

func TestAssetLifecycle(t *testing.T) {
	ctx := context.Background()
	c, file := open(t)
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	a := Asset{ID: "r20261123t132700-abc123", Kind: KindRecording, StreamPath: "school-a/room-101", State: StateRecording, StartedAt: start}
	if err := c.CreateAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	// Announcing it again (a recovered recording) keeps the row as it is.
	if err := c.CreateAsset(ctx, Asset{ID: a.ID, Kind: KindRecording, State: StateQueued}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Asset(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateRecording || got.StreamPath != a.StreamPath || !got.StartedAt.Equal(start) {
		t.Fatalf("got %+v", got)
	}
	if err := c.SetRecorded(ctx, a.ID, start.Add(45*time.Minute), 45*time.Minute, "sources/x/recording.mp4"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetQueued(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.SetProgress(ctx, a.ID, "ladder", 142); err != nil {
		t.Fatal(err)
	}
	got, _ = c.Asset(ctx, a.ID)
	if got.State != StateProcessing || got.Step != "ladder" || got.Percent != 100 || got.Duration != 45*time.Minute || got.SourceKey == "" {
		t.Fatalf("processing: %+v", got)
	}
	r := []Rendition{{Name: "720p", Width: 1280, Height: 720, Bandwidth: 2_800_000, Codecs: "avc1.4d401f,mp4a.40.2"}}
	if err := c.SetReady(ctx, a.ID, 45*time.Minute+time.Second, 1280, 720, r); err != nil {
		t.Fatal(err)
	}
	// A task handed back after the asset became ready must not hide it again.
	if err := c.SetQueued(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = c.Asset(ctx, a.ID)
	if got.State != StateReady || len(got.Renditions) != 1 || got.Renditions[0] != r[0] || got.Width != 1280 {
		t.Fatalf("ready: %+v", got)
	}

	// The file survives a reopen (migrations are not applied twice).
	c.Close()
	c2, err := Open(ctx, "sqlite://"+file, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got, err := c2.Asset(ctx, a.ID); err != nil || got.State != StateReady {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	c, _ := open(t)
	if _, err := c.Asset(ctx, "nope-123"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing asset: %v", err)
	}
	if err := c.SetFailed(ctx, "nope-123", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	for _, id := range []string{"", "../etc", "A-upper", "a/b", "ab"} {
		if err := c.CreateAsset(ctx, Asset{ID: id, Kind: KindUpload, State: StateQueued}); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
	if _, err := Open(ctx, "mysql://x", "", slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("mysql accepted")
	}
}

func TestListPagingAndConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	c, _ := open(t)
	base := time.Now().Add(-time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			state := StateReady
			if i%4 == 0 {
				state = StateFailed
			}
			errs <- c.CreateAsset(ctx, Asset{ID: "u" + time.Duration(i).String() + "-item", Kind: KindUpload, State: state, CreatedAt: base.Add(time.Duration(i) * time.Second)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	page, total, err := c.ListAssets(ctx, AssetFilter{State: StateReady, Limit: 7, Offset: 7})
	if err != nil {
		t.Fatal(err)
	}
	if total != 30 || len(page) != 7 {
		t.Fatalf("total %d page %d", total, len(page))
	}
	for i := 1; i < len(page); i++ {
		if page[i].CreatedAt.After(page[i-1].CreatedAt) {
			t.Fatal("not newest first")
		}
		if page[i].State != StateReady {
			t.Fatal("filter ignored")
		}
	}
	all, total, _ := c.ListAssets(ctx, AssetFilter{Limit: 1000})
	if total != 40 || len(all) != 40 {
		t.Fatalf("all: %d %d", total, len(all))
	}
}
