package teste2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestClassroomRecording: a recording room publishes over RTSP with its classroom's
// key; the class's recording is named after the school and classroom in the library, is
// seen by whom the classroom's visibility allows (its school here), not by anyone
// holding the asset's URL, and becomes a lesson only for its school's teachers.
func TestClassroomRecording(t *testing.T) {
	s := startServer(t, recordYAML+"admin: {password: admin-pass-1}\n")
	admin := signIn(t, s, "admin", "admin-pass-1")
	schoolID := func(name string) string {
		m := admin.postJSON(t, "/api/v1/admin/schools", fmt.Sprintf(`{"name":%q,"district":"east"}`, name))
		return m["school"].(map[string]any)["id"].(string)
	}
	a, b := schoolID("东城一中"), schoolID("东城二中")
	admin.postJSON(t, "/api/v1/admin/users", `{"username":"wang","display_name":"王老师","password":"wang-pass-123","role":"teacher","school_id":"`+a+`"}`)
	admin.postJSON(t, "/api/v1/admin/users", `{"username":"li","display_name":"李老师","password":"li-pass-1234","role":"teacher","school_id":"`+b+`"}`)
	room := admin.postJSON(t, "/api/v1/admin/classrooms", `{"school_id":"`+a+`","name":"录播教室 101","stream_path":"dongcheng/room-101","visibility":"school"}`)["classroom"].(map[string]any)
	user, key := room["publish_user"].(string), room["publish_key"].(string)
	if user == "" || key == "" {
		t.Fatalf("classroom without publish credentials: %v", room)
	}

	pub := publishFFmpeg(t, s.RTSP("dongcheng/room-101"), ffmpegOptions{User: user, Pass: key, Extra: []string{"-t", "8"}})
	var rec asset
	var title string
	deadline := time.Now().Add(20 * time.Second)
	for rec.ID == "" && time.Now().Before(deadline) {
		var body struct {
			Assets []struct {
				asset
				Title string `json:"title"`
			} `json:"assets"`
		}
		admin.getJSON(t, "/api/v1/assets?kind=recording", &body)
		for _, x := range body.Assets {
			if x.StreamPath == "dongcheng/room-101" {
				rec, title = x.asset, x.Title
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	if rec.ID == "" {
		t.Fatalf("no recording of the classroom's class; publisher:\n%s", pub.out.String())
	}
	if !strings.HasPrefix(title, "东城一中 录播教室 101 ") {
		t.Errorf("recording titled %q, want the school and classroom first", title)
	}

	wang, li := signIn(t, s, "wang", "wang-pass-123"), signIn(t, s, "li", "li-pass-1234")
	status := func(se *session) int {
		path := "/api/v1/assets/" + rec.ID
		if se == nil {
			res, err := http.Get(s.HTTP + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		res := se.do(t, "GET", path, nil)
		res.Body.Close()
		return res.StatusCode
	}
	if got := [3]int{status(nil), status(li), status(wang)}; got != [3]int{401, 403, 200} {
		t.Errorf("the recording answers anonymous, another school's teacher, its school's teacher: %v, want [401 403 200]", got)
	}
	// Its school's teacher makes a lesson of the class (the library's 做成课程); another
	// school's may not.
	makeLesson := func(se *session) int {
		res := se.do(t, "POST", "/api/v1/lessons", strings.NewReader(`{"title":"勾股定理","asset_id":"`+rec.ID+`"}`), "Content-Type", "application/json")
		res.Body.Close()
		return res.StatusCode
	}
	if got := [2]int{makeLesson(li), makeLesson(wang)}; got != [2]int{403, 201} {
		t.Errorf("making a lesson of the recording, another school's teacher and its school's: %v, want [403 201]", got)
	}
	select {
	case <-pub.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("publisher did not finish:\n%s", pub.out.String())
	}
}
