package api_test

import (
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/api"
	"github.com/classcast/classcast/media/stream"
	"github.com/classcast/classcast/media/webrtc"
)

// egress is the node's real WebRTC side on a free port, with a registry in which no
// stream is live: an offer that passes the access check gets 404 stream_not_found
// from it, one that does not gets 401/403 before it.
func egress(t *testing.T) *webrtc.Server {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	log := slog.New(slog.DiscardHandler)
	e, err := webrtc.NewServer(webrtc.Options{Port: port, DisableTCP: true, Loopback: true}, stream.NewRegistry(log, time.Minute), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// TestWHEPFollowsClassroomVisibility: a classroom's live class is seen by whom its
// visibility allows, signed in by session cookie (as the live page sends it: no CSRF
// header), by API token, or with the share link's token; other streams keep the
// config's viewer token.
func TestWHEPFollowsClassroomVisibility(t *testing.T) {
	ts := startServer(t, "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"), func(o *api.Options) { o.WHEP = egress(t) })
	admin := login(t, ts.url, "admin", "admin-pass-123")
	school := map[string]string{}
	for _, sc := range []struct{ key, name, district string }{{"A", "东城一中", "east"}, {"B", "东城二中", "east"}, {"C", "西城一中", "west"}} {
		school[sc.key] = str(admin.must(201, "POST", "/api/v1/admin/schools", map[string]string{"name": sc.name, "district": sc.district}).body, "school", "id")
	}
	for _, u := range []struct{ name, school string }{{"viewera", "A"}, {"viewerb", "B"}, {"viewerc", "C"}} {
		admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": u.name, "display_name": u.name,
			"password": u.name + "-pass-123", "role": "viewer", "school_id": school[u.school]})
	}
	r := admin.must(201, "POST", "/api/v1/admin/classrooms", map[string]string{"school_id": school["A"], "name": "录播教室 101",
		"stream_path": "dongcheng/room-101", "visibility": "school"})
	room := "/api/v1/admin/classrooms/" + str(r.body, "classroom", "id")
	share := str(r.body, "classroom", "share_token")

	va, vb, vc := login(t, ts.url, "viewera", "viewera-pass-123"), login(t, ts.url, "viewerb", "viewerb-pass-123"), login(t, ts.url, "viewerc", "viewerc-pass-123")
	anon := &client{t: t, base: ts.url}
	offer := func(c *client, path string, want int, hdr ...string) {
		t.Helper()
		hdr = append(hdr, "Content-Type", "application/sdp")
		// The live page sends the session cookie but no CSRF header.
		noCSRF := *c
		noCSRF.csrf = ""
		if r := noCSRF.do("POST", path, "v=0\r\n", hdr...); r.status != want || want == 404 && r.errCode() != "stream_not_found" {
			t.Fatalf("%s (signed in: %v): %d, want %d: %s", path, c.secret != "", r.status, want, r.raw)
		}
	}
	whep := "/whep/dongcheng/room-101"
	offer(anon, whep, 401)
	offer(va, whep, 404) // allowed: the stream is just not live
	offer(vb, whep, 403)
	admin.must(200, "PATCH", room, map[string]string{"visibility": "district"})
	offer(vb, whep, 404)
	offer(vc, whep, 403)
	admin.must(200, "PATCH", room, map[string]string{"visibility": "link"})
	offer(vc, whep, 403)
	if share == "" {
		share = str(admin.must(200, "GET", room, nil).body, "classroom", "share_token")
	}
	offer(anon, whep+"?share="+share, 404)
	offer(anon, whep, 404, "Authorization", "Bearer "+share)
	offer(anon, whep, 403, "Authorization", "Bearer wrong")
	admin.must(200, "PATCH", room, map[string]string{"visibility": "public"})
	offer(anon, whep, 404)

	// A stream no classroom owns keeps the config's viewer token.
	offer(anon, "/whep/school-a/room-9", 401)
	offer(anon, "/whep/school-a/room-9", 404, "Authorization", "Bearer view-secret")
	offer(anon, "/whep/open/room", 404)
}
