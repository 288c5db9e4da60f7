package teste2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/storage/s3test"
)

// recordYAML records every stream with short segments and a short grace, so a test
// class becomes a lesson seconds after its publisher stops.
const recordYAML = "record: {enabled: true, segment_duration: 2s, grace: 3s}\n"

// asset is the API's view of a lesson, as the library page reads it.
type asset struct {
	ID         string  `json:"id"`
	Kind       string  `json:"kind"`
	StreamPath string  `json:"stream_path"`
	State      string  `json:"state"`
	Step       string  `json:"step"`
	Percent    float64 `json:"percent"`
	Error      string  `json:"error"`
	Duration   float64 `json:"duration_seconds"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	Renditions []struct {
		Name      string  `json:"name"`
		Width     int     `json:"width"`
		Height    int     `json:"height"`
		Bandwidth int     `json:"bandwidth"`
		Codecs    string  `json:"codecs"`
		FrameRate float64 `json:"frame_rate"`
	} `json:"renditions"`
	MasterURL     string `json:"master_url"`
	PosterURL     string `json:"poster_url"`
	StoryboardURL string `json:"storyboard_url"`
}

func listAssets(t *testing.T, s *server) []asset {
	t.Helper()
	req, _ := http.NewRequest("GET", s.HTTP+"/api/v1/assets?limit=100", nil)
	if s.viewer != nil {
		req.AddCookie(s.viewer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Assets []asset `json:"assets"`
		Total  int     `json:"total"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&body) != nil {
		t.Fatalf("GET /api/v1/assets: %s", res.Status)
	}
	return body.Assets
}

// waitAssets waits until n assets exist and every one is ready (or failed), logging
// the states it passes through so a slow run shows where the time went.
func waitAssets(t *testing.T, s *server, n int, timeout time.Duration) []asset {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		s.alive()
		list := listAssets(t, s)
		var states []string
		done := len(list) == n
		for _, a := range list {
			states = append(states, fmt.Sprintf("%s:%s/%s %.0f%%", a.ID, a.State, a.Step, a.Percent))
			if a.State != "ready" && a.State != "failed" {
				done = false
			}
		}
		if st := strings.Join(states, " "); st != last {
			t.Logf("assets: %s", st)
			last = st
		}
		if done {
			return list
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("want %d finished assets within %s, have: %s", n, timeout, last)
	return nil
}

// ffprobeStreams reads a URL or file with the ffprobe CLI, an independent reader.
type probeResult struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, url string) probeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", url).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", url, err)
	}
	var p probeResult
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p probeResult) duration() float64 {
	var d float64
	fmt.Sscan(p.Format.Duration, &d)
	return d
}

func (p probeResult) has(kind string) bool {
	for _, s := range p.Streams {
		if s.CodecType == kind {
			return true
		}
	}
	return false
}

