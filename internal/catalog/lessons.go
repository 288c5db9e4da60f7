package catalog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Review states of lessons and micro-lectures. The legal moves are
// draft → submitted, rejected → submitted (after an edit), submitted → approved,
// submitted → rejected (with a reason) and approved → published.
const (
	ReviewDraft     = "draft"
	ReviewSubmitted = "submitted"
	ReviewApproved  = "approved"
	ReviewRejected  = "rejected"
	ReviewPublished = "published"
)

// LessonStates lists the review states.
var LessonStates = []string{ReviewDraft, ReviewSubmitted, ReviewApproved, ReviewRejected, ReviewPublished}

// legalFrom maps a target state to the states it may be entered from.
var legalFrom = map[string][]string{
	ReviewSubmitted: {ReviewDraft, ReviewRejected},
	ReviewApproved:  {ReviewSubmitted},
	ReviewRejected:  {ReviewSubmitted},
	ReviewPublished: {ReviewApproved},
}

// ErrInvalid is input that can never be stored (a missing title, a reject without a
// reason, a clip outside its lesson). Errors wrap it with the reason.
var ErrInvalid = errors.New("catalog: invalid")

// StateError is an illegal review transition. It matches ErrConflict with errors.Is.
type StateError struct {
	Kind, ID, From, To string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("%s %s is %s and cannot become %s", e.Kind, e.ID, e.From, e.To)
}

// Is makes a StateError an ErrConflict.
func (e *StateError) Is(target error) bool { return target == ErrConflict }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// NewLessonID returns a fresh lesson id ("les-" and 20 hex digits).
func NewLessonID() string { return "les-" + randomHex(10) }

// NewMicroLectureID returns a fresh micro-lecture id ("ml-" and 20 hex digits).
func NewMicroLectureID() string { return "ml-" + randomHex(10) }

// NewShareToken returns a fresh share-link secret (32 hex digits, 128 bits).
func NewShareToken() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// Lesson is a recorded or uploaded class with its teaching metadata and review state.
type Lesson struct {
	ID      string
	AssetID string // the media; empty while it is being uploaded
	Title   string
	// TeacherID owns the lesson; TeacherName, SchoolID and District are copied from
	// the teacher when the lesson is created.
	TeacherID       string
	TeacherName     string
	SchoolID        string
	District        string
	Subject         string
	Grade           string
	TextbookEdition string
	Chapter         string
	Description     string
	Origin          string // KindRecording or KindUpload
	Duration        time.Duration
	KnowledgePoints []string
	State           string
	RejectReason    string
	Visibility      string // public, district, school or link
	ShareToken      string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	SubmittedAt     time.Time
	ReviewedAt      time.Time
	ReviewerID      string
	// Read-only, filled in when read: the state of the media asset ("" without one)
	// and the school's name, so a listing needs no request per lesson.
	AssetState string
	SchoolName string
}

// Limits of lesson fields, in characters.
const (
	MaxTitleLen       = 200
	MaxTextLen        = 100
	MaxDescriptionLen = 10000
	MaxPoints         = 50
)

func checkText(field, v string, maxLen int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return invalid("%s is required", field)
	}
	if n := len([]rune(v)); n > maxLen {
		return invalid("%s is longer than %d characters", field, maxLen)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }) {
		return invalid("%s contains control characters", field)
	}
	return nil
}

func checkVisibility(v string) error {
	switch v {
	case "public", "district", "school", "link":
		return nil
	}
	return invalid("visibility %q is not one of public, district, school, link", v)
}

// cleanPoints trims, drops empties and duplicates, keeping the order.
func cleanPoints(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, p := range in {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		if err := checkText("knowledge point", p, MaxTextLen, true); err != nil {
			return nil, err
		}
		if strings.ContainsAny(p, "\n\t") {
			return nil, invalid("a knowledge point is one line")
		}
		seen[p] = true
		out = append(out, p)
	}
	if len(out) > MaxPoints {
		return nil, invalid("more than %d knowledge points", MaxPoints)
	}
	return out, nil
}

