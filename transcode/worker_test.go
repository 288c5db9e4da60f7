package transcode

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/classcast/classcast/internal/embedded/redistest"
	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/transcode/ladder"
)

// assetLog is the AssetStore of these tests: it records every call, as the catalog
// would record the asset's state, so a test can assert what a user would see.
type assetLog struct {
	mu     sync.Mutex
	events []assetEvent
}

type assetEvent struct {
	id, kind, step, reason string // kind: progress, ready, failed, queued
	pct                    float64
	at                     time.Time
	result                 ladder.Result
}

func (a *assetLog) add(e assetEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	e.at = time.Now()
	a.events = append(a.events, e)
	return nil
}

func (a *assetLog) SetProgress(_ context.Context, id, step string, pct float64) error {
	return a.add(assetEvent{id: id, kind: "progress", step: step, pct: pct})
}

func (a *assetLog) SetReady(_ context.Context, id string, r ladder.Result) error {
	return a.add(assetEvent{id: id, kind: "ready", result: r})
}

func (a *assetLog) SetFailed(_ context.Context, id, reason string) error {
	return a.add(assetEvent{id: id, kind: "failed", reason: reason})
}

func (a *assetLog) SetQueued(_ context.Context, id string) error {
	return a.add(assetEvent{id: id, kind: "queued"})
}

// of returns the events of one asset, of the given kinds (all if none).
func (a *assetLog) of(id string, kinds ...string) []assetEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []assetEvent
	for _, e := range a.events {
		if e.id == id && (len(kinds) == 0 || slices.Contains(kinds, e.kind)) {
			out = append(out, e)
		}
	}
	return out
}

// wait polls until cond holds or timeout passes.
func wait(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFinal waits for an asset to be ready or failed and returns that event.
func (a *assetLog) waitFinal(t *testing.T, id string, timeout time.Duration) assetEvent {
	t.Helper()
	var e assetEvent
	wait(t, "asset "+id+" ready or failed", timeout, func() bool {
		ev := a.of(id, "ready", "failed")
		if len(ev) > 0 {
			e = ev[0]
			return true
		}
		return false
	})
	return e
}

// makeSource encodes a test lesson with the ffmpeg CLI: H.264 + AAC in MP4.
func makeSource(t *testing.T, seconds int, size string) []byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed")
	}
	out := filepath.Join(t.TempDir(), "src.mp4")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "main", "-g", "50",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type env struct {
	redis  *redistest.Server
	store  storage.Store
	assets *assetLog
	queue  *Queue
	insp   *asynq.Inspector
	temp   string
	logbuf *syncBuffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	r := redistest.Start(t)
	st, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &env{redis: r, store: st, assets: &assetLog{}, queue: newQueue(t, r.URL()), insp: inspector(t, r.URL()),
		temp: t.TempDir(), logbuf: &syncBuffer{}}
}

func (e *env) worker(t *testing.T, name string, shutdownTimeout time.Duration) *Worker {
	t.Helper()
	log := slog.New(slog.NewTextHandler(e.logbuf, &slog.HandlerOptions{Level: slog.LevelInfo})).With("worker", name)
	w, err := NewWorker(WorkerOptions{
		RedisURL: e.redis.URL(), Concurrency: 1, ShutdownTimeout: shutdownTimeout,
		Store: e.store, Assets: e.assets, TempDir: e.temp, Preset: "ultrafast", MaxHeight: 1080, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(w.Shutdown) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker logs:\n%s", e.logbuf.String())
		}
	})
	return w
}

func (e *env) put(t *testing.T, key string, b []byte) {
	t.Helper()
	if err := e.store.Put(t.Context(), key, bytes.NewReader(b), int64(len(b)), ""); err != nil {
		t.Fatal(err)
	}
}

func (e *env) enqueue(t *testing.T, id, key, origin string) {
	t.Helper()
	if err := e.queue.EnqueueLadder(t.Context(), LadderV1{V: 1, AssetID: id, SourceKey: key, Origin: origin, DurationHint: 4 * time.Second}); err != nil {
		t.Fatal(err)
	}
}

// keys lists the object keys under vod/<id>/.
func (e *env) keys(t *testing.T, id string) []string {
	t.Helper()
	objs, err := e.store.List(t.Context(), "vod/"+id+"/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, strings.TrimPrefix(o.Key, "vod/"+id+"/"))
	}
	return out
}

