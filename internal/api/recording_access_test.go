package api_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/classcast/classcast/internal/catalog"
)

// TestRecordingFollowsClassroomVisibility: a class's recording that no lesson uses yet
// is seen by whom the classroom's live class is, in the asset API, the listing and
// /vod/; once a lesson is made of it, the lesson's visibility decides.
func TestRecordingFollowsClassroomVisibility(t *testing.T) {
	ts := startServer(t, "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"))
	ctx := context.Background()
	admin := login(t, ts.url, "admin", "admin-pass-123")
	school := map[string]string{}
	for _, sc := range []struct{ key, name, district string }{{"A", "东城一中", "east"}, {"B", "东城二中", "east"}} {
		school[sc.key] = str(admin.must(201, "POST", "/api/v1/admin/schools", map[string]string{"name": sc.name, "district": sc.district}).body, "school", "id")
	}
	admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": "teachera", "display_name": "王老师",
		"password": "teachera-pass-123", "role": "teacher", "school_id": school["A"]})
	admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": "viewerb", "display_name": "b",
		"password": "viewerb-pass-123", "role": "viewer", "school_id": school["B"]})
	admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": "teacherb", "display_name": "李老师",
		"password": "teacherb-pass-123", "role": "teacher", "school_id": school["B"]})
	admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": "teachera2", "display_name": "张老师",
		"password": "teachera2-pass-123", "role": "teacher", "school_id": school["A"]})
	r := admin.must(201, "POST", "/api/v1/admin/classrooms", map[string]string{"school_id": school["A"], "name": "录播教室 101",
		"stream_path": "dongcheng/room-101", "visibility": "school"})
	room := "/api/v1/admin/classrooms/" + str(r.body, "classroom", "id")
	if err := ts.cat.CreateAsset(ctx, catalog.Asset{ID: "rec-room-101", Kind: catalog.KindRecording, StreamPath: "dongcheng/room-101",
		State: catalog.StateReady}); err != nil {
		t.Fatal(err)
	}
	ta, vb := login(t, ts.url, "teachera", "teachera-pass-123"), login(t, ts.url, "viewerb", "viewerb-pass-123")
	anon := &client{t: t, base: ts.url}
	rec := "/api/v1/assets/rec-room-101"
	listed := func(c *client) bool {
		return strings.Contains(c.must(200, "GET", "/api/v1/assets?kind=recording", nil).raw, "rec-room-101")
	}

	anon.must(401, "GET", rec, nil)
	anon.must(401, "GET", "/vod/rec-room-101/master.m3u8", nil)
	vb.must(403, "GET", rec, nil)
	ta.must(200, "GET", rec, nil)
	if listed(anon) || listed(vb) || !listed(ta) {
		t.Fatalf("recordings listed to anonymous %v, another school %v, the classroom's school %v", listed(anon), listed(vb), listed(ta))
	}
	admin.must(200, "PATCH", room, map[string]string{"visibility": "link"})
	share := str(admin.must(200, "GET", room, nil).body, "classroom", "share_token")
	vb.must(403, "GET", rec, nil)
	vb.must(200, "GET", rec+"?share="+share, nil)
	admin.must(200, "PATCH", room, map[string]string{"visibility": "public"})
	anon.must(200, "GET", rec, nil)
	if !listed(anon) {
		t.Fatal("a public classroom's recording is not listed to anonymous visitors")
	}

	// Watching a public class is not making lessons of it: that is for its school.
	if r := login(t, ts.url, "teacherb", "teacherb-pass-123").do("POST", "/api/v1/lessons", map[string]any{"title": "x", "asset_id": "rec-room-101"}); r.status != 403 ||
		!strings.Contains(r.raw, "classroom's school") {
		t.Fatalf("another school's teacher made a lesson of the recording: %d %s", r.status, r.raw)
	}

	// A lesson made of the recording (a draft, its teacher's alone) takes nothing away
	// from whom the class was open to: the public class stays public.
	ta.must(201, "POST", "/api/v1/lessons", map[string]any{"title": "第十七章 勾股定理", "asset_id": "rec-room-101"})
	anon.must(200, "GET", rec, nil)
	if !listed(anon) {
		t.Fatal("a public class's recording left the anonymous listing when a draft lesson was made of it")
	}
	admin.must(200, "PATCH", room, map[string]string{"visibility": "school"})
	anon.must(401, "GET", rec, nil)
	vb.must(403, "GET", rec, nil)
	ta.must(200, "GET", rec, nil)
	// A colleague of the same school sees the class (not the draft) and makes a lesson of
	// it too: the class is their school's.
	ta2 := login(t, ts.url, "teachera2", "teachera2-pass-123")
	ta2.must(200, "GET", rec, nil)
	ta2.must(201, "POST", "/api/v1/lessons", map[string]any{"title": "勾股定理（张老师）", "asset_id": "rec-room-101"})
	// Published for everyone, the lesson opens the class's media to everyone.
	lessonOfB := ""
	for _, l := range ta2.must(200, "GET", "/api/v1/lessons?mine=1", nil).body["lessons"].([]any) {
		lessonOfB = l.(map[string]any)["id"].(string)
	}
	ta2.must(200, "PATCH", "/api/v1/lessons/"+lessonOfB, map[string]any{"visibility": "public"})
	ta2.must(200, "POST", "/api/v1/lessons/"+lessonOfB+"/submit", nil)
	admin.must(200, "POST", "/api/v1/lessons/"+lessonOfB+"/approve", nil)
	admin.must(200, "POST", "/api/v1/lessons/"+lessonOfB+"/publish", nil)
	anon.must(200, "GET", rec, nil)
	vb.must(200, "GET", rec, nil)

	// A stream no classroom owns: whoever may watch it, with its viewer token if it has one.
	if err := ts.cat.CreateAsset(ctx, catalog.Asset{ID: "rec-room-9", Kind: catalog.KindRecording, StreamPath: "school-a/room-9",
		State: catalog.StateReady}); err != nil {
		t.Fatal(err)
	}
	ta2.must(403, "POST", "/api/v1/lessons", map[string]any{"title": "x", "asset_id": "rec-room-9"})
	ta2.must(201, "POST", "/api/v1/lessons?token=view-secret", map[string]any{"title": "x", "asset_id": "rec-room-9"})
	// The draft lesson takes nothing from the token's holders; without it the answer is
	// the live stream's.
	if r := anon.do("GET", "/api/v1/assets/rec-room-9", nil); r.status != 401 || !strings.Contains(r.raw, "viewer token") {
		t.Fatalf("a token stream's recording without the token: %d %s", r.status, r.raw)
	}
	anon.must(403, "GET", "/api/v1/assets/rec-room-9?token=wrong", nil)
	anon.must(200, "GET", "/api/v1/assets/rec-room-9?token=view-secret", nil)
}
