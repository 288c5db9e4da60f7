package catalog

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestUnusedAssets(t *testing.T) { forEachBackend(t, testUnusedAssets) }

// Media goes unused when its lesson is deleted, when a micro-lecture is cut again or
// deleted; recordings, media still processing and the source of a clip being cut stay.
func testUnusedAssets(t *testing.T, c *Catalog, _ string) {
	ctx := context.Background()
	asset := func(id, kind, state, source string) {
		t.Helper()
		if err := c.CreateAsset(ctx, Asset{ID: id, Kind: kind, State: state, SourceKey: source}); err != nil {
			t.Fatal(err)
		}
	}
	unused := func(want ...string) {
		t.Helper()
		list, err := c.UnusedAssets(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range list {
			got = append(got, a.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("unused assets %v, want %v", got, want)
		}
	}
	asset("u-kept", KindUpload, StateReady, "sources/u-kept/upload.mp4")
	asset("u-gone", KindUpload, StateReady, "sources/u-gone/upload.mp4")
	asset("u-busy", KindUpload, StateProcessing, "sources/u-busy/upload.mp4")
	asset("rec-1", KindRecording, StateReady, "sources/rec-1/recording.mp4")
	mustLesson(t, c, Lesson{ID: "les-kept", Title: "kept", TeacherID: "u-1", AssetID: "u-kept", Duration: 10 * time.Minute})
	mustLesson(t, c, Lesson{ID: "les-gone", Title: "gone", TeacherID: "u-1", AssetID: "u-gone", Duration: 10 * time.Minute})
	if err := c.CreateMicroLecture(ctx, MicroLecture{ID: "ml-1", LessonID: "les-kept", Title: "a", Start: 0, End: time.Minute}); err != nil {
		t.Fatal(err)
	}
	first := "clip-first"
	asset(first, KindClip, StateReady, "vod/u-kept/")
	if _, err := c.UpdateMicroLecture(ctx, "ml-1", MicroLectureChange{AssetID: &first}); err != nil {
		t.Fatal(err)
	}
	unused() // u-busy: nothing uses it, but it is still being made
	if err := c.SetFailed(ctx, "u-busy", "corrupt"); err != nil {
		t.Fatal(err)
	}
	unused("u-busy")

	// Cut again: the first cut goes once the second exists.
	second := "clip-second"
	asset(second, KindClip, StateQueued, "vod/u-kept/")
	if _, err := c.UpdateMicroLecture(ctx, "ml-1", MicroLectureChange{AssetID: &second}); err != nil {
		t.Fatal(err)
	}
	unused("clip-first", "u-busy")

	// A deleted lesson frees its upload, except while a clip is being cut from it.
	if err := c.CreateMicroLecture(ctx, MicroLecture{ID: "ml-2", LessonID: "les-gone", Title: "b", Start: 0, End: time.Minute}); err != nil {
		t.Fatal(err)
	}
	asset("clip-of-gone", KindClip, StateProcessing, "vod/u-gone/")
	if err := c.DeleteLesson(ctx, "les-gone"); err != nil {
		t.Fatal(err)
	}
	unused("clip-first", "u-busy")
	if err := c.SetFailed(ctx, "clip-of-gone", "its lesson was deleted"); err != nil {
		t.Fatal(err)
	}
	unused("clip-first", "clip-of-gone", "u-busy", "u-gone")

	// The delete checks again: a lesson made on u-busy meanwhile keeps it.
	mustLesson(t, c, Lesson{ID: "les-again", Title: "again", TeacherID: "u-1", AssetID: "u-busy", Duration: time.Minute})
	if err := c.DeleteUnusedAsset(ctx, "u-busy"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting an asset a lesson uses: %v", err)
	}
	for _, id := range []string{"clip-first", "clip-of-gone", "u-gone"} {
		if err := c.DeleteUnusedAsset(ctx, id); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
		if _, err := c.Asset(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s still there: %v", id, err)
		}
	}
	unused()
	for _, id := range []string{"u-kept", "u-busy", "rec-1", second} {
		if _, err := c.Asset(ctx, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
}

func TestAssetUsesOf(t *testing.T) { forEachBackend(t, testAssetUsesOf) }

// A listing asks the uses of a page of assets in one query: each asset gets exactly its
// own lessons and micro-lectures, and assets nothing uses are absent.
func testAssetUsesOf(t *testing.T, c *Catalog, _ string) {
	ctx := context.Background()
	for _, id := range []string{"a-1", "a-2", "a-3", "clip-1"} {
		if err := c.CreateAsset(ctx, Asset{ID: id, Kind: KindUpload, State: StateReady}); err != nil {
			t.Fatal(err)
		}
	}
	mustLesson(t, c, Lesson{ID: "les-1", Title: "一", TeacherID: "u-1", AssetID: "a-1", Duration: time.Hour, Visibility: "public"})
	mustLesson(t, c, Lesson{ID: "les-2", Title: "二", TeacherID: "u-2", AssetID: "a-1", Duration: time.Hour})
	mustLesson(t, c, Lesson{ID: "les-3", Title: "三", TeacherID: "u-3", AssetID: "a-2", Duration: time.Hour})
	clip := "clip-1"
	if err := c.CreateMicroLecture(ctx, MicroLecture{ID: "ml-1", LessonID: "les-3", Title: "c", End: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateMicroLecture(ctx, "ml-1", MicroLectureChange{AssetID: &clip}); err != nil {
		t.Fatal(err)
	}
	got, err := c.AssetUsesOf(ctx, []string{"a-1", "a-2", "a-3", "clip-1", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	summary := map[string]string{}
	for id, uses := range got {
		for _, u := range uses {
			summary[id] += u.Kind + ":" + u.ID + ":" + u.OwnerID + " "
		}
	}
	want := map[string]string{"a-1": "lesson:les-1:u-1 lesson:les-2:u-2 ", "a-2": "lesson:les-3:u-3 ", "clip-1": "clip:ml-1:u-3 "}
	if len(summary) != len(want) {
		t.Fatalf("uses %v, want %v", summary, want)
	}
	for id, w := range want {
		if summary[id] != w {
			t.Errorf("uses of %s: %q, want %q", id, summary[id], w)
		}
	}
	if one, err := c.AssetUses(ctx, "a-3"); err != nil || one == nil || len(one) != 0 {
		t.Errorf("an asset nothing uses: %v %v, want an empty list", one, err)
	}
}
