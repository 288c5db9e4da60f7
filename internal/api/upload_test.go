package api_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/classcast/classcast/internal/api"
	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/upload"
)

// TestUploadRoutes mounts the real tus handler in the API: every tus method
// reaches it under the auth middleware, with AuthorizeUpload deciding, and
// the rest of the API is untouched.
func TestUploadRoutes(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cat, err := catalog.Open(ctx, "", filepath.Join(t.TempDir(), "catalog.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cat.Close() })
	svc, err := auth.New(auth.Options{Catalog: cat, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bootstrap(ctx, "admin-pass-123"); err != nil {
		t.Fatal(err)
	}
	admin, err := svc.Login(ctx, auth.LoginRequest{Username: "admin", Password: "admin-pass-123"})
	if err != nil {
		t.Fatal(err)
	}
	token := func(name string, role auth.Role) string {
		if _, _, err := svc.CreateUser(ctx, admin.Principal, auth.NewUser{Username: name, Password: "password-" + name, Role: role}); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Login(ctx, auth.LoginRequest{Username: name, Password: "password-" + name})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := svc.CreateToken(ctx, res.Principal, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Secret
	}
	teacher, viewer := token("teacher", auth.RoleTeacher), token("viewer", auth.RoleViewer)
	uploads, err := upload.New(upload.Options{Dir: filepath.Join(t.TempDir(), "uploads"), Authorize: api.AuthorizeUpload,
		Accept: func(context.Context, upload.Finished) error { return nil }, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = uploads.Close() })
	srv := httptest.NewServer(api.New(api.Options{Catalog: cat, Auth: svc, Uploads: uploads, Log: log}))
	t.Cleanup(srv.Close)

	do := func(method, path, tok string, hdr map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(hdr["body"]))
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		for k, v := range hdr {
			if k != "body" {
				req.Header.Set(k, v)
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res
	}
	create := map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "5",
		"Upload-Metadata": "filename " + base64.StdEncoding.EncodeToString([]byte("课.mp4"))}
	for _, p := range []string{"/api/v1/uploads/", "/api/v1/uploads"} {
		if res := do("POST", p, teacher, create); res.StatusCode != http.StatusCreated {
			t.Errorf("teacher POST %s: %d, want 201", p, res.StatusCode)
		}
		if res := do("POST", p, "", create); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s: %d, want 401", p, res.StatusCode)
		}
		if res := do("POST", p, viewer, create); res.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", p, res.StatusCode)
		}
	}
	res := do("POST", "/api/v1/uploads/", teacher, create)
	loc := res.Header.Get("Location")
	path := loc[strings.Index(loc, "/api/"):]
	steps := []struct {
		method string
		hdr    map[string]string
		want   int
	}{
		{"HEAD", map[string]string{"Tus-Resumable": "1.0.0"}, 200},
		{"PATCH", map[string]string{"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream", "body": "ab"}, 204},
		{"GET", nil, 200},
		{"OPTIONS", nil, 200},
		{"DELETE", map[string]string{"Tus-Resumable": "1.0.0"}, 204},
		{"HEAD", map[string]string{"Tus-Resumable": "1.0.0"}, 404},
	}
	for _, s := range steps {
		if res := do(s.method, path, teacher, s.hdr); res.StatusCode != s.want {
			t.Errorf("%s %s: %d, want %d", s.method, path, res.StatusCode, s.want)
		}
	}
	if res := do("OPTIONS", "/api/v1/uploads/", "", nil); res.Header.Get("Tus-Version") != "1.0.0" {
		t.Errorf("OPTIONS: Tus-Version %q", res.Header.Get("Tus-Version"))
	}
	// A browser session's unsafe request without its CSRF token is refused.
	sess, err := svc.Login(ctx, auth.LoginRequest{Username: "teacher", Password: "password-teacher"})
	if err != nil {
		t.Fatal(err)
	}
	withCookie := map[string]string{"Cookie": auth.CookieName + "=" + sess.Secret}
	for k, v := range create {
		withCookie[k] = v
	}
	if res := do("POST", "/api/v1/uploads/", "", withCookie); res.StatusCode != http.StatusForbidden {
		t.Errorf("cookie POST without CSRF: %d, want 403", res.StatusCode)
	}
	withCookie[auth.CSRFHeader] = sess.CSRFToken
	if res := do("POST", "/api/v1/uploads/", "", withCookie); res.StatusCode != http.StatusCreated {
		t.Errorf("cookie POST with CSRF: %d, want 201", res.StatusCode)
	}
	doc, err := http.Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(doc.Body)
	_ = doc.Body.Close()
	for _, p := range []string{`"/api/v1/uploads/"`, `"/api/v1/uploads/{id}"`} {
		if !strings.Contains(string(body), p) {
			t.Errorf("openapi.json lacks %s", p)
		}
	}
	// The rest of the API is unchanged.
	if res := do("GET", "/healthz", "", nil); res.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", res.StatusCode)
	}
	if res := do("GET", "/api/v1/nope", "", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("/api/v1/nope: %d", res.StatusCode)
	}
}