// checkReady asserts that the asset's objects are exactly the ladder's files, the
// master playlist names its renditions, and the work files are gone.
func (e *env) checkReady(t *testing.T, id string, ev assetEvent, duration time.Duration) {
	t.Helper()
	if ev.kind != "ready" {
		t.Fatalf("asset %s: %s (%s), want ready", id, ev.kind, ev.reason)
	}
	want := slices.Clone(ev.result.Files)
	for i := range want {
		want[i] = filepath.ToSlash(want[i])
	}
	slices.Sort(want)
	got := e.keys(t, id)
	if !slices.Equal(got, want) {
		t.Fatalf("asset %s: objects %v, want exactly the ladder's files %v", id, got, want)
	}
	r, info, err := e.store.Get(t.Context(), "vod/"+id+"/master.m3u8", nil)
	if err != nil {
		t.Fatal(err)
	}
	var master bytes.Buffer
	master.ReadFrom(r)
	r.Close()
	if info.ContentType != "application/vnd.apple.mpegurl" || !strings.HasPrefix(master.String(), "#EXTM3U") {
		t.Fatalf("master.m3u8: %s %q", info.ContentType, master.String())
	}
	for _, rn := range ev.result.Renditions {
		if !strings.Contains(master.String(), rn.Playlist) {
			t.Errorf("master.m3u8 does not name rendition %s (%s)", rn.Name, rn.Playlist)
		}
	}
	if d := ev.result.Duration - duration; d < -time.Second || d > time.Second {
		t.Errorf("duration %v, want about %v", ev.result.Duration, duration)
	}
	e.checkNoWorkFiles(t, id)
}

// checkNoWorkFiles asserts that no work directory of the asset is left.
func (e *env) checkNoWorkFiles(t *testing.T, id string) {
	t.Helper()
	left, _ := os.ReadDir(workRoot(e.temp))
	for _, d := range left {
		if strings.HasPrefix(d.Name(), id+"-") {
			t.Errorf("work files of %s left behind: %s", id, d.Name())
		}
	}
}

// taskInfo finds a task in a queue (any state).
func (e *env) taskInfo(t *testing.T, queue, id string) *asynq.TaskInfo {
	t.Helper()
	ti, err := e.insp.GetTaskInfo(queue, id)
	if err != nil {
		t.Fatal(err)
	}
	return ti
}

func TestLadderTaskEndToEnd(t *testing.T) {
	e := newEnv(t)
	src := makeSource(t, 4, "640x360")
	e.put(t, "sources/lesson-1/recording.mp4", src)
	e.enqueue(t, "lesson-1", "sources/lesson-1/recording.mp4", OriginLive)
	e.enqueue(t, "lesson-1", "sources/lesson-1/recording.mp4", OriginLive) // a duplicate: no second task
	start := time.Now()
	e.worker(t, "w1", time.Second)
	ev := e.assets.waitFinal(t, "lesson-1", 90*time.Second)
	took := time.Since(start)
	e.checkReady(t, "lesson-1", ev, 4*time.Second)

	// Progress: download first, then ladder steps, then upload; never backwards; at
	// most about one write a second (plus the forced step changes).
	prog := e.assets.of("lesson-1", "progress")
	if len(prog) < 2 || prog[0].step != "download" || prog[0].pct != 0 {
		t.Fatalf("progress = %+v, want it to start with download 0", prog)
	}
	var steps []string
	for i, p := range prog {
		if i > 0 && p.pct < prog[i-1].pct {
			t.Errorf("progress went back from %.1f to %.1f", prog[i-1].pct, p.pct)
		}
		if p.pct < 0 || p.pct > 100 {
			t.Errorf("progress %.1f out of range", p.pct)
		}
		if len(steps) == 0 || steps[len(steps)-1] != p.step {
			steps = append(steps, p.step)
		}
	}
	// A short source is done within the throttle interval, so ladder steps may not
	// show here; TestShutdownHandsTaskBack waits for one.
	if last := prog[len(prog)-1]; last.step != "upload" || last.pct < 90 {
		t.Errorf("last progress %s %.1f, want upload 90-100 (steps %v)", last.step, last.pct, steps)
	}
	if max := int(took.Seconds()) + 4; len(prog) > max {
		t.Errorf("%d progress writes in %v: not throttled", len(prog), took)
	}
	t.Logf("ready in %v; steps %v; %d progress writes; files %d", took.Round(time.Millisecond), steps, len(prog), len(ev.result.Files))

	ti := e.taskInfo(t, QueueLive, "ladder:lesson-1")
	if ti.State != asynq.TaskStateCompleted || ti.Retried != 0 {
		t.Fatalf("task state %v retried %d, want completed 0", ti.State, ti.Retried)
	}
	if n := len(e.assets.of("lesson-1", "ready")); n != 1 {
		t.Fatalf("%d ready events, want 1", n)
	}
	// A completed task keeps its ID: enqueueing again is a no-op.
	e.enqueue(t, "lesson-1", "sources/lesson-1/recording.mp4", OriginLive)
	if pending, _ := e.insp.ListPendingTasks(QueueLive); len(pending) != 0 {
		t.Fatalf("re-enqueue of a completed asset queued %d tasks", len(pending))
	}
}

