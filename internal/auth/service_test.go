package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/catalog/pgtest"
)

// forEachBackend runs f on a fresh catalog on SQLite and on a real PostgreSQL.
func forEachBackend(t *testing.T, f func(t *testing.T, cat *catalog.Catalog)) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "catalog.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t).URL() }},
	} {
		t.Run(b.name, func(t *testing.T) {
			cat, err := catalog.Open(context.Background(), b.dsn(t), "", slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cat.Close() })
			f(t, cat)
		})
	}
}

// clock is a test clock that only moves when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func withCookie(secret, method string, csrf string) *http.Request {
	r := httptest.NewRequest(method, "/api/v1/auth/me", nil)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: secret})
	if csrf != "" {
		r.Header.Set(CSRFHeader, csrf)
	}
	return r
}

func TestBootstrapSessionsTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cat *catalog.Catalog) {
		ctx := context.Background()
		clk := &clock{now: time.Now()}
		logs := &syncBuffer{}
		s, err := New(Options{Catalog: cat, Log: slog.New(slog.NewTextHandler(logs, nil)), Now: clk.Now,
			SessionIdle: time.Hour, SessionMaxAge: 3 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}

		// First start: an admin with a random password, printed once at WARN.
		if created, err := s.Bootstrap(ctx, ""); err != nil || !created {
			t.Fatalf("bootstrap: %v %v", created, err)
		}
		m := regexp.MustCompile(`level=WARN msg=".*random password.*" username=admin password=(\S+)`).FindStringSubmatch(logs.String())
		if m == nil {
			t.Fatalf("no password in the log:\n%s", logs.String())
		}
		if created, err := s.Bootstrap(ctx, "ignored-now-123"); err != nil || created {
			t.Fatalf("second bootstrap: %v %v", created, err)
		}
		if strings.Count(logs.String(), m[1]) != 1 {
			t.Fatal("the bootstrap password was logged more than once")
		}
		res, err := s.Login(ctx, LoginRequest{Username: " Admin ", Password: m[1], Remote: "192.0.2.1"})
		if err != nil {
			t.Fatalf("sign-in with the bootstrap password: %v", err)
		}
		if res.Principal.Role != RoleAdmin || res.Secret == "" || res.CSRFToken == "" || !res.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
			t.Fatalf("login result %+v", res)
		}
		admin := res.Principal

		// A session slides with use, up to its maximum age.
		for range 5 {
			clk.Add(50 * time.Minute)
			p, err := s.Authenticate(withCookie(res.Secret, http.MethodGet, ""))
			if clk.Now().Sub(res.User.LastLoginAt) < 3*time.Hour {
				if err != nil || p == nil || p.UserID != admin.UserID {
					t.Fatalf("at +%v the session is gone: %v", clk.Now().Sub(res.User.LastLoginAt), err)
				}
			} else if p != nil {
				t.Fatalf("at +%v the session outlived its maximum age", clk.Now().Sub(res.User.LastLoginAt))
			}
		}
		// An idle session ends.
		res2, err := s.Login(ctx, LoginRequest{Username: "admin", Password: m[1], Remote: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(61 * time.Minute)
		if p, _ := s.Authenticate(withCookie(res2.Secret, http.MethodGet, "")); p != nil {
			t.Fatal("an idle session was accepted")
		}

		// CSRF: unsafe methods need the header; safe ones do not.
		res3, _ := s.Login(ctx, LoginRequest{Username: "admin", Password: m[1], Remote: "192.0.2.1"})
		if p, err := s.Authenticate(withCookie(res3.Secret, http.MethodPost, "")); p != nil || !errors.Is(err, ErrCSRF) {
			t.Fatalf("POST without CSRF: %v %v", p, err)
		}
		if p, err := s.Authenticate(withCookie(res3.Secret, http.MethodDelete, res2.CSRFToken)); p != nil || !errors.Is(err, ErrCSRF) {
			t.Fatalf("DELETE with another session's CSRF token: %v %v", p, err)
		}
		if p, err := s.Authenticate(withCookie(res3.Secret, http.MethodPatch, res3.CSRFToken)); p == nil || err != nil {
			t.Fatalf("PATCH with CSRF: %v %v", p, err)
		}

		// Tokens expire, and stop working when their user is disabled.
		teacher, _, err := s.CreateUser(ctx, admin, NewUser{Username: "t1", Password: "teacher-pass-1", Role: RoleTeacher})
		if err != nil {
			t.Fatal(err)
		}
		tp := principalOf(teacher, MethodSession)
		short, err := s.CreateToken(ctx, tp, "one hour", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		long, _ := s.CreateToken(ctx, tp, "", 0)
		bearer := func(tok string) *Principal {
			r := httptest.NewRequest(http.MethodPost, "/x", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			p, err := s.Authenticate(r)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		if p := bearer(short.Secret); p == nil || p.Method != MethodToken || p.TokenID != short.ID {
			t.Fatalf("fresh token: %+v", p)
		}
		clk.Add(time.Hour)
		if bearer(short.Secret) != nil {
			t.Fatal("an expired token was accepted")
		}
		if bearer(long.Secret) == nil {
			t.Fatal("a token without expiry was refused")
		}
		if bearer("not-an-api-token") != nil || bearer(TokenPrefix+"unknown") != nil {
			t.Fatal("unknown bearer values must leave the principal nil")
		}
		yes := true
		if _, err := s.UpdateUser(ctx, admin, teacher.ID, UserUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		if bearer(long.Secret) != nil {
			t.Fatal("a disabled user's token was accepted")
		}
		if _, err := s.UpdateUser(ctx, admin, admin.UserID, UserUpdate{Disabled: &yes}); !errors.Is(err, ErrLastAdmin) {
			t.Fatalf("disabling the last admin: %v", err)
		}

		// Publish credentials come from classrooms.
		sc, err := s.CreateSchool(ctx, admin, "一中", "east")
		if err != nil {
			t.Fatal(err)
		}
		room, err := s.CreateClassroom(ctx, admin, NewClassroom{SchoolID: sc.ID, Name: "101", StreamPath: "yizhong/room-101"})
		if err != nil {
			t.Fatal(err)
		}
		if u, p, ok := s.PublishCredentials("yizhong/room-101"); !ok || u != "publisher" || p != room.PublishKey || len(p) != 32 {
			t.Fatalf("publish credentials: %q %q %v", u, p, ok)
		}
		if _, _, ok := s.PublishCredentials("yizhong/room-102"); ok {
			t.Fatal("credentials for a path without a classroom")
		}
		scope, ok, err := s.StreamScope(ctx, "yizhong/room-101")
		if err != nil || !ok || scope.Visibility != SchoolOnly || scope.District != "east" || scope.SchoolID != sc.ID {
			t.Fatalf("stream scope: %+v %v %v", scope, ok, err)
		}
	})
}

func TestBootstrapWithConfiguredPassword(t *testing.T) {
	cat, err := catalog.Open(context.Background(), "", filepath.Join(t.TempDir(), "c.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	logs := &syncBuffer{}
	s, _ := New(Options{Catalog: cat, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if created, err := s.Bootstrap(context.Background(), "from-config-42"); err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	if strings.Contains(logs.String(), "from-config-42") || strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("a configured password must not be logged:\n%s", logs.String())
	}
	if _, err := s.Login(context.Background(), LoginRequest{Username: "admin", Password: "from-config-42", Remote: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	u, _ := cat.UserByUsername(context.Background(), "admin")
	if !phc.MatchString(u.PasswordHash) {
		t.Fatalf("stored hash %q is not an argon2id PHC string", u.PasswordHash)
	}
}

// BenchmarkAuthenticate measures what every request with a session cookie or an API
// token costs in the middleware (SQLite), and one sign-in.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	cat, err := catalog.Open(ctx, "", filepath.Join(b.TempDir(), "c.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer cat.Close()
	s, _ := New(Options{Catalog: cat})
	if _, err := s.Bootstrap(ctx, "bench-pass-123"); err != nil {
		b.Fatal(err)
	}
	res, err := s.Login(ctx, LoginRequest{Username: "admin", Password: "bench-pass-123", Remote: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := s.CreateToken(ctx, res.Principal, "bench", 0)
	b.Run("session", func(b *testing.B) {
		r := withCookie(res.Secret, http.MethodGet, "")
		for b.Loop() {
			if p, _ := s.Authenticate(r); p == nil {
				b.Fatal("no principal")
			}
		}
	})
	b.Run("token", func(b *testing.B) {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set("Authorization", "Bearer "+tok.Secret)
		for b.Loop() {
			if p, _ := s.Authenticate(r); p == nil {
				b.Fatal("no principal")
			}
		}
	})
	b.Run("login", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Login(ctx, LoginRequest{Username: "admin", Password: "bench-pass-123", Remote: "127.0.0.1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestRequireRoleSameOrigin(t *testing.T) {
	ctx := context.Background()
	cat, err := catalog.Open(ctx, "", filepath.Join(t.TempDir(), "c.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	s, _ := New(Options{Catalog: cat})
	if _, err := s.Bootstrap(ctx, "admin-pass-123"); err != nil {
		t.Fatal(err)
	}
	adm, err := s.Login(ctx, LoginRequest{Username: "admin", Password: "admin-pass-123", Remote: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateUser(ctx, adm.Principal, NewUser{Username: "t1", Password: "teacher-pass-1", Role: RoleTeacher}); err != nil {
		t.Fatal(err)
	}
	tch, _ := s.Login(ctx, LoginRequest{Username: "t1", Password: "teacher-pass-1", Remote: "127.0.0.1"})
	h := s.Middleware(s.RequireRoleSameOrigin(RoleAdmin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !FromContext(r.Context()).IsAdmin() {
			t.Error("handler reached without an admin principal")
		}
		w.WriteHeader(http.StatusTeapot)
	})))
	for _, c := range []struct {
		name, secret, method string
		hdr                  []string
		want                 int
	}{
		{"admin GET", adm.Secret, "GET", nil, 418},
		{"admin same-origin POST without CSRF token", adm.Secret, "POST", []string{"Sec-Fetch-Site", "same-origin"}, 418},
		{"admin POST with matching Origin", adm.Secret, "DELETE", []string{"Origin", "http://example.com"}, 418},
		{"admin cross-site POST", adm.Secret, "POST", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"admin POST from another origin", adm.Secret, "POST", []string{"Origin", "https://evil.example"}, 403},
		{"teacher same-origin POST", tch.Secret, "POST", []string{"Sec-Fetch-Site", "same-origin"}, 403},
		{"anonymous POST", "", "POST", []string{"Sec-Fetch-Site", "same-origin"}, 401},
	} {
		r := httptest.NewRequest(c.method, "http://example.com/admin/queues/api/x", nil)
		if c.secret != "" {
			r.AddCookie(&http.Cookie{Name: CookieName, Value: c.secret})
		}
		for i := 0; i+1 < len(c.hdr); i += 2 {
			r.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, w.Code, c.want, w.Body.String())
		}
	}
}
