package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrConflict is returned when a row would duplicate a unique name (a username, a
// school name, a classroom's stream path).
var ErrConflict = errors.New("catalog: already exists")

// School is a school and the district it belongs to.
type School struct {
	ID        string
	Name      string
	District  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// User is an account. SchoolID is empty for a user of no school; District is the
// district of the user's school (read through the school, never stored on the user).
type User struct {
	ID           string
	Username     string
	DisplayName  string
	Role         string
	SchoolID     string
	District     string
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  time.Time
}

// Session is a browser session; IDHash is the SHA-256 (hex) of the cookie's secret.
type Session struct {
	IDHash     string
	UserID     string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	Remote     string
	UserAgent  string
}

// APIToken is a bearer token; Hash is the SHA-256 (hex) of the secret, Prefix its
// first characters for listings. A zero ExpiresAt never expires.
type APIToken struct {
	ID         string
	UserID     string
	Name       string
	Hash       string
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
}

// Classroom is a recording room with its live stream and the RTSP credentials its
// encoder publishes with. District is read through the school.
type Classroom struct {
	ID          string
	SchoolID    string
	District    string
	Name        string
	StreamPath  string
	PublishUser string
	PublishKey  string
	Visibility  string
	ShareToken  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AuditEntry is one line of the audit log. Detail is a JSON object.
type AuditEntry struct {
	ID      string
	At      time.Time
	ActorID string
	Actor   string
	Action  string
	Target  string
	Detail  string
	Remote  string
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insertOnce runs an INSERT ... ON CONFLICT DO NOTHING and turns "nothing inserted"
// into ErrConflict. It is how unique names are enforced the same way on both engines,
// without parsing driver-specific error codes.
func (c *Catalog) insertOnce(ctx context.Context, what, query string, args ...any) error {
	res, err := c.db.ExecContext(ctx, c.q(query+` ON CONFLICT DO NOTHING`), args...)
	if err != nil {
		return fmt.Errorf("catalog: create %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("catalog: create %s: %w", what, err)
	} else if n == 0 {
		return fmt.Errorf("%w: %s", ErrConflict, what)
	}
	return nil
}

// exec runs an UPDATE or DELETE and reports ErrNotFound when no row matched.
func (c *Catalog) exec(ctx context.Context, what, query string, args ...any) error {
	res, err := c.db.ExecContext(ctx, c.q(query), args...)
	if err != nil {
		return fmt.Errorf("catalog: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("catalog: %s: %w", what, err)
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

func page(limit, offset int) (int, int) {
	if limit <= 0 {
		limit = 50
	}
	return min(limit, 500), max(offset, 0)
}

// --- schools

// CreateSchool inserts s; a taken name is ErrConflict.
func (c *Catalog) CreateSchool(ctx context.Context, s School) error {
	now := time.Now()
	return c.insertOnce(ctx, "school "+s.Name, `INSERT INTO schools (id, name, district, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		s.ID, s.Name, s.District, ms(now), ms(now))
}

func scanSchool(s scanner) (School, error) {
	var sc School
	var created, updated int64
	if err := s.Scan(&sc.ID, &sc.Name, &sc.District, &created, &updated); err != nil {
		return School{}, err
	}
	sc.CreatedAt, sc.UpdatedAt = fromMS(created), fromMS(updated)
	return sc, nil
}

// School returns one school, or ErrNotFound.
func (c *Catalog) School(ctx context.Context, id string) (School, error) {
	s, err := scanSchool(c.db.QueryRowContext(ctx, c.q(`SELECT id, name, district, created_at, updated_at FROM schools WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return School{}, ErrNotFound
	}
	if err != nil {
		return School{}, fmt.Errorf("catalog: school %s: %w", id, err)
	}
	return s, nil
}

// ListSchools returns one page of schools ordered by district and name, and the total.
func (c *Catalog) ListSchools(ctx context.Context, district string, limit, offset int) ([]School, int, error) {
	where, args := "WHERE 1=1", []any{}
	if district != "" {
		where += " AND district = ?"
		args = append(args, district)
	}
	var total int
	if err := c.db.QueryRowContext(ctx, c.q(`SELECT COUNT(*) FROM schools `+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: count schools: %w", err)
	}
	limit, offset = page(limit, offset)
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT id, name, district, created_at, updated_at FROM schools `+where+
		` ORDER BY district, name, id LIMIT ? OFFSET ?`), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list schools: %w", err)
	}
	defer rows.Close()
	out := []School{}
	for rows.Next() {
		s, err := scanSchool(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("catalog: list schools: %w", err)
		}
		out = append(out, s)
	}
	return out, total, rows.Err()
}

// SchoolChange holds the fields of a school to change; nil leaves a field as it is.
type SchoolChange struct {
	Name     *string
	District *string
}

// UpdateSchool applies ch to school id: ErrNotFound, or ErrConflict for a taken name.
func (c *Catalog) UpdateSchool(ctx context.Context, id string, ch SchoolChange) error {
	set, args := []string{"updated_at = ?"}, []any{ms(time.Now())}
	if ch.Name != nil {
		var other string
		err := c.db.QueryRowContext(ctx, c.q(`SELECT id FROM schools WHERE name = ? AND id <> ?`), *ch.Name, id).Scan(&other)
		if err == nil {
			return fmt.Errorf("%w: school %s", ErrConflict, *ch.Name)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("catalog: update school %s: %w", id, err)
		}
		set, args = append(set, "name = ?"), append(args, *ch.Name)
	}
	if ch.District != nil {
		set, args = append(set, "district = ?"), append(args, *ch.District)
	}
	return c.exec(ctx, "update school "+id, `UPDATE schools SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, id)...)
}

// --- users

const userColumns = `u.id, u.username, u.display_name, u.role, COALESCE(u.school_id, ''), COALESCE(s.district, ''),
	u.password_hash, u.disabled, u.created_at, u.updated_at, u.last_login_at`

const userFrom = ` FROM users u LEFT JOIN schools s ON s.id = u.school_id `

func scanUser(s scanner, extra ...any) (User, error) {
	var u User
	var disabled int
	var created, updated, login int64
	dst := append([]any{&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.SchoolID, &u.District,
		&u.PasswordHash, &disabled, &created, &updated, &login}, extra...)
	if err := s.Scan(dst...); err != nil {
		return User{}, err
	}
	u.Disabled = disabled != 0
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromMS(created), fromMS(updated), fromMS(login)
	return u, nil
}

// CountUsers returns how many accounts exist (bootstrap creates the first admin when
// there are none).
func (c *Catalog) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: count users: %w", err)
	}
	return n, nil
}

// CountActiveAdmins returns how many enabled admins exist.
func (c *Catalog) CountActiveAdmins(ctx context.Context) (int, error) {
	var n int
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0`).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: count admins: %w", err)
	}
	return n, nil
}

// CreateUser inserts u (Username already normalized); a taken username is ErrConflict.
func (c *Catalog) CreateUser(ctx context.Context, u User) error {
	now := time.Now()
	return c.insertOnce(ctx, "user "+u.Username, `INSERT INTO users
		(id, username, display_name, role, school_id, password_hash, disabled, created_at, updated_at, last_login_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		u.ID, u.Username, u.DisplayName, u.Role, nullString(u.SchoolID), u.PasswordHash, boolInt(u.Disabled), ms(now), ms(now))
}

func (c *Catalog) userWhere(ctx context.Context, what, cond string, arg any) (User, error) {
	u, err := scanUser(c.db.QueryRowContext(ctx, c.q(`SELECT `+userColumns+userFrom+`WHERE `+cond), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("catalog: user %s: %w", what, err)
	}
	return u, nil
}

// User returns one user by id, or ErrNotFound.
func (c *Catalog) User(ctx context.Context, id string) (User, error) {
	return c.userWhere(ctx, id, "u.id = ?", id)
}

// UserByUsername returns one user by (normalized) username, or ErrNotFound.
func (c *Catalog) UserByUsername(ctx context.Context, username string) (User, error) {
	return c.userWhere(ctx, username, "u.username = ?", username)
}

// UserFilter selects users for a listing.
type UserFilter struct {
	Role     string
	SchoolID string
	Limit    int
	Offset   int
}

// ListUsers returns one page of users ordered by username, and the total that match.
func (c *Catalog) ListUsers(ctx context.Context, f UserFilter) ([]User, int, error) {
	where, args := "WHERE 1=1", []any{}
	if f.Role != "" {
		where += " AND u.role = ?"
		args = append(args, f.Role)
	}
	if f.SchoolID != "" {
		where += " AND u.school_id = ?"
		args = append(args, f.SchoolID)
	}
	var total int
	if err := c.db.QueryRowContext(ctx, c.q(`SELECT COUNT(*)`+userFrom+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: count users: %w", err)
	}
	limit, offset := page(f.Limit, f.Offset)
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT `+userColumns+userFrom+where+` ORDER BY u.username LIMIT ? OFFSET ?`),
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("catalog: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, total, rows.Err()
}

// UserChange holds the fields of a user to change; nil leaves a field as it is. An
// empty SchoolID takes the user out of any school.
type UserChange struct {
	DisplayName  *string
	Role         *string
	SchoolID     *string
	Disabled     *bool
	PasswordHash *string
}

// UpdateUser applies ch to user id, or returns ErrNotFound.
func (c *Catalog) UpdateUser(ctx context.Context, id string, ch UserChange) error {
	set, args := []string{"updated_at = ?"}, []any{ms(time.Now())}
	add := func(col string, v any) { set, args = append(set, col+" = ?"), append(args, v) }
	if ch.DisplayName != nil {
		add("display_name", *ch.DisplayName)
	}
	if ch.Role != nil {
		add("role", *ch.Role)
	}
	if ch.SchoolID != nil {
		add("school_id", nullString(*ch.SchoolID))
	}
	if ch.Disabled != nil {
		add("disabled", boolInt(*ch.Disabled))
	}
	if ch.PasswordHash != nil {
		add("password_hash", *ch.PasswordHash)
	}
	return c.exec(ctx, "update user "+id, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, id)...)
}

// SetLastLogin records a successful sign-in.
func (c *Catalog) SetLastLogin(ctx context.Context, id string, at time.Time) error {
	return c.exec(ctx, "user "+id+" last login", `UPDATE users SET last_login_at = ? WHERE id = ?`, ms(at), id)
}

// --- sessions

// CreateSession inserts s.
func (c *Catalog) CreateSession(ctx context.Context, s Session) error {
	_, err := c.db.ExecContext(ctx, c.q(`INSERT INTO sessions
		(id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, remote, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		s.IDHash, s.UserID, s.CSRFToken, ms(s.CreatedAt), ms(s.LastSeenAt), ms(s.ExpiresAt), s.Remote, s.UserAgent)
	if err != nil {
		return fmt.Errorf("catalog: create session for user %s: %w", s.UserID, err)
	}
	return nil
}

// SessionUser returns a session and its user, or ErrNotFound. It does not judge
// expiry or a disabled user: the caller does, with its own clock.
func (c *Catalog) SessionUser(ctx context.Context, idHash string) (Session, User, error) {
	var s Session
	var created, seen, expires int64
	u, err := scanUser(c.db.QueryRowContext(ctx, c.q(`SELECT `+userColumns+`,
		x.id_hash, x.user_id, x.csrf_token, x.created_at, x.last_seen_at, x.expires_at, x.remote, x.user_agent
		FROM sessions x JOIN users u ON u.id = x.user_id LEFT JOIN schools s ON s.id = u.school_id WHERE x.id_hash = ?`), idHash),
		&s.IDHash, &s.UserID, &s.CSRFToken, &created, &seen, &expires, &s.Remote, &s.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, User{}, ErrNotFound
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("catalog: session: %w", err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	return s, u, nil
}

// TouchSession records activity on a session and moves its expiry.
func (c *Catalog) TouchSession(ctx context.Context, idHash string, seen, expires time.Time) error {
	return c.exec(ctx, "touch session", `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?`, ms(seen), ms(expires), idHash)
}

// DeleteSession ends one session; a missing one is not an error.
func (c *Catalog) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := c.db.ExecContext(ctx, c.q(`DELETE FROM sessions WHERE id_hash = ?`), idHash); err != nil {
		return fmt.Errorf("catalog: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user but the one whose hash is except
// (empty: all of them) and returns how many it ended.
func (c *Catalog) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	res, err := c.db.ExecContext(ctx, c.q(`DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`), userID, except)
	if err != nil {
		return 0, fmt.Errorf("catalog: delete sessions of user %s: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteExpiredSessions removes sessions that expired before now.
func (c *Catalog) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := c.db.ExecContext(ctx, c.q(`DELETE FROM sessions WHERE expires_at < ?`), ms(now))
	if err != nil {
		return 0, fmt.Errorf("catalog: delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// --- API tokens

const tokenColumns = `t.id, t.user_id, t.name, t.token_hash, t.prefix, t.created_at, t.last_used_at, t.expires_at`

func scanTokenInto(t *APIToken, created, used, expires *int64) []any {
	return []any{&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Prefix, created, used, expires}
}

// CreateAPIToken inserts t.
func (c *Catalog) CreateAPIToken(ctx context.Context, t APIToken) error {
	return c.insertOnce(ctx, "api token "+t.ID, `INSERT INTO api_tokens
		(id, user_id, name, token_hash, prefix, created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)`,
		t.ID, t.UserID, t.Name, t.Hash, t.Prefix, ms(t.CreatedAt), ms(t.ExpiresAt))
}

// APITokenUser returns a token by the hash of its secret, with its user, or
// ErrNotFound. Expiry and a disabled user are for the caller to judge.
func (c *Catalog) APITokenUser(ctx context.Context, hash string) (APIToken, User, error) {
	var t APIToken
	var created, used, expires int64
	u, err := scanUser(c.db.QueryRowContext(ctx, c.q(`SELECT `+userColumns+`, `+tokenColumns+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN schools s ON s.id = u.school_id WHERE t.token_hash = ?`), hash),
		scanTokenInto(&t, &created, &used, &expires)...)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, User{}, ErrNotFound
	}
	if err != nil {
		return APIToken{}, User{}, fmt.Errorf("catalog: api token: %w", err)
	}
	t.CreatedAt, t.LastUsedAt, t.ExpiresAt = fromMS(created), fromMS(used), fromMS(expires)
	return t, u, nil
}

// ListAPITokens returns a user's tokens, newest first.
func (c *Catalog) ListAPITokens(ctx context.Context, userID string) ([]APIToken, error) {
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT `+tokenColumns+` FROM api_tokens t WHERE t.user_id = ? ORDER BY t.created_at DESC, t.id`), userID)
	if err != nil {
		return nil, fmt.Errorf("catalog: list api tokens of %s: %w", userID, err)
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		var t APIToken
		var created, used, expires int64
		if err := rows.Scan(scanTokenInto(&t, &created, &used, &expires)...); err != nil {
			return nil, fmt.Errorf("catalog: list api tokens of %s: %w", userID, err)
		}
		t.CreatedAt, t.LastUsedAt, t.ExpiresAt = fromMS(created), fromMS(used), fromMS(expires)
		out = append(out, t)
	}
	return out, rows.Err()
}

// TouchAPIToken records that a token was used.
func (c *Catalog) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	return c.exec(ctx, "touch api token", `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, ms(at), id)
}

// DeleteAPIToken deletes a user's token, or returns ErrNotFound (also when the token
// belongs to someone else).
func (c *Catalog) DeleteAPIToken(ctx context.Context, userID, id string) error {
	return c.exec(ctx, "delete api token "+id, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID)
}

// --- classrooms

const classroomColumns = `r.id, r.school_id, COALESCE(s.district, ''), r.name, r.stream_path, r.publish_user, r.publish_key,
	r.visibility, r.share_token, r.created_at, r.updated_at`

const classroomFrom = ` FROM classrooms r LEFT JOIN schools s ON s.id = r.school_id `

func scanClassroom(s scanner) (Classroom, error) {
	var r Classroom
	var created, updated int64
	if err := s.Scan(&r.ID, &r.SchoolID, &r.District, &r.Name, &r.StreamPath, &r.PublishUser, &r.PublishKey,
		&r.Visibility, &r.ShareToken, &created, &updated); err != nil {
		return Classroom{}, err
	}
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return r, nil
}

// CreateClassroom inserts r; a stream path already taken is ErrConflict.
func (c *Catalog) CreateClassroom(ctx context.Context, r Classroom) error {
	now := time.Now()
	return c.insertOnce(ctx, "classroom "+r.StreamPath, `INSERT INTO classrooms
		(id, school_id, name, stream_path, publish_user, publish_key, visibility, share_token, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.SchoolID, r.Name, r.StreamPath, r.PublishUser, r.PublishKey, r.Visibility, r.ShareToken, ms(now), ms(now))
}

func (c *Catalog) classroomWhere(ctx context.Context, what, cond string, arg any) (Classroom, error) {
	r, err := scanClassroom(c.db.QueryRowContext(ctx, c.q(`SELECT `+classroomColumns+classroomFrom+`WHERE `+cond), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Classroom{}, ErrNotFound
	}
	if err != nil {
		return Classroom{}, fmt.Errorf("catalog: classroom %s: %w", what, err)
	}
	return r, nil
}

// Classroom returns one classroom by id, or ErrNotFound.
func (c *Catalog) Classroom(ctx context.Context, id string) (Classroom, error) {
	return c.classroomWhere(ctx, id, "r.id = ?", id)
}

// ClassroomByStreamPath returns the classroom publishing to path, or ErrNotFound. The
// RTSP server asks it for publish credentials and WHEP for a stream's visibility.
func (c *Catalog) ClassroomByStreamPath(ctx context.Context, path string) (Classroom, error) {
	return c.classroomWhere(ctx, path, "r.stream_path = ?", path)
}

// ListClassrooms returns one page of classrooms (of one school when schoolID is set),
// ordered by stream path, and the total.
func (c *Catalog) ListClassrooms(ctx context.Context, schoolID string, limit, offset int) ([]Classroom, int, error) {
	where, args := "WHERE 1=1", []any{}
	if schoolID != "" {
		where += " AND r.school_id = ?"
		args = append(args, schoolID)
	}
	var total int
	if err := c.db.QueryRowContext(ctx, c.q(`SELECT COUNT(*)`+classroomFrom+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: count classrooms: %w", err)
	}
	limit, offset = page(limit, offset)
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT `+classroomColumns+classroomFrom+where+` ORDER BY r.stream_path LIMIT ? OFFSET ?`),
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list classrooms: %w", err)
	}
	defer rows.Close()
	out := []Classroom{}
	for rows.Next() {
		r, err := scanClassroom(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("catalog: list classrooms: %w", err)
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// ClassroomChange holds the fields of a classroom to change; nil leaves a field as it is.
type ClassroomChange struct {
	SchoolID    *string
	Name        *string
	StreamPath  *string
	PublishUser *string
	PublishKey  *string
	Visibility  *string
	ShareToken  *string
}

// UpdateClassroom applies ch to classroom id: ErrNotFound, or ErrConflict when the new
// stream path is taken.
func (c *Catalog) UpdateClassroom(ctx context.Context, id string, ch ClassroomChange) error {
	set, args := []string{"updated_at = ?"}, []any{ms(time.Now())}
	add := func(col string, v *string) {
		if v != nil {
			set, args = append(set, col+" = ?"), append(args, *v)
		}
	}
	if ch.StreamPath != nil {
		var other string
		err := c.db.QueryRowContext(ctx, c.q(`SELECT id FROM classrooms WHERE stream_path = ? AND id <> ?`), *ch.StreamPath, id).Scan(&other)
		if err == nil {
			return fmt.Errorf("%w: classroom %s", ErrConflict, *ch.StreamPath)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("catalog: update classroom %s: %w", id, err)
		}
	}
	add("school_id", ch.SchoolID)
	add("name", ch.Name)
	add("stream_path", ch.StreamPath)
	add("publish_user", ch.PublishUser)
	add("publish_key", ch.PublishKey)
	add("visibility", ch.Visibility)
	add("share_token", ch.ShareToken)
	return c.exec(ctx, "update classroom "+id, `UPDATE classrooms SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, id)...)
}

// DeleteClassroom deletes a classroom, or returns ErrNotFound.
func (c *Catalog) DeleteClassroom(ctx context.Context, id string) error {
	return c.exec(ctx, "delete classroom "+id, `DELETE FROM classrooms WHERE id = ?`, id)
}

// --- audit log

// AddAudit appends one entry.
func (c *Catalog) AddAudit(ctx context.Context, e AuditEntry) error {
	if e.Detail == "" {
		e.Detail = "{}"
	}
	_, err := c.db.ExecContext(ctx, c.q(`INSERT INTO audit_log (id, at, actor_id, actor, action, target, detail, remote)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), e.ID, ms(e.At), e.ActorID, e.Actor, e.Action, e.Target, e.Detail, e.Remote)
	if err != nil {
		return fmt.Errorf("catalog: audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditFilter selects audit entries. Action ending in "*" matches a prefix
// ("admin.*"); otherwise Action and Actor match exactly.
type AuditFilter struct {
	Actor  string
	Action string
	Limit  int
	Offset int
}

// ListAudit returns one page of entries, newest first, and the total that match.
func (c *Catalog) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, int, error) {
	where, args := "WHERE 1=1", []any{}
	if f.Actor != "" {
		where += " AND actor = ?"
		args = append(args, f.Actor)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "*"); ok {
		// substr, not LIKE: no wildcard escaping, and the same case-sensitive match on
		// both engines (SQLite's LIKE ignores ASCII case, PostgreSQL's does not).
		if prefix != "" {
			where += " AND substr(action, 1, ?) = ?"
			args = append(args, utf8.RuneCountInString(prefix), prefix)
		}
	} else if f.Action != "" {
		where += " AND action = ?"
		args = append(args, f.Action)
	}
	var total int
	if err := c.db.QueryRowContext(ctx, c.q(`SELECT COUNT(*) FROM audit_log `+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("catalog: count audit: %w", err)
	}
	limit, offset := page(f.Limit, f.Offset)
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT id, at, actor_id, actor, action, target, detail, remote FROM audit_log `+where+
		` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Remote); err != nil {
			return nil, 0, fmt.Errorf("catalog: list audit: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, total, rows.Err()
}
