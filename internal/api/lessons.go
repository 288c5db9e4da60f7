package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/transcode"
)

// Lessons, micro-lectures (clips), review, coverage and captions.
//
// Who may do what:
//   - Reading a lesson or clip: its owner (the teacher), reviewers and admins always;
//     anyone else only once it is published, and then as its visibility says
//     (auth.CanView; ?share=<token> opens a link-shared one). Anonymous callers who
//     are refused get 401, signed-in ones 403.
//   - Teachers create lessons (their own), edit them in draft or rejected state,
//     change their visibility in any state, delete them in draft or rejected state,
//     and submit them. The same for clips of their lessons.
//   - Reviewers approve or reject submitted lessons and clips, except their own, and
//     publish approved ones. Publishing is a separate step (approved → published) so
//     a school can approve a batch and release it on a date.
//   - Admins may do everything, including reviewing their own work.
//
// Every review action (submit, approve, reject, publish) is written to the audit log
// as review.<verb> with target lesson:<id> or clip:<id>.
func (s *Server) lessonRoutes() {
	m := s.mux
	user := func(h http.HandlerFunc) http.Handler { return auth.RequireUser(h) }

	m.HandleFunc("GET /api/v1/lessons", s.listLessons)
	m.Handle("POST /api/v1/lessons", user(s.createLesson))
	m.HandleFunc("GET /api/v1/lessons/{id}", s.getLesson)
	m.Handle("PATCH /api/v1/lessons/{id}", user(s.updateLesson))
	m.Handle("DELETE /api/v1/lessons/{id}", user(s.deleteLesson))
	for _, verb := range []string{"submit", "approve", "reject", "publish"} {
		m.Handle("POST /api/v1/lessons/{id}/"+verb, user(s.reviewLesson(verb)))
		m.Handle("POST /api/v1/clips/{id}/"+verb, user(s.reviewClip(verb)))
	}
	m.HandleFunc("GET /api/v1/lessons/{id}/clips", s.listClips)
	m.Handle("POST /api/v1/lessons/{id}/clips", user(s.createClip))
	m.Handle("GET /api/v1/clips", user(s.listAllClips))
	m.HandleFunc("GET /api/v1/clips/{id}", s.getClip)
	m.Handle("PATCH /api/v1/clips/{id}", user(s.updateClip))
	m.Handle("DELETE /api/v1/clips/{id}", user(s.deleteClip))
	m.Handle("GET /api/v1/review/queue", user(s.reviewQueue))
	m.Handle("GET /api/v1/coverage", user(s.coverage))
	m.Handle("GET /api/v1/knowledge-points", user(s.getKnowledgePoints))
	m.Handle("GET /api/v1/curricula", user(s.getCurricula))
	m.Handle("PUT /api/v1/knowledge-points", user(s.putKnowledgePoints))
	m.HandleFunc("GET /api/v1/lessons/{id}/captions", s.listCaptions)
	m.HandleFunc("GET /api/v1/lessons/{id}/captions/{lang}", s.getCaption)
	m.Handle("PUT /api/v1/lessons/{id}/captions/{lang}", user(s.putCaption))
	m.Handle("DELETE /api/v1/lessons/{id}/captions/{lang}", user(s.deleteCaption))
}

// reviewStates maps an endpoint's verb to the state it moves to.
var reviewStates = map[string]string{
	"submit":  catalog.ReviewSubmitted,
	"approve": catalog.ReviewApproved,
	"reject":  catalog.ReviewRejected,
	"publish": catalog.ReviewPublished,
}

// editable are the states in which a teacher may change a lesson's or clip's content.
var editable = []string{catalog.ReviewDraft, catalog.ReviewRejected}

