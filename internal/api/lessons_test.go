package api_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/classcast/classcast/internal/catalog"
)

// lessonIDsOf lists the ids of a {"lessons": [...]} reply.
func lessonIDsOf(r reply) []string {
	out := []string{}
	list, _ := r.body["lessons"].([]any)
	for _, v := range list {
		m, _ := v.(map[string]any)
		id, _ := m["id"].(string)
		out = append(out, id)
	}
	return out
}

func TestLessonsAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts testServer) {
		anon := &client{t: t, base: ts.url}
		admin := login(t, ts.url, "admin", "admin-pass-123")

		// Schools A and B in district east, C in west; users of each role.
		school := map[string]string{}
		for _, s := range []struct{ key, name, district string }{{"A", "东城一中", "east"}, {"B", "东城二中", "east"}, {"C", "西城一中", "west"}} {
			r := admin.must(201, "POST", "/api/v1/admin/schools", map[string]string{"name": s.name, "district": s.district})
			school[s.key] = str(r.body, "school", "id")
		}
		users := map[string]*client{}
		ids := map[string]string{}
		for _, u := range []struct{ name, display, role, school string }{
			{"teacher1", "王老师", "teacher", "A"}, {"teacher2", "李老师", "teacher", "B"},
			{"reviewer1", "审核员", "reviewer", ""}, {"viewera", "学生甲", "viewer", "A"}, {"viewerc", "学生丙", "viewer", "C"},
		} {
			r := admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": u.name, "display_name": u.display,
				"password": u.name + "-pass-123", "role": u.role, "school_id": school[u.school]})
			ids[u.name] = str(r.body, "user", "id")
			users[u.name] = login(t, ts.url, u.name, u.name+"-pass-123")
		}
		t1, t2, rev, va, vc := users["teacher1"], users["teacher2"], users["reviewer1"], users["viewera"], users["viewerc"]

		// --- create: teachers (and admins) only.
		newLesson := map[string]any{"title": "第三章 勾股定理的证明", "subject": "数学", "grade": "八年级", "textbook_edition": "人教版",
			"chapter": "第十七章", "knowledge_points": []string{"勾股定理", "直角三角形"}, "duration_ms": 45 * 60 * 1000, "visibility": "public"}
		anon.must(401, "POST", "/api/v1/lessons", newLesson)
		va.must(403, "POST", "/api/v1/lessons", newLesson)
		rev.must(403, "POST", "/api/v1/lessons", newLesson)
		noCSRF := *t1
		noCSRF.csrf = ""
		if r := noCSRF.do("POST", "/api/v1/lessons", newLesson); r.status != 403 || r.errCode() != "csrf_failed" {
			t.Fatalf("create without CSRF token: %d %s", r.status, r.raw)
		}
		t1.must(400, "POST", "/api/v1/lessons", map[string]any{"title": ""})
		t1.must(400, "POST", "/api/v1/lessons", map[string]any{"title": "x", "visibility": "world"})
		t1.must(400, "POST", "/api/v1/lessons", map[string]any{"title": "x", "asset_id": "no-such-asset"})
		t1.must(403, "POST", "/api/v1/lessons", map[string]any{"title": "x", "teacher_id": ids["teacher2"]})
		r := t1.must(201, "POST", "/api/v1/lessons", newLesson)
		id := str(r.body, "id")
		if str(r.body, "state") != "draft" || str(r.body, "teacher_name") != "王老师" || str(r.body, "school_id") != school["A"] ||
			str(r.body, "district") != "east" || str(r.body, "share_token") == "" || r.header.Get("Location") != "/api/v1/lessons/"+id {
			t.Fatalf("created: %s", r.raw)
		}
		share := str(r.body, "share_token")
		lesson := "/api/v1/lessons/" + id

		// --- a draft is seen by its owner, reviewers and admins only.
		anon.must(401, "GET", lesson, nil)
		va.must(403, "GET", lesson, nil)
		t2.must(403, "GET", lesson, nil)
		anon.must(403, "GET", lesson+"?share="+share, nil)
		for _, sub := range []string{"", "/clips", "/captions"} {
			anon.must(401, "GET", lesson+sub, nil)
			va.must(403, "GET", lesson+sub, nil)
			for _, c := range []*client{t1, rev, admin} {
				c.must(200, "GET", lesson+sub, nil)
			}
		}
		if got := lessonIDsOf(anon.must(200, "GET", "/api/v1/lessons", nil)); len(got) != 0 {
			t.Fatalf("anonymous listing shows a draft: %v", got)
		}
		if got := lessonIDsOf(t1.must(200, "GET", "/api/v1/lessons?mine=1", nil)); !slices.Equal(got, []string{id}) {
			t.Fatalf("my lessons: %v", got)
		}
		anon.must(401, "GET", "/api/v1/lessons?mine=1", nil)

		// --- every write endpoint: anonymous 401, wrong role or not the owner 403.
		for _, e := range []struct {
			method, path string
			body         any
			wrong        []*client
		}{
			{"PATCH", lesson, map[string]any{"title": "x"}, []*client{t2, va, rev}},
			{"DELETE", lesson, nil, []*client{t2, va, rev}},
			{"POST", lesson + "/submit", nil, []*client{t2, va, rev}},
			{"POST", lesson + "/approve", nil, []*client{t1, t2, va}},
			{"POST", lesson + "/reject", map[string]string{"reason": "x"}, []*client{t1, t2, va}},
			{"POST", lesson + "/publish", nil, []*client{t1, t2, va}},
			{"POST", lesson + "/clips", map[string]any{"title": "x", "start_ms": 0, "end_ms": 1000}, []*client{t2, va, rev}},
			{"PUT", lesson + "/captions/en", "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n", []*client{t2, va, rev}},
			{"DELETE", lesson + "/captions/en", nil, []*client{t2, va, rev}},
			{"GET", "/api/v1/review/queue", nil, []*client{t1, va}},
			{"PUT", "/api/v1/knowledge-points", map[string]any{"subject": "数学", "grade": "八年级", "points": []string{"x"}}, []*client{t1, va}},
			{"GET", "/api/v1/coverage?subject=数学&grade=八年级", nil, nil},
			{"GET", "/api/v1/knowledge-points?subject=数学&grade=八年级", nil, nil},
			{"GET", "/api/v1/curricula", nil, nil},
		} {
			if r := anon.do(e.method, e.path, e.body); r.status != 401 || r.errCode() != "unauthorized" {
				t.Errorf("anonymous %s %s: %d %s", e.method, e.path, r.status, r.raw)
			}
			for _, c := range e.wrong {
				if r := c.do(e.method, e.path, e.body); r.status != 403 {
					t.Errorf("wrong caller %s %s: %d %s", e.method, e.path, r.status, r.raw)
				}
			}
		}

		// --- review: only legal transitions (409 otherwise); reject needs a reason.
		rev.must(409, "POST", lesson+"/approve", nil)
		rev.must(409, "POST", lesson+"/publish", nil)
		t1.must(200, "POST", lesson+"/submit", nil)
		t1.must(409, "POST", lesson+"/submit", nil)
		if r := t1.do("PATCH", lesson, map[string]any{"title": "改"}); r.status != 409 || r.errCode() != "illegal_transition" {
			t.Fatalf("edit while submitted: %d %s", r.status, r.raw)
		}
		rev.must(400, "POST", lesson+"/reject", map[string]string{"reason": " "})
		rev.must(400, "POST", lesson+"/reject", nil)
		r = rev.must(200, "POST", lesson+"/reject", map[string]string{"reason": "声音太小，请重新录制"})
		if str(r.body, "state") != "rejected" || str(r.body, "reject_reason") != "声音太小，请重新录制" {
			t.Fatalf("rejected: %s", r.raw)
		}
		r = t1.must(200, "PATCH", lesson, map[string]any{"title": "第三章 勾股定理的证明（第二版）"})
		if str(r.body, "title") != "第三章 勾股定理的证明（第二版）" || str(r.body, "state") != "rejected" {
			t.Fatalf("edit after rejection: %s", r.raw)
		}
		t1.must(200, "POST", lesson+"/submit", nil)
		if q := rev.must(200, "GET", "/api/v1/review/queue", nil); fmt.Sprint(q.body["lessons_total"]) != "1" || lessonIDsOf(q)[0] != id {
			t.Fatalf("review queue: %s", q.raw)
		}
		rev.must(200, "POST", lesson+"/approve", nil)
		rev.must(409, "POST", lesson+"/approve", nil)
		r = rev.must(200, "POST", lesson+"/publish", nil)
		if str(r.body, "state") != "published" || str(r.body, "reviewer_id") != ids["reviewer1"] {
			t.Fatalf("published: %s", r.raw)
		}
		rev.must(409, "POST", lesson+"/publish", nil)
		t1.must(409, "DELETE", lesson, nil)

		// A reviewer may not review their own lesson; an admin may.
		r = admin.must(201, "POST", "/api/v1/lessons", map[string]any{"title": "审核员自己的课", "teacher_id": ids["reviewer1"]})
		own := "/api/v1/lessons/" + str(r.body, "id")
		if str(r.body, "teacher_id") != ids["reviewer1"] {
			t.Fatalf("admin-made lesson: %s", r.raw)
		}
		rev.must(200, "POST", own+"/submit", nil)
		rev.must(403, "POST", own+"/approve", nil)
		rev.must(403, "POST", own+"/reject", map[string]string{"reason": "x"})
		admin.must(200, "POST", own+"/approve", nil)

		// --- published and public: everyone sees it, only managers see the share token.
		r = anon.must(200, "GET", lesson, nil)
		if r.body["share_token"] != nil || str(r.body, "title") != "第三章 勾股定理的证明（第二版）" {
			t.Fatalf("anonymous view: %s", r.raw)
		}
		// Visibility changes are allowed on a published lesson.
		t1.must(200, "PATCH", lesson, map[string]any{"visibility": "school"})
		anon.must(401, "GET", lesson, nil)
		vc.must(403, "GET", lesson, nil)
		t2.must(403, "GET", lesson, nil)
		va.must(200, "GET", lesson, nil)
		t1.must(200, "PATCH", lesson, map[string]any{"visibility": "district"})
		t2.must(200, "GET", lesson, nil)
		vc.must(403, "GET", lesson, nil)
		anon.must(401, "GET", lesson, nil)
		t1.must(200, "PATCH", lesson, map[string]any{"visibility": "link"})
		anon.must(200, "GET", lesson+"?share="+share, nil)
		anon.must(403, "GET", lesson+"?share=wrong", nil)
		t2.must(403, "GET", lesson, nil)
		t2.must(200, "GET", lesson+"?share="+share, nil)
		va.must(200, "GET", lesson, nil)
		r = t1.must(200, "PATCH", lesson, map[string]any{"rotate_share_token": true})
		anon.must(403, "GET", lesson+"?share="+share, nil)
		anon.must(200, "GET", lesson+"?share="+str(r.body, "share_token"), nil)
		if got := lessonIDsOf(anon.must(200, "GET", "/api/v1/lessons", nil)); len(got) != 0 {
			t.Fatalf("a link-shared lesson is listed for anonymous callers: %v", got)
		}
		t1.must(200, "PATCH", lesson, map[string]any{"visibility": "public"})

		// --- search: Chinese substrings of title, teacher and knowledge point; literal %.
		r = t1.must(201, "POST", "/api/v1/lessons", map[string]any{"title": "一元二次方程 100%_掌握", "subject": "数学", "grade": "九年级"})
		draft2 := str(r.body, "id")
		for _, tc := range []struct {
			c     *client
			query string
			want  []string
		}{
			{anon, "q=" + url.QueryEscape("勾股定理"), []string{id}},
			{anon, "q=" + url.QueryEscape("王老"), []string{id}},
			{anon, "q=" + url.QueryEscape("直角三角"), []string{id}},
			{anon, "q=" + url.QueryEscape("%"), []string{}},
			{t1, "mine=1&q=" + url.QueryEscape("%"), []string{draft2}},
			{t1, "mine=1&q=" + url.QueryEscape("_"), []string{draft2}},
			{t1, "mine=1&sort=title", []string{draft2, id}},
			{t1, "mine=1&grade=" + url.QueryEscape("八年级"), []string{id}},
			{t1, "school=" + school["A"] + "&state=draft", []string{draft2}},
			{t1, "subject=" + url.QueryEscape("数学") + "&limit=1&offset=1&sort=oldest", []string{draft2}},
			{anon, "point=" + url.QueryEscape("勾股定理"), []string{id}},
			{rev, "state=draft", []string{draft2}},
		} {
			if got := lessonIDsOf(tc.c.must(200, "GET", "/api/v1/lessons?"+tc.query, nil)); !slices.Equal(got, tc.want) {
				t.Errorf("search %s: %v, want %v", tc.query, got, tc.want)
			}
		}
		anon.must(400, "GET", "/api/v1/lessons?sort=random", nil)
		anon.must(400, "GET", "/api/v1/lessons?state=lost", nil)
		anon.must(400, "GET", "/api/v1/lessons?limit=-1", nil)
		// A deleted lesson's captions leave the store with it.
		t1.must(200, "PUT", "/api/v1/lessons/"+draft2+"/captions/en", "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n")
		if objs, err := ts.store.List(t.Context(), "captions/"+draft2+"/"); err != nil || len(objs) != 1 {
			t.Fatalf("captions of %s in the store: %v %v", draft2, objs, err)
		}
		t1.must(204, "DELETE", "/api/v1/lessons/"+draft2, nil)
		t1.must(404, "GET", "/api/v1/lessons/"+draft2, nil)
		if objs, err := ts.store.List(t.Context(), "captions/"+draft2+"/"); err != nil || len(objs) != 0 {
			t.Fatalf("a deleted lesson's captions left in the store: %v %v", objs, err)
		}

		// --- clips: metadata in draft, their own review, visibility like lessons.
		clipBody := map[string]any{"title": "勾股定理 微课", "knowledge_point": "勾股定理", "start_ms": 60_000, "end_ms": 360_000}
		t1.must(400, "POST", lesson+"/clips", map[string]any{"title": "太长", "start_ms": 0, "end_ms": 46 * 60 * 1000})
		t1.must(400, "POST", lesson+"/clips", map[string]any{"title": "倒序", "start_ms": 5000, "end_ms": 1000})
		r = t1.must(201, "POST", lesson+"/clips", clipBody)
		clipID := str(r.body, "id")
		clip := "/api/v1/clips/" + clipID
		if str(r.body, "state") != "draft" || str(r.body, "asset_id") != "" || str(r.body, "visibility") != "public" {
			t.Fatalf("clip: %s", r.raw)
		}
		anon.must(401, "GET", clip, nil)
		va.must(403, "GET", clip, nil)
		rev.must(200, "GET", clip, nil)
		if r := anon.must(200, "GET", lesson+"/clips", nil); fmt.Sprint(r.body["total"]) != "0" {
			t.Fatalf("anonymous sees a draft clip: %s", r.raw)
		}
		for _, e := range []struct {
			method, path string
			body         any
			wrong        []*client
		}{
			{"PATCH", clip, map[string]any{"title": "x"}, []*client{t2, va, rev}},
			{"DELETE", clip, nil, []*client{t2, va, rev}},
			{"POST", clip + "/submit", nil, []*client{t2, va, rev}},
			{"POST", clip + "/approve", nil, []*client{t1, t2, va}},
			{"POST", clip + "/reject", map[string]string{"reason": "x"}, []*client{t1, t2, va}},
			{"POST", clip + "/publish", nil, []*client{t1, t2, va}},
		} {
			if r := anon.do(e.method, e.path, e.body); r.status != 401 {
				t.Errorf("anonymous %s %s: %d %s", e.method, e.path, r.status, r.raw)
			}
			for _, c := range e.wrong {
				if r := c.do(e.method, e.path, e.body); r.status != 403 {
					t.Errorf("wrong caller %s %s: %d %s", e.method, e.path, r.status, r.raw)
				}
			}
		}
		rev.must(409, "POST", clip+"/approve", nil)
		t1.must(200, "PATCH", clip, map[string]any{"end_ms": 300_000})
		t1.must(200, "POST", clip+"/submit", nil)
		t1.must(409, "PATCH", clip, map[string]any{"end_ms": 200_000})
		if q := rev.must(200, "GET", "/api/v1/review/queue", nil); fmt.Sprint(q.body["clips_total"]) != "1" {
			t.Fatalf("review queue clips: %s", q.raw)
		}

		// --- coverage: the curriculum's points and the lesson's, covered by approved clips.
		if r := va.must(200, "GET", "/api/v1/curricula", nil); fmt.Sprint(r.body["curricula"]) != "[]" {
			t.Fatalf("curricula before any: %s", r.raw)
		}
		rev.must(200, "PUT", "/api/v1/knowledge-points", map[string]any{"subject": "数学", "grade": "八年级", "points": []string{"勾股定理", "勾股定理的逆定理"}})
		rev.must(200, "PUT", "/api/v1/knowledge-points", map[string]any{"subject": "物理", "grade": "八年级", "points": []string{"欧姆定律"}})
		if r := va.must(200, "GET", "/api/v1/curricula", nil); fmt.Sprint(r.body["curricula"]) != "[map[grade:八年级 points:2 subject:数学] map[grade:八年级 points:1 subject:物理]]" {
			t.Fatalf("curricula: %s", r.raw)
		}
		coverage := func() string {
			r := va.must(200, "GET", "/api/v1/coverage?subject="+url.QueryEscape("数学")+"&grade="+url.QueryEscape("八年级"), nil)
			var out []string
			pts, _ := r.body["points"].([]any)
			for _, p := range pts {
				m := p.(map[string]any)
				out = append(out, fmt.Sprintf("%s=%v%v", m["point"], m["covered"], m["clip_ids"]))
			}
			return fmt.Sprint(out)
		}
		if got := coverage(); got != "[勾股定理=false[] 勾股定理的逆定理=false[] 直角三角形=false[]]" {
			t.Fatalf("coverage before approval: %s", got)
		}
		rev.must(200, "POST", clip+"/approve", nil)
		if got := coverage(); got != "[勾股定理=true["+clipID+"] 勾股定理的逆定理=false[] 直角三角形=false[]]" {
			t.Fatalf("coverage after approval: %s", got)
		}
		va.must(400, "GET", "/api/v1/coverage?subject="+url.QueryEscape("数学"), nil)
		rev.must(200, "POST", clip+"/publish", nil)
		if r := anon.must(200, "GET", lesson+"/clips", nil); fmt.Sprint(r.body["total"]) != "1" {
			t.Fatalf("published clip not listed: %s", r.raw)
		}
		anon.must(200, "GET", clip, nil)

		// --- captions: the file itself, checked and kept as WebVTT; SRT converted.
		t1.must(400, "PUT", lesson+"/captions/"+url.PathEscape("zh_CN!"), "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n")
		if r := t1.do("PUT", lesson+"/captions/en", "hello, not captions"); r.status != 422 || !strings.Contains(r.raw, "WEBVTT") {
			t.Fatalf("non-caption file: %d %s", r.status, r.raw)
		}
		if r := t1.do("PUT", lesson+"/captions/en", strings.Repeat("x", 3<<20)); r.status != 413 {
			t.Fatalf("oversized caption file: %d %s", r.status, r.raw)
		}
		srt := "1\r\n00:00:01,000 --> 00:00:03,000\r\n同学们好\r\n"
		r = t1.must(200, "PUT", lesson+"/captions/zh-CN?label="+url.QueryEscape("中文"), srt, "Content-Type", "application/x-subrip")
		if str(r.body, "label") != "中文" || str(r.body, "url") != lesson+"/captions/zh-CN" {
			t.Fatalf("caption put: %s", r.raw)
		}
		r = anon.must(200, "GET", lesson+"/captions", nil)
		if list := r.body["captions"].([]any); len(list) != 1 || list[0].(map[string]any)["url"] != lesson+"/captions/zh-CN" {
			t.Fatalf("captions: %s", r.raw)
		}
		r = anon.must(200, "GET", lesson+"/captions/zh-CN", nil)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/vtt") || r.raw != "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\n同学们好\n\n" {
			t.Fatalf("caption file: %q %q", r.header.Get("Content-Type"), r.raw)
		}
		anon.must(404, "GET", lesson+"/captions/en", nil)
		anon.must(404, "GET", lesson+"/captions/..%2F..%2Fetc%2Fpasswd", nil)
		t1.must(204, "DELETE", lesson+"/captions/zh-CN", nil)
		t1.must(404, "DELETE", lesson+"/captions/zh-CN", nil)
		anon.must(404, "GET", lesson+"/captions/zh-CN", nil)

		// --- bad and traversing ids are 404, never a file or a 500.
		for _, p := range []string{"/api/v1/lessons/..%2F..%2Fetc%2Fpasswd", "/api/v1/lessons/LES-UPPER", "/api/v1/lessons/les-missing",
			"/api/v1/clips/%2e%2e", "/api/v1/clips/ml-missing", "/api/v1/lessons/les-missing/clips", "/api/v1/lessons/les-missing/captions"} {
			if r := admin.do("GET", p, nil); r.status != 404 {
				t.Errorf("GET %s: %d %s", p, r.status, r.raw)
			}
		}
		admin.must(404, "POST", "/api/v1/lessons/les-missing/approve", nil)

		// --- a lesson's media follows the lesson's visibility (/api/v1/assets here; /vod/
		// goes through the same loadAsset).
		if err := ts.cat.CreateAsset(context.Background(), catalog.Asset{ID: "up-lesson-media", Kind: catalog.KindUpload, State: catalog.StateReady}); err != nil {
			t.Fatal(err)
		}
		if err := ts.cat.CreateAsset(context.Background(), catalog.Asset{ID: "up-free-media", Kind: catalog.KindUpload, State: catalog.StateReady}); err != nil {
			t.Fatal(err)
		}
		if err := ts.cat.CreateAsset(context.Background(), catalog.Asset{ID: "rec-free-media", Kind: catalog.KindRecording, State: catalog.StateReady}); err != nil {
			t.Fatal(err)
		}
		// Owning a lesson opens its media: teachers make lessons only of their own uploads
		// (the upload makes the first lesson, here the admin for teacher1) and of the
		// recordings they may watch.
		t1.must(403, "POST", "/api/v1/lessons", map[string]any{"title": "别人的视频", "asset_id": "up-lesson-media"})
		r = admin.must(201, "POST", "/api/v1/lessons", map[string]any{"title": "带视频的课", "asset_id": "up-lesson-media", "visibility": "public",
			"teacher_id": ids["teacher1"]})
		t2.must(403, "POST", "/api/v1/lessons", map[string]any{"title": "别人的视频", "asset_id": "up-lesson-media"})
		t2.must(403, "POST", "/api/v1/lessons", map[string]any{"title": "没人用的视频", "asset_id": "up-free-media"})
		t2Lesson := "/api/v1/lessons/" + str(t2.must(201, "POST", "/api/v1/lessons", map[string]any{"title": "李老师的课"}).body, "id")
		t2.must(403, "PATCH", t2Lesson, map[string]any{"asset_id": "up-lesson-media"})
		t2.must(400, "PATCH", t2Lesson, map[string]any{"asset_id": "no-such-asset"})
		if r := t2.must(200, "PATCH", t2Lesson, map[string]any{"asset_id": "rec-free-media"}); str(r.body, "asset_id") != "rec-free-media" {
			t.Fatalf("a lesson given a recording it may watch: %s", r.raw)
		}
		t2.must(204, "DELETE", t2Lesson, nil)
		mine := t1.must(201, "POST", "/api/v1/lessons", map[string]any{"title": "同一视频的第二节", "asset_id": "up-lesson-media"})
		t1.must(204, "DELETE", "/api/v1/lessons/"+str(mine.body, "id"), nil)
		media := "/api/v1/assets/up-lesson-media"
		if str(r.body, "origin") != "upload" || str(r.body, "asset_state") != "ready" || str(r.body, "poster_url") != "/vod/up-lesson-media/poster.jpg" ||
			str(r.body, "school_name") != "东城一中" {
			t.Fatalf("origin, media state, poster and school from the asset and school: %s", r.raw)
		}
		if r := t1.must(200, "GET", "/api/v1/lessons?mine=1&q="+url.QueryEscape("带视频"), nil); !strings.Contains(r.raw, `"poster_url": "/vod/up-lesson-media/poster.jpg"`) ||
			!strings.Contains(r.raw, `"school_name": "东城一中"`) {
			t.Fatalf("listing without media state: %s", r.raw)
		}
		anon.must(401, "GET", media, nil)
		va.must(403, "GET", media, nil)
		t1.must(200, "GET", media, nil)
		rev.must(200, "GET", media, nil)
		anon.must(200, "GET", "/api/v1/assets/rec-free-media", nil) // a recording no lesson uses: its own rules
		// An upload nothing uses (its lesson deleted): reviewers only, until it is reclaimed.
		anon.must(401, "GET", "/api/v1/assets/up-free-media", nil)
		t1.must(403, "GET", "/api/v1/assets/up-free-media", nil)
		rev.must(200, "GET", "/api/v1/assets/up-free-media", nil)
		if r := anon.must(200, "GET", "/api/v1/assets", nil); strings.Contains(r.raw, "up-lesson-media") || strings.Contains(r.raw, "up-free-media") || !strings.Contains(r.raw, "rec-free-media") ||
			fmt.Sprint(r.body["total"]) != fmt.Sprint(len(r.body["assets"].([]any))) {
			t.Fatalf("anonymous asset listing (total counts only what the caller sees): %s", r.raw)
		}
		if r := anon.must(200, "GET", "/api/v1/assets?limit=1&offset=1", nil); len(r.body["assets"].([]any)) != 0 {
			t.Fatalf("anonymous second page: %s", r.raw)
		}
		if r := rev.must(200, "GET", "/api/v1/assets", nil); !strings.Contains(r.raw, "up-lesson-media") || fmt.Sprint(r.body["total"]) != "3" {
			t.Fatalf("reviewer asset listing: %s", r.raw)
		}
		mediaLesson := "/api/v1/lessons/" + str(r.body, "id")
		t1.must(200, "POST", mediaLesson+"/submit", nil)
		rev.must(200, "POST", mediaLesson+"/approve", nil)
		rev.must(200, "POST", mediaLesson+"/publish", nil)
		anon.must(200, "GET", media, nil)
		// Deleted, the lesson takes its media with it for everyone but reviewers.
		admin.must(204, "DELETE", mediaLesson, nil)
		anon.must(401, "GET", media, nil)
		t1.must(403, "GET", media, nil)
		rev.must(200, "GET", media, nil)

		// --- the endpoints are described.
		r = anon.must(200, "GET", "/api/v1/openapi.json", nil)
		paths, _ := r.body["paths"].(map[string]any)
		for _, p := range []string{"/api/v1/lessons", "/api/v1/lessons/{id}/reject", "/api/v1/clips/{id}/publish", "/api/v1/coverage", "/api/v1/review/queue"} {
			if paths[p] == nil {
				t.Errorf("openapi.json lacks %s", p)
			}
		}

		// --- the audit log has every review action.
		r = admin.must(200, "GET", "/api/v1/admin/audit?limit=100", nil)
		seen := map[string]int{}
		for _, e := range r.body["entries"].([]any) {
			m := e.(map[string]any)
			seen[fmt.Sprint(m["action"])]++
			if m["action"] == "review.reject" && m["target"] == "lesson:"+id && str(m, "actor") != "reviewer1" {
				t.Errorf("reject audit entry: %v", m)
			}
		}
		for action, n := range map[string]int{"review.submit": 5, "review.approve": 4, "review.reject": 1, "review.publish": 3, "review.knowledge_points": 2} {
			if seen[action] != n {
				t.Errorf("audit %s: %d entries, want %d (%v)", action, seen[action], n, seen)
			}
		}
	})
}
