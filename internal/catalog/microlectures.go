package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// MicroLecture is a clip of a lesson about one knowledge point, with its own review
// state and visibility. Its owner, school and district are the lesson's.
type MicroLecture struct {
	ID             string
	LessonID       string
	AssetID        string // the cut clip; empty until the cutting task has made it
	Title          string
	KnowledgePoint string
	Start, End     time.Duration // within the lesson
	State          string
	RejectReason   string
	Visibility     string
	ShareToken     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SubmittedAt    time.Time
	ReviewedAt     time.Time
	ReviewerID     string
	// From the lesson, read-only.
	TeacherID, SchoolID, District, Subject, Grade string
}

func (m *MicroLecture) validate() error {
	m.Title = strings.TrimSpace(m.Title)
	m.KnowledgePoint = strings.TrimSpace(m.KnowledgePoint)
	if err := checkText("title", m.Title, MaxTitleLen, true); err != nil {
		return err
	}
	if err := checkText("knowledge_point", m.KnowledgePoint, MaxTextLen, false); err != nil {
		return err
	}
	if m.Start < 0 || m.End <= m.Start {
		return invalid("the clip must start at or after 0 and end after it starts")
	}
	if m.AssetID != "" && !ValidID(m.AssetID) {
		return invalid("asset_id %q is not an asset id", m.AssetID)
	}
	return checkVisibility(m.Visibility)
}

// CreateMicroLecture inserts m (ID set by the caller, see NewMicroLectureID) in state
// draft. Its lesson must exist (ErrNotFound) and, when the lesson's duration is known,
// contain the clip (ErrInvalid).
func (c *Catalog) CreateMicroLecture(ctx context.Context, m MicroLecture) error {
	if !ValidID(m.ID) {
		return invalid("micro-lecture id %q", m.ID)
	}
	if m.State == "" {
		m.State = ReviewDraft
	}
	if m.Visibility == "" {
		m.Visibility = "school"
	}
	if err := m.validate(); err != nil {
		return err
	}
	l, err := c.Lesson(ctx, m.LessonID)
	if err != nil {
		return err
	}
	if l.Duration > 0 && m.End > l.Duration {
		return invalid("the clip ends at %s, after the lesson's end (%s)", m.End, l.Duration)
	}
	now := time.Now()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	return c.insertOnce(ctx, "micro-lecture "+m.ID, `INSERT INTO micro_lectures (id, lesson_id, asset_id, title,
		knowledge_point, start_ms, end_ms, state, reject_reason, visibility, share_token, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.LessonID, m.AssetID, m.Title, m.KnowledgePoint, m.Start.Milliseconds(), m.End.Milliseconds(), m.State,
		m.RejectReason, m.Visibility, m.ShareToken, ms(m.CreatedAt), ms(m.CreatedAt))
}

const microColumns = `m.id, m.lesson_id, m.asset_id, m.title, m.knowledge_point, m.start_ms, m.end_ms, m.state,
	m.reject_reason, m.visibility, m.share_token, m.created_at, m.updated_at, m.submitted_at, m.reviewed_at,
	m.reviewer_id, l.teacher_id, l.school_id, l.district, l.subject, l.grade`

const microFrom = ` FROM micro_lectures m JOIN lessons l ON l.id = m.lesson_id `

func scanMicro(s scanner) (MicroLecture, error) {
	var m MicroLecture
	var start, end, created, updated, submitted, reviewed int64
	err := s.Scan(&m.ID, &m.LessonID, &m.AssetID, &m.Title, &m.KnowledgePoint, &start, &end, &m.State,
		&m.RejectReason, &m.Visibility, &m.ShareToken, &created, &updated, &submitted, &reviewed, &m.ReviewerID,
		&m.TeacherID, &m.SchoolID, &m.District, &m.Subject, &m.Grade)
	m.Start, m.End = time.Duration(start)*time.Millisecond, time.Duration(end)*time.Millisecond
	m.CreatedAt, m.UpdatedAt, m.SubmittedAt, m.ReviewedAt = fromMS(created), fromMS(updated), fromMS(submitted), fromMS(reviewed)
	return m, err
}

// MicroLecture returns one micro-lecture or ErrNotFound.
func (c *Catalog) MicroLecture(ctx context.Context, id string) (MicroLecture, error) {
	m, err := scanMicro(c.db.QueryRowContext(ctx, c.q(`SELECT `+microColumns+microFrom+`WHERE m.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return MicroLecture{}, ErrNotFound
	}
	if err != nil {
		return MicroLecture{}, fmt.Errorf("catalog: micro-lecture %s: %w", id, err)
	}
	return m, nil
}