// lessonError answers an error of the catalog or auth with its status.
func (s *Server) lessonError(w http.ResponseWriter, r *http.Request, err error) {
	var se *catalog.StateError
	switch {
	case errors.Is(err, catalog.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", strings.TrimPrefix(err.Error(), "catalog: invalid: "))
	case errors.As(err, &se):
		writeError(w, http.StatusConflict, "illegal_transition", se.Error())
	default:
		s.authError(w, r, err)
	}
}

// principal returns the caller, or writes the reason the request is refused whatever
// the endpoint (a failed credential lookup, a missing CSRF token) and returns false.
func principal(w http.ResponseWriter, r *http.Request) (*auth.Principal, bool) {
	p := auth.FromContext(r.Context())
	if err := auth.Denial(r.Context()); err != nil && p == nil {
		auth.WriteError(w, err)
		return nil, false
	}
	return p, true
}

// owns reports whether p may manage an object owned by ownerID: its owner or an admin.
func owns(p *auth.Principal, ownerID string) bool {
	return p != nil && (p.IsAdmin() || ownerID != "" && p.UserID == ownerID)
}

// seesEverything: reviewers (and admins) see lessons in every state.
func seesEverything(p *auth.Principal) bool { return p.Is(auth.RoleReviewer) }

// checkView applies the visibility rule to an object in review state state.
func checkView(r *http.Request, p *auth.Principal, state string, sc auth.Scope) error {
	if owns(p, sc.OwnerID) || seesEverything(p) {
		return nil
	}
	share := r.URL.Query().Get("share")
	if state != catalog.ReviewPublished {
		if p == nil && share == "" {
			return auth.ErrUnauthenticated
		}
		return auth.ErrForbidden
	}
	return auth.CheckView(p, sc, share)
}

func lessonScope(l catalog.Lesson) auth.Scope {
	return auth.Scope{Visibility: auth.Visibility(l.Visibility), SchoolID: l.SchoolID, District: l.District, OwnerID: l.TeacherID, ShareToken: l.ShareToken}
}

func clipScope(m catalog.MicroLecture) auth.Scope {
	return auth.Scope{Visibility: auth.Visibility(m.Visibility), SchoolID: m.SchoolID, District: m.District, OwnerID: m.TeacherID, ShareToken: m.ShareToken}
}

// loadLesson reads the {id} lesson; bad ids are 404 like missing ones.
func (s *Server) loadLesson(w http.ResponseWriter, r *http.Request) (catalog.Lesson, bool) {
	id := r.PathValue("id")
	if !catalog.ValidID(id) {
		s.lessonError(w, r, catalog.ErrNotFound)
		return catalog.Lesson{}, false
	}
	l, err := s.opts.Catalog.Lesson(r.Context(), id)
	if err != nil {
		s.lessonError(w, r, err)
		return catalog.Lesson{}, false
	}
	return l, true
}

// viewableLesson loads the lesson of the path and applies the visibility rule,
// writing 401/403/404 when the caller may not see it.
func (s *Server) viewableLesson(w http.ResponseWriter, r *http.Request) (*auth.Principal, catalog.Lesson, bool) {
	p, ok := principal(w, r)
	if !ok {
		return nil, catalog.Lesson{}, false
	}
	l, ok := s.loadLesson(w, r)
	if !ok {
		return nil, catalog.Lesson{}, false
	}
	if err := checkView(r, p, l.State, lessonScope(l)); err != nil {
		auth.WriteError(w, err)
		return nil, catalog.Lesson{}, false
	}
	return p, l, true
}

// ownedLesson loads the lesson of the path for its owner or an admin (403 for others).
func (s *Server) ownedLesson(w http.ResponseWriter, r *http.Request) (*auth.Principal, catalog.Lesson, bool) {
	p := auth.FromContext(r.Context())
	l, ok := s.loadLesson(w, r)
	if !ok {
		return nil, catalog.Lesson{}, false
	}
	if !owns(p, l.TeacherID) {
		auth.WriteError(w, auth.ErrForbidden)
		return nil, catalog.Lesson{}, false
	}
	return p, l, true
}

// viewableClip is viewableLesson for the micro-lecture of the path.
func (s *Server) viewableClip(w http.ResponseWriter, r *http.Request) (*auth.Principal, catalog.MicroLecture, bool) {
	p, ok := principal(w, r)
	if !ok {
		return nil, catalog.MicroLecture{}, false
	}
	m, ok := s.loadClip(w, r)
	if !ok {
		return nil, catalog.MicroLecture{}, false
	}
	if err := checkView(r, p, m.State, clipScope(m)); err != nil {
		auth.WriteError(w, err)
		return nil, catalog.MicroLecture{}, false
	}
	return p, m, true
}

// ownedClip is ownedLesson for the micro-lecture of the path.
func (s *Server) ownedClip(w http.ResponseWriter, r *http.Request) (*auth.Principal, catalog.MicroLecture, bool) {
	p := auth.FromContext(r.Context())
	m, ok := s.loadClip(w, r)
	if !ok {
		return nil, catalog.MicroLecture{}, false
	}
	if !owns(p, m.TeacherID) {
		auth.WriteError(w, auth.ErrForbidden)
		return nil, catalog.MicroLecture{}, false
	}
	return p, m, true
}

func (s *Server) loadClip(w http.ResponseWriter, r *http.Request) (catalog.MicroLecture, bool) {
	id := r.PathValue("id")
	if !catalog.ValidID(id) {
		s.lessonError(w, r, catalog.ErrNotFound)
		return catalog.MicroLecture{}, false
	}
	m, err := s.opts.Catalog.MicroLecture(r.Context(), id)
	if err != nil {
		s.lessonError(w, r, err)
		return catalog.MicroLecture{}, false
	}
	return m, true
}

func (s *Server) audit(r *http.Request, p *auth.Principal, action, target string, detail map[string]any) {
	if s.opts.Auth != nil {
		s.opts.Auth.Audit(r.Context(), p, action, target, detail)
	}
}

// --- views

type lessonView struct {
	ID          string `json:"id"`
	AssetID     string `json:"asset_id"`
	Title       string `json:"title"`
	TeacherID   string `json:"teacher_id"`
	TeacherName string `json:"teacher_name"`
	SchoolID    string `json:"school_id"`
	SchoolName  string `json:"school_name"`
	// AssetState is the media's state (ready, processing, ...); PosterURL is set once
	// it is ready.
	AssetState      string     `json:"asset_state,omitempty"`
	PosterURL       string     `json:"poster_url,omitempty"`
	District        string     `json:"district"`
	Subject         string     `json:"subject"`
	Grade           string     `json:"grade"`
	TextbookEdition string     `json:"textbook_edition"`
	Chapter         string     `json:"chapter"`
	Description     string     `json:"description"`
	Origin          string     `json:"origin"`
	DurationMS      int64      `json:"duration_ms"`
	KnowledgePoints []string   `json:"knowledge_points"`
	State           string     `json:"state"`
	RejectReason    string     `json:"reject_reason,omitempty"`
	Visibility      string     `json:"visibility"`
	ShareToken      string     `json:"share_token,omitempty"` // to the owner, reviewers and admins
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	SubmittedAt     *time.Time `json:"submitted_at"`
	ReviewedAt      *time.Time `json:"reviewed_at"`
	ReviewerID      string     `json:"reviewer_id,omitempty"`
}

func viewLesson(p *auth.Principal, l catalog.Lesson) lessonView {
	v := lessonView{ID: l.ID, AssetID: l.AssetID, Title: l.Title, TeacherID: l.TeacherID, TeacherName: l.TeacherName,
		SchoolID: l.SchoolID, District: l.District, Subject: l.Subject, Grade: l.Grade, TextbookEdition: l.TextbookEdition,
		Chapter: l.Chapter, Description: l.Description, Origin: l.Origin, DurationMS: l.Duration.Milliseconds(),
		KnowledgePoints: l.KnowledgePoints, State: l.State, RejectReason: l.RejectReason, Visibility: l.Visibility,
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, SubmittedAt: optTime(l.SubmittedAt), ReviewedAt: optTime(l.ReviewedAt)}
	if v.KnowledgePoints == nil {
		v.KnowledgePoints = []string{}
	}
	v.SchoolName, v.AssetState = l.SchoolName, l.AssetState
	if l.AssetState == catalog.StateReady {
		v.PosterURL = "/vod/" + l.AssetID + "/poster.jpg"
	}
	if owns(p, l.TeacherID) || seesEverything(p) {
		v.ShareToken, v.ReviewerID = l.ShareToken, l.ReviewerID
	}
	return v
}

type clipView struct {
	ID             string     `json:"id"`
	LessonID       string     `json:"lesson_id"`
	AssetID        string     `json:"asset_id"`
	Title          string     `json:"title"`
	KnowledgePoint string     `json:"knowledge_point"`
	StartMS        int64      `json:"start_ms"`
	EndMS          int64      `json:"end_ms"`
	State          string     `json:"state"`
	RejectReason   string     `json:"reject_reason,omitempty"`
	Visibility     string     `json:"visibility"`
	ShareToken     string     `json:"share_token,omitempty"`
	TeacherID      string     `json:"teacher_id"`
	SchoolID       string     `json:"school_id"`
	Subject        string     `json:"subject"`
	Grade          string     `json:"grade"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	SubmittedAt    *time.Time `json:"submitted_at"`
	ReviewedAt     *time.Time `json:"reviewed_at"`
	ReviewerID     string     `json:"reviewer_id,omitempty"`
}

func viewClip(p *auth.Principal, m catalog.MicroLecture) clipView {
	v := clipView{ID: m.ID, LessonID: m.LessonID, AssetID: m.AssetID, Title: m.Title, KnowledgePoint: m.KnowledgePoint,
		StartMS: m.Start.Milliseconds(), EndMS: m.End.Milliseconds(), State: m.State, RejectReason: m.RejectReason,
		Visibility: m.Visibility, TeacherID: m.TeacherID, SchoolID: m.SchoolID, Subject: m.Subject, Grade: m.Grade,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, SubmittedAt: optTime(m.SubmittedAt), ReviewedAt: optTime(m.ReviewedAt)}
	if owns(p, m.TeacherID) || seesEverything(p) {
		v.ShareToken, v.ReviewerID = m.ShareToken, m.ReviewerID
	}
	return v
}

// --- lessons

func (s *Server) listLessons(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	limit, offset, ok := pageOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := catalog.LessonFilter{Q: q.Get("q"), Subject: q.Get("subject"), Grade: q.Get("grade"), SchoolID: q.Get("school"),
		District: q.Get("district"), TeacherID: q.Get("teacher"), State: q.Get("state"), KnowledgePoint: q.Get("point"),
		Sort: q.Get("sort"), Limit: limit, Offset: offset}
	if len([]rune(f.Q)) > 100 {
		writeError(w, http.StatusBadRequest, "bad_q", "q is longer than 100 characters")
		return
	}
	if f.State != "" && !contains(catalog.LessonStates, f.State) {
		writeError(w, http.StatusBadRequest, "bad_state", "state must be one of "+strings.Join(catalog.LessonStates, ", "))
		return
	}
	if !catalog.ValidSort(f.Sort) {
		writeError(w, http.StatusBadRequest, "bad_sort", "sort must be one of newest, oldest, title, duration, submitted")
		return
	}
	if v := q.Get("mine"); v != "" && v != "0" && v != "false" {
		if p == nil {
			auth.WriteError(w, auth.ErrUnauthenticated)
			return
		}
		f.TeacherID = p.UserID
	}
	switch {
	case p == nil:
		f.Access = catalog.AnonymousAccess
	case !seesEverything(p):
		f.Access = &catalog.LessonAccess{UserID: p.UserID, SchoolID: p.SchoolID, District: p.District}
	}
	list, total, err := s.opts.Catalog.ListLessons(r.Context(), f)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	out := make([]lessonView, 0, len(list))
	for _, l := range list {
		out = append(out, viewLesson(p, l))
	}
	if p != nil {
		noStore(w)
	}
	writeJSON(w, http.StatusOK, map[string]any{"lessons": out, "total": total, "limit": f.Limit, "offset": f.Offset})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// lessonBody is the JSON of a lesson's create and update requests.
type lessonBody struct {
	AssetID         *string   `json:"asset_id"`
	Title           *string   `json:"title"`
	Subject         *string   `json:"subject"`
	Grade           *string   `json:"grade"`
	TextbookEdition *string   `json:"textbook_edition"`
	Chapter         *string   `json:"chapter"`
	Description     *string   `json:"description"`
	Origin          *string   `json:"origin"`
	DurationMS      *int64    `json:"duration_ms"`
	KnowledgePoints *[]string `json:"knowledge_points"`
	Visibility      *string   `json:"visibility"`
	// TeacherID makes an admin's new lesson someone else's (create only).
	TeacherID *string `json:"teacher_id"`
	// RotateShareToken replaces the share link's secret (update only).
	RotateShareToken bool `json:"rotate_share_token"`
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (s *Server) createLesson(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	if !p.Is(auth.RoleTeacher) {
		auth.WriteError(w, auth.ErrForbidden)
		return
	}
	var in lessonBody
	if !decodeJSON(w, r, &in) {
		return
	}
	ctx := r.Context()
	l := catalog.Lesson{ID: catalog.NewLessonID(), AssetID: deref(in.AssetID), Title: deref(in.Title), Subject: deref(in.Subject),
		Grade: deref(in.Grade), TextbookEdition: deref(in.TextbookEdition), Chapter: deref(in.Chapter),
		Description: deref(in.Description), Origin: deref(in.Origin), Duration: time.Duration(deref(in.DurationMS)) * time.Millisecond,
		KnowledgePoints: deref(in.KnowledgePoints), Visibility: deref(in.Visibility), ShareToken: catalog.NewShareToken(),
		TeacherID: p.UserID, TeacherName: p.DisplayName, SchoolID: p.SchoolID, District: p.District}
	if l.TeacherName == "" {
		l.TeacherName = p.Username
	}
	if in.TeacherID != nil && *in.TeacherID != p.UserID {
		if !p.IsAdmin() {
			writeError(w, http.StatusForbidden, "forbidden", "only admins may create a lesson for another teacher")
			return
		}
		u, err := s.opts.Catalog.User(ctx, *in.TeacherID)
		if errors.Is(err, catalog.ErrNotFound) {
			writeError(w, http.StatusBadRequest, "invalid", "teacher_id: no such user")
			return
		} else if err != nil {
			s.lessonError(w, r, err)
			return
		}
		l.TeacherID, l.TeacherName, l.SchoolID, l.District = u.ID, u.DisplayName, u.SchoolID, u.District
		if l.TeacherName == "" {
			l.TeacherName = u.Username
		}
	}
	if l.AssetID != "" {
		if !s.fillFromAsset(w, r, &l, in.Origin == nil, in.DurationMS == nil) {
			return
		}
	}
	if err := s.opts.Catalog.CreateLesson(ctx, l); err != nil {
		s.lessonError(w, r, err)
		return
	}
	l, err := s.opts.Catalog.Lesson(ctx, l.ID)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/lessons/"+l.ID)
	writeJSON(w, http.StatusCreated, viewLesson(p, l))
}

// fillFromAsset checks that l's asset exists and that the caller may make a lesson of
// it, and takes its origin and duration when the request did not give them.
func (s *Server) fillFromAsset(w http.ResponseWriter, r *http.Request, l *catalog.Lesson, origin, duration bool) bool {
	if !catalog.ValidID(l.AssetID) {
		writeError(w, http.StatusBadRequest, "invalid", "asset_id: not an asset id")
		return false
	}
	a, err := s.opts.Catalog.Asset(r.Context(), l.AssetID)
	if errors.Is(err, catalog.ErrNotFound) {
		writeError(w, http.StatusBadRequest, "invalid", "asset_id: no such asset")
		return false
	} else if err != nil {
		s.lessonError(w, r, err)
		return false
	}
	if ok, why, err := s.mayMakeLessonOf(r, a); err != nil {
		s.lessonError(w, r, err)
		return false
	} else if !ok {
		writeError(w, http.StatusForbidden, "forbidden", why)
		return false
	}
	if origin && (a.Kind == catalog.KindRecording || a.Kind == catalog.KindUpload) {
		l.Origin = a.Kind
	}
	if duration && a.Duration > 0 {
		l.Duration = a.Duration
	}
	return true
}

// mayMakeLessonOf decides whether the caller may put asset a in a lesson of theirs. Owning
// a lesson that uses an asset opens its media to the owner, so this is an access rule:
// a classroom's recordings are made into lessons by its school's teachers (however the
// classroom's visibility is set, and whoever made a lesson of it before), the recordings
// of a stream no classroom owns by whoever may watch it (its viewer token, if it has
// one); an upload or a clip only by a teacher one of whose lessons or micro-lectures
// already uses it. Admins may use any asset.
func (s *Server) mayMakeLessonOf(r *http.Request, a catalog.Asset) (bool, string, error) {
	p := auth.FromContext(r.Context())
	if p.IsAdmin() {
		return true, "", nil
	}
	if a.Kind == catalog.KindRecording {
		if a.StreamPath == "" {
			return true, "", nil
		}
		if s.opts.Auth != nil {
			sc, owned, err := s.streamScope(r.Context(), a.StreamPath)
			if err != nil {
				return false, "", err
			}
			if owned && sc.SchoolID != p.SchoolID {
				return false, "asset_id: only teachers of the classroom's school make lessons of its classes", nil
			}
			if owned {
				return true, "", nil
			}
		}
		if !s.streamTokenOK(r, a.StreamPath) {
			return false, "asset_id: this stream's recordings need its viewer token", nil
		}
		return true, "", nil
	}
	uses, err := s.opts.Catalog.AssetUses(r.Context(), a.ID)
	if err != nil {
		return false, "", err
	}
	for _, u := range uses {
		if u.OwnerID == p.UserID {
			return true, "", nil
		}
	}
	return false, "asset_id: not your media (make a lesson of your own upload or of a class recording)", nil
}

func (s *Server) getLesson(w http.ResponseWriter, r *http.Request) {
	p, l, ok := s.viewableLesson(w, r)
	if !ok {
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, viewLesson(p, l))
}

func (s *Server) updateLesson(w http.ResponseWriter, r *http.Request) {
	p, l, ok := s.ownedLesson(w, r)
	if !ok {
		return
	}
	var in lessonBody
	if !decodeJSON(w, r, &in) {
		return
	}
	if in.TeacherID != nil || in.Origin != nil {
		writeError(w, http.StatusBadRequest, "invalid", "teacher_id and origin cannot be changed")
		return
	}
	ch := catalog.LessonChange{AssetID: in.AssetID, Title: in.Title, Subject: in.Subject, Grade: in.Grade,
		TextbookEdition: in.TextbookEdition, Chapter: in.Chapter, Description: in.Description,
		KnowledgePoints: in.KnowledgePoints, Visibility: in.Visibility}
	if in.DurationMS != nil {
		d := time.Duration(*in.DurationMS) * time.Millisecond
		ch.Duration = &d
	}
	if in.RotateShareToken {
		t := catalog.NewShareToken()
		ch.ShareToken = &t
	}
	content := ch.AssetID != nil || ch.Title != nil || ch.Subject != nil || ch.Grade != nil || ch.TextbookEdition != nil ||
		ch.Chapter != nil || ch.Description != nil || ch.KnowledgePoints != nil || ch.Duration != nil
	// Teachers change what a reviewer judged only before review or after a rejection;
	// who may watch it (visibility, the share link) they change at any time.
	if content && !p.IsAdmin() {
		ch.IfState = editable
	}
	if in.AssetID != nil && *in.AssetID != "" {
		// The new asset is what is checked (and what gives the duration).
		l.AssetID = *in.AssetID
		if !s.fillFromAsset(w, r, &l, false, in.DurationMS == nil) {
			return
		}
		if in.DurationMS == nil && l.Duration > 0 {
			ch.Duration = &l.Duration
		}
	}
	l, err := s.opts.Catalog.UpdateLesson(r.Context(), l.ID, ch)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewLesson(p, l))
}

func (s *Server) deleteLesson(w http.ResponseWriter, r *http.Request) {
	p, l, ok := s.ownedLesson(w, r)
	if !ok {
		return
	}
	var ifState []string
	if !p.IsAdmin() {
		ifState = editable
	}
	if err := s.opts.Catalog.DeleteLesson(r.Context(), l.ID, ifState...); err != nil {
		s.lessonError(w, r, err)
		return
	}
	// Its captions go with it; its video and clips' media once the sweeper of unused
	// media finds them (internal/reclaim), after a grace period for viewers.
	if s.opts.Store != nil {
		if err := s.opts.Store.DeletePrefix(r.Context(), captionPrefix(l.ID)); err != nil {
			s.opts.Log.Warn("deleted lesson's captions left in the store", "lesson", l.ID, "error", err)
		}
	}
	s.audit(r, p, "lesson.delete", "lesson:"+l.ID, map[string]any{"title": l.Title, "state": l.State})
	w.WriteHeader(http.StatusNoContent)
}

// reviewBody is the optional body of a review action; reject needs a reason.
type reviewBody struct {
	Reason string `json:"reason"`
}

// reviewInput reads the body of a review action: required JSON for reject, ignored
// (may be empty) otherwise.
func reviewInput(w http.ResponseWriter, r *http.Request, verb string) (reviewBody, bool) {
	var in reviewBody
	if verb != "reject" {
		return in, true
	}
	if r.ContentLength == 0 {
		writeError(w, http.StatusBadRequest, "invalid", `reason: a rejection needs a reason, sent as {"reason": "..."}`)
		return in, false
	}
	if !decodeJSON(w, r, &in) {
		return in, false
	}
	if strings.TrimSpace(in.Reason) == "" {
		writeError(w, http.StatusBadRequest, "invalid", "reason: a rejection needs a reason")
		return in, false
	}
	return in, true
}

// mayReview says whether p may take a review action on an object owned by ownerID.
func mayReview(p *auth.Principal, verb, ownerID string) error {
	switch verb {
	case "submit":
		if !owns(p, ownerID) {
			return auth.ErrForbidden
		}
	case "approve", "reject":
		if !p.Is(auth.RoleReviewer) || !p.IsAdmin() && p.UserID == ownerID {
			return auth.ErrForbidden
		}
	case "publish":
		if !p.Is(auth.RoleReviewer) {
			return auth.ErrForbidden
		}
	}
	return nil
}

func (s *Server) reviewLesson(verb string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		l, ok := s.loadLesson(w, r)
		if !ok {
			return
		}
		if err := mayReview(p, verb, l.TeacherID); err != nil {
			auth.WriteError(w, err)
			return
		}
		in, ok := reviewInput(w, r, verb)
		if !ok {
			return
		}
		nl, err := s.opts.Catalog.ReviewLesson(r.Context(), l.ID, catalog.Review{To: reviewStates[verb], Reason: in.Reason, ReviewerID: p.UserID})
		if err != nil {
			s.lessonError(w, r, err)
			return
		}
		detail := map[string]any{"title": l.Title, "from": l.State, "to": nl.State}
		if in.Reason != "" {
			detail["reason"] = nl.RejectReason
		}
		s.audit(r, p, "review."+verb, "lesson:"+l.ID, detail)
		writeJSON(w, http.StatusOK, viewLesson(p, nl))
	}
}

// --- clips (micro-lectures)

func (s *Server) listClips(w http.ResponseWriter, r *http.Request) {
	p, l, ok := s.viewableLesson(w, r)
	if !ok {
		return
	}
	list, _, err := s.opts.Catalog.ListMicroLectures(r.Context(), catalog.MicroLectureFilter{LessonID: l.ID, Limit: 500})
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	out := make([]clipView, 0, len(list))
	for _, m := range list {
		if checkView(r, p, m.State, clipScope(m)) == nil {
			out = append(out, viewClip(p, m))
		}
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"clips": out, "total": len(out)})
}

type clipBody struct {
	Title          *string `json:"title"`
	KnowledgePoint *string `json:"knowledge_point"`
	StartMS        *int64  `json:"start_ms"`
	EndMS          *int64  `json:"end_ms"`
	Visibility     *string `json:"visibility"`
	// RotateShareToken replaces the share link's secret (update only).
	RotateShareToken bool `json:"rotate_share_token"`
	// Recut makes the clip's media again (update only), e.g. after a failed cut.
	Recut bool `json:"recut"`
}

// createClip records a clip's metadata in state draft; the cutting task fills in
// asset_id when the clip's media is made.
func (s *Server) createClip(w http.ResponseWriter, r *http.Request) {
	p, l, ok := s.ownedLesson(w, r)
	if !ok {
		return
	}
	var in clipBody
	if !decodeJSON(w, r, &in) {
		return
	}
	if in.StartMS == nil || in.EndMS == nil {
		writeError(w, http.StatusBadRequest, "invalid", "start_ms and end_ms are required")
		return
	}
	m := catalog.MicroLecture{ID: catalog.NewMicroLectureID(), LessonID: l.ID, Title: deref(in.Title),
		KnowledgePoint: deref(in.KnowledgePoint), Start: time.Duration(*in.StartMS) * time.Millisecond,
		End: time.Duration(*in.EndMS) * time.Millisecond, Visibility: deref(in.Visibility), ShareToken: catalog.NewShareToken()}
	if m.Visibility == "" {
		m.Visibility = l.Visibility
	}
	cut, ok := s.clipSource(w, r, l)
	if !ok {
		return
	}
	if err := s.opts.Catalog.CreateMicroLecture(r.Context(), m); err != nil {
		s.lessonError(w, r, err)
		return
	}
	if cut {
		if _, err := s.cutClip(r, l, m.ID, m.Start, m.End); err != nil {
			// The clip's row stays: saving its times again retries the cut.
			s.opts.Log.Error("clip cut not queued", "clip", m.ID, "error", err)
		}
	}
	m, err := s.opts.Catalog.MicroLecture(r.Context(), m.ID)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/clips/"+m.ID)
	writeJSON(w, http.StatusCreated, viewClip(p, m))
}

// clipSource says whether a clip of lesson l can be cut now (true) or is recorded
// without media (false: no queue on this node, or a lesson without media). A lesson
// whose media is not ready yet refuses clips: 409 not_ready, with its state.
func (s *Server) clipSource(w http.ResponseWriter, r *http.Request, l catalog.Lesson) (bool, bool) {
	if s.opts.Clips == nil || l.AssetID == "" {
		return false, true
	}
	a, err := s.opts.Catalog.Asset(r.Context(), l.AssetID)
	if err != nil {
		s.lessonError(w, r, err)
		return false, false
	}
	if a.State != catalog.StateReady {
		writeError(w, http.StatusConflict, "not_ready", fmt.Sprintf("the lesson's video is %s; clips can be cut once it is ready", a.State))
		return false, false
	}
	return true, true
}

// cutClip makes a new clip asset for micro-lecture mlID, points the micro-lecture at
// it and queues the cut. A cut that cannot be queued leaves the asset failed with a
// reason the teacher sees; saving the clip again retries.
func (s *Server) cutClip(r *http.Request, l catalog.Lesson, mlID string, start, end time.Duration) (string, error) {
	ctx := r.Context()
	id := "clip-" + catalog.NewShareToken()[:16]
	a := catalog.Asset{ID: id, Kind: catalog.KindClip, Title: l.Title, State: catalog.StateQueued, Duration: end - start,
		SourceKey: "vod/" + l.AssetID + "/"}
	if err := s.opts.Catalog.CreateAsset(ctx, a); err != nil {
		return "", err
	}
	if _, err := s.opts.Catalog.UpdateMicroLecture(ctx, mlID, catalog.MicroLectureChange{AssetID: &id}); err != nil {
		return "", err
	}
	if err := s.opts.Clips.EnqueueClip(ctx, transcode.ClipV1{V: 1, AssetID: id, SourceAssetID: l.AssetID, Start: start, End: end}); err != nil {
		_ = s.opts.Catalog.SetFailed(ctx, id, "the task queue did not answer; save the clip again to retry")
		return "", err
	}
	return id, nil
}

// listAllClips lists micro-lectures across lessons: a teacher's own (everyone may ask
// for theirs with mine=1; teachers and viewers get only theirs), or, for reviewers and
// admins, everyone's, e.g. state=approved to publish them.
func (s *Server) listAllClips(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	limit, offset, ok := pageOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := catalog.MicroLectureFilter{State: q.Get("state"), KnowledgePoint: q.Get("point"), LessonID: q.Get("lesson"), Limit: limit, Offset: offset}
	if f.State != "" && !contains(catalog.LessonStates, f.State) {
		writeError(w, http.StatusBadRequest, "bad_state", "state must be one of "+strings.Join(catalog.LessonStates, ", "))
		return
	}
	if v := q.Get("mine"); v != "" && v != "0" && v != "false" || !seesEverything(p) {
		f.TeacherID = p.UserID
	}
	list, total, err := s.opts.Catalog.ListMicroLectures(r.Context(), f)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	out := make([]clipView, 0, len(list))
	for _, m := range list {
		out = append(out, viewClip(p, m))
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"clips": out, "total": total, "limit": f.Limit, "offset": f.Offset})
}

func (s *Server) getClip(w http.ResponseWriter, r *http.Request) {
	p, m, ok := s.viewableClip(w, r)
	if !ok {
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, viewClip(p, m))
}

func (s *Server) updateClip(w http.ResponseWriter, r *http.Request) {
	p, m, ok := s.ownedClip(w, r)
	if !ok {
		return
	}
	var in clipBody
	if !decodeJSON(w, r, &in) {
		return
	}
	ch := catalog.MicroLectureChange{Title: in.Title, KnowledgePoint: in.KnowledgePoint, Visibility: in.Visibility}
	if in.StartMS != nil {
		d := time.Duration(*in.StartMS) * time.Millisecond
		ch.Start = &d
	}
	if in.EndMS != nil {
		d := time.Duration(*in.EndMS) * time.Millisecond
		ch.End = &d
	}
	if in.RotateShareToken {
		t := catalog.NewShareToken()
		ch.ShareToken = &t
	}
	if (ch.Title != nil || ch.KnowledgePoint != nil || ch.Start != nil || ch.End != nil || in.Recut) && !p.IsAdmin() {
		ch.IfState = editable
	}
	// New cut points, a clip whose media was never made, or an asked-for recut: cut.
	if in.Recut || ch.Start != nil && *ch.Start != m.Start || ch.End != nil && *ch.End != m.End ||
		m.AssetID == "" && (ch.Start != nil || ch.End != nil) {
		l, err := s.opts.Catalog.Lesson(r.Context(), m.LessonID)
		if err != nil {
			s.lessonError(w, r, err)
			return
		}
		cut, ok := s.clipSource(w, r, l)
		if !ok {
			return
		}
		updated, err := s.opts.Catalog.UpdateMicroLecture(r.Context(), m.ID, ch)
		if err != nil {
			s.lessonError(w, r, err)
			return
		}
		if cut {
			if _, err := s.cutClip(r, l, updated.ID, updated.Start, updated.End); err != nil {
				s.opts.Log.Error("clip cut not queued", "clip", m.ID, "error", err)
			}
		}
		if m, err = s.opts.Catalog.MicroLecture(r.Context(), m.ID); err != nil {
			s.lessonError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, viewClip(p, m))
		return
	}
	m, err := s.opts.Catalog.UpdateMicroLecture(r.Context(), m.ID, ch)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewClip(p, m))
}

func (s *Server) deleteClip(w http.ResponseWriter, r *http.Request) {
	p, m, ok := s.ownedClip(w, r)
	if !ok {
		return
	}
	var ifState []string
	if !p.IsAdmin() {
		ifState = editable
	}
	if err := s.opts.Catalog.DeleteMicroLecture(r.Context(), m.ID, ifState...); err != nil {
		s.lessonError(w, r, err)
		return
	}
	s.audit(r, p, "clip.delete", "clip:"+m.ID, map[string]any{"title": m.Title, "state": m.State})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) reviewClip(verb string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		m, ok := s.loadClip(w, r)
		if !ok {
			return
		}
		if err := mayReview(p, verb, m.TeacherID); err != nil {
			auth.WriteError(w, err)
			return
		}
		in, ok := reviewInput(w, r, verb)
		if !ok {
			return
		}
		nm, err := s.opts.Catalog.ReviewMicroLecture(r.Context(), m.ID, catalog.Review{To: reviewStates[verb], Reason: in.Reason, ReviewerID: p.UserID})
		if err != nil {
			s.lessonError(w, r, err)
			return
		}
		detail := map[string]any{"title": m.Title, "lesson": m.LessonID, "from": m.State, "to": nm.State}
		if in.Reason != "" {
			detail["reason"] = nm.RejectReason
		}
		s.audit(r, p, "review."+verb, "clip:"+m.ID, detail)
		writeJSON(w, http.StatusOK, viewClip(p, nm))
	}
}

// --- review queue, coverage, knowledge points

// reviewQueue lists submitted lessons and clips, oldest submission first (reviewers).
func (s *Server) reviewQueue(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	if !p.Is(auth.RoleReviewer) {
		auth.WriteError(w, auth.ErrForbidden)
		return
	}
	limit, offset, ok := pageOf(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	lessons, lessonsTotal, err := s.opts.Catalog.ListLessons(ctx, catalog.LessonFilter{State: catalog.ReviewSubmitted,
		Sort: catalog.SortSubmitted, Limit: limit, Offset: offset})
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	clips, clipsTotal, err := s.opts.Catalog.ListMicroLectures(ctx, catalog.MicroLectureFilter{State: catalog.ReviewSubmitted, Limit: limit, Offset: offset})
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	lv := make([]lessonView, 0, len(lessons))
	for _, l := range lessons {
		lv = append(lv, viewLesson(p, l))
	}
	cv := make([]clipView, 0, len(clips))
	for _, m := range clips {
		cv = append(cv, viewClip(p, m))
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"lessons": lv, "lessons_total": lessonsTotal, "clips": cv, "clips_total": clipsTotal})
}

func subjectGrade(w http.ResponseWriter, r *http.Request) (subject, grade string, ok bool) {
	subject, grade = strings.TrimSpace(r.URL.Query().Get("subject")), strings.TrimSpace(r.URL.Query().Get("grade"))
	if subject == "" || grade == "" {
		writeError(w, http.StatusBadRequest, "invalid", "subject and grade are required")
		return "", "", false
	}
	return subject, grade, true
}

type pointCoverageView struct {
	Point         string `json:"point"`
	Covered       bool   `json:"covered"`
	MicroLectures int    `json:"micro_lectures"`
	Lessons       int    `json:"lessons"`
	InCurriculum  bool   `json:"in_curriculum"`
	// ClipIDs are the covering micro-lectures (GET /api/v1/clips/{id} applies their
	// visibility).
	ClipIDs []string `json:"clip_ids"`
}

// coverage answers which knowledge points of a subject and grade have an approved or
// published micro-lecture, and which have none.
func (s *Server) coverage(w http.ResponseWriter, r *http.Request) {
	subject, grade, ok := subjectGrade(w, r)
	if !ok {
		return
	}
	cov, err := s.opts.Catalog.Coverage(r.Context(), subject, grade)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	out := make([]pointCoverageView, 0, len(cov))
	covered := 0
	for _, c := range cov {
		out = append(out, pointCoverageView{Point: c.Point, Covered: c.Covered, MicroLectures: c.MicroLectures, Lessons: c.Lessons, InCurriculum: c.InCurriculum, ClipIDs: c.MicroLectureIDs})
		if c.Covered {
			covered++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"subject": subject, "grade": grade, "points": out, "covered": covered, "total": len(out)})
}

func (s *Server) getKnowledgePoints(w http.ResponseWriter, r *http.Request) {
	subject, grade, ok := subjectGrade(w, r)
	if !ok {
		return
	}
	pts, err := s.opts.Catalog.KnowledgePoints(r.Context(), subject, grade)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"subject": subject, "grade": grade, "points": pts})
}

// getCurricula lists the subjects and grades that have a curriculum, for the coverage
// view's choices.
func (s *Server) getCurricula(w http.ResponseWriter, r *http.Request) {
	list, err := s.opts.Catalog.Curricula(r.Context())
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"curricula": list})
}

// putKnowledgePoints replaces a subject and grade's curriculum (reviewers, admins).
func (s *Server) putKnowledgePoints(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	if !p.Is(auth.RoleReviewer) {
		auth.WriteError(w, auth.ErrForbidden)
		return
	}
	var in struct {
		Subject string   `json:"subject"`
		Grade   string   `json:"grade"`
		Points  []string `json:"points"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.Catalog.SetKnowledgePoints(r.Context(), in.Subject, in.Grade, in.Points); err != nil {
		s.lessonError(w, r, err)
		return
	}
	s.audit(r, p, "review.knowledge_points", "curriculum:"+in.Subject+"/"+in.Grade, map[string]any{"points": len(in.Points)})
	pts, err := s.opts.Catalog.KnowledgePoints(r.Context(), in.Subject, in.Grade)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"subject": in.Subject, "grade": in.Grade, "points": pts})
}

