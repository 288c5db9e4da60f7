package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/catalog/pgtest"
)

func lessonIDs(ls []Lesson) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.ID
	}
	return out
}

func mustLesson(t *testing.T, c *Catalog, l Lesson) {
	t.Helper()
	if err := c.CreateLesson(context.Background(), l); err != nil {
		t.Fatal(err)
	}
}

func TestLessons(t *testing.T) { forEachBackend(t, testLessons) }

func testLessons(t *testing.T, c *Catalog, _ string) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	base := Lesson{TeacherID: "u-1", TeacherName: "王老师", SchoolID: "s-1", District: "east", Subject: "数学", Grade: "八年级",
		Origin: KindRecording, Visibility: "public"}
	add := func(id, title string, points []string, d time.Duration, at time.Duration, mod func(*Lesson)) {
		l := base
		l.ID, l.Title, l.KnowledgePoints, l.Duration, l.CreatedAt = id, title, points, d, t0.Add(at)
		if mod != nil {
			mod(&l)
		}
		mustLesson(t, c, l)
	}
	add("les-a", "第三章 勾股定理的证明", []string{"勾股定理", "直角三角形"}, 40*time.Minute, 0, nil)
	add("les-b", "一元二次方程 100%_掌握", []string{"一元二次方程"}, 30*time.Minute, time.Hour, nil)
	add("les-c", `Ohm's law a\b`, []string{"欧姆定律"}, 45*time.Minute, 2*time.Hour, func(l *Lesson) {
		l.Subject, l.TeacherID, l.TeacherName, l.SchoolID = "物理", "u-2", "李明华", "s-2"
	})
	add("les-d", "复习课", []string{"勾股定理的逆定理"}, 20*time.Minute, 3*time.Hour, func(l *Lesson) { l.TeacherName = "张勾股" })

	got, err := c.Lesson(ctx, "les-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "第三章 勾股定理的证明" || !slices.Equal(got.KnowledgePoints, []string{"勾股定理", "直角三角形"}) ||
		got.State != ReviewDraft || got.Duration != 40*time.Minute || !got.CreatedAt.Equal(t0) || got.Visibility != "public" {
		t.Fatalf("lesson: %+v", got)
	}
	if _, err := c.Lesson(ctx, "les-zz"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing lesson: %v", err)
	}
	if err := c.CreateLesson(ctx, Lesson{ID: "les-a", Title: "x", TeacherID: "u-1"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	for _, bad := range []Lesson{
		{ID: "les-x", TeacherID: "u-1"},
		{ID: "les-x", Title: "t", TeacherID: "u-1", Visibility: "everyone"},
		{ID: "les-x", Title: "t", TeacherID: "u-1", Origin: "clip"},
		{ID: "../x", Title: "t", TeacherID: "u-1"},
		{ID: "les-x", Title: "t\x00", TeacherID: "u-1"},
		{ID: "les-x", Title: strings.Repeat("长", MaxTitleLen+1), TeacherID: "u-1"},
	} {
		if err := c.CreateLesson(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v, want ErrInvalid", bad, err)
		}
	}

	search := func(f LessonFilter) []string {
		t.Helper()
		ls, total, err := c.ListLessons(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if total < len(ls) {
			t.Fatalf("total %d < page %d", total, len(ls))
		}
		return lessonIDs(ls)
	}
	for _, tc := range []struct {
		f    LessonFilter
		want []string
	}{
		{LessonFilter{Q: "勾股定理"}, []string{"les-d", "les-a"}}, // title and knowledge point "勾股定理的逆定理"
		{LessonFilter{Q: "勾股"}, []string{"les-d", "les-a"}},   // and les-d's teacher 张勾股
		{LessonFilter{Q: "明华"}, []string{"les-c"}},            // teacher name
		{LessonFilter{Q: "直角三角"}, []string{"les-a"}},          // knowledge point only
		{LessonFilter{Q: "100%"}, []string{"les-b"}},          // % is literal
		{LessonFilter{Q: "%"}, []string{"les-b"}},             //
		{LessonFilter{Q: "_"}, []string{"les-b"}},             // _ is literal
		{LessonFilter{Q: `\`}, []string{"les-c"}},             // so is the escape character
		{LessonFilter{Q: `a\b`}, []string{"les-c"}},           //
		{LessonFilter{Q: "OHM'S"}, []string{"les-c"}},         // ASCII case-insensitive, quote safe
		{LessonFilter{Q: "定理", Subject: "数学", Sort: SortTitle}, []string{"les-d", "les-a"}},
		{LessonFilter{Subject: "物理"}, []string{"les-c"}},
		{LessonFilter{SchoolID: "s-1", Sort: SortDuration}, []string{"les-a", "les-b", "les-d"}},
		{LessonFilter{Sort: SortOldest, Limit: 2, Offset: 1}, []string{"les-b", "les-c"}},
		{LessonFilter{TeacherID: "u-2"}, []string{"les-c"}},
		{LessonFilter{KnowledgePoint: "勾股定理"}, []string{"les-a"}},
		{LessonFilter{State: ReviewPublished}, []string{}},
		{LessonFilter{Q: "nothing-like-this"}, []string{}},
	} {
		if got := search(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
		}
	}
	if _, _, err := c.ListLessons(ctx, LessonFilter{Sort: "random"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad sort: %v", err)
	}

	// Review: only legal transitions; reject needs a reason.
	rev := func(id, to, reason string) error {
		_, err := c.ReviewLesson(ctx, id, Review{To: to, Reason: reason, ReviewerID: "u-r"})
		return err
	}
	var se *StateError
	if err := rev("les-a", ReviewApproved, ""); !errors.As(err, &se) || !errors.Is(err, ErrConflict) || se.From != ReviewDraft {
		t.Fatalf("approve a draft: %v", err)
	}
	if err := rev("les-a", ReviewPublished, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("publish a draft: %v", err)
	}
	if err := rev("les-zz", ReviewSubmitted, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("submit a missing lesson: %v", err)
	}
	if err := rev("les-a", ReviewDraft, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("back to draft: %v", err)
	}
	if err := rev("les-a", ReviewSubmitted, ""); err != nil {
		t.Fatal(err)
	}
	if err := rev("les-a", ReviewSubmitted, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("submit twice: %v", err)
	}
	if err := rev("les-a", ReviewRejected, "  "); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reject without reason: %v", err)
	}
	if err := rev("les-a", ReviewRejected, "声音太小"); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.Lesson(ctx, "les-a"); l.State != ReviewRejected || l.RejectReason != "声音太小" || l.ReviewerID != "u-r" || l.ReviewedAt.IsZero() {
		t.Fatalf("rejected: %+v", l)
	}
	// Edits are allowed in draft and rejected only when asked so.
	title := "第三章 勾股定理的证明（修订）"
	pts := []string{"勾股定理", "勾股数"}
	if l, err := c.UpdateLesson(ctx, "les-a", LessonChange{Title: &title, KnowledgePoints: &pts, IfState: []string{ReviewDraft, ReviewRejected}}); err != nil ||
		l.Title != title || !slices.Equal(l.KnowledgePoints, pts) {
		t.Fatalf("update: %+v %v", l, err)
	}
	if got := search(LessonFilter{Q: "勾股数"}); !slices.Equal(got, []string{"les-a"}) {
		t.Fatalf("search after new points: %v", got)
	}
	if got := search(LessonFilter{Q: "直角三角"}); len(got) != 0 {
		t.Fatalf("old point still found: %v", got)
	}
	for _, step := range []string{ReviewSubmitted, ReviewApproved, ReviewPublished} {
		if err := rev("les-a", step, ""); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	if l, _ := c.Lesson(ctx, "les-a"); l.State != ReviewPublished || l.RejectReason != "" || l.SubmittedAt.IsZero() {
		t.Fatalf("published: %+v", l)
	}
	if _, err := c.UpdateLesson(ctx, "les-a", LessonChange{Title: &title, IfState: []string{ReviewDraft, ReviewRejected}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("edit a published lesson: %v", err)
	}
	if _, err := c.UpdateLesson(ctx, "les-zz", LessonChange{Title: &title}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("edit a missing lesson: %v", err)
	}
	empty := ""
	if _, err := c.UpdateLesson(ctx, "les-b", LessonChange{Title: &empty}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty title: %v", err)
	}

	// Visibility in listings: the published public lesson for anyone; own drafts for
	// the owner; school/district rules for published ones.
	if got := search(LessonFilter{Access: AnonymousAccess}); !slices.Equal(got, []string{"les-a"}) {
		t.Fatalf("anonymous: %v", got)
	}
	if got := search(LessonFilter{Access: &LessonAccess{UserID: "u-2", SchoolID: "s-2", District: "east"}}); !slices.Equal(got, []string{"les-c", "les-a"}) {
		t.Fatalf("u-2: %v", got)
	}
	sch := "school"
	if _, err := c.UpdateLesson(ctx, "les-a", LessonChange{Visibility: &sch}); err != nil {
		t.Fatal(err)
	}
	if got := search(LessonFilter{Access: &LessonAccess{UserID: "u-9", SchoolID: "s-9", District: "east"}}); len(got) != 0 {
		t.Fatalf("other school sees a school-only lesson: %v", got)
	}
	if got := search(LessonFilter{Access: &LessonAccess{UserID: "u-8", SchoolID: "s-1"}}); !slices.Equal(got, []string{"les-a"}) {
		t.Fatalf("same school: %v", got)
	}
	dis := "district"
	if _, err := c.UpdateLesson(ctx, "les-a", LessonChange{Visibility: &dis}); err != nil {
		t.Fatal(err)
	}
	if got := search(LessonFilter{Access: &LessonAccess{UserID: "u-9", SchoolID: "s-9", District: "east"}}); !slices.Equal(got, []string{"les-a"}) {
		t.Fatalf("same district: %v", got)
	}
	if got := search(LessonFilter{Access: &LessonAccess{UserID: "u-9", SchoolID: "s-9", District: "west"}}); len(got) != 0 {
		t.Fatalf("other district: %v", got)
	}

	if err := c.DeleteLesson(ctx, "les-a", ReviewDraft, ReviewRejected); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete a published lesson as a teacher: %v", err)
	}
	if err := c.DeleteLesson(ctx, "les-b", ReviewDraft, ReviewRejected); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteLesson(ctx, "les-b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestMicroLecturesCoverageCaptions(t *testing.T) { forEachBackend(t, testMicroLectures) }

func testMicroLectures(t *testing.T, c *Catalog, _ string) {
	ctx := context.Background()
	mustLesson(t, c, Lesson{ID: "les-1", Title: "勾股定理", TeacherID: "u-1", SchoolID: "s-1", Subject: "数学", Grade: "八年级",
		Duration: 45 * time.Minute, KnowledgePoints: []string{"勾股定理", "勾股数"}})
	mustLesson(t, c, Lesson{ID: "les-2", Title: "欧姆定律", TeacherID: "u-1", Subject: "物理", Grade: "八年级", KnowledgePoints: []string{"欧姆定律"}})
	if err := c.SetKnowledgePoints(ctx, "数学", "八年级", []string{"二次根式", "勾股定理", "勾股定理的逆定理", "勾股定理"}); err != nil {
		t.Fatal(err)
	}
	if pts, err := c.KnowledgePoints(ctx, "数学", "八年级"); err != nil || !slices.Equal(pts, []string{"二次根式", "勾股定理", "勾股定理的逆定理"}) {
		t.Fatalf("curriculum: %v %v", pts, err)
	}
	clip := func(id, point string, start, end time.Duration) MicroLecture {
		return MicroLecture{ID: id, LessonID: "les-1", Title: "微课 " + point, KnowledgePoint: point, Start: start, End: end}
	}
	for _, m := range []MicroLecture{
		clip("ml-1", "勾股定理", time.Minute, 6*time.Minute),
		clip("ml-2", "勾股数", 10*time.Minute, 15*time.Minute),
		clip("ml-3", "勾股定理的逆定理", 20*time.Minute, 25*time.Minute),
	} {
		if err := c.CreateMicroLecture(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateMicroLecture(ctx, clip("ml-9", "x", 40*time.Minute, 50*time.Minute)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("clip past the lesson's end: %v", err)
	}
	if err := c.CreateMicroLecture(ctx, clip("ml-9", "x", 5*time.Minute, 5*time.Minute)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty clip: %v", err)
	}
	bad := clip("ml-9", "x", 0, time.Minute)
	bad.LessonID = "les-zz"
	if err := c.CreateMicroLecture(ctx, bad); !errors.Is(err, ErrNotFound) {
		t.Fatalf("clip of a missing lesson: %v", err)
	}
	m, err := c.MicroLecture(ctx, "ml-1")
	if err != nil || m.Start != time.Minute || m.End != 6*time.Minute || m.State != ReviewDraft || m.TeacherID != "u-1" || m.Subject != "数学" || m.SchoolID != "s-1" {
		t.Fatalf("micro-lecture: %+v %v", m, err)
	}
	// ml-1 approved, ml-2 published, ml-3 rejected.
	for _, s := range []struct{ id, to, reason string }{
		{"ml-1", ReviewSubmitted, ""}, {"ml-1", ReviewApproved, ""},
		{"ml-2", ReviewSubmitted, ""}, {"ml-2", ReviewApproved, ""}, {"ml-2", ReviewPublished, ""},
		{"ml-3", ReviewSubmitted, ""}, {"ml-3", ReviewRejected, "画面模糊"},
	} {
		if _, err := c.ReviewMicroLecture(ctx, s.id, Review{To: s.to, Reason: s.reason, ReviewerID: "u-r"}); err != nil {
			t.Fatalf("%s → %s: %v", s.id, s.to, err)
		}
	}
	if _, err := c.ReviewMicroLecture(ctx, "ml-3", Review{To: ReviewPublished}); !errors.Is(err, ErrConflict) {
		t.Fatalf("publish a rejected clip: %v", err)
	}
	cov, err := c.Coverage(ctx, "数学", "八年级")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range cov {
		got = append(got, fmt.Sprintf("%s:%v:%d:%d:%v:%v", p.Point, p.Covered, p.MicroLectures, p.Lessons, p.InCurriculum, p.MicroLectureIDs))
	}
	want := []string{"二次根式:false:0:0:true:[]", "勾股定理:true:1:1:true:[ml-1]", "勾股定理的逆定理:false:0:0:true:[]", "勾股数:true:1:1:false:[ml-2]"}
	if !slices.Equal(got, want) {
		t.Fatalf("coverage:\n got %v\nwant %v", got, want)
	}
	if cov, err := c.Coverage(ctx, "物理", "八年级"); err != nil || len(cov) != 1 || cov[0].Point != "欧姆定律" || cov[0].Covered {
		t.Fatalf("physics coverage: %+v %v", cov, err)
	}

	// Moving the cut points forgets the old media.
	asset := "clip-asset-1"
	if _, err := c.UpdateMicroLecture(ctx, "ml-3", MicroLectureChange{AssetID: &asset}); err != nil {
		t.Fatal(err)
	}
	lessonAsset := "lesson-asset-1"
	if _, err := c.UpdateLesson(ctx, "les-1", LessonChange{AssetID: &lessonAsset}); err != nil {
		t.Fatal(err)
	}
	if uses, err := c.AssetUses(ctx, asset); err != nil || len(uses) != 1 ||
		uses[0] != (AssetUse{Kind: "clip", ID: "ml-3", State: ReviewRejected, Visibility: "school", SchoolID: "s-1", OwnerID: "u-1"}) {
		t.Fatalf("uses of the clip's asset: %+v %v", uses, err)
	}
	if uses, err := c.AssetUses(ctx, lessonAsset); err != nil || len(uses) != 1 || uses[0].Kind != "lesson" || uses[0].ID != "les-1" {
		t.Fatalf("uses of the lesson's asset: %+v %v", uses, err)
	}
	if uses, err := c.AssetUses(ctx, "unused"); err != nil || len(uses) != 0 {
		t.Fatalf("uses of an unused asset: %+v %v", uses, err)
	}
	end := 26 * time.Minute
	if m, err := c.UpdateMicroLecture(ctx, "ml-3", MicroLectureChange{End: &end, IfState: []string{ReviewDraft, ReviewRejected}}); err != nil || m.AssetID != "" || m.End != end {
		t.Fatalf("move the end: %+v %v", m, err)
	}
	if _, err := c.UpdateMicroLecture(ctx, "ml-2", MicroLectureChange{End: &end, IfState: []string{ReviewDraft, ReviewRejected}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("edit a published clip: %v", err)
	}
	list, total, err := c.ListMicroLectures(ctx, MicroLectureFilter{LessonID: "les-1"})
	if err != nil || total != 3 || len(list) != 3 || list[0].ID != "ml-1" {
		t.Fatalf("list: %v %d %v", list, total, err)
	}
	if err := c.DeleteLesson(ctx, "les-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.MicroLecture(ctx, "ml-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("clip outlived its lesson: %v", err)
	}

	// Captions.
	if err := c.PutCaption(ctx, Caption{LessonID: "les-2", Lang: "zh-CN", Label: "中文", Key: "captions/les-2/zh-CN.vtt"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PutCaption(ctx, Caption{LessonID: "les-2", Lang: "zh-CN", Label: "简体中文", Key: "captions/les-2/zh-CN-2.vtt"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PutCaption(ctx, Caption{LessonID: "les-2", Lang: "en", Label: "English", Key: "captions/les-2/en.vtt"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Caption{
		{LessonID: "les-2", Lang: "../x", Key: "a.vtt"},
		{LessonID: "les-2", Lang: "en", Key: "../etc/passwd"},
		{LessonID: "les-2", Lang: "en", Key: "/abs.vtt"},
	} {
		if err := c.PutCaption(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	caps, err := c.Captions(ctx, "les-2")
	if err != nil || len(caps) != 2 || caps[0].Lang != "en" || caps[1].Label != "简体中文" || caps[1].Key != "captions/les-2/zh-CN-2.vtt" {
		t.Fatalf("captions: %+v %v", caps, err)
	}
	if err := c.DeleteCaption(ctx, "les-2", "en"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteCaption(ctx, "les-2", "en"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// TestSeedAndMeasure checks the benchmark's seeding and measuring on a small library.
func TestSeedAndMeasure(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *Catalog, _ string) {
		ctx := context.Background()
		if err := c.SeedLessons(ctx, 500, 1); err != nil {
			t.Fatal(err)
		}
		res, err := c.MeasureSearches(ctx, TypicalSearches(), 3)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Total == 0 || res[4].Total != 500 || res[6].Total != 0 {
			t.Fatalf("timings: %+v", res)
		}
	})
}

// BenchmarkSearch100k seeds 100,000 lessons on each backend and reports the p50 and
// p95 latency of typical library queries. With CLASSCAST_BENCH_OUT set it appends a
// Markdown table there (scripts/bench reads it).
func BenchmarkSearch100k(b *testing.B) {
	ctx := context.Background()
	var md strings.Builder
	md.WriteString("| backend | query | matches | p50 | p95 |\n|---|---|---:|---:|---:|\n")
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			t0 := time.Now()
			c := benchOpen(b, be.name)
			if err := c.SeedLessons(ctx, 100_000, 42); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: seeded 100,000 lessons in %s", be.name, time.Since(t0).Round(time.Millisecond))
			b.ResetTimer()
			var res []SearchTiming
			for b.Loop() {
				var err error
				if res, err = c.MeasureSearches(ctx, TypicalSearches(), 21); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			for _, r := range res {
				fmt.Fprintf(&md, "| %s | %s | %d | %.1f ms | %.1f ms |\n", be.name, r.Name, r.Total,
					float64(r.P50.Microseconds())/1000, float64(r.P95.Microseconds())/1000)
			}
		})
	}
	b.Log("\n" + md.String())
	if out := os.Getenv("CLASSCAST_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(md.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// benchOpen is a fresh catalog on the named backend for a benchmark.
func benchOpen(b *testing.B, backend string) *Catalog {
	dsn := "sqlite://" + filepath.Join(b.TempDir(), "catalog.db")
	if backend == "postgres" {
		dsn = pgtest.Start(b).URL()
	}
	c, err := Open(context.Background(), dsn, "", slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// TestConcurrentLessonEdits: editors of one lesson wait for each other instead of
// failing ("database is locked" on SQLite) or mixing one's title with another's points.
func TestConcurrentLessonEdits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *Catalog, _ string) {
		ctx := context.Background()
		mustLesson(t, c, Lesson{ID: "les-c", Title: "t", TeacherID: "u-1"})
		var wg sync.WaitGroup
		errs := make(chan error, 80)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 10 {
					title := fmt.Sprintf("标题%d-%d", i, j)
					pts := []string{"点" + title}
					if _, err := c.UpdateLesson(ctx, "les-c", LessonChange{Title: &title, KnowledgePoints: &pts}); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		l, err := c.Lesson(ctx, "les-c")
		if err != nil || len(l.KnowledgePoints) != 1 || l.KnowledgePoints[0] != "点"+l.Title {
			t.Fatalf("after concurrent edits: %+v %v", l, err)
		}
		if ls, _, err := c.ListLessons(ctx, LessonFilter{Q: "点" + l.Title}); err != nil || len(ls) != 1 {
			t.Fatalf("search text out of step: %v %v", ls, err)
		}
	})
}
