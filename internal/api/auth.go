package api

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/catalog"
)

// authRoutes mounts sign-in, own tokens and the admin API (users, schools,
// classrooms, audit log). Every handler here runs behind auth.Middleware (see New).
func (s *Server) authRoutes() {
	m := s.mux
	user := func(h http.HandlerFunc) http.Handler { return auth.RequireUser(h) }
	admin := func(h http.HandlerFunc) http.Handler { return auth.RequireRole(auth.RoleAdmin)(h) }

	m.HandleFunc("POST /api/v1/auth/login", s.login)
	m.Handle("POST /api/v1/auth/logout", user(s.logout))
	m.Handle("GET /api/v1/auth/me", user(s.me))
	m.Handle("POST /api/v1/auth/password", user(s.changePassword))
	m.Handle("GET /api/v1/auth/tokens", user(s.listTokens))
	m.Handle("POST /api/v1/auth/tokens", user(s.createToken))
	m.Handle("DELETE /api/v1/auth/tokens/{id}", user(s.deleteToken))

	m.Handle("GET /api/v1/admin/users", admin(s.adminListUsers))
	m.Handle("POST /api/v1/admin/users", admin(s.adminCreateUser))
	m.Handle("GET /api/v1/admin/users/{id}", admin(s.adminGetUser))
	m.Handle("PATCH /api/v1/admin/users/{id}", admin(s.adminUpdateUser))
	m.Handle("GET /api/v1/admin/schools", admin(s.adminListSchools))
	m.Handle("POST /api/v1/admin/schools", admin(s.adminCreateSchool))
	m.Handle("PATCH /api/v1/admin/schools/{id}", admin(s.adminUpdateSchool))
	m.Handle("GET /api/v1/admin/classrooms", admin(s.adminListClassrooms))
	m.Handle("POST /api/v1/admin/classrooms", admin(s.adminCreateClassroom))
	m.Handle("GET /api/v1/admin/classrooms/{id}", admin(s.adminGetClassroom))
	m.Handle("PATCH /api/v1/admin/classrooms/{id}", admin(s.adminUpdateClassroom))
	m.Handle("DELETE /api/v1/admin/classrooms/{id}", admin(s.adminDeleteClassroom))
	m.Handle("GET /api/v1/admin/audit", admin(s.adminAudit))
}

// authError answers an error from internal/auth or the catalog with its status;
// anything unexpected is logged and answered 500.
func (s *Server) authError(w http.ResponseWriter, r *http.Request, err error) {
	if status, _, _ := auth.StatusOf(err); status == http.StatusInternalServerError {
		s.internalError(w, r, err)
		return
	}
	auth.WriteError(w, err)
}

const maxJSONBody = 64 << 10

// decodeJSON reads one JSON object into dst, refusing other content types, unknown
// fields, trailing data and bodies over 64 KiB. It writes the error and returns false
// when the body is unusable.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "bad_content_type", "send the body as Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("unexpected data after the JSON object")
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than 64 KiB")
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_json", "the body is not the expected JSON object: "+err.Error())
		return false
	}
	return true
}

// pageOf reads limit and offset; it writes the error and returns false when one is bad.
func pageOf(w http.ResponseWriter, r *http.Request) (limit, offset int, ok bool) {
	q := r.URL.Query()
	for name, dst := range map[string]*int{"limit": &limit, "offset": &offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, "bad_"+name, name+" must be a non-negative integer")
				return 0, 0, false
			}
			*dst = n
		}
	}
	return limit, offset, true
}

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

// --- views

type userView struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Role        string     `json:"role"`
	SchoolID    string     `json:"school_id"`
	District    string     `json:"district"`
	Disabled    bool       `json:"disabled"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

func viewUser(u catalog.User) userView {
	return userView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, SchoolID: u.SchoolID,
		District: u.District, Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: optTime(u.LastLoginAt)}
}

type schoolView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	District  string    `json:"district"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewSchool(sc catalog.School) schoolView {
	return schoolView{ID: sc.ID, Name: sc.Name, District: sc.District, CreatedAt: sc.CreatedAt, UpdatedAt: sc.UpdatedAt}
}