// lessonsOpenAPI describes the endpoints of lessonRoutes for /api/v1/openapi.json.
func lessonsOpenAPI(jsonErr func(string) map[string]any) map[string]any {
	idParam := []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}}
	op := func(summary string, ok string, errs ...string) map[string]any {
		resp := map[string]any{ok[:3]: map[string]any{"description": ok[4:]}}
		for _, e := range errs {
			resp[e[:3]] = jsonErr(e[4:])
		}
		return map[string]any{"summary": summary, "parameters": idParam, "responses": resp}
	}
	noID := func(m map[string]any) map[string]any { delete(m, "parameters"); return m }
	review := func(what, summary string) map[string]any {
		return map[string]any{"post": op(summary, "200 the "+what+" in its new state", "400 reject without a reason",
			"401 sign in", "403 not the owner (submit) or not a reviewer (approve, reject: not one's own; publish)",
			"404 no such "+what, "409 illegal transition from the current state")}
	}
	paths := map[string]any{
		"/api/v1/lessons": map[string]any{
			"get": noID(op("Search lessons the caller may see. Query: q (substring of title, teacher or knowledge point; "+
				"Chinese works, % and _ are literal), subject, grade, school, district, teacher, state, point, mine=1, "+
				"sort=newest|oldest|title|duration|submitted, limit, offset", `200 {"lessons": [Lesson], "total": n}`, "400 bad filter")),
			"post": noID(op("Create a lesson in draft (teachers; admins may give teacher_id)", "201 Lesson",
				"400 bad field or unknown asset_id", "401 sign in", "403 not a teacher")),
		},
		"/api/v1/lessons/{id}": map[string]any{
			"get": op("One lesson (drafts: owner, reviewers, admins; published: by visibility, ?share=<token> for link)", "200 Lesson",
				"401 sign in", "403 not visible to you", "404 no such lesson"),
			"patch": op("Edit a lesson (owner in draft or rejected, admins always; visibility and rotate_share_token at any time)",
				"200 Lesson", "400 bad field", "401 sign in", "403 not the owner", "404 no such lesson", "409 not editable in this state"),
			"delete": op("Delete a lesson (owner in draft or rejected, admins always)", "204 deleted",
				"401 sign in", "403 not the owner", "404 no such lesson", "409 not deletable in this state"),
		},
		"/api/v1/lessons/{id}/clips": map[string]any{
			"get": op("The lesson's micro-lectures the caller may see", `200 {"clips": [Clip]}`, "401 sign in", "403 not visible", "404 no such lesson"),
			"post": op("Record a micro-lecture (title, knowledge_point, start_ms, end_ms, visibility) in draft; the cutting task fills asset_id",
				"201 Clip", "400 bad times or field", "401 sign in", "403 not the owner", "404 no such lesson"),
		},
		"/api/v1/clips": map[string]any{"get": noID(op("Micro-lectures across lessons: the caller's own (mine=1; always so for teachers and viewers), "+
			"or everyone's for reviewers and admins. Query: state, point, lesson, limit, offset", `200 {"clips": [Clip], "total": n}`, "400 bad state", "401 sign in"))},
		"/api/v1/clips/{id}": map[string]any{
			"get":    op("One micro-lecture", "200 Clip", "401 sign in", "403 not visible", "404 no such clip"),
			"patch":  op("Edit a micro-lecture (as lessons)", "200 Clip", "400 bad field", "401 sign in", "403 not the owner", "404 no such clip", "409 not editable"),
			"delete": op("Delete a micro-lecture (as lessons)", "204 deleted", "401 sign in", "403 not the owner", "404 no such clip", "409 not deletable"),
		},
		"/api/v1/lessons/{id}/captions": map[string]any{
			"get": op("The lesson's caption tracks", `200 {"captions": [{lang, label, url, created_at}]}`, "401 sign in", "403 not visible", "404 no such lesson"),
		},
		"/api/v1/lessons/{id}/captions/{lang}": map[string]any{
			"get": op("The track's WebVTT file (text/vtt)", "200 WebVTT", "401 sign in", "403 not visible", "404 no such lesson or track"),
			"put": op("Add or replace the caption track of a language: the body is a WebVTT or SRT file (UTF-8, at most 2 MiB; SRT is converted), ?label= names it",
				"200 {lang, label, url, created_at}", "400 bad lang", "401 sign in", "403 not the owner", "404 no such lesson", "413 too large", "422 not a caption file, with the reason"),
			"delete": op("Remove a caption track", "204 removed", "401 sign in", "403 not the owner", "404 no such lesson or track"),
		},
		"/api/v1/review/queue": map[string]any{"get": noID(op("Submitted lessons and clips, oldest first (reviewers)",
			`200 {"lessons": [Lesson], "lessons_total": n, "clips": [Clip], "clips_total": n}`, "401 sign in", "403 not a reviewer"))},
		"/api/v1/coverage": map[string]any{"get": noID(op("Knowledge points of ?subject&grade and whether an approved or published micro-lecture covers each",
			`200 {"points": [{point, covered, micro_lectures, clip_ids, lessons, in_curriculum}], "covered": n, "total": n}`, "400 subject and grade required", "401 sign in"))},
		"/api/v1/curricula": map[string]any{"get": noID(op("Subjects and grades that have knowledge points",
			`200 {"curricula": [{subject, grade, points}]}`, "401 sign in"))},
		"/api/v1/knowledge-points": map[string]any{
			"get": noID(op("The curriculum's knowledge points of ?subject&grade", `200 {"points": [string]}`, "400 subject and grade required", "401 sign in")),
			"put": noID(op("Replace the curriculum of {subject, grade, points} (reviewers)", `200 {"points": [string]}`, "400 bad field", "401 sign in", "403 not a reviewer")),
		},
	}
	for _, verb := range []string{"submit", "approve", "reject", "publish"} {
		paths["/api/v1/lessons/{id}/"+verb] = review("lesson", verb+" a lesson")
		paths["/api/v1/clips/{id}/"+verb] = review("clip", verb+" a micro-lecture")
	}
	return paths
}

