package auth

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCanView(t *testing.T) {
	var (
		anon      *Principal
		admin     = &Principal{UserID: "u-admin", Role: RoleAdmin}
		owner     = &Principal{UserID: "u-owner", Role: RoleTeacher, SchoolID: "s-a", District: "east"}
		colleague = &Principal{UserID: "u-col", Role: RoleViewer, SchoolID: "s-a", District: "east"}
		neighbour = &Principal{UserID: "u-nb", Role: RoleTeacher, SchoolID: "s-b", District: "east"}
		faraway   = &Principal{UserID: "u-far", Role: RoleReviewer, SchoolID: "s-c", District: "west"}
		noSchool  = &Principal{UserID: "u-ns", Role: RoleReviewer}
	)
	scope := func(v Visibility) Scope {
		return Scope{Visibility: v, SchoolID: "s-a", District: "east", OwnerID: "u-owner", ShareToken: "link-secret"}
	}
	type who struct {
		name string
		p    *Principal
	}
	all := []who{{"anon", anon}, {"admin", admin}, {"owner", owner}, {"colleague", colleague}, {"neighbour", neighbour}, {"faraway", faraway}, {"no school", noSchool}}
	cases := []struct {
		v     Visibility
		token string
		can   []string // who may; everyone else may not
	}{
		{Public, "", []string{"anon", "admin", "owner", "colleague", "neighbour", "faraway", "no school"}},
		{DistrictOnly, "", []string{"admin", "owner", "colleague", "neighbour"}},
		{SchoolOnly, "", []string{"admin", "owner", "colleague"}},
		{Link, "", []string{"admin", "owner", "colleague"}},
		{Link, "link-secret", []string{"anon", "admin", "owner", "colleague", "neighbour", "faraway", "no school"}},
		{Link, "wrong", []string{"admin", "owner", "colleague"}},
		// A share token opens link objects only.
		{SchoolOnly, "link-secret", []string{"admin", "owner", "colleague"}},
		{DistrictOnly, "link-secret", []string{"admin", "owner", "colleague", "neighbour"}},
		// Unknown visibility: closed to all but admins and the owner.
		{Visibility("friends"), "", []string{"admin", "owner"}},
	}
	for _, c := range cases {
		for _, w := range all {
			want := false
			for _, n := range c.can {
				want = want || n == w.name
			}
			if got := CanView(w.p, scope(c.v), c.token); got != want {
				t.Errorf("%s with token %q: %s may view = %v, want %v", c.v, c.token, w.name, got, want)
			}
		}
	}
	// An object of no school is not "the same school" as a user of no school.
	if CanView(noSchool, Scope{Visibility: SchoolOnly}, "") || CanView(noSchool, Scope{Visibility: DistrictOnly}, "") {
		t.Error("empty school or district matched an empty one")
	}
	// A link object without a token is not opened by an empty token.
	if CanView(nil, Scope{Visibility: Link}, "") {
		t.Error("empty share token matched")
	}

	// 401 only when signing in could help; 403 otherwise.
	s := scope(SchoolOnly)
	if err := CheckView(nil, s, ""); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("anonymous: %v", err)
	}
	if err := CheckView(neighbour, s, ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("neighbour: %v", err)
	}
	if err := CheckView(nil, scope(Link), "wrong"); !errors.Is(err, ErrForbidden) {
		t.Errorf("wrong link: %v", err)
	}
	if err := CheckView(colleague, s, ""); err != nil {
		t.Errorf("colleague: %v", err)
	}
}

