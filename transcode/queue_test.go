package transcode

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/classcast/classcast/internal/embedded/redistest"
)

func TestRedisOpt(t *testing.T) {
	opt, err := RedisOpt("redis-sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380?master=classcast")
	if err != nil {
		t.Fatal(err)
	}
	fo, ok := opt.(asynq.RedisFailoverClientOpt)
	if !ok {
		t.Fatalf("sentinel URL gave %T", opt)
	}
	if fo.MasterName != "classcast" || len(fo.SentinelAddrs) != 2 || fo.SentinelAddrs[0] != "10.0.0.1:26379" ||
		fo.SentinelAddrs[1] != "10.0.0.2:26380" || fo.Password != "s3cret" || fo.SentinelPassword != "s3cret" {
		t.Fatalf("sentinel options = %+v", fo)
	}

	opt, err = RedisOpt("redis://:pw@redis.school.lan:6380/3")
	if err != nil {
		t.Fatal(err)
	}
	if co := opt.(asynq.RedisClientOpt); co.Addr != "redis.school.lan:6380" || co.DB != 3 || co.Password != "pw" || co.TLSConfig != nil {
		t.Fatalf("redis options = %+v", co)
	}
	opt, err = RedisOpt("rediss://redis.school.lan:6380")
	if err != nil {
		t.Fatal(err)
	}
	if co := opt.(asynq.RedisClientOpt); co.TLSConfig == nil || co.TLSConfig.ServerName != "redis.school.lan" {
		t.Fatalf("rediss options = %+v", co)
	}

	for _, bad := range []string{"", "http://:topsecret@x:1", "redis-sentinel://:topsecret@a:1,b:2", "redis://:topsecret@x/notanumber", "redis://"} {
		_, err := RedisOpt(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%q: error shows the password: %v", bad, err)
		}
	}
}

func TestDecodeLadder(t *testing.T) {
	p, err := DecodeLadder([]byte(`{"v":1,"asset_id":"a1","source_key":"sources/a1/x.mp4","origin":"live","duration_hint":60000000000}`))
	if err != nil || p.AssetID != "a1" || p.DurationHint != time.Minute {
		t.Fatalf("DecodeLadder = %+v, %v", p, err)
	}
	for _, bad := range []string{`{"v":2,"asset_id":"a1"}`, `not json`, `{"v":1,"asset_id":"a1","source_key":"../x","origin":"live"}`} {
		_, err := DecodeLadder([]byte(bad))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: err = %v, want SkipRetry", bad, err)
		}
	}
	if _, err := DecodeLadder([]byte(`{"v":2,"asset_id":"a1"}`)); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("unknown version: %v", err)
	}
}

func TestRetryDelayAndTimeout(t *testing.T) {
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for n, w := range want {
		if d := RetryDelay(n, errors.New("x"), nil); d != w {
			t.Errorf("RetryDelay(%d) = %v, want %v", n, d, w)
		}
	}
	if d := RetryDelay(3, asynq.ErrLeaseExpired, nil); d > 10*time.Second {
		t.Errorf("a dead worker's task waits %v", d)
	}
	if d := Timeout(45 * time.Minute); d != 10*time.Minute+135*time.Minute {
		t.Errorf("Timeout(45m) = %v", d)
	}
	if d := Timeout(0); d < 12*time.Hour {
		t.Errorf("Timeout(unknown) = %v, too short for a 4 h recording", d)
	}
}