// errStreamToken: the recording's stream needs the config's viewer token, which the
// request lacks or gets wrong (loadAsset answers as for the live stream).
var errStreamToken = errors.New("api: the stream's viewer token is needed")

// checkMediaView applies lesson visibility to an asset's media (/vod/ and
// /api/v1/assets/{id}): the caller may see it when they may see one of the lessons or
// micro-lectures that use it (?share=<token> included). A class's recording is also
// seen by whom its live class was, whatever lessons were made of it (a famous teacher's
// public class stays open to rural schools after the teacher makes a draft lesson of it):
// its classroom's visibility (the classroom's share token as ?share=), or, for a stream
// no classroom owns, the stream's viewer token if the config gives it one
// (errStreamToken otherwise). An upload or a clip that nothing uses any more (its lesson
// deleted, its micro-lecture cut again or deleted) is media someone took back: only
// reviewers and admins see it until the sweeper of unused media (internal/reclaim)
// deletes it.
func (s *Server) checkMediaView(r *http.Request, a catalog.Asset) error {
	uses, err := s.assetUses(r.Context(), a.ID)
	if err != nil {
		return err
	}
	p := auth.FromContext(r.Context())
	if seesEverything(p) {
		return nil
	}
	var denied error
	for _, u := range uses {
		denied = checkView(r, p, u.State, auth.Scope{Visibility: auth.Visibility(u.Visibility), SchoolID: u.SchoolID,
			District: u.District, OwnerID: u.OwnerID, ShareToken: u.ShareToken})
		if denied == nil {
			return nil
		}
	}
	if a.Kind == catalog.KindRecording && a.StreamPath != "" {
		if s.opts.Auth != nil {
			sc, owned, err := s.streamScope(r.Context(), a.StreamPath)
			if err != nil {
				return err
			}
			if owned {
				return auth.CheckView(p, sc, r.URL.Query().Get("share"))
			}
		}
		if !s.streamTokenOK(r, a.StreamPath) {
			return errStreamToken
		}
		return nil
	}
	switch {
	case len(uses) > 0:
		return denied
	case a.Kind == catalog.KindUpload || a.Kind == catalog.KindClip:
		if p == nil {
			return auth.ErrUnauthenticated
		}
		return auth.ErrForbidden
	}
	return nil
}
