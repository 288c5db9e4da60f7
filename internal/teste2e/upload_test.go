package teste2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// session is a signed-in browser: the session cookie and its CSRF token.
type session struct {
	s      *server
	cookie *http.Cookie
	csrf   string
}

func signIn(t *testing.T, s *server, user, pass string) *session {
	t.Helper()
	res, err := http.Post(s.HTTP+"/api/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pass)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		CSRF string `json:"csrf_token"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&body) != nil {
		t.Fatalf("sign-in as %s: %s", user, res.Status)
	}
	for _, c := range res.Cookies() {
		if c.Name == "classcast_session" {
			return &session{s: s, cookie: c, csrf: body.CSRF}
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func (se *session) do(t *testing.T, method, path string, body io.Reader, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, se.s.HTTP+path, body)
	req.AddCookie(se.cookie)
	req.Header.Set("X-CSRF-Token", se.csrf)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// tusUpload sends file over tus 1.0 in two PATCHes and returns the final PATCH's status
// and body.
func tusUpload(t *testing.T, se *session, file, title string) (int, string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	meta := "filename " + base64.StdEncoding.EncodeToString([]byte(filepath.Base(file))) +
		",title " + base64.StdEncoding.EncodeToString([]byte(title)) +
		",subject " + base64.StdEncoding.EncodeToString([]byte("数学")) + ",grade " + base64.StdEncoding.EncodeToString([]byte("八年级")) +
		",visibility " + base64.StdEncoding.EncodeToString([]byte("district"))
	res := se.do(t, "POST", "/api/v1/uploads/", nil, "Tus-Resumable", "1.0.0",
		"Upload-Length", fmt.Sprint(len(data)), "Upload-Metadata", meta)
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != 201 || loc == "" {
		t.Fatalf("tus create: %s", res.Status)
	}
	if u := strings.Index(loc, "/api/"); u > 0 {
		loc = loc[u:]
	}
	half := len(data) / 2
	for i, part := range [][]byte{data[:half], data[half:]} {
		res := se.do(t, "PATCH", loc, bytes.NewReader(part), "Tus-Resumable", "1.0.0",
			"Upload-Offset", fmt.Sprint(i*half), "Content-Type", "application/offset+octet-stream")
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if i == 1 || res.StatusCode != 204 {
			return res.StatusCode, string(b)
		}
	}
	return 0, ""
}

// TestUploadBecomesLesson: a teacher's file uploaded over tus becomes a draft lesson
// with a ready, playable asset; a text file is refused with the probe's reason.
func TestUploadBecomesLesson(t *testing.T) {
	s := startServer(t, "admin: {password: admin-pass-1}\n")
	se := signIn(t, s, "admin", "admin-pass-1")
	s.viewer = se.cookie // a draft lesson's media is visible to its owner only

	src := filepath.Join(t.TempDir(), "勾股定理.mp4")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=6",
		"-f", "lavfi", "-i", "sine=frequency=330:duration=6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", src).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	if code, body := tusUpload(t, se, src, "第三章 勾股定理的证明"); code != 204 {
		t.Fatalf("final PATCH: %d %s", code, body)
	}
	list := waitAssets(t, s, 1, 120*time.Second)
	a := list[0]
	if a.State != "ready" || a.Kind != "upload" || a.Duration < 5 || a.Duration > 7 {
		t.Fatalf("uploaded asset: %+v", a)
	}
	// The lesson is the teacher's draft, found by a Chinese substring.
	res := se.do(t, "GET", "/api/v1/lessons?q="+"勾股", nil)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "第三章 勾股定理的证明") || !strings.Contains(string(b), a.ID) ||
		!strings.Contains(string(b), `"subject": "数学"`) || !strings.Contains(string(b), `"grade": "八年级"`) || !strings.Contains(string(b), `"visibility": "district"`) {
		t.Fatalf("lesson search: %d %s", res.StatusCode, b)
	}
	if code, _, m := httpGet(t, s.HTTP+"/vod/"+a.ID+"/master.m3u8", "Cookie", se.cookie.String()); code != 200 || !bytes.Contains(m, []byte("RESOLUTION=640x360")) {
		t.Fatalf("master: %d %s", code, m)
	}

	// Not media: refused when the upload completes, with the reason.
	txt := filepath.Join(t.TempDir(), "notes.mp4")
	os.WriteFile(txt, bytes.Repeat([]byte("这不是视频 not a video\n"), 200), 0o644)
	code, body := tusUpload(t, se, txt, "notes")
	if code != 422 || !strings.Contains(body, "not a usable video") {
		t.Fatalf("text upload: %d %s", code, body)
	}
	// Anonymous uploads are refused.
	req, _ := http.NewRequest("POST", s.HTTP+"/api/v1/uploads/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", "100")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
		t.Fatalf("anonymous upload: %v %v", res.StatusCode, err)
	}
	s.viewer = nil
	if n := len(listAssets(t, s)); n != 0 {
		t.Fatalf("anonymous listing shows %d assets of a draft lesson", n)
	}
	s.viewer = se.cookie
	if n := len(listAssets(t, s)); n != 1 {
		t.Fatalf("%d assets after the refused uploads, want 1", n)
	}
}
