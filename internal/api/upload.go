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

// uploadsOpenAPI describes the tus endpoints (tus 1.0: creation, termination;
// headers rather than JSON bodies).
func uploadsOpenAPI(jsonErr func(string) map[string]any) map[string]any {
	tusErr := func(desc string) map[string]any {
		return map[string]any{"description": desc + " (text/plain: ERR_CODE: message)"}
	}
	id := []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string", "pattern": "^[0-9a-f]{32}$"}}}
	return map[string]any{
		uploadsPath: map[string]any{
			"post": map[string]any{
				"summary": "Start a resumable lesson upload (tus 1.0 creation): Tus-Resumable: 1.0.0, Upload-Length, " +
					"Upload-Metadata with base64 filename (required) and title. Teachers and admins.",
				"responses": map[string]any{"201": map[string]any{"description": "Location is the upload URL"},
					"400": tusErr("bad length or metadata"), "401": jsonErr("sign in"), "403": jsonErr("not a teacher, or no CSRF token"),
					"412": tusErr("missing Tus-Resumable"), "413": tusErr("larger than upload.max_size"), "507": tusErr("upload disk full")},
			},
			"options": map[string]any{
				"summary":   "tus discovery: Tus-Version, Tus-Extension, Tus-Max-Size",
				"responses": map[string]any{"200": map[string]any{"description": "capabilities"}},
			},
		},
		uploadsPath + "{id}": map[string]any{
			"head": map[string]any{
				"summary": "Resume: Upload-Offset is how many bytes the server has", "parameters": id,
				"responses": map[string]any{"200": map[string]any{"description": "Upload-Offset, Upload-Length, Upload-Metadata"},
					"403": jsonErr("another user's upload"), "404": tusErr("no such upload")},
			},
			"patch": map[string]any{
				"summary": "Append bytes at Upload-Offset (Content-Type: application/offset+octet-stream). " +
					"The last PATCH probes the file: 422 when it is not usable media; otherwise Classcast-Upload-State: processing", "parameters": id,
				"responses": map[string]any{"204": map[string]any{"description": "new Upload-Offset"},
					"400": tusErr("bad Upload-Offset or Content-Type"), "409": tusErr("offset mismatch: HEAD and resume"),
					"413": tusErr("more bytes than Upload-Length"), "422": tusErr("not a usable video, with the reason")},
			},
			"delete": map[string]any{
				"summary": "Cancel an upload and delete its bytes", "parameters": id,
				"responses": map[string]any{"204": map[string]any{"description": "deleted"}, "404": tusErr("no such upload")},
			},
			"get": map[string]any{
				"summary": "The upload's state: uploading, processing (being added to the library), accepted, or rejected with the reason", "parameters": id,
				"responses": map[string]any{"200": map[string]any{"description": `{"id", "state", "offset", "size", "filename", "title", "reason"}`},
					"403": jsonErr("another user's upload"), "404": jsonErr("no such upload")},
			},
		},
	}
}