type classroomView struct {
	ID          string `json:"id"`
	SchoolID    string `json:"school_id"`
	District    string `json:"district"`
	Name        string `json:"name"`
	StreamPath  string `json:"stream_path"`
	PublishUser string `json:"publish_user"`
	// PublishKey is present only when it was just made (create, rotate_key).
	PublishKey string    `json:"publish_key,omitempty"`
	Visibility string    `json:"visibility"`
	ShareToken string    `json:"share_token,omitempty"`
	WatchURL   string    `json:"watch_url"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func viewClassroom(c catalog.Classroom, withKey bool) classroomView {
	v := classroomView{ID: c.ID, SchoolID: c.SchoolID, District: c.District, Name: c.Name, StreamPath: c.StreamPath,
		PublishUser: c.PublishUser, Visibility: c.Visibility, ShareToken: c.ShareToken, WatchURL: "/live/" + c.StreamPath,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if withKey {
		v.PublishKey = c.PublishKey
	}
	return v
}

type tokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	// Token is the secret, present only in the answer that created it.
	Token string `json:"token,omitempty"`
}

func viewToken(t catalog.APIToken) tokenView {
	return tokenView{ID: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt, LastUsedAt: optTime(t.LastUsedAt), ExpiresAt: optTime(t.ExpiresAt)}
}

type auditView struct {
	ID      string          `json:"id"`
	At      time.Time       `json:"at"`
	ActorID string          `json:"actor_id"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Target  string          `json:"target"`
	Detail  json.RawMessage `json:"detail"`
	Remote  string          `json:"remote"`
}

