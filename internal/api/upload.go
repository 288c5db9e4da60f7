package api

import (
	"net/http"

	"github.com/classcast/classcast/internal/auth"
)

// uploadsPath is where the tus upload handler (internal/upload) is mounted.
const uploadsPath = "/api/v1/uploads/"

// uploadRoutes mounts opts.Uploads, the tus handler, for every method the
// protocol uses. Method-qualified patterns, so they do not clash with "GET /";
// GET answers an upload's state.
func (s *Server) uploadRoutes() {
	for _, method := range []string{"POST", "HEAD", "PATCH", "DELETE", "OPTIONS", "GET"} {
		s.mux.Handle(method+" "+uploadsPath, s.opts.Uploads)
	}
	// The creation URL without its slash: a redirect would turn the POST into a GET.
	s.mux.Handle("POST "+uploadsPath[:len(uploadsPath)-1], s.opts.Uploads)
}

// AuthorizeUpload is upload.Options.Authorize for a node with accounts
// (Options.Auth, whose middleware runs before the upload handler): signed-in
// teachers and admins may upload; anonymous callers get 401; other roles, and a
// browser session's unsafe request without its CSRF token, get 403.
func AuthorizeUpload(r *http.Request) (userID string, ok bool, status int) {
	p := auth.FromContext(r.Context())
	if p == nil {
		if err := auth.Denial(r.Context()); err != nil {
			st, _, _ := auth.StatusOf(err)
			return "", false, st
		}
		return "", false, http.StatusUnauthorized
	}
	if !p.Is(auth.RoleTeacher) {
		return "", false, http.StatusForbidden
	}
	return p.UserID, true, 0
}
