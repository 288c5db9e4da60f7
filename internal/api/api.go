// Package api is classcast's HTTP surface: the REST API under /api/v1, WHEP, the
// embedded browser player, /metrics and health checks. It parses, authorizes and calls
// the package that does the work; it holds no media logic.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/media/stream"
	"github.com/classcast/classcast/media/webrtc"
	"github.com/classcast/classcast/transcode"
)

// WHEP is what the API needs from the WebRTC egress.
type WHEP interface {
	Offer(ctx context.Context, path, offer, remote string) (answer, id string, err error)
	Delete(id string) error
}

// Sources reports pull sources' state for the API.
type Sources interface {
	States() any
}

// ViewAccess says whether a stream needs a viewer token, and which.
type ViewAccess func(path string) (token string, required bool)

// Options wire the API to the rest of the node.
type Options struct {
	Registry *stream.Registry
	WHEP     WHEP
	Sources  Sources
	Access   ViewAccess
	// Catalog and Store serve lessons (assets API, /vod/); nil on a node without them.
	Catalog *catalog.Catalog
	Store   storage.Store
	// PresignRedirect sends VOD media requests to presigned store URLs.
	PresignRedirect bool
	// AdminQueues is the queue UI, mounted at /admin/queues/ behind admin auth.
	AdminQueues http.Handler
	// AdminPassword guards admin pages (user "admin"); empty allows loopback only.
	AdminPassword string
	// Auth resolves sessions and API tokens for every request and serves
	// /api/v1/auth/ and /api/v1/admin/; nil on a node without accounts.
	Auth *auth.Service
	// Uploads is the tus upload handler (internal/upload), mounted at
	// /api/v1/uploads/; nil on a node that takes no uploads.
	Uploads http.Handler
	// Clips queues the cutting of micro-lectures' media; nil on a node without a
	// queue (clips are then recorded without media).
	Clips ClipQueue
	// Pprof mounts /debug/pprof/.
	Pprof bool
	// Player is the built browser app (index.html, live.html, assets/).
	Player fs.FS
	Log    *slog.Logger
}

// ClipQueue hands the cutting of a clip to the workers: *transcode.Queue.
type ClipQueue interface {
	EnqueueClip(ctx context.Context, p transcode.ClipV1) error
}

// Server is the HTTP handler.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	handler http.Handler // mux, behind auth.Middleware when accounts are on
	ready   atomic.Bool
}

// New builds the handler. It reports not ready on /readyz until SetReady(true).
func New(opts Options) *Server {
	s := &Server{opts: opts, mux: http.NewServeMux()}
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	m.HandleFunc("GET /readyz", s.readyz)
	m.Handle("GET /metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
	m.HandleFunc("POST /whep/{path...}", s.whepOffer)
	m.HandleFunc("OPTIONS /whep/{path...}", s.whepOptions)
	m.HandleFunc("DELETE /whep/sessions/{id}", s.whepDelete)
	m.HandleFunc("PATCH /whep/sessions/{id}", func(w http.ResponseWriter, _ *http.Request) {
		// Non-trickle server: the answer carries every candidate.
		writeError(w, http.StatusMethodNotAllowed, "trickle_unsupported", "trickle ICE is not supported; send a complete offer")
	})
	m.HandleFunc("GET /api/v1/streams", s.listStreams)
	m.HandleFunc("GET /api/v1/streams/{path...}", s.getStream)
	m.HandleFunc("GET /api/v1/sources", s.listSources)
	m.HandleFunc("GET /api/v1/openapi.json", s.openapi)
	if opts.Catalog != nil {
		m.HandleFunc("GET /api/v1/assets", s.listAssets)
		m.HandleFunc("GET /api/v1/assets/{id}", s.getAsset)
		m.HandleFunc("GET /vod/{id}/{file...}", s.vodFile)
		s.lessonRoutes()
	}
	if opts.Uploads != nil {
		s.uploadRoutes()
	}
	s.handler = s.mux
	if opts.Auth != nil {
		s.authRoutes()
		s.handler = opts.Auth.Middleware(s.mux)
	}
	if opts.AdminQueues != nil {
		// Method-qualified, so these do not clash with "GET /" in the mux.
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			m.Handle(method+" /admin/queues/", s.adminOnly(opts.AdminQueues))

		}
		m.Handle("GET /admin/queues", http.RedirectHandler("/admin/queues/", http.StatusMovedPermanently))
	}
	m.HandleFunc("GET /library", func(w http.ResponseWriter, r *http.Request) { s.servePage(w, r, "library.html") })
	m.HandleFunc("GET /watch/{id}", func(w http.ResponseWriter, r *http.Request) { s.servePage(w, r, "watch.html") })
	// The teachers' portal: one HTML page per view; each page's script asks the API.
	for route, page := range map[string]string{
		"GET /signin": "signin.html", "GET /me": "me.html", "GET /upload": "upload.html",
		"GET /review": "review.html", "GET /admin": "admin.html",
		"GET /lessons/{id}": "lesson.html", "GET /clips/{id}": "clip.html",
	} {
		m.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) { s.servePage(w, r, page) })
	}
	m.HandleFunc("GET /api/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API endpoint")
	})
	if opts.Pprof {
		m.HandleFunc("GET /debug/pprof/", pprof.Index)
		m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	m.HandleFunc("GET /live/{path...}", s.livePage)
	m.HandleFunc("GET /", s.static)
	return s
}