// --- sign-in and own account

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	a := s.opts.Auth
	if err := a.CheckLoginRequest(r); err != nil {
		s.authError(w, r, err)
		return
	}
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	res, err := a.Login(r.Context(), auth.LoginRequest{Username: in.Username, Password: in.Password, Remote: auth.ClientIP(r),
		UserAgent: r.UserAgent(), PreviousSecret: auth.SessionSecret(r)})
	if err != nil {
		s.authError(w, r, err)
		return
	}
	a.SetSessionCookie(w, r, res)
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"user": viewUser(res.User), "csrf_token": res.CSRFToken, "expires_at": res.ExpiresAt})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Auth.Logout(r.Context(), auth.FromContext(r.Context())); err != nil {
		s.authError(w, r, err)
		return
	}
	s.opts.Auth.ClearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	u, err := s.opts.Auth.Me(r.Context(), p)
	if err != nil {
		s.authError(w, r, err)
		return
	}
	out := map[string]any{"user": viewUser(u), "method": p.Method}
	if p.Method == auth.MethodSession {
		out["csrf_token"], out["session_expires_at"] = p.CSRFToken, p.SessionExpires
	}
	noStore(w)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.Auth.ChangePassword(r.Context(), auth.FromContext(r.Context()), in.Current, in.New); err != nil {
		s.authError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	list, err := s.opts.Auth.Tokens(r.Context(), auth.FromContext(r.Context()))
	if err != nil {
		s.authError(w, r, err)
		return
	}
	out := make([]tokenView, 0, len(list))
	for _, t := range list {
		out = append(out, viewToken(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name          string `json:"name"`
		ExpiresInDays int    `json:"expires_in_days"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if in.ExpiresInDays < 0 || in.ExpiresInDays > 3650 {
		writeError(w, http.StatusBadRequest, "invalid", "expires_in_days must be 0 (never) to 3650")
		return
	}
	t, err := s.opts.Auth.CreateToken(r.Context(), auth.FromContext(r.Context()), in.Name, time.Duration(in.ExpiresInDays)*24*time.Hour)
	if err != nil {
		s.authError(w, r, err)
		return
	}
	v := viewToken(t.APIToken)
	v.Token = t.Secret
	noStore(w)
	writeJSON(w, http.StatusCreated, map[string]any{"token": v})
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Auth.DeleteToken(r.Context(), auth.FromContext(r.Context()), r.PathValue("id")); err != nil {
		s.authError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- admin: users

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := pageOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if role := q.Get("role"); role != "" {
		if _, err := auth.ParseRole(role); err != nil {
			s.authError(w, r, err)
			return
		}
	}
	list, total, err := s.opts.Auth.Users(r.Context(), auth.FromContext(r.Context()),
		catalog.UserFilter{Role: q.Get("role"), SchoolID: q.Get("school_id"), Limit: limit, Offset: offset})
	if err != nil {
		s.authError(w, r, err)
		return
	}
	out := make([]userView, 0, len(list))
	for _, u := range list {
		out = append(out, viewUser(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "total": total})
}

func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
		Password    string `json:"password"`
		Role        string `json:"role"`
		SchoolID    string `json:"school_id"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	u, generated, err := s.opts.Auth.CreateUser(r.Context(), auth.FromContext(r.Context()), auth.NewUser{Username: in.Username,
		DisplayName: in.DisplayName, Password: in.Password, Role: auth.Role(in.Role), SchoolID: in.SchoolID})
	if err != nil {
		s.authError(w, r, err)
		return
	}
	out := map[string]any{"user": viewUser(u)}
	if generated != "" {
		out["password"] = generated
	}
	noStore(w)
	w.Header().Set("Location", "/api/v1/admin/users/"+u.ID)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) adminGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.opts.Auth.User(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		s.authError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": viewUser(u)})
}

func (s *Server) adminUpdateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DisplayName *string    `json:"display_name"`
		Role        *auth.Role `json:"role"`
		SchoolID    *string    `json:"school_id"`
		Disabled    *bool      `json:"disabled"`
		Password    *string    `json:"password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	u, err := s.opts.Auth.UpdateUser(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), auth.UserUpdate{
		DisplayName: in.DisplayName, Role: in.Role, SchoolID: in.SchoolID, Disabled: in.Disabled, Password: in.Password})
	if err != nil {
		s.authError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": viewUser(u)})
}

// --- admin: schools

func (s *Server) adminListSchools(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := pageOf(w, r)
	if !ok {
		return
	}
	list, total, err := s.opts.Auth.Schools(r.Context(), auth.FromContext(r.Context()), r.URL.Query().Get("district"), limit, offset)
	if err != nil {
		s.authError(w, r, err)
		return
	}
	out := make([]schoolView, 0, len(list))
	for _, sc := range list {
		out = append(out, viewSchool(sc))
	}
	writeJSON(w, http.StatusOK, map[string]any{"schools": out, "total": total})
}

func (s *Server) adminCreateSchool(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string `json:"name"`
		District string `json:"district"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	sc, err := s.opts.Auth.CreateSchool(r.Context(), auth.FromContext(r.Context()), in.Name, in.District)
	if err != nil {
		s.authError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/admin/schools/"+sc.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"school": viewSchool(sc)})
}

func (s *Server) adminUpdateSchool(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     *string `json:"name"`
		District *string `json:"district"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	sc, err := s.opts.Auth.UpdateSchool(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), in.Name, in.District)
	if err != nil {
		s.authError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"school": viewSchool(sc)})
}

// --- admin: classrooms

func (s *Server) adminListClassrooms(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := pageOf(w, r)
	if !ok {
		return
	}
	list, total, err := s.opts.Auth.Classrooms(r.Context(), auth.FromContext(r.Context()), r.URL.Query().Get("school_id"), limit, offset)
	if err != nil {
		s.authError(w, r, err)
		return
	}
	out := make([]classroomView, 0, len(list))
	for _, c := range list {
		out = append(out, viewClassroom(c, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"classrooms": out, "total": total})
}

func (s *Server) adminCreateClassroom(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SchoolID    string `json:"school_id"`
		Name        string `json:"name"`
		StreamPath  string `json:"stream_path"`
		PublishUser string `json:"publish_user"`
		Visibility  string `json:"visibility"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	c, err := s.opts.Auth.CreateClassroom(r.Context(), auth.FromContext(r.Context()), auth.NewClassroom{SchoolID: in.SchoolID,
		Name: in.Name, StreamPath: in.StreamPath, PublishUser: in.PublishUser, Visibility: auth.Visibility(in.Visibility)})
	if err != nil {
		s.authError(w, r, err)
		return
	}
	noStore(w)
	w.Header().Set("Location", "/api/v1/admin/classrooms/"+c.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"classroom": viewClassroom(c, true)})
}

func (s *Server) adminGetClassroom(w http.ResponseWriter, r *http.Request) {
	c, err := s.opts.Auth.Classroom(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		s.authError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"classroom": viewClassroom(c, false)})
}

func (s *Server) adminUpdateClassroom(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SchoolID         *string          `json:"school_id"`
		Name             *string          `json:"name"`
		StreamPath       *string          `json:"stream_path"`
		PublishUser      *string          `json:"publish_user"`
		Visibility       *auth.Visibility `json:"visibility"`
		RotateKey        bool             `json:"rotate_key"`
		RotateShareToken bool             `json:"rotate_share_token"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	c, rotated, err := s.opts.Auth.UpdateClassroom(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), auth.ClassroomUpdate{
		SchoolID: in.SchoolID, Name: in.Name, StreamPath: in.StreamPath, PublishUser: in.PublishUser, Visibility: in.Visibility,
		RotateKey: in.RotateKey, RotateShareToken: in.RotateShareToken})
	if err != nil {
		s.authError(w, r, err)
		return
	}
	if rotated {
		noStore(w)
	}
	writeJSON(w, http.StatusOK, map[string]any{"classroom": viewClassroom(c, rotated)})
}

func (s *Server) adminDeleteClassroom(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Auth.DeleteClassroom(r.Context(), auth.FromContext(r.Context()), r.PathValue("id")); err != nil {
		s.authError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- admin: audit log

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := pageOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	list, total, err := s.opts.Auth.AuditLog(r.Context(), auth.FromContext(r.Context()),
		catalog.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Limit: limit, Offset: offset})
	if err != nil {
		s.authError(w, r, err)
		return
	}
	out := make([]auditView, 0, len(list))
	for _, e := range list {
		detail := json.RawMessage(e.Detail)
		if !json.Valid(detail) {
			detail = json.RawMessage("{}")
		}
		out = append(out, auditView{ID: e.ID, At: e.At, ActorID: e.ActorID, Actor: e.Actor, Action: e.Action, Target: e.Target,
			Detail: detail, Remote: e.Remote})
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "total": total})
}

// authOpenAPI describes the endpoints of authRoutes for /api/v1/openapi.json.
func authOpenAPI(jsonErr func(string) map[string]any) map[string]any {
	body := func(desc string) map[string]any {
		return map[string]any{"required": true, "description": desc, "content": map[string]any{"application/json": map[string]any{}}}
	}
	idParam := []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}}
	pageParams := []any{
		map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "maximum": 500}},
		map[string]any{"name": "offset", "in": "query", "schema": map[string]any{"type": "integer"}},
	}
	op := func(summary string, ok string, extra map[string]any) map[string]any {
		resp := map[string]any{ok: map[string]any{"description": "success"}, "401": jsonErr("sign in first"), "403": jsonErr("not allowed, or X-CSRF-Token missing on a cookie session")}
		maps.Copy(resp, extra)
		return map[string]any{"summary": summary, "responses": resp}
	}
	with := func(o map[string]any, k string, v any) map[string]any { o[k] = v; return o }
	bad := map[string]any{"400": jsonErr("invalid input")}
	notFound := map[string]any{"404": jsonErr("no such item"), "400": jsonErr("invalid input"), "409": jsonErr("conflict")}
	return map[string]any{
		"/api/v1/auth/login": map[string]any{"post": with(op("Sign in with username and password: sets the classcast_session cookie, returns {user, csrf_token, expires_at}. Content-Type must be application/json; cross-origin browser requests are refused.", "200",
			map[string]any{"415": jsonErr("not JSON"), "429": jsonErr("too many failed attempts; see Retry-After")}), "requestBody", body(`{"username", "password"}`))},
		"/api/v1/auth/logout":   map[string]any{"post": op("End this browser session", "204", nil)},
		"/api/v1/auth/me":       map[string]any{"get": op("Who am I: {user, method, csrf_token (sessions)}", "200", nil)},
		"/api/v1/auth/password": map[string]any{"post": with(op("Change my password; ends my other sessions", "204", bad), "requestBody", body(`{"current_password", "new_password"}`))},
		"/api/v1/auth/tokens": map[string]any{
			"get":  op("My API tokens (without secrets)", "200", nil),
			"post": with(op("Create an API token for Authorization: Bearer; the secret is in this answer only", "201", bad), "requestBody", body(`{"name", "expires_in_days" (0: never)}`)),
		},
		"/api/v1/auth/tokens/{id}": map[string]any{"delete": with(op("Delete one of my API tokens", "204", notFound), "parameters", idParam)},
		"/api/v1/admin/users": map[string]any{
			"get":  with(op("Users (admin); filters role, school_id", "200", bad), "parameters", pageParams),
			"post": with(op("Create a user (admin); without a password one is made up and returned once", "201", notFound), "requestBody", body(`{"username", "display_name", "password", "role", "school_id"}`)),
		},
		"/api/v1/admin/users/{id}": map[string]any{
			"get":   with(op("One user (admin)", "200", notFound), "parameters", idParam),
			"patch": with(with(op("Change a user (admin): role, school_id, display_name, disabled, password (reset); disabling or resetting ends their sessions", "200", notFound), "parameters", idParam), "requestBody", body("the fields to change")),
		},
		"/api/v1/admin/schools": map[string]any{
			"get":  with(op("Schools (admin); filter district", "200", bad), "parameters", pageParams),
			"post": with(op("Create a school (admin)", "201", notFound), "requestBody", body(`{"name", "district"}`)),
		},
		"/api/v1/admin/schools/{id}": map[string]any{"patch": with(with(op("Rename a school or change its district (admin)", "200", notFound), "parameters", idParam), "requestBody", body(`{"name", "district"}`))},
		"/api/v1/admin/classrooms": map[string]any{
			"get":  with(op("Classrooms (admin); filter school_id. Publish keys are not listed.", "200", bad), "parameters", pageParams),
			"post": with(op("Create a classroom (admin); the answer holds its RTSP publish_key", "201", notFound), "requestBody", body(`{"school_id", "name", "stream_path", "publish_user", "visibility"}`)),
		},
		"/api/v1/admin/classrooms/{id}": map[string]any{
			"get":    with(op("One classroom (admin)", "200", notFound), "parameters", idParam),
			"patch":  with(with(op("Change a classroom (admin); rotate_key: true returns a new publish_key, rotate_share_token: true a new share link", "200", notFound), "parameters", idParam), "requestBody", body("the fields to change")),
			"delete": with(op("Delete a classroom (admin)", "204", notFound), "parameters", idParam),
		},
		"/api/v1/admin/audit": map[string]any{"get": with(op("The audit log, newest first (admin); filters actor, action (a trailing * matches a prefix)", "200", bad), "parameters", pageParams)},
	}
}