// Input that can never work fails at once with a reason, without retries, and does not
// hold up the other tasks.
func TestBadInputFailsOnce(t *testing.T) {
	e := newEnv(t)
	e.put(t, "sources/notes/lesson.mp4", []byte("These are my lesson notes, not a video.\n"))
	e.put(t, "sources/empty/lesson.mp4", nil)
	e.put(t, "sources/good/lesson.mp4", makeSource(t, 4, "640x360"))
	e.enqueue(t, "notes", "sources/notes/lesson.mp4", OriginUpload)
	e.enqueue(t, "empty", "sources/empty/lesson.mp4", OriginUpload)
	e.enqueue(t, "missing", "sources/missing/lesson.mp4", OriginUpload)
	e.enqueue(t, "good", "sources/good/lesson.mp4", OriginUpload)
	// A payload this worker cannot read (a newer version) can never succeed either.
	if _, err := e.queue.client.Enqueue(asynq.NewTask(TypeLadder, []byte(`{"v":2,"asset_id":"future","source_key":"sources/future/x.mp4"}`)),
		asynq.Queue(QueueUpload), asynq.TaskID("ladder:future"), asynq.MaxRetry(MaxRetry)); err != nil {
		t.Fatal(err)
	}
	e.worker(t, "w1", time.Second)

	for _, id := range []string{"notes", "empty", "missing", "future"} {
		ev := e.assets.waitFinal(t, id, 60*time.Second)
		if ev.kind != "failed" || ev.reason == "" {
			t.Fatalf("%s: %s %q, want failed with a reason", id, ev.kind, ev.reason)
		}
		if strings.Contains(ev.reason, e.temp) {
			t.Errorf("%s: the reason shows a work path: %q", id, ev.reason)
		}
		t.Logf("%s: failed: %s", id, ev.reason)
	}
	if r := e.assets.of("missing", "failed")[0].reason; !strings.Contains(r, "missing") {
		t.Errorf("missing source: reason %q does not say so", r)
	}
	e.checkReady(t, "good", e.assets.waitFinal(t, "good", 90*time.Second), 4*time.Second)
	for _, id := range []string{"notes", "empty", "missing", "future"} {
		ti := e.taskInfo(t, QueueUpload, "ladder:"+id)
		if ti.State != asynq.TaskStateArchived || ti.Retried != 0 || ti.LastErr == "" {
			t.Errorf("%s: task %v retried %d last error %q, want archived, 0 retries, an error", id, ti.State, ti.Retried, ti.LastErr)
		}
		if n := len(e.assets.of(id, "failed")); n != 1 {
			t.Errorf("%s: %d failed events, want 1", id, n)
		}
		if n := len(e.assets.of(id, "ready", "queued")); n != 0 {
			t.Errorf("%s: %d ready/queued events, want none", id, n)
		}
		if keys := e.keys(t, id); len(keys) != 0 {
			t.Errorf("%s: objects %v left under vod/", id, keys)
		}
	}
}