// adminOnly guards admin pages: an admin session when accounts are on; else HTTP
// basic auth as "admin" when a password is set,
// otherwise clients on this machine only.
func (s *Server) adminOnly(next http.Handler) http.Handler {
	if s.opts.Auth != nil {
		// Accounts are on: an admin's session, from this site only (the queue UI cannot
		// send our CSRF header).
		return s.opts.Auth.RequireRoleSameOrigin(auth.RoleAdmin)(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.AdminPassword == "" {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				writeError(w, http.StatusForbidden, "forbidden", "admin pages are open to this machine only; set admin.password to allow remote admins")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != "admin" || !tokenMatches(pass, s.opts.AdminPassword) {
			if ok {
				s.opts.Log.Warn("admin sign-in refused", "remote", r.RemoteAddr)
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="classcast admin", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "admin sign-in required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SetReady flips /readyz.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// ServeHTTP implements http.Handler, adding CORS so a WHEP player on another origin
// (a school portal embedding the stream) works.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location, Link, ETag")
	s.handler.ServeHTTP(w, r)
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "starting or shutting down")
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, message
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// authorizeView decides whether the caller may watch the live stream at path: a stream
// a classroom owns follows the classroom's visibility (public, district, school, or a
// share link whose token comes as ?share= or as the WHEP bearer token); any other
// stream needs the config's viewer token, if it has one. 401 when the caller must
// sign in or bring a token, 403 when theirs is not enough. It writes the error and
// returns false when access is denied.
func (s *Server) authorizeView(w http.ResponseWriter, r *http.Request, path string) bool {
	if s.opts.Auth != nil {
		sc, owned, err := s.opts.Auth.StreamScope(r.Context(), path)
		if err != nil {
			s.opts.Log.Error("stream access check failed", "stream", path, "error", err)
			writeError(w, http.StatusServiceUnavailable, "catalog_unavailable", "could not check who may watch this stream; try again")
			return false
		}
		if owned {
			share := r.URL.Query().Get("share")
			if t := requestToken(r); share == "" && !strings.HasPrefix(t, auth.TokenPrefix) {
				share = t
			}
			if err := auth.CheckView(s.viewer(r), sc, share); err != nil {
				metrics.Errors.WithLabelValues("whep", "forbidden").Inc()
				auth.WriteError(w, err)
				return false
			}
			return true
		}
	}
	return s.authorizeToken(w, r, path, "whep")
}

// viewer is the signed-in caller of a request to watch. A WHEP offer from the live page
// comes with the session cookie but without X-CSRF-Token, which the middleware asks of
// every unsafe request; an offer is safe to accept anyway: the cookie is SameSite=Lax
// (not sent on another site's POST) and application/sdp is not a content type another
// origin may send without a preflight this server never grants with credentials.
func (s *Server) viewer(r *http.Request) *auth.Principal {
	if p := auth.FromContext(r.Context()); p != nil || !errors.Is(auth.Denial(r.Context()), auth.ErrCSRF) {
		return p
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/sdp") {
		return nil
	}
	safe := r.Clone(r.Context())
	safe.Method = http.MethodGet
	p, err := s.opts.Auth.Authenticate(safe)
	if err != nil {
		return nil
	}
	return p
}

// requestToken is the viewer token of r: "Authorization: Bearer" or ?token=.
func requestToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if t, ok := strings.CutPrefix(a, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	return r.URL.Query().Get("token")
}

func tokenMatches(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) authorizeToken(w http.ResponseWriter, r *http.Request, path, what string) bool {
	if s.opts.Access == nil {
		return true
	}
	want, required := s.opts.Access(path)
	if !required {
		return true
	}
	got := requestToken(r)
	if got == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="classcast"`)
		metrics.Errors.WithLabelValues(what, "unauthorized").Inc()
		writeError(w, http.StatusUnauthorized, "unauthorized", "this stream needs a viewer token (Authorization: Bearer)")
		return false
	}
	if !tokenMatches(got, want) {
		metrics.Errors.WithLabelValues(what, "forbidden").Inc()
		s.opts.Log.Warn("viewer refused: wrong token", "stream", path, "remote", r.RemoteAddr, "for", what)
		writeError(w, http.StatusForbidden, "forbidden", "the viewer token is not valid for this stream")
		return false
	}
	return true
}

const maxOfferSize = 64 << 10

func (s *Server) whepOptions(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Accept-Post", "application/sdp")
	h.Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) whepOffer(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	log := s.opts.Log.With("stream", path, "remote", r.RemoteAddr)
	if err := stream.ValidatePath(path); err != nil {
		writeError(w, http.StatusBadRequest, "bad_path", err.Error())
		return
	}
	if !s.authorizeView(w, r, path) {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		writeError(w, http.StatusUnsupportedMediaType, "bad_content_type", "WHEP offers must be Content-Type: application/sdp")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxOfferSize+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_body", "could not read the offer: "+err.Error())
		return
	}
	if len(body) > maxOfferSize {
		writeError(w, http.StatusRequestEntityTooLarge, "offer_too_large", "the SDP offer is larger than 64 KiB")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	answer, id, err := s.opts.WHEP.Offer(ctx, path, string(body), r.RemoteAddr)
	if err != nil {
		status, code := http.StatusInternalServerError, "internal"
		switch {
		case errors.Is(err, webrtc.ErrNotFound):
			status, code = http.StatusNotFound, "stream_not_found"
		case errors.Is(err, webrtc.ErrBadOffer):
			status, code = http.StatusBadRequest, "bad_offer"
			metrics.Errors.WithLabelValues("whep", "bad_offer").Inc()
		case errors.Is(err, webrtc.ErrTooManyViewers), errors.Is(err, stream.ErrHubClosed):
			status, code = http.StatusServiceUnavailable, "unavailable"
		}
		if status >= 500 || status == http.StatusBadRequest {
			log.Warn("WHEP offer refused", "status", status, "error", err)
		}
		writeError(w, status, code, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whep/sessions/"+id)
	w.Header().Set("ETag", `"`+id+`"`)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (s *Server) whepDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.WHEP.Delete(r.PathValue("id")); err != nil {
		writeError(w, http.StatusNotFound, "session_not_found", "no such WHEP session")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// streamView is a stream as the API shows it.
type streamView struct {
	stream.Info
	Protected bool `json:"protected"`
}

func (s *Server) view(in stream.Info) streamView {
	v := streamView{Info: in}
	if s.opts.Access != nil {
		_, v.Protected = s.opts.Access(in.Path)
	}
	return v
}

func (s *Server) listStreams(w http.ResponseWriter, _ *http.Request) {
	list := s.opts.Registry.List()
	out := make([]streamView, 0, len(list))
	for _, in := range list {
		out = append(out, s.view(in))
	}
	writeJSON(w, http.StatusOK, map[string]any{"streams": out})
}

func (s *Server) getStream(w http.ResponseWriter, r *http.Request) {
	h := s.opts.Registry.Hub(r.PathValue("path"))
	if h == nil {
		writeError(w, http.StatusNotFound, "stream_not_found", "no such stream")
		return
	}
	writeJSON(w, http.StatusOK, s.view(h.Info()))
}

func (s *Server) listSources(w http.ResponseWriter, _ *http.Request) {
	var states any = []any{}
	if s.opts.Sources != nil {
		states = s.opts.Sources.States()
	}
	writeJSON(w, http.StatusOK, map[string]any{"sources": states})
}

func (s *Server) livePage(w http.ResponseWriter, r *http.Request) {
	if err := stream.ValidatePath(r.PathValue("path")); err != nil {
		http.Error(w, "bad stream path", http.StatusBadRequest)
		return
	}
	s.servePage(w, r, "live.html")
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		s.servePage(w, r, "index.html")
		return
	}
	if s.opts.Player == nil {
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/assets/") {
		// Vite names assets by content hash: cache them for good.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	http.FileServerFS(s.opts.Player).ServeHTTP(w, r)
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request, name string) {
	if s.opts.Player == nil {
		http.Error(w, "player not built: run make build", http.StatusServiceUnavailable)
		return
	}
	b, err := fs.ReadFile(s.opts.Player, name)
	if err != nil {
		http.Error(w, "player not built: run `make build` (npm run build in player/)", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
