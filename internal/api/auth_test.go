package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/classcast/classcast/internal/api"
	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/catalog/pgtest"
	"github.com/classcast/classcast/internal/storage"
)

// client talks to the test server as one caller: a session cookie with its CSRF token,
// or a bearer token, or nothing.
type client struct {
	t      *testing.T
	base   string
	secret string // session cookie value
	csrf   string
	bearer string
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// errCode is the API error code of a reply ("" when it is not an error).
func (r reply) errCode() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// do sends one request. body is JSON-encoded unless it is a string (sent as is);
// hdr are header name/value pairs that override the defaults.
func (c *client) do(method, path string, body any, hdr ...string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.secret != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: c.secret})
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (c *client) must(want int, method, path string, body any, hdr ...string) reply {
	c.t.Helper()
	r := c.do(method, path, body, hdr...)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

// login signs username in and returns a client holding the session.
func login(t *testing.T, base, username, password string) *client {
	t.Helper()
	anon := &client{t: t, base: base}
	r := anon.must(http.StatusOK, "POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password})
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == auth.CookieName {
			csrf, _ := r.body["csrf_token"].(string)
			return &client{t: t, base: base, secret: ck.Value, csrf: csrf}
		}
	}
	t.Fatalf("no session cookie in %v", r.header)
	return nil
}

func str(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

type testServer struct {
	url   string
	cat   *catalog.Catalog
	store storage.Store
}

func startServer(t *testing.T, dsn string, with ...func(*api.Options)) testServer {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cat, err := catalog.Open(ctx, dsn, "", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	svc, err := auth.New(auth.Options{Catalog: cat, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bootstrap(ctx, "admin-pass-123"); err != nil {
		t.Fatal(err)
	}
	store, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := api.Options{Catalog: cat, Auth: svc, Log: log, Store: store,
		// One stream protected by a per-stream viewer token, as configured in classcast.yml.
		Access: func(path string) (string, bool) { return "view-secret", path == "school-a/room-9" },
	}
	for _, f := range with {
		f(&o)
	}
	srv := httptest.NewServer(api.New(o))
	t.Cleanup(srv.Close)
	return testServer{url: srv.URL, cat: cat, store: o.Store}
}

func forEachBackend(t *testing.T, f func(t *testing.T, ts testServer)) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "catalog.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t).URL() }},
	} {
		t.Run(b.name, func(t *testing.T) { f(t, startServer(t, b.dsn(t))) })
	}
}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)

func TestAuthAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts testServer) {
		ctx := context.Background()
		anon := &client{t: t, base: ts.url}

		// --- sign-in: the cookie's attributes, the CSRF token, login CSRF defences.
		r := anon.must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-pass-123"})
		ck := (&http.Response{Header: r.header}).Cookies()
		if len(ck) != 1 || ck[0].Name != "classcast_session" || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode || ck[0].Path != "/" || ck[0].Secure {
			t.Fatalf("session cookie over http: %+v", ck)
		}
		if str(r.body, "csrf_token") == "" || str(r.body, "user", "role") != "admin" || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("login reply: %s", r.raw)
		}
		r = anon.must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-pass-123"}, "X-Forwarded-Proto", "https")
		if ck := (&http.Response{Header: r.header}).Cookies(); len(ck) != 1 || !ck[0].Secure {
			t.Fatalf("behind a TLS proxy the cookie must be Secure: %+v", ck)
		}
		if r := anon.do("POST", "/api/v1/auth/login", `{"username":"admin","password":"admin-pass-123"}`, "Content-Type", "application/x-www-form-urlencoded"); r.status != 415 {
			t.Fatalf("form-encoded sign-in: %d %s", r.status, r.raw)
		}
		if r := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-pass-123"}, "Origin", "https://evil.example"); r.status != 403 || r.errCode() != "cross_origin" {
			t.Fatalf("cross-origin sign-in: %d %s", r.status, r.raw)
		}
		if r := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-pass-123"}, "Sec-Fetch-Site", "cross-site"); r.status != 403 {
			t.Fatalf("cross-site sign-in: %d %s", r.status, r.raw)
		}
		anon.must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-pass-123"}, "Origin", ts.url)

		admin := login(t, ts.url, "admin", "admin-pass-123")
		if r := admin.must(200, "GET", "/api/v1/auth/me", nil); str(r.body, "csrf_token") != admin.csrf || str(r.body, "method") != "session" {
			t.Fatalf("me: %s", r.raw)
		}

		// --- the admin sets up a school, users of each role, a classroom.
		r = admin.must(201, "POST", "/api/v1/admin/schools", map[string]string{"name": "东城实验小学", "district": "east"})
		schoolA := str(r.body, "school", "id")
		users := map[string]*client{}
		for _, role := range []string{"teacher", "viewer", "reviewer"} {
			r = admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": role + "1", "display_name": "用户 " + role,
				"password": role + "-pass-123", "role": role, "school_id": schoolA})
			if str(r.body, "user", "district") != "east" || r.body["password"] != nil {
				t.Fatalf("created user: %s", r.raw)
			}
			users[role] = login(t, ts.url, role+"1", role+"-pass-123")
		}
		// A made-up password is shown once.
		r = admin.must(201, "POST", "/api/v1/admin/users", map[string]string{"username": "nopass", "role": "viewer"})
		if pw := str(r.body, "password"); len(pw) < 12 {
			t.Fatalf("generated password: %s", r.raw)
		} else {
			login(t, ts.url, "nopass", pw)
		}
		u, err := ts.cat.UserByUsername(ctx, "teacher1")
		if err != nil || !phc.MatchString(u.PasswordHash) || strings.Contains(u.PasswordHash, "teacher-pass-123") {
			t.Fatalf("stored hash %q: %v", u.PasswordHash, err)
		}
		teacherID := u.ID
		r = users["teacher"].must(201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "ci", "expires_in_days": 30})
		teacherToken := str(r.body, "token", "token")
		if !strings.HasPrefix(teacherToken, "cct_") || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("token: %s", r.raw)
		}
		r = admin.must(201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "admin script"})
		adminToken := str(r.body, "token", "token")
		r = admin.must(201, "POST", "/api/v1/admin/classrooms", map[string]string{"school_id": schoolA, "name": "录播教室 101", "stream_path": "school-a/room-101"})
		roomID, key := str(r.body, "classroom", "id"), str(r.body, "classroom", "publish_key")
		if len(key) != 32 || str(r.body, "classroom", "visibility") != "school" || str(r.body, "classroom", "publish_user") != "publisher" {
			t.Fatalf("classroom: %s", r.raw)
		}

		// --- every admin endpoint: 401 anonymous, 403 for other roles (session or
		// token), success for the admin.
		var newUserID string
		endpoints := []struct {
			method string
			path   func() string
			body   any
			want   int
			after  func(reply)
		}{
			{"GET", func() string { return "/api/v1/admin/users" }, nil, 200, func(r reply) {
				if r.body["total"].(float64) != 5 {
					t.Fatalf("users: %s", r.raw)
				}
			}},
			{"POST", func() string { return "/api/v1/admin/users" }, map[string]string{"username": "matrix", "password": "matrix-pass-1", "role": "viewer"}, 201,
				func(r reply) { newUserID = str(r.body, "user", "id") }},
			{"GET", func() string { return "/api/v1/admin/users/" + newUserID }, nil, 200, nil},
			{"PATCH", func() string { return "/api/v1/admin/users/" + newUserID }, map[string]any{"role": "teacher", "school_id": schoolA}, 200, func(r reply) {
				if str(r.body, "user", "role") != "teacher" || str(r.body, "user", "school_id") != schoolA {
					t.Fatalf("patched user: %s", r.raw)
				}
			}},
			{"GET", func() string { return "/api/v1/admin/schools" }, nil, 200, nil},
			{"POST", func() string { return "/api/v1/admin/schools" }, map[string]string{"name": "西城中学", "district": "west"}, 201, nil},
			{"PATCH", func() string { return "/api/v1/admin/schools/" + schoolA }, map[string]string{"name": "东城实验小学(本部)"}, 200, nil},
			{"GET", func() string { return "/api/v1/admin/classrooms" }, nil, 200, func(r reply) {
				if strings.Contains(r.raw, key) || strings.Contains(r.raw, "publish_key") {
					t.Fatalf("a listing shows the publish key: %s", r.raw)
				}
			}},
			{"POST", func() string { return "/api/v1/admin/classrooms" }, map[string]string{"school_id": schoolA, "name": "102", "stream_path": "school-a/room-102", "visibility": "link"}, 201, func(r reply) {
				if str(r.body, "classroom", "share_token") == "" {
					t.Fatalf("a link classroom needs a share token: %s", r.raw)
				}
			}},
			{"GET", func() string { return "/api/v1/admin/classrooms/" + roomID }, nil, 200, nil},
			{"PATCH", func() string { return "/api/v1/admin/classrooms/" + roomID }, map[string]any{"rotate_key": true, "visibility": "district"}, 200, func(r reply) {
				if k := str(r.body, "classroom", "publish_key"); len(k) != 32 || k == key || str(r.body, "classroom", "visibility") != "district" {
					t.Fatalf("rotated: %s", r.raw)
				}
			}},
			{"DELETE", func() string { return "/api/v1/admin/classrooms/" + roomID }, nil, 204, nil},
			{"GET", func() string { return "/api/v1/admin/audit?limit=5" }, nil, 200, func(r reply) {
				if n := len(r.body["entries"].([]any)); n != 5 || r.body["total"].(float64) < 15 {
					t.Fatalf("audit page: %s", r.raw)
				}
			}},
		}
		for _, e := range endpoints {
			name := e.method + " " + e.path()
			if r := anon.do(e.method, e.path(), e.body); r.status != 401 || r.errCode() != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s anonymous: %d %s", name, r.status, r.raw)
			}
			for role, c := range users {
				if r := c.do(e.method, e.path(), e.body); r.status != 403 || r.errCode() != "forbidden" {
					t.Fatalf("%s as %s: %d %s", name, role, r.status, r.raw)
				}
			}
			tc := &client{t: t, base: ts.url, bearer: teacherToken}
			if r := tc.do(e.method, e.path(), e.body); r.status != 403 {
				t.Fatalf("%s with a teacher's token: %d %s", name, r.status, r.raw)
			}
			r := admin.must(e.want, e.method, e.path(), e.body)
			if e.after != nil {
				e.after(r)
			}
		}

		// --- CSRF: a cookie session's unsafe request needs the header; a token does not.
		noCSRF := &client{t: t, base: ts.url, secret: admin.secret}
		if r := noCSRF.do("POST", "/api/v1/admin/schools", map[string]string{"name": "csrf-1"}); r.status != 403 || r.errCode() != "csrf_failed" {
			t.Fatalf("no CSRF token: %d %s", r.status, r.raw)
		}
		badCSRF := &client{t: t, base: ts.url, secret: admin.secret, csrf: users["teacher"].csrf}
		if r := badCSRF.do("PATCH", "/api/v1/admin/schools/"+schoolA, map[string]string{"district": "north"}); r.status != 403 || r.errCode() != "csrf_failed" {
			t.Fatalf("another session's CSRF token: %d %s", r.status, r.raw)
		}
		if r := badCSRF.do("POST", "/api/v1/auth/logout", nil); r.status != 403 {
			t.Fatalf("logout without the right CSRF token: %d %s", r.status, r.raw)
		}
		noCSRF.must(200, "GET", "/api/v1/admin/schools", nil) // safe methods need none
		tokenAdmin := &client{t: t, base: ts.url, bearer: adminToken}
		tokenAdmin.must(201, "POST", "/api/v1/admin/schools", map[string]string{"name": "by token"})
		if r := tokenAdmin.must(200, "GET", "/api/v1/auth/me", nil); str(r.body, "method") != "token" || r.body["csrf_token"] != nil {
			t.Fatalf("me by token: %s", r.raw)
		}

		// --- wrong password: 401, an audit row; unknown users look the same.
		r = anon.must(401, "POST", "/api/v1/auth/login", map[string]string{"username": "teacher1", "password": "nope-nope"})
		r2 := anon.must(401, "POST", "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "nope-nope"})
		if r.errCode() != "bad_credentials" || r.raw != r2.raw {
			t.Fatalf("wrong password %s vs unknown user %s", r.raw, r2.raw)
		}
		r = admin.must(200, "GET", "/api/v1/admin/audit?action=auth.login_failed&actor=teacher1", nil)
		if r.body["total"].(float64) != 1 || !strings.Contains(r.raw, `"reason": "wrong_password"`) || !strings.Contains(r.raw, `"target": "user:`+teacherID) || !strings.Contains(r.raw, "127.0.0.1") {
			t.Fatalf("audit of the failed sign-in: %s", r.raw)
		}
		r = admin.must(200, "GET", "/api/v1/admin/audit?action=admin.*&limit=500", nil)
		for _, a := range []string{"admin.user_create", "admin.user_update", "admin.school_create", "admin.school_update", "admin.classroom_create", "admin.classroom_update", "admin.classroom_delete"} {
			if !strings.Contains(r.raw, `"action": "`+a+`"`) {
				t.Errorf("no %s in the audit log", a)
			}
		}
		if strings.Contains(r.raw, "auth.") {
			t.Error("the admin.* filter let auth.* through")
		}
		r = admin.must(200, "GET", "/api/v1/admin/audit?action=auth.token_create", nil)
		if r.body["total"].(float64) != 2 {
			t.Fatalf("token_create entries: %s", r.raw)
		}

		// --- own tokens: listed without the secret, deleted only by their owner.
		r = users["teacher"].must(200, "GET", "/api/v1/auth/tokens", nil)
		if strings.Contains(r.raw, teacherToken) || !strings.Contains(r.raw, teacherToken[:12]) {
			t.Fatalf("token listing: %s", r.raw)
		}
		tokID := str(r.body["tokens"].([]any)[0].(map[string]any), "id")
		admin.must(404, "DELETE", "/api/v1/auth/tokens/"+tokID, nil)
		users["teacher"].must(204, "DELETE", "/api/v1/auth/tokens/"+tokID, nil)
		(&client{t: t, base: ts.url, bearer: teacherToken}).must(401, "GET", "/api/v1/auth/me", nil)

		// --- sign-out ends the session on the server, not just in the browser.
		v := users["viewer"]
		r = v.must(204, "POST", "/api/v1/auth/logout", nil)
		if ck := (&http.Response{Header: r.header}).Cookies(); len(ck) != 1 || ck[0].MaxAge >= 0 {
			t.Fatalf("logout must clear the cookie: %v", r.header)
		}
		v.must(401, "GET", "/api/v1/auth/me", nil)

		// --- a disabled user: sessions end, tokens stop, sign-in is refused.
		tc := users["teacher"]
		r = tc.must(201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "second"})
		tok2 := &client{t: t, base: ts.url, bearer: str(r.body, "token", "token")}
		tok2.must(200, "GET", "/api/v1/auth/me", nil)
		admin.must(200, "PATCH", "/api/v1/admin/users/"+teacherID, map[string]any{"disabled": true})
		tc.must(401, "GET", "/api/v1/auth/me", nil)
		tok2.must(401, "GET", "/api/v1/auth/me", nil)
		if r := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "teacher1", "password": "teacher-pass-123"}); r.status != 403 || r.errCode() != "account_disabled" {
			t.Fatalf("disabled sign-in: %d %s", r.status, r.raw)
		}
		admin.must(200, "PATCH", "/api/v1/admin/users/"+teacherID, map[string]any{"disabled": false, "password": "reset-pass-456"})
		anon.must(401, "POST", "/api/v1/auth/login", map[string]string{"username": "teacher1", "password": "teacher-pass-123"})
		tc = login(t, ts.url, "teacher1", "reset-pass-456")
		tok2.must(200, "GET", "/api/v1/auth/me", nil) // re-enabled: the token works again

		// --- own password change ends the other sessions.
		other := login(t, ts.url, "teacher1", "reset-pass-456")
		tc.must(400, "POST", "/api/v1/auth/password", map[string]string{"current_password": "wrong-one", "new_password": "brand-new-789"})
		tc.must(204, "POST", "/api/v1/auth/password", map[string]string{"current_password": "reset-pass-456", "new_password": "brand-new-789"})
		tc.must(200, "GET", "/api/v1/auth/me", nil)
		other.must(401, "GET", "/api/v1/auth/me", nil)

		// --- the last admin cannot demote or disable themselves.
		adminMe := admin.must(200, "GET", "/api/v1/auth/me", nil)
		adminID := str(adminMe.body, "user", "id")
		if r := admin.do("PATCH", "/api/v1/admin/users/"+adminID, map[string]string{"role": "viewer"}); r.status != 409 || r.errCode() != "last_admin" {
			t.Fatalf("demoting the last admin: %d %s", r.status, r.raw)
		}

		// --- bad ids, traversal, bad input.
		for _, p := range []string{"/api/v1/admin/users/..%2F..%2Fetc%2Fpasswd", "/api/v1/admin/users/u-does-not-exist", "/api/v1/admin/users/BAD!", "/api/v1/admin/classrooms/%2e%2e", "/api/v1/admin/classrooms/c-00000000000000000000"} {
			if r := admin.do("GET", p, nil); r.status != 404 || r.errCode() != "not_found" {
				t.Errorf("GET %s: %d %s", p, r.status, r.raw)
			}
		}
		admin.must(404, "PATCH", "/api/v1/admin/schools/s-nope", map[string]string{"name": "x"})
		admin.must(404, "DELETE", "/api/v1/admin/classrooms/"+roomID, nil) // deleted above
		for _, body := range []map[string]string{
			{"school_id": schoolA, "name": "x", "stream_path": "../etc/passwd"},
			{"school_id": schoolA, "name": "x", "stream_path": "school-a/../b"},
			{"school_id": schoolA, "name": "x", "stream_path": "/abs"},
			{"school_id": schoolA, "name": "x", "stream_path": "a b"},
			{"school_id": "s-unknown", "name": "x", "stream_path": "ok/path"},
			{"school_id": schoolA, "name": "", "stream_path": "ok/path"},
			{"school_id": schoolA, "name": "x", "stream_path": "ok/path", "publish_user": "a:b@c"},
			{"school_id": schoolA, "name": "x", "stream_path": "ok/path", "visibility": "secret"},
		} {
			if r := admin.do("POST", "/api/v1/admin/classrooms", body); r.status != 400 || r.errCode() != "invalid" {
				t.Errorf("classroom %v: %d %s", body, r.status, r.raw)
			}
		}
		admin.must(409, "POST", "/api/v1/admin/classrooms", map[string]string{"school_id": schoolA, "name": "dup", "stream_path": "school-a/room-102"})
		admin.must(409, "POST", "/api/v1/admin/users", map[string]string{"username": "TEACHER1", "password": "whatever-123", "role": "viewer"})
		admin.must(400, "POST", "/api/v1/admin/users", map[string]string{"username": "../x", "password": "whatever-123", "role": "viewer"})
		admin.must(400, "POST", "/api/v1/admin/users", map[string]string{"username": "shorty", "password": "short", "role": "viewer"})
		admin.must(400, "POST", "/api/v1/admin/users", map[string]string{"username": "roleless", "password": "whatever-123", "role": "root"})
		admin.must(400, "POST", "/api/v1/admin/users", `{"username": "x", "role": "viewer", "is_admin": true}`)
		admin.must(400, "POST", "/api/v1/admin/users", `{"username": `)
		admin.must(415, "POST", "/api/v1/admin/schools", "name=x", "Content-Type", "application/x-www-form-urlencoded")
		admin.must(413, "POST", "/api/v1/admin/schools", `{"name": "`+strings.Repeat("x", 70<<10)+`"}`)
		admin.must(400, "GET", "/api/v1/admin/users?limit=-1", nil)
		admin.must(400, "GET", "/api/v1/admin/users?role=root", nil)

		// --- a bearer value that is not an API token still reaches the stream's own
		// viewer-token check (WHEP, VOD) through the middleware.
		if err := ts.cat.CreateAsset(ctx, catalog.Asset{ID: "rec-protected", Kind: catalog.KindRecording, StreamPath: "school-a/room-9", State: catalog.StateReady}); err != nil {
			t.Fatal(err)
		}
		(&client{t: t, base: ts.url, bearer: "view-secret"}).must(200, "GET", "/api/v1/assets/rec-protected", nil)
		(&client{t: t, base: ts.url, bearer: "cct_not-a-real-token"}).must(403, "GET", "/api/v1/assets/rec-protected", nil)
		anon.must(401, "GET", "/api/v1/assets/rec-protected", nil)

		// --- rate limits: per username, then per client address. Last, because every
		// request here comes from 127.0.0.1.
		for i := range 5 {
			anon.must(401, "POST", "/api/v1/auth/login", map[string]string{"username": "reviewer1", "password": "guess-" + strconv.Itoa(i)})
		}
		r = anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "reviewer1", "password": "reviewer-pass-123"})
		if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); r.status != 429 || r.errCode() != "rate_limited" || ra < 1 || ra > 60 {
			t.Fatalf("sixth attempt on one username: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.raw)
		}
		login(t, ts.url, "admin", "admin-pass-123") // another username from the same address still may
		// 20 failures per address a minute. So far: teacher1's wrong password, the unknown
		// user, teacher1's old password after the reset, and the 5 above; a disabled
		// account's right password and a wrong current password in a password change do
		// not count. 12 more make 20.
		for i := range 12 {
			anon.must(401, "POST", "/api/v1/auth/login", map[string]string{"username": "spray" + strconv.Itoa(i), "password": "x-123456789"})
		}
		if r := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-pass-123"}); r.status != 429 {
			t.Fatalf("after 20 failures from one address: %d %s", r.status, r.raw)
		}
		// Bearer tokens are not affected by the sign-in limit.
		tokenAdmin.must(200, "GET", "/api/v1/auth/me", nil)
	})
}

func TestAuthOpenAPI(t *testing.T) {
	ts := startServer(t, "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"))
	r := (&client{t: t, base: ts.url}).must(200, "GET", "/api/v1/openapi.json", nil)
	paths, _ := r.body["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/auth/login", "/api/v1/admin/users/{id}", "/api/v1/admin/audit", "/api/v1/assets"} {
		if paths[p] == nil {
			t.Errorf("openapi.json lacks %s", p)
		}
	}
}