func (l *Lesson) validate() error {
	l.Title = strings.TrimSpace(l.Title)
	for _, f := range []struct {
		name     string
		v        string
		max      int
		required bool
	}{
		{"title", l.Title, MaxTitleLen, true},
		{"teacher_name", l.TeacherName, MaxTextLen, false},
		{"subject", l.Subject, MaxTextLen, false},
		{"grade", l.Grade, MaxTextLen, false},
		{"textbook_edition", l.TextbookEdition, MaxTextLen, false},
		{"chapter", l.Chapter, MaxTitleLen, false},
		{"description", l.Description, MaxDescriptionLen, false},
	} {
		if err := checkText(f.name, f.v, f.max, f.required); err != nil {
			return err
		}
	}
	if l.TeacherID == "" {
		return invalid("teacher_id is required")
	}
	if l.Origin != KindRecording && l.Origin != KindUpload {
		return invalid("origin %q is not recording or upload", l.Origin)
	}
	if l.Duration < 0 {
		return invalid("duration is negative")
	}
	if l.AssetID != "" && !ValidID(l.AssetID) {
		return invalid("asset_id %q is not an asset id", l.AssetID)
	}
	if err := checkVisibility(l.Visibility); err != nil {
		return err
	}
	pts, err := cleanPoints(l.KnowledgePoints)
	if err != nil {
		return err
	}
	l.KnowledgePoints = pts
	return nil
}

// searchText is what q matches against: lower-cased title, teacher and points.
func searchText(title, teacher string, points []string) string {
	return strings.ToLower(title + "\n" + teacher + "\n" + strings.Join(points, "\n"))
}