// Redis killed and restarted while tasks wait and one runs: none is lost.
func TestRedisRestartMidQueue(t *testing.T) {
	e := newEnv(t)
	src := makeSource(t, 4, "640x360")
	ids := []string{"r1", "r2", "r3"}
	for _, id := range ids {
		e.put(t, "sources/"+id+"/lesson.mp4", src)
		e.enqueue(t, id, "sources/"+id+"/lesson.mp4", OriginLive)
	}
	e.worker(t, "w1", time.Second)
	wait(t, "the first task to start", 30*time.Second, func() bool {
		for _, id := range ids {
			if len(e.assets.of(id, "progress")) > 0 {
				return true
			}
		}
		return false
	})
	e.redis.Kill()
	time.Sleep(500 * time.Millisecond)
	e.redis.Restart()
	for _, id := range ids {
		e.checkReady(t, id, e.assets.waitFinal(t, id, 90*time.Second), 4*time.Second)
	}
	// Every task ends completed: none is left active, to be found by the recoverer and
	// run a second time.
	for _, id := range ids {
		wait(t, "task "+id+" completed", 30*time.Second, func() bool {
			return e.taskInfo(t, QueueLive, "ladder:"+id).State == asynq.TaskStateCompleted
		})
		if n := len(e.assets.of(id, "ready")); n != 1 {
			t.Errorf("%s: %d ready events", id, n)
		}
	}
}

// A worker stopped mid-task hands the task back; another finishes it with exactly the
// ladder's objects, removing what an earlier attempt left.
func TestShutdownHandsTaskBack(t *testing.T) {
	e := newEnv(t)
	e.put(t, "sources/long/lesson.mp4", makeSource(t, 20, "1280x720"))
	// What a killed earlier attempt might have left: objects no ladder run makes.
	e.put(t, "vod/long/stale/seg_99999.m4s", []byte("partial"))
	e.put(t, "vod/long/old.m3u8", []byte("#EXTM3U\n"))
	e.enqueue(t, "long", "sources/long/lesson.mp4", OriginUpload)

	w1 := e.worker(t, "w1", 200*time.Millisecond)
	wait(t, "the ladder to be under way", 60*time.Second, func() bool {
		p := e.assets.of("long", "progress")
		return len(p) > 0 && p[len(p)-1].step == "ladder"
	})
	stopped := time.Now()
	w1.Shutdown()
	t.Logf("shutdown took %v", time.Since(stopped).Round(time.Millisecond))
	if n := len(e.assets.of("long", "ready")); n != 0 {
		t.Fatalf("ready before the shutdown could interrupt it; make the source longer")
	}
	if q := e.assets.of("long", "queued"); len(q) != 1 {
		t.Fatalf("%d queued events after the hand-back, want 1", len(q))
	}
	ti := e.taskInfo(t, QueueUpload, "ladder:long")
	if ti.State != asynq.TaskStatePending || ti.Retried != 0 {
		t.Fatalf("handed-back task %v retried %d, want pending 0", ti.State, ti.Retried)
	}
	e.checkNoWorkFiles(t, "long")
	if p := e.assets.of("long", "progress"); p[len(p)-1].pct <= 6 || p[len(p)-1].pct >= 82 {
		t.Errorf("ladder progress %.1f, want within the ladder's 6-82 %%", p[len(p)-1].pct)
	}

	e.worker(t, "w2", time.Second)
	ev := e.assets.waitFinal(t, "long", 120*time.Second)
	e.checkReady(t, "long", ev, 20*time.Second)
	if n := len(e.assets.of("long", "ready")); n != 1 {
		t.Fatalf("%d ready events, want 1", n)
	}
	if !strings.Contains(e.logbuf.String(), "deleted objects of an earlier attempt") {
		t.Error("no log line about the stale objects")
	}
}

// Work directories of a killed worker are removed when a worker starts; one in use is not.
func TestCleanWorkDirs(t *testing.T) {
	root := t.TempDir()
	inUse, release, err := newWorkDir(root, "busy")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	dead := filepath.Join(root, "dead-123")
	os.MkdirAll(filepath.Join(dead, "out"), 0o755)
	os.WriteFile(filepath.Join(dead, ".lock"), nil, 0o600)
	os.WriteFile(filepath.Join(dead, "source.mp4"), []byte("x"), 0o600)
	fresh := filepath.Join(root, "fresh-456") // no lock file yet, just made
	os.MkdirAll(fresh, 0o755)
	cleanWorkDirs(root, slog.New(slog.DiscardHandler))
	for dir, want := range map[string]bool{inUse: true, dead: false, fresh: true} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", filepath.Base(dir), err == nil, want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
