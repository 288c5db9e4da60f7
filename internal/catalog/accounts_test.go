package catalog

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAccounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *Catalog, _ string) {
		ctx := context.Background()

		// Schools: unique names, district filter, rename onto a taken name.
		for _, s := range []School{{ID: "s-a", Name: "东城第一小学", District: "east"}, {ID: "s-b", Name: "School B", District: "east"}, {ID: "s-c", Name: "School C", District: "west"}} {
			if err := c.CreateSchool(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.CreateSchool(ctx, School{ID: "s-x", Name: "School B"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate school name: %v", err)
		}
		list, total, err := c.ListSchools(ctx, "east", 10, 0)
		if err != nil || total != 2 || len(list) != 2 {
			t.Fatalf("east schools: %v %d %v", list, total, err)
		}
		taken := "School C"
		if err := c.UpdateSchool(ctx, "s-b", SchoolChange{Name: &taken}); !errors.Is(err, ErrConflict) {
			t.Fatalf("rename onto a taken name: %v", err)
		}
		if err := c.UpdateSchool(ctx, "s-nope", SchoolChange{District: &taken}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update a missing school: %v", err)
		}
		if got, err := c.School(ctx, "s-a"); err != nil || got.Name != "东城第一小学" || got.CreatedAt.IsZero() {
			t.Fatalf("school: %+v %v", got, err)
		}

		// Users: unique usernames, the district read through the school, an unknown
		// school refused by the foreign key, partial updates.
		u := User{ID: "u-1", Username: "li.wei", DisplayName: "李伟", Role: "teacher", SchoolID: "s-a", PasswordHash: "$argon2id$x"}
		if err := c.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := c.CreateUser(ctx, User{ID: "u-2", Username: "li.wei", Role: "viewer", PasswordHash: "h"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate username: %v", err)
		}
		if err := c.CreateUser(ctx, User{ID: "u-3", Username: "ghost", Role: "viewer", SchoolID: "s-none", PasswordHash: "h"}); err == nil || errors.Is(err, ErrConflict) {
			t.Fatalf("unknown school accepted: %v", err)
		}
		if err := c.CreateUser(ctx, User{ID: "u-4", Username: "admin", Role: "admin", PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
		got, err := c.UserByUsername(ctx, "li.wei")
		if err != nil || got.ID != "u-1" || got.District != "east" || got.DisplayName != "李伟" || got.Disabled {
			t.Fatalf("user: %+v %v", got, err)
		}
		if n, err := c.CountActiveAdmins(ctx); err != nil || n != 1 {
			t.Fatalf("admins: %d %v", n, err)
		}
		west, yes := "s-c", true
		if err := c.UpdateUser(ctx, "u-1", UserChange{SchoolID: &west, Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		got, _ = c.User(ctx, "u-1")
		if got.District != "west" || !got.Disabled || got.Role != "teacher" {
			t.Fatalf("after update: %+v", got)
		}
		none := ""
		if err := c.UpdateUser(ctx, "u-1", UserChange{SchoolID: &none}); err != nil {
			t.Fatal(err)
		}
		if got, _ = c.User(ctx, "u-1"); got.SchoolID != "" || got.District != "" {
			t.Fatalf("out of school: %+v", got)
		}
		if users, total, err := c.ListUsers(ctx, UserFilter{Role: "admin"}); err != nil || total != 1 || users[0].Username != "admin" {
			t.Fatalf("admins: %+v %d %v", users, total, err)
		}
		if err := c.UpdateUser(ctx, "u-none", UserChange{Disabled: &yes}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update missing user: %v", err)
		}

		// Sessions: looked up with their user, ended one by one, all but one, or
		// when expired.
		now := time.Now().Truncate(time.Millisecond)
		for i, h := range []string{"h1", "h2", "h3"} {
			exp := now.Add(time.Hour)
			if i == 2 {
				exp = now.Add(-time.Second)
			}
			if err := c.CreateSession(ctx, Session{IDHash: h, UserID: "u-4", CSRFToken: "csrf-" + h, CreatedAt: now, LastSeenAt: now, ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
		}
		s, su, err := c.SessionUser(ctx, "h1")
		if err != nil || su.Username != "admin" || s.CSRFToken != "csrf-h1" || !s.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("session: %+v %+v %v", s, su, err)
		}
		if n, err := c.DeleteExpiredSessions(ctx, now); err != nil || n != 1 {
			t.Fatalf("expired: %d %v", n, err)
		}
		if n, err := c.DeleteUserSessions(ctx, "u-4", "h1"); err != nil || n != 1 {
			t.Fatalf("others: %d %v", n, err)
		}
		if _, _, err := c.SessionUser(ctx, "h2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("h2 kept: %v", err)
		}
		if _, _, err := c.SessionUser(ctx, "h1"); err != nil {
			t.Fatalf("h1 lost: %v", err)
		}

		// Tokens belong to their user: another user cannot delete them.
		tok := APIToken{ID: "t-1", UserID: "u-4", Name: "ci", Hash: "abc", Prefix: "cct_abcd", CreatedAt: now}
		if err := c.CreateAPIToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if got, tu, err := c.APITokenUser(ctx, "abc"); err != nil || got.ID != "t-1" || tu.ID != "u-4" || !got.ExpiresAt.IsZero() {
			t.Fatalf("token: %+v %+v %v", got, tu, err)
		}
		if err := c.DeleteAPIToken(ctx, "u-1", "t-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("someone else's token deleted: %v", err)
		}
		if toks, err := c.ListAPITokens(ctx, "u-4"); err != nil || len(toks) != 1 {
			t.Fatalf("tokens: %v %v", toks, err)
		}
		if err := c.DeleteAPIToken(ctx, "u-4", "t-1"); err != nil {
			t.Fatal(err)
		}

		// Classrooms: a stream path is taken once.
		r := Classroom{ID: "c-1", SchoolID: "s-a", Name: "录播教室 101", StreamPath: "school-a/room-101", PublishUser: "publisher", PublishKey: "k1", Visibility: "school"}
		if err := c.CreateClassroom(ctx, r); err != nil {
			t.Fatal(err)
		}
		r2 := r
		r2.ID = "c-2"
		if err := c.CreateClassroom(ctx, r2); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate stream path: %v", err)
		}
		r2.StreamPath = "school-a/room-102"
		if err := c.CreateClassroom(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if err := c.UpdateClassroom(ctx, "c-2", ClassroomChange{StreamPath: &r.StreamPath}); !errors.Is(err, ErrConflict) {
			t.Fatalf("move onto a taken path: %v", err)
		}
		gotR, err := c.ClassroomByStreamPath(ctx, "school-a/room-101")
		if err != nil || gotR.ID != "c-1" || gotR.District != "east" || gotR.PublishKey != "k1" {
			t.Fatalf("classroom: %+v %v", gotR, err)
		}
		if err := c.DeleteClassroom(ctx, "c-1"); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteClassroom(ctx, "c-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}

		// Audit log: newest first, filters by actor, exact action and action prefix.
		for i, a := range []string{"auth.login", "admin.user_create", "admin.user_update", "auth.login_failed"} {
			e := AuditEntry{ID: fmt.Sprintf("a%02d", i), At: now.Add(time.Duration(i) * time.Second), Actor: "admin", Action: a, Target: "user:u-1", Detail: `{"k":"值"}`}
			if i == 3 {
				e.Actor = "mallory"
			}
			if err := c.AddAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		entries, total, err := c.ListAudit(ctx, AuditFilter{})
		if err != nil || total != 4 || entries[0].Action != "auth.login_failed" || entries[3].Detail != `{"k":"值"}` {
			t.Fatalf("audit: %+v %d %v", entries, total, err)
		}
		if _, total, _ := c.ListAudit(ctx, AuditFilter{Action: "admin.*"}); total != 2 {
			t.Fatalf("admin.* matched %d", total)
		}
		if _, total, _ := c.ListAudit(ctx, AuditFilter{Action: "auth.login"}); total != 1 {
			t.Fatalf("auth.login matched %d", total)
		}
		if _, total, _ := c.ListAudit(ctx, AuditFilter{Actor: "mallory"}); total != 1 {
			t.Fatalf("actor mallory matched %d", total)
		}
		if page, total, _ := c.ListAudit(ctx, AuditFilter{Limit: 2, Offset: 3}); total != 4 || len(page) != 1 || page[0].ID != "a00" {
			t.Fatalf("page: %+v", page)
		}
	})
}