// CreateLesson inserts l (its ID set by the caller, see NewLessonID) in state draft
// unless l.State says otherwise; an empty Visibility is "school", an empty Origin
// "upload". A taken id is ErrConflict; bad fields are ErrInvalid.
func (c *Catalog) CreateLesson(ctx context.Context, l Lesson) error {
	if !ValidID(l.ID) {
		return invalid("lesson id %q", l.ID)
	}
	if l.State == "" {
		l.State = ReviewDraft
	}
	if l.Visibility == "" {
		l.Visibility = "school"
	}
	if l.Origin == "" {
		l.Origin = KindUpload
	}
	if err := l.validate(); err != nil {
		return err
	}
	now := time.Now()
	if l.CreatedAt.IsZero() {
		l.CreatedAt = now
	}
	if l.UpdatedAt.IsZero() {
		l.UpdatedAt = l.CreatedAt
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: create lesson %s: %w", l.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, c.q(`INSERT INTO lessons (`+lessonInsertColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		lessonArgs(&l)...)
	if err != nil {
		return fmt.Errorf("catalog: create lesson %s: %w", l.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: lesson %s", ErrConflict, l.ID)
	}
	if err := c.writePoints(ctx, tx, l.ID, l.KnowledgePoints); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: create lesson %s: %w", l.ID, err)
	}
	return nil
}

const lessonInsertColumns = `id, asset_id, title, teacher_id, teacher_name, school_id, district, subject, grade,
	textbook_edition, chapter, description, origin, duration_ms, state, reject_reason, visibility, share_token,
	search_text, created_at, updated_at, submitted_at, reviewed_at, reviewer_id`

func lessonArgs(l *Lesson) []any {
	return []any{l.ID, l.AssetID, l.Title, l.TeacherID, l.TeacherName, l.SchoolID, l.District, l.Subject, l.Grade,
		l.TextbookEdition, l.Chapter, l.Description, l.Origin, l.Duration.Milliseconds(), l.State, l.RejectReason,
		l.Visibility, l.ShareToken, searchText(l.Title, l.TeacherName, l.KnowledgePoints),
		ms(l.CreatedAt), ms(l.UpdatedAt), ms(l.SubmittedAt), ms(l.ReviewedAt), l.ReviewerID}
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (c *Catalog) writePoints(ctx context.Context, tx execer, id string, points []string) error {
	if _, err := tx.ExecContext(ctx, c.q(`DELETE FROM lesson_knowledge_points WHERE lesson_id = ?`), id); err != nil {
		return fmt.Errorf("catalog: knowledge points of %s: %w", id, err)
	}
	for i, p := range points {
		if _, err := tx.ExecContext(ctx, c.q(`INSERT INTO lesson_knowledge_points (lesson_id, point, sort) VALUES (?, ?, ?)`), id, p, i); err != nil {
			return fmt.Errorf("catalog: knowledge points of %s: %w", id, err)
		}
	}
	return nil
}

const lessonColumns = `l.id, l.asset_id, l.title, l.teacher_id, l.teacher_name, l.school_id, l.district, l.subject, l.grade,
	l.textbook_edition, l.chapter, l.description, l.origin, l.duration_ms, l.state, l.reject_reason, l.visibility,
	l.share_token, l.created_at, l.updated_at, l.submitted_at, l.reviewed_at, l.reviewer_id`

func scanLesson(s scanner) (Lesson, error) {
	var l Lesson
	var dur, created, updated, submitted, reviewed int64
	err := s.Scan(&l.ID, &l.AssetID, &l.Title, &l.TeacherID, &l.TeacherName, &l.SchoolID, &l.District, &l.Subject,
		&l.Grade, &l.TextbookEdition, &l.Chapter, &l.Description, &l.Origin, &dur, &l.State, &l.RejectReason,
		&l.Visibility, &l.ShareToken, &created, &updated, &submitted, &reviewed, &l.ReviewerID)
	l.Duration = time.Duration(dur) * time.Millisecond
	l.CreatedAt, l.UpdatedAt, l.SubmittedAt, l.ReviewedAt = fromMS(created), fromMS(updated), fromMS(submitted), fromMS(reviewed)
	return l, err
}

// Lesson returns one lesson with its knowledge points, or ErrNotFound.
func (c *Catalog) Lesson(ctx context.Context, id string) (Lesson, error) {
	l, err := scanLesson(c.db.QueryRowContext(ctx, c.q(`SELECT `+lessonColumns+` FROM lessons l WHERE l.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Lesson{}, ErrNotFound
	}
	if err != nil {
		return Lesson{}, fmt.Errorf("catalog: lesson %s: %w", id, err)
	}
	ls := []Lesson{l}
	if err := c.fill(ctx, ls); err != nil {
		return Lesson{}, err
	}
	return ls[0], nil
}

// fill completes lessons read from the lessons table: knowledge points, asset state
// and school name, each in one query for all of ls.
func (c *Catalog) fill(ctx context.Context, ls []Lesson) error {
	if err := c.fillPoints(ctx, ls); err != nil {
		return err
	}
	var assets, schools []string
	for _, l := range ls {
		if l.AssetID != "" {
			assets = append(assets, l.AssetID)
		}
		if l.SchoolID != "" {
			schools = append(schools, l.SchoolID)
		}
	}
	states, err := c.lookup(ctx, `SELECT id, state FROM assets WHERE id IN `, assets)
	if err != nil {
		return err
	}
	names, err := c.lookup(ctx, `SELECT id, name FROM schools WHERE id IN `, schools)
	if err != nil {
		return err
	}
	for i := range ls {
		ls[i].AssetState, ls[i].SchoolName = states[ls[i].AssetID], names[ls[i].SchoolID]
	}
	return nil
}

// lookup runs query (ending in "IN ") for ids and maps its first column to its second.
func (c *Catalog) lookup(ctx context.Context, query string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := c.db.QueryContext(ctx, c.q(query+`(?`+strings.Repeat(", ?", len(ids)-1)+`)`), args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: %s: %w", strings.Fields(query)[4], err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// fillPoints loads the knowledge points of ls in one query.
func (c *Catalog) fillPoints(ctx context.Context, ls []Lesson) error {
	if len(ls) == 0 {
		return nil
	}
	idx := make(map[string]int, len(ls))
	args := make([]any, len(ls))
	for i := range ls {
		idx[ls[i].ID] = i
		args[i] = ls[i].ID
		ls[i].KnowledgePoints = []string{}
	}
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT lesson_id, point FROM lesson_knowledge_points
		WHERE lesson_id IN (?`+strings.Repeat(", ?", len(ls)-1)+`) ORDER BY lesson_id, sort`), args...)
	if err != nil {
		return fmt.Errorf("catalog: knowledge points: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return fmt.Errorf("catalog: knowledge points: %w", err)
		}
		if i, ok := idx[id]; ok {
			ls[i].KnowledgePoints = append(ls[i].KnowledgePoints, p)
		}
	}
	return rows.Err()
}

// LessonChange is a partial update of a lesson's metadata; nil fields stay as they are.
type LessonChange struct {
	AssetID         *string
	Title           *string
	Subject         *string
	Grade           *string
	TextbookEdition *string
	Chapter         *string
	Description     *string
	Duration        *time.Duration
	KnowledgePoints *[]string
	Visibility      *string
	ShareToken      *string
	// IfState, when set, makes the update apply only while the lesson is in one of
	// these states; otherwise it fails with a *StateError (ErrConflict).
	IfState []string
}

// UpdateLesson applies ch and returns the lesson as stored.
func (c *Catalog) UpdateLesson(ctx context.Context, id string, ch LessonChange) (Lesson, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return Lesson{}, fmt.Errorf("catalog: update lesson %s: %w", id, err)
	}
	defer tx.Rollback()
	// Write first, to lock before reading: PostgreSQL locks the row, SQLite takes its
	// write lock (waiting up to busy_timeout). Reading first would let two editors lose
	// each other's changes, and on SQLite fail to upgrade a read snapshot that another
	// writer has overtaken ("database is locked").
	res, err := tx.ExecContext(ctx, c.q(`UPDATE lessons SET updated_at = updated_at WHERE id = ?`), id)
	if err != nil {
		return Lesson{}, fmt.Errorf("catalog: update lesson %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Lesson{}, fmt.Errorf("catalog: update lesson %s: %w", id, err)
	} else if n == 0 {
		return Lesson{}, ErrNotFound
	}
	l, err := scanLesson(tx.QueryRowContext(ctx, c.q(`SELECT `+lessonColumns+` FROM lessons l WHERE l.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Lesson{}, ErrNotFound
	}
	if err != nil {
		return Lesson{}, fmt.Errorf("catalog: update lesson %s: %w", id, err)
	}
	if len(ch.IfState) > 0 && !contains(ch.IfState, l.State) {
		return Lesson{}, &StateError{Kind: "lesson", ID: id, From: l.State, To: "edited"}
	}
	if ch.KnowledgePoints == nil {
		if l.KnowledgePoints, err = c.points(ctx, tx, id); err != nil {
			return Lesson{}, err
		}
	}
	if err := ch.apply(&l); err != nil {
		return Lesson{}, err
	}
	l.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	if _, err := tx.ExecContext(ctx, c.q(`UPDATE lessons SET asset_id = ?, title = ?, subject = ?, grade = ?,
		textbook_edition = ?, chapter = ?, description = ?, duration_ms = ?, visibility = ?, share_token = ?,
		search_text = ?, updated_at = ? WHERE id = ?`),
		l.AssetID, l.Title, l.Subject, l.Grade, l.TextbookEdition, l.Chapter, l.Description, l.Duration.Milliseconds(),
		l.Visibility, l.ShareToken, searchText(l.Title, l.TeacherName, l.KnowledgePoints), ms(l.UpdatedAt), id); err != nil {
		return Lesson{}, fmt.Errorf("catalog: update lesson %s: %w", id, err)
	}
	if ch.KnowledgePoints != nil {
		if err := c.writePoints(ctx, tx, id, l.KnowledgePoints); err != nil {
			return Lesson{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return Lesson{}, fmt.Errorf("catalog: update lesson %s: %w", id, err)
	}
	return l, nil
}

// points reads one lesson's knowledge points in order.
func (c *Catalog) points(ctx context.Context, tx *sql.Tx, id string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, c.q(`SELECT point FROM lesson_knowledge_points WHERE lesson_id = ? ORDER BY sort`), id)
	if err != nil {
		return nil, fmt.Errorf("catalog: knowledge points of %s: %w", id, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("catalog: knowledge points of %s: %w", id, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// apply sets ch's fields on l and validates the result.
func (ch *LessonChange) apply(l *Lesson) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&l.AssetID, ch.AssetID)
	set(&l.Title, ch.Title)
	set(&l.Subject, ch.Subject)
	set(&l.Grade, ch.Grade)
	set(&l.TextbookEdition, ch.TextbookEdition)
	set(&l.Chapter, ch.Chapter)
	set(&l.Description, ch.Description)
	set(&l.Visibility, ch.Visibility)
	set(&l.ShareToken, ch.ShareToken)
	if ch.Duration != nil {
		l.Duration = *ch.Duration
	}
	if ch.KnowledgePoints != nil {
		l.KnowledgePoints = *ch.KnowledgePoints
	}
	return l.validate()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// DeleteLesson removes a lesson with its knowledge points, micro-lectures and
// captions (not their media). With ifState set it deletes only in those states.
func (c *Catalog) DeleteLesson(ctx context.Context, id string, ifState ...string) error {
	return c.deleteInState(ctx, "lesson", "lessons", id, ifState)
}

func (c *Catalog) deleteInState(ctx context.Context, kind, table, id string, ifState []string) error {
	query := `DELETE FROM ` + table + ` WHERE id = ?`
	args := []any{id}
	if len(ifState) > 0 {
		query += ` AND state IN (?` + strings.Repeat(", ?", len(ifState)-1) + `)`
		for _, s := range ifState {
			args = append(args, s)
		}
	}
	err := c.exec(ctx, "delete "+kind+" "+id, query, args...)
	if errors.Is(err, ErrNotFound) && len(ifState) > 0 {
		var state string
		switch err := c.db.QueryRowContext(ctx, c.q(`SELECT state FROM `+table+` WHERE id = ?`), id).Scan(&state); {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return fmt.Errorf("catalog: delete %s %s: %w", kind, id, err)
		}
		return &StateError{Kind: kind, ID: id, From: state, To: "deleted"}
	}
	return err
}

// Review is one review transition.
type Review struct {
	// To is the target state: ReviewSubmitted, ReviewApproved, ReviewRejected or
	// ReviewPublished.
	To string
	// Reason is required for ReviewRejected and kept as the reject reason.
	Reason string
	// ReviewerID is who approved, rejected or published (kept for those).
	ReviewerID string
}

// MaxReasonLen is the longest reject reason, in characters.
const MaxReasonLen = 2000

// ReviewLesson moves a lesson to r.To if that is legal from its current state, in one
// conditional UPDATE so two reviewers cannot both act on the same submission. An
// illegal move is a *StateError (ErrConflict); a reject without a reason ErrInvalid.
func (c *Catalog) ReviewLesson(ctx context.Context, id string, r Review) (Lesson, error) {
	if err := c.review(ctx, "lesson", "lessons", id, r); err != nil {
		return Lesson{}, err
	}
	return c.Lesson(ctx, id)
}

func (c *Catalog) review(ctx context.Context, kind, table, id string, r Review) error {
	from, ok := legalFrom[r.To]
	if !ok {
		return invalid("%q is not a review state to move to", r.To)
	}
	r.Reason = strings.TrimSpace(r.Reason)
	if r.To == ReviewRejected {
		if r.Reason == "" {
			return invalid("a rejection needs a reason")
		}
		if err := checkText("reason", r.Reason, MaxReasonLen, true); err != nil {
			return err
		}
	}
	now := ms(time.Now())
	set := `state = ?, updated_at = ?`
	args := []any{r.To, now}
	switch r.To {
	case ReviewSubmitted:
		set += `, submitted_at = ?, reject_reason = ''`
		args = append(args, now)
	case ReviewApproved, ReviewPublished:
		set += `, reviewed_at = ?, reviewer_id = ?, reject_reason = ''`
		args = append(args, now, r.ReviewerID)
	case ReviewRejected:
		set += `, reviewed_at = ?, reviewer_id = ?, reject_reason = ?`
		args = append(args, now, r.ReviewerID, r.Reason)
	}
	args = append(args, id, from[0])
	cond := `state = ?`
	if len(from) == 2 {
		cond = `state IN (?, ?)`
		args = append(args, from[1])
	}
	err := c.exec(ctx, "review "+kind+" "+id, `UPDATE `+table+` SET `+set+` WHERE id = ? AND `+cond, args...)
	if errors.Is(err, ErrNotFound) {
		var state string
		switch err := c.db.QueryRowContext(ctx, c.q(`SELECT state FROM `+table+` WHERE id = ?`), id).Scan(&state); {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return fmt.Errorf("catalog: review %s %s: %w", kind, id, err)
		}
		return &StateError{Kind: kind, ID: id, From: state, To: r.To}
	}
	return err
}

// Lesson sort orders for LessonFilter.Sort.
const (
	SortNewest   = "newest"
	SortOldest   = "oldest"
	SortTitle    = "title"
	SortDuration = "duration" // longest first
	// SortSubmitted is oldest submission first: the review queue's order.
	SortSubmitted = "submitted"
)

var lessonOrder = map[string]string{
	"":            `l.created_at DESC, l.id DESC`,
	SortNewest:    `l.created_at DESC, l.id DESC`,
	SortOldest:    `l.created_at, l.id`,
	SortTitle:     `l.title, l.id`,
	SortDuration:  `l.duration_ms DESC, l.id`,
	SortSubmitted: `l.submitted_at, l.id`,
}

// LessonAccess limits a listing to what one signed-in user may see: published
// lessons whose visibility lets them in (public; district for the same district;
// school, district and link for the same school) and every lesson they own. A nil
// *LessonAccess in a filter lists every lesson (admins, reviewers, internal callers);
// anonymous callers use AnonymousAccess.
type LessonAccess struct {
	UserID   string
	SchoolID string
	District string
}

// AnonymousAccess sees public published lessons only.
var AnonymousAccess = &LessonAccess{}

// LessonFilter selects and orders lessons. Empty fields do not filter.
type LessonFilter struct {
	// Q is a substring of the title, the teacher's name or a knowledge point, matched
	// literally (% and _ are not wildcards) and without regard to ASCII case.
	Q              string
	Subject        string
	Grade          string
	SchoolID       string
	District       string
	TeacherID      string
	State          string
	KnowledgePoint string // lessons tagged with exactly this point
	Sort           string // SortNewest (default), SortOldest, SortTitle, SortDuration, SortSubmitted
	Limit, Offset  int    // Limit 0 is 50, at most 500
	Access         *LessonAccess
}

// likeEscape quotes s for LIKE ... ESCAPE '\': the wildcards % and _ and the escape
// character itself become literal.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ValidSort reports whether s is a LessonFilter.Sort value.
func ValidSort(s string) bool { _, ok := lessonOrder[s]; return ok }

// ListLessons returns one page of the lessons f selects, with their knowledge points,
// and how many there are in all.
func (c *Catalog) ListLessons(ctx context.Context, f LessonFilter) ([]Lesson, int, error) {
	order, ok := lessonOrder[f.Sort]
	if !ok {
		return nil, 0, invalid("sort %q is not one of newest, oldest, title, duration, submitted", f.Sort)
	}
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if q := strings.TrimSpace(f.Q); q != "" {
		add(`l.search_text LIKE ? ESCAPE '\'`, "%"+likeEscape(strings.ToLower(q))+"%")
	}
	for _, e := range []struct{ col, v string }{
		{"l.subject", f.Subject}, {"l.grade", f.Grade}, {"l.school_id", f.SchoolID}, {"l.district", f.District},
		{"l.teacher_id", f.TeacherID}, {"l.state", f.State},
	} {
		if e.v != "" {
			add(e.col+` = ?`, e.v)
		}
	}
	if f.KnowledgePoint != "" {
		add(`EXISTS (SELECT 1 FROM lesson_knowledge_points k WHERE k.lesson_id = l.id AND k.point = ?)`, f.KnowledgePoint)
	}
	if a := f.Access; a != nil {
		// The SQL twin of auth.CanView for published lessons, plus the owner's own.
		add(`(l.state = 'published' AND (l.visibility = 'public'
			OR (l.school_id = ? AND l.school_id <> '')
			OR (l.visibility = 'district' AND l.district = ? AND l.district <> ''))
			OR (l.teacher_id = ? AND l.teacher_id <> ''))`, a.SchoolID, a.District, a.UserID)
	}
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, ` AND `)
	}
	out, total, err := listPage(ctx, c, "lessons", lessonColumns, `FROM lessons l`+cond, order, args, f.Limit, f.Offset, scanLesson)
	if err != nil {
		return nil, 0, err
	}
	return out, total, c.fill(ctx, out)
}
