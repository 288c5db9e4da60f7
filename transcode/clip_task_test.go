package transcode

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

func TestClipV1Validate(t *testing.T) {
	good := ClipV1{V: 1, AssetID: "c1", SourceAssetID: "l1", Start: 2 * time.Second, End: 5 * time.Minute}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]ClipV1{
		"version":     {V: 2, AssetID: "c1", SourceAssetID: "l1", End: time.Minute},
		"no asset":    {V: 1, SourceAssetID: "l1", End: time.Minute},
		"bad source":  {V: 1, AssetID: "c1", SourceAssetID: "a/b", End: time.Minute},
		"itself":      {V: 1, AssetID: "c1", SourceAssetID: "c1", End: time.Minute},
		"negative":    {V: 1, AssetID: "c1", SourceAssetID: "l1", Start: -time.Second, End: time.Minute},
		"end first":   {V: 1, AssetID: "c1", SourceAssetID: "l1", Start: time.Minute, End: time.Second},
		"too short":   {V: 1, AssetID: "c1", SourceAssetID: "l1", Start: time.Second, End: 1500 * time.Millisecond},
		"too long":    {V: 1, AssetID: "c1", SourceAssetID: "l1", End: 61 * time.Minute},
		"colon in id": {V: 1, AssetID: "c:1", SourceAssetID: "l1", End: time.Minute},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: %+v accepted", name, p)
		}
	}
	p, err := DecodeClip([]byte(`{"v":1,"asset_id":"c1","source_asset_id":"l1","start":2000000000,"end":9000000000}`))
	if err != nil || p.End-p.Start != 7*time.Second {
		t.Fatalf("DecodeClip = %+v, %v", p, err)
	}
	for _, bad := range []string{`{"v":2}`, `nope`, `{"v":1,"asset_id":"c1","source_asset_id":"l1","start":0,"end":10}`} {
		if _, err := DecodeClip([]byte(bad)); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: err = %v, want SkipRetry", bad, err)
		}
	}
	if d := ClipTimeout(5 * time.Minute); d != 10*time.Minute {
		t.Errorf("ClipTimeout(5m) = %v", d)
	}
}

// A clip task through a real Redis: the lesson's ladder is made by the worker, then
// the clip is cut from the store, published and recorded ready; a clip that cannot be
// cut fails once, with a reason, and leaves no object.
func TestClipTaskEndToEnd(t *testing.T) {
	e := newEnv(t)
	e.put(t, "sources/lesson-c/recording.mp4", makeSource(t, 12, "640x360"))
	e.enqueue(t, "lesson-c", "sources/lesson-c/recording.mp4", OriginLive)
	e.worker(t, "w1", time.Second)
	e.checkReady(t, "lesson-c", e.assets.waitFinal(t, "lesson-c", 90*time.Second), 12*time.Second)

	p := ClipV1{V: 1, AssetID: "clip-c", SourceAssetID: "lesson-c", Start: 2520 * time.Millisecond, End: 7040 * time.Millisecond}
	start := time.Now()
	for range 2 { // the second is a duplicate: no second task
		if err := e.queue.EnqueueClip(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	ev := e.assets.waitFinal(t, "clip-c", 60*time.Second)
	took := time.Since(start)
	e.checkReady(t, "clip-c", ev, p.End-p.Start)
	if ev.result.Duration != p.End-p.Start {
		t.Errorf("clip duration %v, want exactly %v", ev.result.Duration, p.End-p.Start)
	}
	if ev.result.Width != 640 || ev.result.Height != 360 || len(ev.result.Renditions) != 2 {
		t.Errorf("clip result %dx%d with %d renditions, want 640x360 with 2", ev.result.Width, ev.result.Height, len(ev.result.Renditions))
	}
	keys := strings.Join(e.keys(t, "clip-c"), " ")
	for _, want := range []string{"poster.jpg", "360p/init.mp4", "360p/seg_00001.m4s", "audio/index.m3u8", "storyboard.vtt"} {
		if !strings.Contains(keys, want) {
			t.Errorf("clip objects %s lack %s", keys, want)
		}
	}
	prog := e.assets.of("clip-c", "progress")
	if len(prog) < 2 || prog[0].step != "download" || prog[len(prog)-1].step != "upload" {
		t.Errorf("progress %+v, want download first and upload last", prog)
	}
	for i := 1; i < len(prog); i++ {
		if prog[i].pct < prog[i-1].pct {
			t.Errorf("progress went back from %.1f to %.1f", prog[i-1].pct, prog[i].pct)
		}
	}
	ti := e.taskInfo(t, QueueLive, "clip:clip-c")
	if ti.State != asynq.TaskStateCompleted || ti.Retried != 0 {
		t.Errorf("clip task %v retried %d, want completed 0", ti.State, ti.Retried)
	}
	if n := len(e.assets.of("clip-c", "ready")); n != 1 {
		t.Errorf("%d ready events", n)
	}
	t.Logf("clip ready %v after enqueue", took.Round(time.Millisecond))

	// Clips that cannot be cut: out of the lesson, a lesson that is not there.
	for id, c := range map[string]struct {
		p    ClipV1
		want string
	}{
		"clip-late":   {ClipV1{V: 1, AssetID: "clip-late", SourceAssetID: "lesson-c", Start: 10 * time.Second, End: 30 * time.Second}, "past the lesson's end"},
		"clip-orphan": {ClipV1{V: 1, AssetID: "clip-orphan", SourceAssetID: "no-lesson", Start: 0, End: 5 * time.Second}, "no HLS ladder"},
	} {
		if err := e.queue.EnqueueClip(t.Context(), c.p); err != nil {
			t.Fatal(err)
		}
		ev := e.assets.waitFinal(t, id, 30*time.Second)
		if ev.kind != "failed" || !strings.Contains(ev.reason, c.want) || !strings.HasPrefix(ev.reason, "not usable media") {
			t.Errorf("%s: %s %q, want failed saying %q", id, ev.kind, ev.reason, c.want)
		}
		ti := e.taskInfo(t, QueueLive, "clip:"+id)
		if ti.State != asynq.TaskStateArchived || ti.Retried != 0 {
			t.Errorf("%s: task %v retried %d, want archived 0", id, ti.State, ti.Retried)
		}
		if keys := e.keys(t, id); len(keys) != 0 {
			t.Errorf("%s: objects left: %v", id, keys)
		}
		e.checkNoWorkFiles(t, id)
	}
}
