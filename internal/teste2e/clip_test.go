package teste2e

import (
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// getJSON GETs path as se and decodes the JSON reply into v, failing on any status but 200.
func (se *session) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	res := se.do(t, "GET", path, nil)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", path, res.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// postJSON POSTs the JSON body to path as se and decodes the reply, failing on any
// status but 201.
func (se *session) postJSON(t *testing.T, path, body string) map[string]any {
	t.Helper()
	res := se.do(t, "POST", path, strings.NewReader(body), "Content-Type", "application/json")
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if res.StatusCode != 201 || json.Unmarshal(b, &m) != nil {
		t.Fatalf("POST %s: %s %s", path, res.Status, b)
	}
	return m
}

// TestClipOfUploadedLesson: a teacher cuts a micro-lecture out of an uploaded lesson at
// points that are not keyframes; the clip is ready in seconds and every rendition
// holds exactly the frames between the points, with sound, read by ffprobe over HTTP.
func TestClipOfUploadedLesson(t *testing.T) {
	s := startServer(t, "admin: {password: admin-pass-1}\n")
	se := signIn(t, s, "admin", "admin-pass-1")
	s.viewer = se.cookie

	src := filepath.Join(t.TempDir(), "一元二次方程.mp4")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=12",
		"-f", "lavfi", "-i", "sine=frequency=330:duration=12", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", src).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	if code, body := tusUpload(t, se, src, "一元二次方程 配方法"); code != 204 {
		t.Fatalf("final PATCH: %d %s", code, body)
	}
	if a := waitAssets(t, s, 1, 120*time.Second)[0]; a.State != "ready" {
		t.Fatalf("lesson media: %+v", a)
	}
	var lessons struct {
		Lessons []struct{ ID string } `json:"lessons"`
	}
	se.getJSON(t, "/api/v1/lessons?mine=1", &lessons)
	if len(lessons.Lessons) != 1 {
		t.Fatalf("my lessons: %+v", lessons)
	}
	lesson := "/api/v1/lessons/" + lessons.Lessons[0].ID

	// 3.36 s to 9.52 s: neither is on the 2 s GOP grid; 154 frames at 25 fps.
	start := time.Now()
	res := se.do(t, "POST", lesson+"/clips", strings.NewReader(`{"title":"配方法","knowledge_point":"配方法解一元二次方程","start_ms":3360,"end_ms":9520}`),
		"Content-Type", "application/json")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var clip struct {
		ID      string `json:"id"`
		AssetID string `json:"asset_id"`
	}
	if res.StatusCode != 201 || json.Unmarshal(b, &clip) != nil || clip.AssetID == "" {
		t.Fatalf("create clip: %s %s", res.Status, b)
	}
	var a asset
	for deadline := time.Now().Add(90 * time.Second); ; {
		se.getJSON(t, "/api/v1/assets/"+clip.AssetID, &a)
		if a.State == "ready" || a.State == "failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	if a.State != "ready" || a.Kind != "clip" || a.Duration < 6.1 || a.Duration > 6.25 || len(a.Renditions) < 2 {
		t.Fatalf("clip asset after %v: %+v", took, a)
	}
	t.Logf("clip of 6.16 s ready %v after it was saved", took.Round(time.Millisecond))
	if took > 30*time.Second {
		t.Errorf("a 6 s clip took %v to cut; it must take seconds", took)
	}

	cookie := "Cookie: " + se.cookie.String() + "\r\n"
	for _, r := range a.Renditions {
		url := s.HTTP + "/vod/" + clip.AssetID + "/" + r.Name + "/index.m3u8"
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-headers", cookie, "-count_frames", "-print_format", "json",
			"-show_entries", "stream=codec_type,nb_read_frames,duration:format=duration", url).Output()
		cancel()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", url, err)
		}
		var p struct {
			Streams []struct {
				CodecType string `json:"codec_type"`
				Frames    string `json:"nb_read_frames"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatal(err)
		}
		video, audio := "", false
		for _, st := range p.Streams {
			switch st.CodecType {
			case "video":
				video = st.Frames
			case "audio":
				audio = true
			}
		}
		if r.Name == "audio" {
			if !audio || video != "" {
				t.Errorf("audio rendition: %s", out)
			}
			continue
		}
		if video != "154" || !audio {
			t.Errorf("rendition %s: %s video frames, audio %v, want 154 frames and audio: %s", r.Name, video, audio, out)
		}
	}
}