func httpGet(t *testing.T, url string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// classFor publishes a class for d with the ffmpeg CLI at 1280x720 (so the ladder has
// 720p, 480p and 360p rungs) and waits for the publisher to finish.
func classFor(t *testing.T, s *server, path string, d time.Duration) {
	t.Helper()
	pub := publishFFmpeg(t, s.RTSP(path), ffmpegOptions{Size: "1280x720", Extra: []string{"-t", fmt.Sprint(d.Seconds())}})
	select {
	case <-pub.exited:
	case <-time.After(d + 20*time.Second):
		t.Fatalf("publisher did not finish:\n%s", pub.out.String())
	}
}

// TestClassBecomesLesson: a 20 s class published over RTSP and stopped becomes a ready
// lesson; every rendition reads back with the expected size and duration; the browser
// plays it with hls.js; the VOD endpoints answer ranges, content types and errors.
func TestClassBecomesLesson(t *testing.T) {
	s := startServer(t, recordYAML)
	const path = "school-a/room-101"
	start := time.Now()
	classFor(t, s, path, 20*time.Second)
	list := waitAssets(t, s, 1, 150*time.Second)
	a := list[0]
	t.Logf("lesson ready %.1f s after the class ended", time.Since(start).Seconds()-20)
	if a.State != "ready" || a.Kind != "recording" || a.StreamPath != path {
		t.Fatalf("asset: %+v", a)
	}
	if a.Duration < 18 || a.Duration > 22 {
		t.Errorf("duration %.1f s, want about 20", a.Duration)
	}
	want := map[string][2]int{"720p": {1280, 720}, "480p": {854, 480}, "360p": {640, 360}, "audio": {0, 0}}
	if len(a.Renditions) != len(want) {
		t.Errorf("renditions %+v, want %v", a.Renditions, want)
	}
	for _, r := range a.Renditions {
		wh, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected rendition %+v", r)
			continue
		}
		url := s.HTTP + "/vod/" + a.ID + "/" + r.Name + "/index.m3u8"
		p := ffprobe(t, url)
		if d := p.duration(); d < 18 || d > 22 {
			t.Errorf("%s: ffprobe duration %.2f", r.Name, d)
		}
		if !p.has("audio") {
			t.Errorf("%s: no audio", r.Name)
		}
		if r.Name == "audio" {
			if p.has("video") {
				t.Errorf("audio rendition has video")
			}
			continue
		}
		for _, st := range p.Streams {
			if st.CodecType == "video" && (st.Width != wh[0] || st.Height != wh[1] || st.CodecName != "h264") {
				t.Errorf("%s: video %s %dx%d, want h264 %dx%d", r.Name, st.CodecName, st.Width, st.Height, wh[0], wh[1])
			}
		}
	}

	// The master playlist carries what a player picks renditions by.
	code, hdr, master := httpGet(t, s.HTTP+a.MasterURL)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/vnd.apple.mpegurl") {
		t.Fatalf("master: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, attr := range []string{"BANDWIDTH=", "RESOLUTION=1280x720", "CODECS=\"avc1.", "mp4a.40.2"} {
		if !bytes.Contains(master, []byte(attr)) {
			t.Errorf("master playlist lacks %s:\n%s", attr, master)
		}
	}
	// Poster and storyboard.
	if code, hdr, b := httpGet(t, s.HTTP+a.PosterURL); code != 200 || hdr.Get("Content-Type") != "image/jpeg" || !bytes.HasPrefix(b, []byte{0xff, 0xd8}) {
		t.Errorf("poster: %d %s", code, hdr.Get("Content-Type"))
	}
	if code, _, b := httpGet(t, s.HTTP+a.StoryboardURL); code != 200 || !bytes.HasPrefix(b, []byte("WEBVTT")) || !bytes.Contains(b, []byte("#xywh=")) {
		t.Errorf("storyboard: %d %.200s", code, b)
	}
	// Range requests on a segment.
	code, hdr, init := httpGet(t, s.HTTP+"/vod/"+a.ID+"/360p/init.mp4")
	if code != 200 || hdr.Get("Content-Type") != "video/mp4" || len(init) < 100 {
		t.Fatalf("init: %d %s %d bytes", code, hdr.Get("Content-Type"), len(init))
	}
	code, hdr, part := httpGet(t, s.HTTP+"/vod/"+a.ID+"/360p/init.mp4", "Range", "bytes=10-29")
	if code != 206 || !bytes.Equal(part, init[10:30]) || hdr.Get("Content-Range") != fmt.Sprintf("bytes 10-29/%d", len(init)) {
		t.Errorf("range: %d %q %d bytes", code, hdr.Get("Content-Range"), len(part))
	}
	if code, _, _ := httpGet(t, s.HTTP+"/vod/"+a.ID+"/360p/init.mp4", "Range", "bytes=999999-"); code != 416 {
		t.Errorf("unsatisfiable range: %d", code)
	}
	for _, bad := range []string{"/vod/" + a.ID + "/../../catalog.db", "/vod/" + a.ID + "/nope.m3u8", "/vod/no-such-lesson/master.m3u8", "/vod/..%2f..%2fetc/passwd"} {
		if code, _, _ := httpGet(t, s.HTTP+bad); code != 404 {
			t.Errorf("%s: %d, want 404", bad, code)
		}
	}

	// hls.js in headless Chromium plays the lesson.
	samples := watchInBrowser(t, s.HTTP+"/watch/"+a.ID, 12*time.Second)
	var first, last float64 = -1, -1
	for smp := range samples {
		if smp.PageError != "" {
			t.Errorf("page error: %s", smp.PageError)
		}
		if smp.CurrentTime > 0 && first < 0 {
			first = smp.CurrentTime
		}
		last = smp.CurrentTime
	}
	if first < 0 || last-first < 3 {
		t.Errorf("VOD playback did not advance: first %.2f last %.2f", first, last)
	}

	// Nothing is left behind: the local recording was released, work files removed.
	if left := filesUnder(t, filepath.Join(s.dir, "data", "recordings")); len(left) > 0 {
		t.Errorf("recordings left on disk: %v", left)
	}
	if left := filesUnder(t, filepath.Join(s.dir, "data", "tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// filesUnder lists regular files below dir (none if it does not exist).
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// TestServerKilledDuringRecording: kill -9 in the middle of a class; after restart the
// recording up to its last complete segment becomes a lesson.
func TestServerKilledDuringRecording(t *testing.T) {
	s := startServer(t, recordYAML)
	const path = "school-b/room-2"
	pub := publishFFmpeg(t, s.RTSP(path), ffmpegOptions{Size: "640x360"})
	waitLive(t, s, path, 15*time.Second)
	time.Sleep(9 * time.Second)
	s.kill9()
	pub.stop()
	s.restart()
	list := waitAssets(t, s, 1, 120*time.Second)
	a := list[0]
	if a.State != "ready" {
		t.Fatalf("recovered recording: %+v", a)
	}
	// About 9 s were recorded; at most the last 2 s segment may be lost.
	if a.Duration < 5 || a.Duration > 11 {
		t.Errorf("recovered duration %.1f s, want 6-10", a.Duration)
	}
	if !strings.Contains(s.Log(), "recovered") {
		t.Errorf("no log line about the recovered recording")
	}
}

// TestWorkerKilledMidTranscode: a separate worker is killed with SIGKILL while it
// transcodes; a new worker takes the task over once its lease lapses, and exactly one
// ready asset results with no orphan objects.
func TestWorkerKilledMidTranscode(t *testing.T) {
	s := startServer(t, recordYAML, "CLASSCAST_ROLES=ingest,api")
	// A slow preset so the kill lands mid-transcode.
	w1 := s.startWorker(t, "CLASSCAST_TRANSCODE_PRESET=veryslow")
	classFor(t, s, "school-c/room-3", 16*time.Second)
	deadline := time.Now().Add(90 * time.Second)
	for {
		list := listAssets(t, s)
		if len(list) == 1 && list[0].State == "processing" && list[0].Step == "ladder" && list[0].Percent > 8 {
			t.Logf("killing the worker at %.0f%%", list[0].Percent)
			break
		}
		if len(list) == 1 && list[0].State == "ready" {
			t.Fatal("the transcode finished before the worker could be killed")
		}
		if time.Now().After(deadline) {
			t.Fatalf("transcode never got going: %+v\nworker:\n%s", list, tail(w1.out.String(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = w1.cmd.Process.Signal(os.Kill)
	<-w1.exited
	s.startWorker(t)
	list := waitAssets(t, s, 1, 180*time.Second)
	a := list[0]
	if a.State != "ready" {
		t.Fatalf("after the worker was killed: %+v", a)
	}
	// Every object under the lesson's prefix is referenced by its playlists (or is the
	// poster/storyboard): a killed attempt left nothing behind.
	objects := filesUnder(t, filepath.Join(s.dir, "data", "objects", "vod", a.ID))
	referenced := map[string]bool{"master.m3u8": true}
	_, _, master := httpGet(t, s.HTTP+a.MasterURL)
	for _, line := range strings.Split(string(master), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			referenced[line] = true
			dir := filepath.Dir(line)
			_, _, media := httpGet(t, s.HTTP+"/vod/"+a.ID+"/"+line)
			for _, l := range strings.Split(string(media), "\n") {
				if strings.HasPrefix(l, "#EXT-X-MAP:URI=") {
					referenced[dir+"/"+strings.Trim(strings.TrimPrefix(l, "#EXT-X-MAP:URI="), `"`)] = true
				} else if l != "" && !strings.HasPrefix(l, "#") {
					referenced[dir+"/"+l] = true
				}
			}
		}
	}
	for _, o := range objects {
		if !referenced[o] && !strings.HasPrefix(o, "poster") && !strings.HasPrefix(o, "storyboard") {
			t.Errorf("orphan object vod/%s/%s", a.ID, o)
		}
	}
	if len(objects) < 10 {
		t.Errorf("only %d objects: %v", len(objects), objects)
	}
}

// TestRedisRestartedMidQueue: two finished classes wait in the queue (no worker runs);
// the embedded redis-server is killed; classcast restarts it from its append-only file
// and a worker started afterwards turns both into lessons: no task lost.
func TestRedisRestartedMidQueue(t *testing.T) {
	s := startServer(t, recordYAML, "CLASSCAST_ROLES=ingest,api")
	classFor(t, s, "school-d/room-1", 6*time.Second)
	classFor(t, s, "school-d/room-2", 6*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		list := listAssets(t, s)
		queued := 0
		for _, a := range list {
			if a.State == "queued" {
				queued++
			}
		}
		if queued == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("classes not queued: %+v", list)
		}
		time.Sleep(300 * time.Millisecond)
	}
	pidFile := filepath.Join(s.dir, "data", "redis", "redis-server.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	if pid <= 1 {
		t.Fatalf("bad pid file %q", b)
	}
	if err := syscallKill(pid); err != nil {
		t.Fatal(err)
	}
	// The supervisor brings Redis back; then a worker drains the queue.
	deadline = time.Now().Add(20 * time.Second)
	for !strings.Contains(s.Log(), "embedded redis restarted") {
		if time.Now().After(deadline) {
			t.Fatal("embedded redis was not restarted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.startWorker(t)
	for _, a := range waitAssets(t, s, 2, 150*time.Second) {
		if a.State != "ready" {
			t.Errorf("after the Redis restart: %+v", a)
		}
	}
}

// TestStoreUnreachable: the S3 store is down when a class ends; the upload retries and
// the lesson is made once the store returns.
func TestStoreUnreachable(t *testing.T) {
	srv := s3test.Start(t)
	cfg := srv.Config()
	s := startServer(t, recordYAML+fmt.Sprintf("storage: {backend: s3, s3: {endpoint: %q, bucket: %q, access_key: %q, secret_key: %q, presign_redirect: true}}\n",
		cfg.Endpoint, cfg.Bucket, cfg.AccessKey, cfg.SecretKey))
	pub := publishFFmpeg(t, s.RTSP("school-e/room-1"), ffmpegOptions{Extra: []string{"-t", "6"}})
	waitLive(t, s, "school-e/room-1", 15*time.Second)
	srv.Stop()
	<-pub.exited
	// Wait until the hand-off has failed at least once, then bring the store back.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(s.Log(), "object store operation failed; retrying") {
		if time.Now().After(deadline) {
			t.Fatal("no upload retry logged while the store was down")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	srv.Restart()
	list := waitAssets(t, s, 1, 150*time.Second)
	if list[0].State != "ready" || list[0].Duration < 4 {
		t.Fatalf("after the store came back: %+v", list[0])
	}
	// Playlists come through this node; media redirects to a presigned store URL that
	// serves the same bytes.
	if code, _, b := httpGet(t, s.HTTP+list[0].MasterURL); code != 200 || !bytes.Contains(b, []byte("#EXT-X-STREAM-INF")) {
		t.Fatalf("master from S3: %d %s", code, b)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(s.HTTP + "/vod/" + list[0].ID + "/360p/init.mp4")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.Contains(loc, cfg.Endpoint) || !strings.Contains(loc, "X-Amz-Signature") {
		t.Fatalf("presigned redirect: %d %q", res.StatusCode, loc)
	}
	if code, _, b := httpGet(t, loc); code != 200 || len(b) < 100 {
		t.Fatalf("presigned URL: %d, %d bytes", code, len(b))
	}
}

// TestAdminQueuesGuarded: the queue UI needs an admin's session; the first admin's
// password comes from admin.password.
func TestAdminQueuesGuarded(t *testing.T) {
	s := startServer(t, "admin: {password: hunter2-long}\n")
	if code, _, _ := httpGet(t, s.HTTP+"/admin/queues/"); code != 401 {
		t.Fatalf("queue UI without a session: %d", code)
	}
	if res, err := http.Post(s.HTTP+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"wrong-password"}`)); err != nil || res.StatusCode != 401 {
		t.Fatalf("sign-in with a wrong password: %v %v", res.StatusCode, err)
	}
	c := signIn(t, s, "admin", "hunter2-long").cookie
	req, _ := http.NewRequest("GET", s.HTTP+"/admin/queues/", nil)
	req.AddCookie(c)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !bytes.Contains(b, []byte("<")) {
		t.Fatalf("queue UI as admin: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