// MicroLectureFilter selects micro-lectures; empty fields do not filter.
type MicroLectureFilter struct {
	LessonID       string
	TeacherID      string // the lesson's teacher
	State          string
	KnowledgePoint string
	Limit, Offset  int
}

// ListMicroLectures returns one page of micro-lectures (by lesson and start; by
// submission time when filtering on state submitted) and how many there are.
func (c *Catalog) ListMicroLectures(ctx context.Context, f MicroLectureFilter) ([]MicroLecture, int, error) {
	var where []string
	var args []any
	for _, e := range []struct{ col, v string }{{"m.lesson_id", f.LessonID}, {"l.teacher_id", f.TeacherID}, {"m.state", f.State}, {"m.knowledge_point", f.KnowledgePoint}} {
		if e.v != "" {
			where = append(where, e.col+` = ?`)
			args = append(args, e.v)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, ` AND `)
	}
	order := `m.lesson_id, m.start_ms, m.id`
	switch {
	case f.State == ReviewSubmitted:
		order = `m.submitted_at, m.id`
	case f.State == ReviewApproved:
		order = `m.reviewed_at, m.id`
	case f.LessonID == "":
		order = `m.created_at DESC, m.id`
	}
	return listPage(ctx, c, "micro-lectures", microColumns, strings.TrimSpace(microFrom)+cond, order, args, f.Limit, f.Offset, scanMicro)
}

// MicroLectureChange is a partial update; nil fields stay as they are.
type MicroLectureChange struct {
	AssetID        *string
	Title          *string
	KnowledgePoint *string
	Start, End     *time.Duration
	Visibility     *string
	ShareToken     *string
	// IfState, when set, applies the change only in these states (else *StateError).
	IfState []string
}

// UpdateMicroLecture applies ch and returns the micro-lecture as stored. Moving the
// cut points of a clip whose media is already cut clears its asset_id unless ch sets
// one: the old media no longer matches.
func (c *Catalog) UpdateMicroLecture(ctx context.Context, id string, ch MicroLectureChange) (MicroLecture, error) {
	m, err := c.MicroLecture(ctx, id)
	if err != nil {
		return MicroLecture{}, err
	}
	if len(ch.IfState) > 0 && !contains(ch.IfState, m.State) {
		return MicroLecture{}, &StateError{Kind: "micro-lecture", ID: id, From: m.State, To: "edited"}
	}
	old := m
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&m.Title, ch.Title)
	set(&m.KnowledgePoint, ch.KnowledgePoint)
	set(&m.Visibility, ch.Visibility)
	set(&m.ShareToken, ch.ShareToken)
	if ch.Start != nil {
		m.Start = *ch.Start
	}
	if ch.End != nil {
		m.End = *ch.End
	}
	if (m.Start != old.Start || m.End != old.End) && ch.AssetID == nil {
		m.AssetID = ""
	}
	set(&m.AssetID, ch.AssetID)
	if err := m.validate(); err != nil {
		return MicroLecture{}, err
	}
	if m.Start != old.Start || m.End != old.End {
		l, err := c.Lesson(ctx, m.LessonID)
		if err != nil {
			return MicroLecture{}, err
		}
		if l.Duration > 0 && m.End > l.Duration {
			return MicroLecture{}, invalid("the clip ends at %s, after the lesson's end (%s)", m.End, l.Duration)
		}
	}
	m.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	// Conditional on the state read above, so a review in between is not overwritten
	// by an edit that would not have been allowed after it.
	err = c.exec(ctx, "update micro-lecture "+id, `UPDATE micro_lectures SET asset_id = ?, title = ?, knowledge_point = ?,
		start_ms = ?, end_ms = ?, visibility = ?, share_token = ?, updated_at = ? WHERE id = ? AND state = ?`,
		m.AssetID, m.Title, m.KnowledgePoint, m.Start.Milliseconds(), m.End.Milliseconds(), m.Visibility, m.ShareToken,
		ms(m.UpdatedAt), id, old.State)
	if errors.Is(err, ErrNotFound) {
		return MicroLecture{}, &StateError{Kind: "micro-lecture", ID: id, From: "changed meanwhile", To: "edited"}
	}
	return m, err
}

