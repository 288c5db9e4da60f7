package api_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/classcast/classcast/internal/api"
	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/embedded/redistest"
	"github.com/classcast/classcast/transcode"
)

// queued lists the clip cuts waiting in the real queue, as "clip source start-end".
func queued(t *testing.T, insp *asynq.Inspector) []string {
	t.Helper()
	tasks, err := insp.ListPendingTasks(transcode.QueueLive)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, ti := range tasks {
		p, err := transcode.DecodeClip(ti.Payload)
		if err != nil {
			t.Fatalf("queued task %s: %v", ti.ID, err)
		}
		out = append(out, p.AssetID+" "+p.SourceAssetID+" "+p.Start.String()+"-"+p.End.String())
	}
	sort.Strings(out)
	return out
}

// last is the cut queued for asset id, or "".
func last(list []string, id string) string {
	for _, c := range list {
		if strings.HasPrefix(c, id+" ") {
			return c
		}
	}
	return ""
}

// TestClipCutQueued: saving a clip of a ready lesson makes a clip asset and queues its
// cut on a real Redis; moving the cut points makes a new one; a lesson still processing
// refuses clips; with Redis down the asset says why and a recut retries.
func TestClipCutQueued(t *testing.T) {
	redis := redistest.Start(t)
	q, err := transcode.NewQueue(redis.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: redis.Addr()})
	t.Cleanup(func() { insp.Close() })
	ts := startServer(t, "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"), func(o *api.Options) { o.Clips = q })
	ctx := context.Background()
	admin := login(t, ts.url, "admin", "admin-pass-123")
	t1ID := str(admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": "teacher1", "display_name": "王老师",
		"password": "teacher1-pass-123", "role": "teacher"}).body, "user", "id")
	admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": "teacher2", "display_name": "李老师",
		"password": "teacher2-pass-123", "role": "teacher"})
	t1 := login(t, ts.url, "teacher1", "teacher1-pass-123")
	t2 := login(t, ts.url, "teacher2", "teacher2-pass-123")

	for id, state := range map[string]string{"up-ready": catalog.StateReady, "up-busy": catalog.StateProcessing} {
		if err := ts.cat.CreateAsset(ctx, catalog.Asset{ID: id, Kind: catalog.KindUpload, State: state, Duration: 45 * time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	// The lessons the uploads made (by the admin here: a teacher makes lessons only of media
	// that is already theirs).
	lessonOf := func(title, asset string) string {
		body := map[string]any{"title": title, "asset_id": asset, "teacher_id": t1ID}
		return "/api/v1/lessons/" + str(admin.must(201, "POST", "/api/v1/lessons", body).body, "id")
	}
	ready, busy := lessonOf("勾股定理", "up-ready"), lessonOf("一元二次方程", "up-busy")

	clip := map[string]any{"title": "勾股定理的证明", "knowledge_point": "勾股定理", "start_ms": 20*60*1000 + 3360, "end_ms": 25*60*1000 + 3360}
	t2.must(403, "POST", ready+"/clips", clip)
	if r := t1.do("POST", busy+"/clips", clip); r.status != 409 || r.errCode() != "not_ready" || !strings.Contains(r.raw, "processing") {
		t.Fatalf("clip of a lesson still processing: %d %s", r.status, r.raw)
	}
	r := t1.must(201, "POST", ready+"/clips", clip)
	asset := str(r.body, "asset_id")
	if !strings.HasPrefix(asset, "clip-") || last(queued(t, insp), asset) != asset+" up-ready 20m3.36s-25m3.36s" {
		t.Fatalf("clip asset %q, queued %q", asset, queued(t, insp))
	}
	a, err := ts.cat.Asset(ctx, asset)
	if err != nil || a.Kind != catalog.KindClip || a.State != catalog.StateQueued || a.Duration != 5*time.Minute {
		t.Fatalf("clip asset: %+v %v", a, err)
	}
	// The clip's media follows the clip's visibility, like a lesson's.
	t2.must(403, "GET", "/api/v1/assets/"+asset, nil)
	t1.must(200, "GET", "/api/v1/assets/"+asset, nil)

	path := "/api/v1/clips/" + str(r.body, "id")
	// A new title is no new cut; new times are.
	if r := t1.must(200, "PATCH", path, map[string]any{"title": "勾股定理 证明"}); str(r.body, "asset_id") != asset {
		t.Fatalf("retitled clip changed media: %s", r.raw)
	}
	r = t1.must(200, "PATCH", path, map[string]any{"end_ms": 24 * 60 * 1000})
	moved := str(r.body, "asset_id")
	if moved == asset || !strings.HasPrefix(moved, "clip-") || last(queued(t, insp), moved) != moved+" up-ready 20m3.36s-24m0s" {
		t.Fatalf("moved clip: asset %q, queued %q", moved, queued(t, insp))
	}
	// Redis down: the clip keeps its times, its asset says why, a recut retries.
	redis.Kill()
	r = t1.must(200, "PATCH", path, map[string]any{"start_ms": 21 * 60 * 1000})
	if a, _ := ts.cat.Asset(ctx, str(r.body, "asset_id")); a.State != catalog.StateFailed || !strings.Contains(a.Error, "save the clip again") {
		t.Fatalf("cut not queued: %+v", a)
	}
	redis.Restart()
	r = t1.must(200, "PATCH", path, map[string]any{"recut": true})
	if a, _ := ts.cat.Asset(ctx, str(r.body, "asset_id")); a.State != catalog.StateQueued || last(queued(t, insp), a.ID) != a.ID+" up-ready 21m0s-24m0s" {
		t.Fatalf("recut: %+v, queued %q", a, queued(t, insp))
	}
	// Submitted clips are not cut again by their teacher.
	t1.must(200, "POST", path+"/submit", nil)
	t1.must(409, "PATCH", path, map[string]any{"recut": true})

	// Listing across lessons: a teacher sees their own only; a reviewer everyone's,
	// approved ones to publish after a reload of the review page.
	admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": "rev", "display_name": "审核员",
		"password": "rev-pass-123", "role": "reviewer"})
	rev := login(t, ts.url, "rev", "rev-pass-123")
	(&client{t: t, base: ts.url}).must(401, "GET", "/api/v1/clips", nil)
	if r := t2.must(200, "GET", "/api/v1/clips", nil); fmt.Sprint(r.body["total"]) != "0" {
		t.Fatalf("another teacher's clip list: %s", r.raw)
	}
	if r := t1.must(200, "GET", "/api/v1/clips?mine=1", nil); fmt.Sprint(r.body["total"]) != "1" {
		t.Fatalf("own clip list: %s", r.raw)
	}
	rev.must(200, "POST", path+"/approve", nil)
	if r := rev.must(200, "GET", "/api/v1/clips?state=approved", nil); fmt.Sprint(r.body["total"]) != "1" || !strings.Contains(r.raw, "勾股定理 证明") {
		t.Fatalf("approved clips for the reviewer: %s", r.raw)
	}
	rev.must(400, "GET", "/api/v1/clips?state=nonsense", nil)
}