func newQueue(t *testing.T, url string) *Queue {
	t.Helper()
	q, err := NewQueue(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func inspector(t *testing.T, url string) *asynq.Inspector {
	t.Helper()
	opt, err := RedisOpt(url)
	if err != nil {
		t.Fatal(err)
	}
	i := asynq.NewInspector(opt)
	t.Cleanup(func() { i.Close() })
	return i
}

func TestEnqueueLadderOnce(t *testing.T) {
	r := redistest.Start(t)
	q := newQueue(t, r.URL())
	p := LadderV1{V: 1, AssetID: "rec-1", SourceKey: "sources/rec-1/recording.mp4", Origin: OriginLive, DurationHint: 45 * time.Minute}
	for range 3 {
		if err := q.EnqueueLadder(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	up := LadderV1{V: 1, AssetID: "up-1", SourceKey: "sources/up-1/a.mov", Origin: OriginUpload}
	if err := q.EnqueueLadder(t.Context(), up); err != nil {
		t.Fatal(err)
	}
	insp := inspector(t, r.URL())
	live, err := insp.ListPendingTasks(QueueLive)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 {
		t.Fatalf("%d pending tasks in live, want 1", len(live))
	}
	ti := live[0]
	if ti.ID != "ladder:rec-1" || ti.Type != TypeLadder || ti.MaxRetry != MaxRetry || ti.Timeout != Timeout(45*time.Minute) || ti.Retention != Retention {
		t.Fatalf("task = id %s type %s retry %d timeout %v retention %v", ti.ID, ti.Type, ti.MaxRetry, ti.Timeout, ti.Retention)
	}
	if got, err := DecodeLadder(ti.Payload); err != nil || got != p {
		t.Fatalf("payload = %+v, %v", got, err)
	}
	uploads, _ := insp.ListPendingTasks(QueueUpload)
	if len(uploads) != 1 || uploads[0].ID != "ladder:up-1" || uploads[0].Timeout != Timeout(0) {
		t.Fatalf("upload queue = %+v", uploads)
	}

	for _, bad := range []LadderV1{
		{V: 1, AssetID: "", SourceKey: "s", Origin: OriginLive},
		{V: 1, AssetID: "a/b", SourceKey: "s", Origin: OriginLive},
		{V: 1, AssetID: "a", SourceKey: "/etc/passwd", Origin: OriginLive},
		{V: 1, AssetID: "a", SourceKey: "s", Origin: "bulk"},
		{V: 2, AssetID: "a", SourceKey: "s", Origin: OriginLive},
	} {
		if err := q.EnqueueLadder(t.Context(), bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestReprocess(t *testing.T) {
	r := redistest.Start(t)
	q := newQueue(t, r.URL())
	insp := inspector(t, r.URL())
	p := LadderV1{V: 1, AssetID: "up-7", SourceKey: "sources/up-7/a.mp4", Origin: OriginUpload}

	// Nothing queued yet: the redo is the first run.
	id, err := q.Reprocess(t.Context(), p)
	if err != nil || id != "ladder:up-7" {
		t.Fatalf("Reprocess = %q, %v", id, err)
	}
	// Still pending: asking again adds nothing.
	if id, err := q.Reprocess(t.Context(), p); err != nil || id != "ladder:up-7" {
		t.Fatalf("Reprocess while pending = %q, %v", id, err)
	}
	if err := insp.ArchiveTask(QueueUpload, "ladder:up-7"); err != nil { // it failed
		t.Fatal(err)
	}
	for n, want := range []string{"ladder:up-7:1", "ladder:up-7:2"} {
		if id, err := q.Reprocess(t.Context(), p); err != nil || id != want {
			t.Fatalf("redo %d = %q, %v; want %s", n+1, id, err, want)
		}
		if id, err := q.Reprocess(t.Context(), p); err != nil || id != want {
			t.Fatalf("redo %d again = %q, %v; want %s", n+1, id, err, want)
		}
		if err := insp.ArchiveTask(QueueUpload, want); err != nil {
			t.Fatal(err)
		}
	}
	// EnqueueLadder keeps its promise: the first ID stays reserved while it is on record.
	if err := q.EnqueueLadder(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	pending, _ := insp.ListPendingTasks(QueueUpload)
	if len(pending) != 0 {
		t.Fatalf("%d pending after EnqueueLadder of an archived asset, want 0", len(pending))
	}
}

// The queue UI loads, lists our queues and allows actions.
func TestMonitor(t *testing.T) {
	r := redistest.Start(t)
	q := newQueue(t, r.URL())
	if err := q.EnqueueLadder(t.Context(), LadderV1{V: 1, AssetID: "m1", SourceKey: "sources/m1/a.mp4", Origin: OriginLive}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/queues/", q.Monitor("/admin/queues"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %s: %s", path, res.Status, b)
		}
		return string(b)
	}
	page := get("/admin/queues/")
	if !strings.Contains(page, `window.FLAG_ROOT_PATH="\/admin\/queues"`) || !strings.Contains(page, `FLAG_READ_ONLY="false"`) {
		t.Fatalf("index page does not carry the root path / read-write flag: %.600s", page)
	}
	scripts := regexp.MustCompile(`src="(/admin/queues/static/js/[^"]+\.js)"`).FindAllStringSubmatch(page, -1)
	if len(scripts) == 0 {
		t.Fatal("index page loads no scripts under the root path")
	}
	for _, s := range scripts {
		if js := get(s[1]); len(js) < 1000 || strings.HasPrefix(js, "<!doctype") {
			t.Fatalf("%s is not the UI's JavaScript (%d bytes)", s[1], len(js))
		}
	}
	api := get("/admin/queues/api/queues")
	if !strings.Contains(api, `"queue":"live"`) || !strings.Contains(api, `"pending":1`) {
		t.Fatalf("queues API = %s", api)
	}
	// A write action: pause the queue.
	res, err := http.Post(srv.URL+"/admin/queues/api/queues/live:pause", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 && res.StatusCode != 200 {
		t.Fatalf("pause: %s", res.Status)
	}
	if qi, err := inspector(t, r.URL()).GetQueueInfo(QueueLive); err != nil || !qi.Paused {
		t.Fatalf("queue not paused: %+v %v", qi, err)
	}
}