func TestRolesAndParsing(t *testing.T) {
	if !(&Principal{Role: RoleAdmin}).Is(RoleTeacher) || (&Principal{Role: RoleViewer}).Is(RoleTeacher, RoleReviewer) || (*Principal)(nil).Is(RoleViewer) {
		t.Error("Is")
	}
	if !(&Principal{Role: RoleReviewer}).Is(RoleTeacher, RoleReviewer) {
		t.Error("Is with several roles")
	}
	for _, bad := range []string{"", "Admin", "root", "admin "} {
		if _, err := ParseRole(bad); err == nil {
			t.Errorf("role %q accepted", bad)
		}
	}
	if _, err := ParseVisibility("private"); err == nil || !strings.Contains(err.Error(), "public, district, school, link") {
		t.Errorf("visibility error: %v", err)
	}
}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestPasswordHash(t *testing.T) {
	h1, err := HashPassword("correct horse 电池", DefaultHashParams)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("correct horse 电池", DefaultHashParams)
	if !phc.MatchString(h1) || h1 == h2 {
		t.Fatalf("hashes %q %q: not distinct argon2id PHC strings", h1, h2)
	}
	if ok, stale, err := VerifyPassword("correct horse 电池", h1, DefaultHashParams); !ok || stale || err != nil {
		t.Fatalf("right password: %v %v %v", ok, stale, err)
	}
	if ok, _, err := VerifyPassword("correct horse 电", h1, DefaultHashParams); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	// A hash made with other costs still verifies, and says it wants renewing.
	cheap, _ := HashPassword("pw-12345678", HashParams{Memory: 1024, Time: 1, Threads: 1})
	if ok, stale, err := VerifyPassword("pw-12345678", cheap, DefaultHashParams); !ok || !stale || err != nil {
		t.Fatalf("cheap hash: %v %v %v", ok, stale, err)
	}
	// Unusable or hostile stored hashes fail fast instead of allocating gigabytes.
	salt, key := strings.Split(h1, "$")[4], strings.Split(h1, "$")[5]
	for _, bad := range []string{
		"", "plain", "$2a$10$abcdefghijklmnopqrstuv", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=255$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1,x=3$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$!!$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
	} {
		start := time.Now()
		if ok, _, err := VerifyPassword("x", bad, DefaultHashParams); ok || !errors.Is(err, ErrBadHash) {
			t.Errorf("%q: ok=%v err=%v", bad, ok, err)
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("%q took %v", bad, d)
		}
	}
	if _, err := HashPassword(strings.Repeat("x", MaxPasswordBytes+1), DefaultHashParams); err == nil {
		t.Error("over-long password hashed")
	}
}

func TestFailureLimiter(t *testing.T) {
	l := newFailureLimiter(3, time.Minute)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 3 {
		if w := l.wait("k", t0.Add(time.Duration(i)*10*time.Second)); w != 0 {
			t.Fatalf("attempt %d refused (%v)", i, w)
		}
		if reached := l.fail("k", t0.Add(time.Duration(i)*10*time.Second)); reached != (i == 2) {
			t.Fatalf("failure %d reached the limit: %v", i, reached)
		}
	}
	// Third failure at +20 s; the first (at 0) leaves the window at +60 s.
	if w := l.wait("k", t0.Add(25*time.Second)); w != 35*time.Second {
		t.Fatalf("wait = %v, want 35s", w)
	}
	if w := l.wait("other", t0.Add(25*time.Second)); w != 0 {
		t.Fatalf("another key waits %v", w)
	}
	if w := l.wait("k", t0.Add(60*time.Second)); w != 0 {
		t.Fatalf("after the window: wait %v", w)
	}
	// Failures keep sliding: at +60 s two remain, one more blocks until +70 s.
	l.fail("k", t0.Add(60*time.Second))
	if w := l.wait("k", t0.Add(61*time.Second)); w != 9*time.Second {
		t.Fatalf("sliding wait = %v, want 9s", w)
	}
	l.reset("k")
	if w := l.wait("k", t0.Add(61*time.Second)); w != 0 {
		t.Fatalf("after reset: %v", w)
	}
	// Idle keys are forgotten.
	for i := range 1000 {
		l.fail(string(rune('a'+i%26))+strings.Repeat("x", i), t0)
	}
	l.fail("late", t0.Add(2*time.Minute))
	l.mu.Lock()
	n := len(l.fails)
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d keys kept after the window", n)
	}
	if limiterKeyIP("2001:db8:1:2:aaaa::1") != limiterKeyIP("2001:db8:1:2:bbbb::9") || limiterKeyIP("10.0.0.1") == limiterKeyIP("10.0.0.2") {
		t.Error("IPv6 addresses must group by /64, IPv4 ones not at all")
	}
}
