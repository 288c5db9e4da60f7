package teste2e

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// flowStep is one line of player/scripts/portalflow.mjs.
type flowStep struct {
	Step        string  `json:"step"`
	T           int     `json:"t"`
	Message     string  `json:"message"`
	Percent     float64 `json:"percent"`
	ResumedAt   int64   `json:"resumedAt"`
	LessonID    string  `json:"lessonId"`
	ClipID      string  `json:"clipId"`
	AssetID     string  `json:"assetId"`
	In          float64 `json:"in"`
	Out         float64 `json:"out"`
	CutMS       int     `json:"cutMs"`
	CurrentTime float64 `json:"currentTime"`
	Duration    float64 `json:"duration"`
	Width       int     `json:"width"`
	// After the teacher deleted the lesson: what GET of it and of its clip answer.
	LessonStatus int `json:"lessonStatus"`
	ClipStatus   int `json:"clipStatus"`
}

// TestPortalFlow: in headless Chromium, a teacher signs in, uploads a lesson, loses the
// browser after the first chunk and resumes the upload in a new one, finds the lesson by
// a Chinese substring, cuts a micro-lecture with the clip editor and submits it; a
// reviewer approves and publishes it; an anonymous visitor plays it; the teacher deletes
// the lesson on its page, and its micro-lecture goes with it.
func TestPortalFlow(t *testing.T) {
	s := startServer(t, "admin: {password: admin-pass-1}\n")
	admin := signIn(t, s, "admin", "admin-pass-1")
	school := admin.postJSON(t, "/api/v1/admin/schools", `{"name":"东城一中","district":"east"}`)["school"].(map[string]any)["id"].(string)
	admin.postJSON(t, "/api/v1/admin/users", `{"username":"wang","display_name":"王老师","password":"wang-pass-123","role":"teacher","school_id":"`+school+`"}`)
	admin.postJSON(t, "/api/v1/admin/users", `{"username":"shen","display_name":"审核员","password":"shen-pass-123","role":"reviewer"}`)

	// Over 8 MiB, so the upload takes more than one tus chunk: 24 s of 720p at 4 Mbit/s.
	// 30 fps, as many IP cameras send, so the clip editor must snap to the lesson's
	// frames and not to PAL's 25.
	src := filepath.Join(t.TempDir(), "勾股定理 第一课.mp4")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=24",
		"-f", "lavfi", "-i", "sine=frequency=330:duration=24", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M", "-g", "60",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", src).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(repoRoot(), "player", "scripts", "portalflow.mjs"),
		"--base", s.HTTP, "--teacher", "wang:wang-pass-123", "--reviewer", "shen:shen-pass-123", "--file", src,
		"--title", "第十七章 勾股定理 第一课", "--search", "勾股", "--in", "00:03.360", "--out", "00:09.520",
		"--point", "勾股定理的证明", "--profile", filepath.Join(t.TempDir(), "profile"))
	cmd.Dir = filepath.Join(repoRoot(), "player")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("node: %v", err)
	}
	steps := map[string]flowStep{}
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		var st flowStep
		if json.Unmarshal(sc.Bytes(), &st) == nil {
			if _, seen := steps[st.Step]; !seen {
				steps[st.Step] = st
			}
		}
	}
	werr := cmd.Wait()
	if werr != nil || steps["done"].Step == "" {
		t.Fatalf("portal flow failed (%v):\n%s\nstderr:\n%s", werr, strings.Join(lines, "\n"), tail(stderr.String(), 30))
	}
	t.Logf("portal flow:\n%s", strings.Join(lines, "\n"))
	for _, bad := range []string{"pageerror"} {
		if st, ok := steps[bad]; ok {
			t.Errorf("a page threw: %s", st.Message)
		}
	}

	// The upload resumed where the first browser stopped, not from zero.
	if it, up := steps["interrupted"], steps["uploaded"]; it.Percent <= 0 || it.Percent >= 100 || up.ResumedAt < 8<<20 {
		t.Errorf("interrupted at %.0f%%, resumed at byte %d: want a resume after the first 8 MiB chunk", it.Percent, up.ResumedAt)
	}
	// The clip holds exactly the chosen span and was cut in seconds. The typed
	// 00:03.360 and 00:09.520 fall between frames at 30 fps: the editor moved them to
	// frames 101 (3.367) and 286 (9.533), where 25 fps would have kept them.
	saved := steps["clip-saved"]
	if saved.In != 3.367 || saved.Out != 9.533 || saved.ClipID == "" {
		t.Errorf("clip editor saved %+v, want 3.367-9.533 s (frames 101-286 at 30 fps)", saved)
	}
	if ms := steps["clip-ready"].CutMS; ms > 30000 {
		t.Errorf("the clip took %d ms to be ready", ms)
	}
	if p := steps["played"]; p.CurrentTime < 2 || p.Duration < 6.0 || p.Duration > 6.4 || p.Width == 0 {
		t.Errorf("published clip played %+v, want a 6.17 s clip with picture", p)
	}

	// The teacher deleted the lesson on its page: the lesson and its micro-lecture are
	// gone, and the clip's media, kept for the sweeper's grace period, is hidden from
	// everyone but reviewers and admins.
	if d := steps["deleted"]; d.LessonStatus != 404 || d.ClipStatus != 404 {
		t.Errorf("after deleting the lesson: GET lesson %d, GET clip %d, want 404 and 404", d.LessonStatus, d.ClipStatus)
	}
	if code, _, _ := httpGet(t, s.HTTP+"/vod/"+saved.AssetID+"/master.m3u8"); code != 401 {
		t.Errorf("a deleted lesson's clip media answers %d to anonymous viewers, want 401", code)
	}
	// What the clip's media was: ready, of the cut's length, 185 pictures at 30 fps.
	var a asset
	admin.getJSON(t, "/api/v1/assets/"+saved.AssetID, &a)
	if a.State != "ready" || math.Abs(a.Duration-185.0/30) > 0.02 || len(a.Renditions) == 0 || a.Renditions[0].FrameRate != 30 {
		t.Fatalf("after the flow: media %+v", a)
	}
}