// DeleteMicroLecture removes a micro-lecture (not its media); with ifState set only
// in those states.
func (c *Catalog) DeleteMicroLecture(ctx context.Context, id string, ifState ...string) error {
	return c.deleteInState(ctx, "micro-lecture", "micro_lectures", id, ifState)
}

// ReviewMicroLecture moves a micro-lecture to r.To; see ReviewLesson.
func (c *Catalog) ReviewMicroLecture(ctx context.Context, id string, r Review) (MicroLecture, error) {
	if err := c.review(ctx, "micro-lecture", "micro_lectures", id, r); err != nil {
		return MicroLecture{}, err
	}
	return c.MicroLecture(ctx, id)
}

// --- knowledge points and coverage

// SetKnowledgePoints replaces the curriculum's knowledge points of a subject and
// grade, in teaching order.
func (c *Catalog) SetKnowledgePoints(ctx context.Context, subject, grade string, points []string) error {
	if err := checkText("subject", subject, MaxTextLen, true); err != nil {
		return err
	}
	if err := checkText("grade", grade, MaxTextLen, true); err != nil {
		return err
	}
	pts, err := cleanPointsN(points, 1000)
	if err != nil {
		return err
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: knowledge points: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, c.q(`DELETE FROM knowledge_points WHERE subject = ? AND grade = ?`), subject, grade); err != nil {
		return fmt.Errorf("catalog: knowledge points: %w", err)
	}
	for i, p := range pts {
		if _, err := tx.ExecContext(ctx, c.q(`INSERT INTO knowledge_points (subject, grade, point, sort) VALUES (?, ?, ?, ?)`), subject, grade, p, i); err != nil {
			return fmt.Errorf("catalog: knowledge points: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: knowledge points: %w", err)
	}
	return nil
}

func cleanPointsN(in []string, max int) ([]string, error) {
	if len(in) > max {
		return nil, invalid("more than %d knowledge points", max)
	}
	// cleanPoints caps at MaxPoints for a lesson; the curriculum may list more.
	out := make([]string, 0, len(in))
	for i := 0; i < len(in); i += MaxPoints {
		part, err := cleanPoints(in[i:min(i+MaxPoints, len(in))])
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
	seen := map[string]bool{}
	uniq := out[:0]
	for _, p := range out {
		if !seen[p] {
			seen[p] = true
			uniq = append(uniq, p)
		}
	}
	return uniq, nil
}

// Curriculum names a subject and grade that has knowledge points, and how many.
type Curriculum struct {
	Subject string `json:"subject"`
	Grade   string `json:"grade"`
	Points  int    `json:"points"`
}

// Curricula lists every subject and grade with knowledge points, by subject then grade.
func (c *Catalog) Curricula(ctx context.Context) ([]Curriculum, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT subject, grade, COUNT(*) FROM knowledge_points GROUP BY subject, grade ORDER BY subject, grade`)
	if err != nil {
		return nil, fmt.Errorf("catalog: curricula: %w", err)
	}
	defer rows.Close()
	out := []Curriculum{}
	for rows.Next() {
		var cu Curriculum
		if err := rows.Scan(&cu.Subject, &cu.Grade, &cu.Points); err != nil {
			return nil, fmt.Errorf("catalog: curricula: %w", err)
		}
		out = append(out, cu)
	}
	return out, rows.Err()
}

// KnowledgePoints returns the curriculum's points of a subject and grade, in order.
func (c *Catalog) KnowledgePoints(ctx context.Context, subject, grade string) ([]string, error) {
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT point FROM knowledge_points WHERE subject = ? AND grade = ? ORDER BY sort, point`), subject, grade)
	if err != nil {
		return nil, fmt.Errorf("catalog: knowledge points: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("catalog: knowledge points: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PointCoverage is one knowledge point of a subject and grade and what covers it.
type PointCoverage struct {
	Point string
	// InCurriculum is set for points of the curriculum (SetKnowledgePoints); other
	// points come from lessons tagged with them.
	InCurriculum bool
	// MicroLectures counts approved or published micro-lectures on the point; Covered
	// is MicroLectures > 0.
	MicroLectures int
	Covered       bool
	// MicroLectureIDs are those micro-lectures, oldest first.
	MicroLectureIDs []string
	// Lessons counts lessons of the subject and grade tagged with the point.
	Lessons int
}

// Coverage lists the knowledge points of a subject and grade — the curriculum's in
// its order, then points only lessons are tagged with, by name — each with the
// approved or published micro-lectures that cover it.
func (c *Catalog) Coverage(ctx context.Context, subject, grade string) ([]PointCoverage, error) {
	curriculum, err := c.KnowledgePoints(ctx, subject, grade)
	if err != nil {
		return nil, err
	}
	counts := func(query string) (map[string]int, error) {
		rows, err := c.db.QueryContext(ctx, c.q(query), subject, grade)
		if err != nil {
			return nil, fmt.Errorf("catalog: coverage: %w", err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var p string
			var n int
			if err := rows.Scan(&p, &n); err != nil {
				return nil, fmt.Errorf("catalog: coverage: %w", err)
			}
			out[p] = n
		}
		return out, rows.Err()
	}
	clips := map[string]int{}
	clipIDs := map[string][]string{}
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT m.knowledge_point, m.id FROM micro_lectures m JOIN lessons l ON l.id = m.lesson_id
		WHERE l.subject = ? AND l.grade = ? AND m.state IN ('approved', 'published') AND m.knowledge_point <> ''
		ORDER BY m.created_at, m.id`), subject, grade)
	if err != nil {
		return nil, fmt.Errorf("catalog: coverage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p, id string
		if err := rows.Scan(&p, &id); err != nil {
			return nil, fmt.Errorf("catalog: coverage: %w", err)
		}
		clips[p]++
		clipIDs[p] = append(clipIDs[p], id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: coverage: %w", err)
	}
	rows.Close()
	lessons, err := counts(`SELECT k.point, COUNT(*) FROM lesson_knowledge_points k JOIN lessons l ON l.id = k.lesson_id
		WHERE l.subject = ? AND l.grade = ? GROUP BY k.point`)
	if err != nil {
		return nil, err
	}
	out := make([]PointCoverage, 0, len(curriculum))
	seen := map[string]bool{}
	for _, p := range curriculum {
		seen[p] = true
		out = append(out, PointCoverage{Point: p, InCurriculum: true})
	}
	var extra []string
	for _, m := range []map[string]int{clips, lessons} {
		for p := range m {
			if !seen[p] {
				seen[p] = true
				extra = append(extra, p)
			}
		}
	}
	sort.Strings(extra)
	for _, p := range extra {
		out = append(out, PointCoverage{Point: p})
	}
	for i := range out {
		out[i].MicroLectures = clips[out[i].Point]
		out[i].Covered = out[i].MicroLectures > 0
		out[i].MicroLectureIDs = clipIDs[out[i].Point]
		if out[i].MicroLectureIDs == nil {
			out[i].MicroLectureIDs = []string{}
		}
		out[i].Lessons = lessons[out[i].Point]
	}
	return out, nil
}

// --- captions

// Caption is a WebVTT caption track of a lesson in one language.
type Caption struct {
	LessonID  string
	Lang      string // a BCP 47 tag such as zh-CN or en
	Label     string // shown in the player's menu
	Key       string // the object key of the .vtt file in the store
	CreatedAt time.Time
}

var langPattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$`)

// ValidLang reports whether s is a language tag a caption can have.
func ValidLang(s string) bool { return langPattern.MatchString(s) }

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$`)

// PutCaption adds a caption track or replaces the one of its language.
func (c *Catalog) PutCaption(ctx context.Context, cp Caption) error {
	if !ValidLang(cp.Lang) {
		return invalid("lang %q is not a language tag such as zh-CN or en", cp.Lang)
	}
	if err := checkText("label", cp.Label, MaxTextLen, false); err != nil {
		return err
	}
	if !keyPattern.MatchString(cp.Key) || strings.Contains(cp.Key, "..") || strings.Contains(cp.Key, "//") {
		return invalid("key %q is not an object key", cp.Key)
	}
	if _, err := c.Lesson(ctx, cp.LessonID); err != nil {
		return err
	}
	if cp.CreatedAt.IsZero() {
		cp.CreatedAt = time.Now()
	}
	_, err := c.db.ExecContext(ctx, c.q(`INSERT INTO captions (lesson_id, lang, label, object_key, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (lesson_id, lang) DO UPDATE SET label = excluded.label, object_key = excluded.object_key, created_at = excluded.created_at`),
		cp.LessonID, cp.Lang, cp.Label, cp.Key, ms(cp.CreatedAt))
	if err != nil {
		return fmt.Errorf("catalog: caption %s/%s: %w", cp.LessonID, cp.Lang, err)
	}
	return nil
}

// Captions lists a lesson's caption tracks by language.
func (c *Catalog) Captions(ctx context.Context, lessonID string) ([]Caption, error) {
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT lesson_id, lang, label, object_key, created_at FROM captions WHERE lesson_id = ? ORDER BY lang`), lessonID)
	if err != nil {
		return nil, fmt.Errorf("catalog: captions of %s: %w", lessonID, err)
	}
	defer rows.Close()
	out := []Caption{}
	for rows.Next() {
		var cp Caption
		var created int64
		if err := rows.Scan(&cp.LessonID, &cp.Lang, &cp.Label, &cp.Key, &created); err != nil {
			return nil, fmt.Errorf("catalog: captions of %s: %w", lessonID, err)
		}
		cp.CreatedAt = fromMS(created)
		out = append(out, cp)
	}
	return out, rows.Err()
}

// DeleteCaption removes a caption track (not its file).
func (c *Catalog) DeleteCaption(ctx context.Context, lessonID, lang string) error {
	return c.exec(ctx, "delete caption "+lessonID+"/"+lang, `DELETE FROM captions WHERE lesson_id = ? AND lang = ?`, lessonID, lang)
}

// AssetUse is a lesson or micro-lecture whose media is an asset: what the visibility
// rule needs to decide who may play that asset.
type AssetUse struct {
	Kind       string // "lesson" or "clip"
	ID         string
	State      string
	Visibility string
	SchoolID   string
	District   string
	OwnerID    string
	ShareToken string
}

// AssetUses lists the lessons and micro-lectures that use assetID as their media, so
// the media endpoints (/vod/, /api/v1/assets/{id}) can apply their visibility: a
// caller may play the asset when they may see one of them.
func (c *Catalog) AssetUses(ctx context.Context, assetID string) ([]AssetUse, error) {
	m, err := c.AssetUsesOf(ctx, []string{assetID})
	if err != nil {
		return nil, err
	}
	if m[assetID] == nil {
		return []AssetUse{}, nil
	}
	return m[assetID], nil
}

// AssetUsesOf is AssetUses for many assets in one query (a listing checks a page of
// assets at once); assets nothing uses are absent from the map.
func (c *Catalog) AssetUsesOf(ctx context.Context, assetIDs []string) (map[string][]AssetUse, error) {
	out := map[string][]AssetUse{}
	if len(assetIDs) == 0 {
		return out, nil
	}
	in := "?" + strings.Repeat(", ?", len(assetIDs)-1)
	args := make([]any, 0, 2*len(assetIDs))
	for range 2 {
		for _, id := range assetIDs {
			args = append(args, id)
		}
	}
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT asset_id, 'lesson', id, state, visibility, school_id, district, teacher_id, share_token
		FROM lessons WHERE asset_id IN (`+in+`)
		UNION ALL
		SELECT m.asset_id, 'clip', m.id, m.state, m.visibility, l.school_id, l.district, l.teacher_id, m.share_token
		FROM micro_lectures m JOIN lessons l ON l.id = m.lesson_id WHERE m.asset_id IN (`+in+`)
		ORDER BY 1, 2, 3`), args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: uses of assets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var u AssetUse
		if err := rows.Scan(&id, &u.Kind, &u.ID, &u.State, &u.Visibility, &u.SchoolID, &u.District, &u.OwnerID, &u.ShareToken); err != nil {
			return nil, fmt.Errorf("catalog: uses of assets: %w", err)
		}
		out[id] = append(out[id], u)
	}
	return out, rows.Err()
}
