package auth

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/classcast/classcast/internal/catalog"
)

// CookieName is the session cookie.
const CookieName = "classcast_session"

// CSRFHeader carries the session's CSRF token on unsafe requests.
const CSRFHeader = "X-CSRF-Token"

// Middleware resolves each request's credentials to a *Principal that handlers read
// with FromContext: an API token in "Authorization: Bearer cct_..." first, else the
// session cookie. Nothing is refused here: an unknown or expired credential, and any
// bearer value that is not an API token (a per-stream viewer token for WHEP and VOD),
// leave the principal nil and the request goes on, for the endpoint to decide.
//
// CSRF: a cookie-authenticated POST, PUT, PATCH or DELETE must carry the session's
// token in X-CSRF-Token. Without it the request is treated as anonymous and marked, so
// RequireUser and RequireRole answer 403 csrf_failed; endpoints open to anonymous
// callers (WHEP on a public stream) keep working for a signed-in browser that does not
// send the header. Bearer-token requests are exempt: a browser never adds that header
// by itself, so a forged cross-site request cannot carry one.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{remote: ClientIP(r)}
		st.principal, st.denied, st.err = s.authenticate(r)
		if st.err != nil {
			s.log.Error("could not check credentials", "path", r.URL.Path, "error", st.err)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	})
}

// Authenticate resolves r's credentials as Middleware does, for callers outside it.
func (s *Service) Authenticate(r *http.Request) (*Principal, error) {
	p, denied, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	return p, denied
}

func (s *Service) authenticate(r *http.Request) (p *Principal, denied, err error) {
	ctx := r.Context()
	if tok := bearer(r); strings.HasPrefix(tok, TokenPrefix) {
		p, err := s.tokenPrincipal(ctx, tok)
		if p != nil || err != nil {
			return p, nil, err
		}
	}
	c, cerr := r.Cookie(CookieName)
	if cerr != nil {
		return nil, nil, nil
	}
	p, err = s.sessionPrincipal(ctx, c.Value)
	if p == nil || err != nil {
		return nil, nil, err
	}
	if unsafeMethod(r.Method) && !TokenMatches(r.Header.Get(CSRFHeader), p.CSRFToken) {
		return nil, ErrCSRF, nil
	}
	return p, nil, nil
}

func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// RequireUser lets signed-in callers through: 401 for anonymous ones, 403 csrf_failed
// for a cookie session's unsafe request without its CSRF token.
func RequireUser(next http.Handler) http.Handler {
	return RequireRole()(next)
}

// RequireRole lets through callers signed in with one of roles (any role when none is
// given); admins always pass. Anonymous callers get 401, others 403, as JSON errors
// {"error": {"code", "message"}}. It needs Middleware in front of it.
func RequireRole(roles ...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := FromContext(r.Context())
			if err := Denial(r.Context()); err != nil && p == nil {
				WriteError(w, err)
				return
			}
			if p == nil {
				WriteError(w, ErrUnauthenticated)
				return
			}
			if len(roles) > 0 && !p.Is(roles...) {
				WriteError(w, ErrForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireRoleSameOrigin is RequireRole for pages this server embeds but did not
// write, which cannot send X-CSRF-Token (the asynqmon queue UI at /admin/queues): a
// cookie session's unsafe request without the token is accepted when the browser
// shows it is same-origin (Sec-Fetch-Site, else Origin against Host; net/http's
// CrossOriginProtection), and refused 403 otherwise. Use RequireRole for our own API.
func (s *Service) RequireRoleSameOrigin(roles ...Role) func(http.Handler) http.Handler {
	strict := RequireRole(roles...)
	return func(next http.Handler) http.Handler {
		h := strict(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st, _ := r.Context().Value(stateKey{}).(*state)
			if st != nil && st.principal == nil && errors.Is(st.denied, ErrCSRF) {
				if err := s.crossOrig.Check(r); err != nil {
					WriteError(w, ErrCSRF)
					return
				}
				c, err := r.Cookie(CookieName)
				if err != nil {
					WriteError(w, ErrUnauthenticated)
					return
				}
				p, err := s.sessionPrincipal(r.Context(), c.Value)
				if err != nil {
					WriteError(w, err)
					return
				}
				r = r.WithContext(context.WithValue(r.Context(), stateKey{}, &state{principal: p, remote: st.remote}))
			}
			h.ServeHTTP(w, r)
		})
	}
}

func requireAdmin(p *Principal) error {
	switch {
	case p == nil:
		return ErrUnauthenticated
	case !p.IsAdmin():
		return ErrForbidden
	}
	return nil
}

// WriteError answers err as the API's JSON error, with the status this package's
// errors map to. Errors it does not know become 500 without their text.
func WriteError(w http.ResponseWriter, err error) {
	status, code, msg := StatusOf(err)
	var rl *RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int((rl.RetryAfter+time.Second-1)/time.Second)))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="classcast"`)
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body)
}

// StatusOf maps this package's errors to an HTTP status, an error code and a message
// a user can read. Unknown errors are 500 "internal".
func StatusOf(err error) (status int, code, message string) {
	var inv *InvalidError
	var rl *RateLimitError
	switch {
	case errors.As(err, &inv):
		return http.StatusBadRequest, "invalid", inv.Error()
	case errors.As(err, &rl):
		return http.StatusTooManyRequests, "rate_limited", rl.Error()
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthorized", "sign in first (session cookie or Authorization: Bearer token)"
	case errors.Is(err, ErrBadCredentials):
		return http.StatusUnauthorized, "bad_credentials", err.Error()
	case errors.Is(err, ErrCSRF):
		return http.StatusForbidden, "csrf_failed", "missing or wrong " + CSRFHeader + " header; the token is csrf_token from sign-in or GET /api/v1/auth/me"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "forbidden", "your account may not do this"
	case errors.Is(err, ErrDisabled):
		return http.StatusForbidden, "account_disabled", err.Error()
	case errors.Is(err, ErrCrossOrigin):
		return http.StatusForbidden, "cross_origin", "sign-in from another site is refused"
	case errors.Is(err, ErrNotJSON):
		return http.StatusUnsupportedMediaType, "bad_content_type", err.Error()
	case errors.Is(err, ErrLastAdmin):
		return http.StatusConflict, "last_admin", err.Error()
	case errors.Is(err, ErrTooManyTokens):
		return http.StatusConflict, "too_many_tokens", err.Error()
	case errors.Is(err, catalog.ErrNotFound):
		return http.StatusNotFound, "not_found", "no such item"
	case errors.Is(err, catalog.ErrConflict):
		return http.StatusConflict, "conflict", strings.TrimPrefix(err.Error(), "catalog: ")
	}
	return http.StatusInternalServerError, "internal", "internal error; see the server log"
}

// CheckLoginRequest guards the sign-in endpoint against login CSRF (a foreign page
// signing the browser in as the attacker), where there is no session and so no CSRF
// token yet. It requires Content-Type: application/json, which an HTML form cannot
// send and a cross-origin fetch can only send after a CORS preflight that this server
// does not grant; and it refuses cross-origin browser requests by Sec-Fetch-Site or,
// in older browsers, by comparing Origin with Host (net/http's CrossOriginProtection;
// the origin of http.public_url is trusted as well, for reverse proxies that rewrite
// Host). Clients that send neither header (curl, scripts) are not browsers and pass.
func (s *Service) CheckLoginRequest(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return ErrNotJSON
	}
	if err := s.crossOrig.Check(r); err != nil {
		return ErrCrossOrigin
	}
	return nil
}

// secure reports whether the session cookie must be Secure: the request came over
// TLS, through a TLS-terminating proxy, or the public URL is https.
func (s *Service) secure(r *http.Request) bool {
	return s.secureAll || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// SetSessionCookie sets the session cookie of a new session: HttpOnly (no script
// reads it), SameSite=Lax (not sent on cross-site POSTs), Secure on https, Path=/.
func (s *Service) SetSessionCookie(w http.ResponseWriter, r *http.Request, res LoginResult) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: res.Secret, Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteLaxMode, Expires: s.now().Add(s.opts.SessionMaxAge)})
}

// ClearSessionCookie removes the session cookie from the browser.
func (s *Service) ClearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// SessionSecret returns the session cookie r carries, if any (for
// LoginRequest.PreviousSecret).
func SessionSecret(r *http.Request) string {
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}
