package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/classcast/classcast/internal/catalog"
)

// Options configure a Service. Zero values take the defaults in parentheses.
type Options struct {
	// Catalog stores accounts; required.
	Catalog *catalog.Catalog
	Log     *slog.Logger
	// PublicURL is how users reach the server (http.public_url). An https URL makes
	// session cookies Secure on every request, and its origin is trusted for sign-in.
	PublicURL string
	// SessionIdle ends a session unused for this long (12 h).
	SessionIdle time.Duration
	// SessionMaxAge ends a session this long after sign-in however busy (7 days).
	SessionMaxAge time.Duration
	// Hash is the argon2id cost for new hashes (DefaultHashParams).
	Hash HashParams
	// UserFailures and IPFailures are how many failed sign-ins a username and a client
	// address may have within FailureWindow before further attempts get 429 (5, 20, 1
	// minute). Negative turns a limit off.
	UserFailures  int
	IPFailures    int
	FailureWindow time.Duration
	// Now is the clock (time.Now); tests move it to expire sessions.
	Now func() time.Time
}

// Service signs users in and out, resolves requests to principals and manages
// accounts. It is safe for concurrent use.
type Service struct {
	cat        *catalog.Catalog
	log        *slog.Logger
	opts       Options
	now        func() time.Time
	secureAll  bool
	crossOrig  *http.CrossOriginProtection
	userLimit  *failureLimiter
	ipLimit    *failureLimiter
	hashSlots  chan struct{}
	dummyOnce  sync.Once
	dummyHash  string
	touchEvery time.Duration
}

// Limits on what users may create.
const (
	// MaxTokensPerUser bounds API tokens per user.
	MaxTokensPerUser = 50
	// MinPasswordLen is the shortest password accepted (in characters).
	MinPasswordLen = 8
	// TokenPrefix starts every API token, so a bearer value can be told from a
	// per-stream viewer token without a lookup.
	TokenPrefix = "cct_"
)

// New returns a Service over opts.Catalog.
func New(opts Options) (*Service, error) {
	if opts.Catalog == nil {
		return nil, errors.New("auth: a catalog is required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.SessionIdle, 12*time.Hour)
	def(&opts.SessionMaxAge, 7*24*time.Hour)
	def(&opts.FailureWindow, time.Minute)
	if opts.UserFailures == 0 {
		opts.UserFailures = 5
	}
	if opts.IPFailures == 0 {
		opts.IPFailures = 20
	}
	if opts.Hash.Memory == 0 {
		opts.Hash = DefaultHashParams
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{
		cat: opts.Catalog, log: opts.Log, opts: opts, now: opts.Now,
		crossOrig: http.NewCrossOriginProtection(),
		userLimit: newFailureLimiter(opts.UserFailures, opts.FailureWindow),
		ipLimit:   newFailureLimiter(opts.IPFailures, opts.FailureWindow),
		// Each hash holds Hash.Memory for its duration: bound how many run at once, so a
		// flood of sign-ins queues instead of exhausting memory.
		hashSlots:  make(chan struct{}, max(2, runtime.NumCPU())),
		touchEvery: min(time.Minute, opts.SessionIdle/4),
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("auth: public URL %q is not an absolute URL", opts.PublicURL)
		}
		s.secureAll = u.Scheme == "https"
		if err := s.crossOrig.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("auth: public URL %q: %w", opts.PublicURL, err)
		}
	}
	return s, nil
}

// --- secrets and ids

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand aborts the program instead
	return b
}

// secret returns n random bytes, URL-safe encoded.
func secret(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

// newID returns a random id that catalog.ValidID accepts: prefix, a dash, 20 hex digits.
func newID(prefix string) string { return prefix + "-" + hex.EncodeToString(randomBytes(10)) }

// timeID is an id that sorts by time (for the audit log).
func timeID(t time.Time) string {
	return fmt.Sprintf("%012x%s", t.UnixMilli(), hex.EncodeToString(randomBytes(5)))
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// --- hashing with bounded concurrency

func (s *Service) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return HashPassword(password, s.opts.Hash)
}

func (s *Service) verify(ctx context.Context, password, phc string) (ok, stale bool, err error) {
	if err := s.acquire(ctx); err != nil {
		return false, false, err
	}
	defer s.release()
	return VerifyPassword(password, phc, s.opts.Hash)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) release() { <-s.hashSlots }

// dummy is a hash checked against when the username is unknown, so that a wrong
// username takes as long as a wrong password and does not reveal which users exist.
func (s *Service) dummy() string {
	s.dummyOnce.Do(func() { s.dummyHash, _ = HashPassword(secret(16), s.opts.Hash) })
	return s.dummyHash
}

// --- validation

// NormalizeUsername lower-cases and trims a username.
func NormalizeUsername(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

func validUsername(u string) error {
	if len(u) < 2 || len(u) > 64 {
		return &InvalidError{Field: "username", Reason: "must be 2 to 64 characters"}
	}
	for i, c := range u {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && strings.ContainsRune("._-@", c)
		if !ok {
			return &InvalidError{Field: "username", Reason: "may hold only a-z, 0-9 and . _ - @ (not first); put a name in display_name"}
		}
	}
	return nil
}

func validPassword(field, p string) error {
	if utf8.RuneCountInString(p) < MinPasswordLen {
		return &InvalidError{Field: field, Reason: fmt.Sprintf("must be at least %d characters", MinPasswordLen)}
	}
	if len(p) > MaxPasswordBytes {
		return &InvalidError{Field: field, Reason: fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes)}
	}
	return nil
}

// validText checks a human-readable name: trimmed, 0 (if optional) to maxLen
// characters, no control characters. Chinese and other scripts are welcome.
func validText(field, v string, maxLen int, optional bool) (string, error) {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	if !utf8.ValidString(v) || n > maxLen || n == 0 && !optional {
		least := 1
		if optional {
			least = 0
		}
		return "", &InvalidError{Field: field, Reason: fmt.Sprintf("must be %d to %d characters of text", least, maxLen)}
	}
	for _, c := range v {
		if unicode.IsControl(c) {
			return "", &InvalidError{Field: field, Reason: "must not hold control characters"}
		}
	}
	return v, nil
}

// --- bootstrap

// BootstrapUsername is the admin account created on first start.
const BootstrapUsername = "admin"

// Bootstrap creates the first admin when there are no users at all: with password
// when it is set (admin.password), else with a random one printed once in the log at
// WARN. It reports whether it created the account. Later starts do nothing, whatever
// password says: the admin's password is then changed through the API.
func (s *Service) Bootstrap(ctx context.Context, password string) (bool, error) {
	n, err := s.cat.CountUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("auth: bootstrap: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	generated := password == ""
	if generated {
		password = secret(12)
	} else if utf8.RuneCountInString(password) < MinPasswordLen {
		s.log.Warn("admin.password is short; choose at least 8 characters", "length", utf8.RuneCountInString(password))
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return false, fmt.Errorf("auth: bootstrap: %w", err)
	}
	u := catalog.User{ID: newID("u"), Username: BootstrapUsername, DisplayName: "Administrator", Role: string(RoleAdmin), PasswordHash: h}
	if err := s.cat.CreateUser(ctx, u); errors.Is(err, catalog.ErrConflict) {
		return false, nil // another node created it first
	} else if err != nil {
		return false, fmt.Errorf("auth: bootstrap: %w", err)
	}
	if generated {
		s.log.Warn("created the first admin account with a random password; it is shown only this once: sign in and change it",
			"username", BootstrapUsername, "password", password)
	} else {
		s.log.Info("created the first admin account with admin.password", "username", BootstrapUsername)
	}
	s.Audit(ctx, nil, "auth.bootstrap", "user:"+u.ID, map[string]any{"username": u.Username, "generated_password": generated})
	return true, nil
}

// --- sign-in

// LoginRequest is one sign-in attempt.
type LoginRequest struct {
	Username  string
	Password  string
	Remote    string // client address, for the per-address limit and the audit log
	UserAgent string
	// PreviousSecret is the session cookie the browser still sent, if any: that
	// session is ended, so one browser holds one session.
	PreviousSecret string
}

// LoginResult is a new session.
type LoginResult struct {
	User      catalog.User
	Principal *Principal
	// Secret is the session cookie's value; only its hash is stored.
	Secret    string
	CSRFToken string
	ExpiresAt time.Time
}

// Login checks a username and password and opens a session. Errors: a
// *RateLimitError, ErrBadCredentials, ErrDisabled, or a failure of the catalog.
func (s *Service) Login(ctx context.Context, in LoginRequest) (LoginResult, error) {
	now := s.now()
	username := NormalizeUsername(in.Username)
	userKey, ipKey := limiterKeyUser(username), limiterKeyIP(in.Remote)
	// Refused before any hashing, so a flood costs no CPU.
	if wait := max(s.userLimit.wait(userKey, now), s.ipLimit.wait(ipKey, now)); wait > 0 {
		s.log.Debug("sign-in throttled", "username", clip(username, 64), "remote", in.Remote, "retry_after", wait.Round(time.Second))
		return LoginResult{}, &RateLimitError{RetryAfter: wait}
	}
	fail := func(u catalog.User, reason string) (LoginResult, error) {
		if s.userLimit.fail(userKey, now) {
			s.log.Warn("too many failed sign-ins for a username; refusing it for a while",
				"username", clip(username, 64), "remote", in.Remote, "limit", s.opts.UserFailures, "window", s.opts.FailureWindow)
		}
		if s.ipLimit.fail(ipKey, now) {
			s.log.Warn("too many failed sign-ins from one address; refusing it for a while",
				"remote", in.Remote, "limit", s.opts.IPFailures, "window", s.opts.FailureWindow)
		}
		s.audit(ctx, u.ID, clip(username, 64), "auth.login_failed", userTarget(u.ID), map[string]any{"reason": reason}, in.Remote)
		return LoginResult{}, ErrBadCredentials
	}
	if username == "" || in.Password == "" || len(username) > 64 || len(in.Password) > MaxPasswordBytes {
		return fail(catalog.User{}, "malformed")
	}
	u, err := s.cat.UserByUsername(ctx, username)
	if errors.Is(err, catalog.ErrNotFound) {
		_, _, _ = s.verify(ctx, in.Password, s.dummy())
		return fail(catalog.User{}, "unknown_user")
	}
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: sign-in: %w", err)
	}
	ok, stale, err := s.verify(ctx, in.Password, u.PasswordHash)
	if err != nil && !errors.Is(err, ErrBadHash) {
		return LoginResult{}, fmt.Errorf("auth: sign-in: %w", err)
	}
	if err != nil {
		s.log.Error("stored password hash is unreadable; reset the password", "user", u.Username, "error", err)
	}
	if !ok {
		return fail(u, "wrong_password")
	}
	if u.Disabled {
		s.audit(ctx, u.ID, u.Username, "auth.login_failed", userTarget(u.ID), map[string]any{"reason": "disabled"}, in.Remote)
		return LoginResult{}, ErrDisabled
	}
	s.userLimit.reset(userKey)
	if stale {
		if h, err := s.hash(ctx, in.Password); err == nil {
			if err := s.cat.UpdateUser(ctx, u.ID, catalog.UserChange{PasswordHash: &h}); err != nil {
				s.log.Warn("could not refresh a password hash", "user", u.Username, "error", err)
			}
		}
	}
	if in.PreviousSecret != "" {
		_ = s.cat.DeleteSession(ctx, sha256Hex(in.PreviousSecret))
	}
	if _, err := s.cat.DeleteExpiredSessions(ctx, now); err != nil {
		s.log.Warn("could not delete expired sessions", "error", err)
	}
	res := LoginResult{User: u, Secret: secret(32), CSRFToken: secret(32), ExpiresAt: s.expiry(now, now)}
	sess := catalog.Session{IDHash: sha256Hex(res.Secret), UserID: u.ID, CSRFToken: res.CSRFToken, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: res.ExpiresAt, Remote: in.Remote, UserAgent: clip(in.UserAgent, 256)}
	if err := s.cat.CreateSession(ctx, sess); err != nil {
		return LoginResult{}, fmt.Errorf("auth: sign-in: %w", err)
	}
	if err := s.cat.SetLastLogin(ctx, u.ID, now); err != nil {
		s.log.Warn("could not record the sign-in time", "user", u.Username, "error", err)
	}
	res.User.LastLoginAt = now
	res.Principal = principalOf(u, MethodSession)
	res.Principal.CSRFToken, res.Principal.SessionExpires, res.Principal.sessionHash = res.CSRFToken, res.ExpiresAt, sess.IDHash
	s.audit(ctx, u.ID, u.Username, "auth.login", userTarget(u.ID), nil, in.Remote)
	return res, nil
}

// expiry is when a session created at created and last used at seen ends.
func (s *Service) expiry(created, seen time.Time) time.Time {
	idle, hard := seen.Add(s.opts.SessionIdle), created.Add(s.opts.SessionMaxAge)
	if hard.Before(idle) {
		return hard
	}
	return idle
}

func userTarget(id string) string {
	if id == "" {
		return ""
	}
	return "user:" + id
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func principalOf(u catalog.User, method string) *Principal {
	return &Principal{UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: Role(u.Role),
		SchoolID: u.SchoolID, District: u.District, Method: method}
}

// Logout ends p's session (a token-authenticated principal has none: nothing happens).
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p == nil || p.sessionHash == "" {
		return nil
	}
	if err := s.cat.DeleteSession(ctx, p.sessionHash); err != nil {
		return fmt.Errorf("auth: sign-out: %w", err)
	}
	s.Audit(ctx, p, "auth.logout", userTarget(p.UserID), nil)
	return nil
}

// sessionPrincipal resolves a session cookie's value; nil when it names no live session
// of an enabled user.
func (s *Service) sessionPrincipal(ctx context.Context, cookie string) (*Principal, error) {
	if cookie == "" || len(cookie) > 128 {
		return nil, nil
	}
	hash := sha256Hex(cookie)
	sess, u, err := s.cat.SessionUser(ctx, hash)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) {
		_ = s.cat.DeleteSession(ctx, hash)
		return nil, nil
	}
	if u.Disabled {
		return nil, nil
	}
	if now.Sub(sess.LastSeenAt) >= s.touchEvery {
		// Sliding expiry, written at most once a touchEvery, not on every segment fetch.
		sess.ExpiresAt = s.expiry(sess.CreatedAt, now)
		if err := s.cat.TouchSession(ctx, hash, now, sess.ExpiresAt); err != nil && !errors.Is(err, catalog.ErrNotFound) {
			s.log.Warn("could not extend a session", "user", u.Username, "error", err)
		}
	}
	p := principalOf(u, MethodSession)
	p.CSRFToken, p.SessionExpires, p.sessionHash = sess.CSRFToken, sess.ExpiresAt, hash
	return p, nil
}

// tokenPrincipal resolves an API token; nil when it is unknown, expired or its user is
// disabled.
func (s *Service) tokenPrincipal(ctx context.Context, token string) (*Principal, error) {
	if len(token) > 128 {
		return nil, nil
	}
	t, u, err := s.cat.APITokenUser(ctx, sha256Hex(token))
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if u.Disabled || !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return nil, nil
	}
	if now.Sub(t.LastUsedAt) >= time.Minute {
		if err := s.cat.TouchAPIToken(ctx, t.ID, now); err != nil && !errors.Is(err, catalog.ErrNotFound) {
			s.log.Warn("could not record API token use", "token", t.ID, "error", err)
		}
	}
	p := principalOf(u, MethodToken)
	p.TokenID = t.ID
	return p, nil
}

// --- own account

// ChangePassword changes p's own password after checking the current one, and ends
// p's other sessions. Wrong current passwords count toward the sign-in limit.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	if p == nil {
		return ErrUnauthenticated
	}
	if err := validPassword("new_password", next); err != nil {
		return err
	}
	now, key := s.now(), limiterKeyUser(p.Username)
	if wait := s.userLimit.wait(key, now); wait > 0 {
		return &RateLimitError{RetryAfter: wait}
	}
	u, err := s.cat.User(ctx, p.UserID)
	if err != nil {
		return fmt.Errorf("auth: change password: %w", err)
	}
	ok, _, err := s.verify(ctx, current, u.PasswordHash)
	if err != nil && !errors.Is(err, ErrBadHash) {
		return fmt.Errorf("auth: change password: %w", err)
	}
	if !ok {
		s.userLimit.fail(key, now)
		s.Audit(ctx, p, "auth.password_change_failed", userTarget(p.UserID), nil)
		return &InvalidError{Field: "current_password", Reason: "is wrong"}
	}
	h, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	if err := s.cat.UpdateUser(ctx, p.UserID, catalog.UserChange{PasswordHash: &h}); err != nil {
		return fmt.Errorf("auth: change password: %w", err)
	}
	n, err := s.cat.DeleteUserSessions(ctx, p.UserID, p.sessionHash)
	if err != nil {
		return fmt.Errorf("auth: change password: %w", err)
	}
	s.Audit(ctx, p, "auth.password_change", userTarget(p.UserID), map[string]any{"sessions_ended": n})
	return nil
}

// NewToken is a created API token with its secret, which is shown only this once.
type NewToken struct {
	catalog.APIToken
	Secret string
}

// CreateToken creates an API token for p. ttl 0 never expires.
func (s *Service) CreateToken(ctx context.Context, p *Principal, name string, ttl time.Duration) (NewToken, error) {
	if p == nil {
		return NewToken{}, ErrUnauthenticated
	}
	name, err := validText("name", name, 100, true)
	if err != nil {
		return NewToken{}, err
	}
	if ttl < 0 {
		return NewToken{}, &InvalidError{Field: "expires_in_days", Reason: "must not be negative"}
	}
	list, err := s.cat.ListAPITokens(ctx, p.UserID)
	if err != nil {
		return NewToken{}, err
	}
	if len(list) >= MaxTokensPerUser {
		return NewToken{}, ErrTooManyTokens
	}
	now := s.now()
	t := NewToken{Secret: TokenPrefix + secret(32)}
	t.APIToken = catalog.APIToken{ID: newID("t"), UserID: p.UserID, Name: name, Hash: sha256Hex(t.Secret), Prefix: t.Secret[:12], CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	if err := s.cat.CreateAPIToken(ctx, t.APIToken); err != nil {
		return NewToken{}, err
	}
	s.Audit(ctx, p, "auth.token_create", "token:"+t.ID, map[string]any{"name": name, "expires_at": t.ExpiresAt})
	return t, nil
}

// Tokens lists p's API tokens (without secrets).
func (s *Service) Tokens(ctx context.Context, p *Principal) ([]catalog.APIToken, error) {
	if p == nil {
		return nil, ErrUnauthenticated
	}
	return s.cat.ListAPITokens(ctx, p.UserID)
}

// DeleteToken deletes one of p's API tokens; catalog.ErrNotFound when p has no such token.
func (s *Service) DeleteToken(ctx context.Context, p *Principal, id string) error {
	if p == nil {
		return ErrUnauthenticated
	}
	if !catalog.ValidID(id) {
		return catalog.ErrNotFound
	}
	if err := s.cat.DeleteAPIToken(ctx, p.UserID, id); err != nil {
		return err
	}
	s.Audit(ctx, p, "auth.token_delete", "token:"+id, nil)
	return nil
}

// --- audit

// Audit appends an entry to the audit log: actor (nil: the system) did action to
// target, with detail (any JSON-encodable map; nil for none). The client address
// comes from ctx when the request went through Middleware. A failure to write is
// logged, not returned: the action it records has already happened.
//
// Actions are dotted: auth.login, auth.login_failed, auth.logout, auth.bootstrap,
// auth.password_change, auth.token_create, auth.token_delete, admin.user_create,
// admin.user_update, admin.school_create, admin.school_update,
// admin.classroom_create, admin.classroom_update, admin.classroom_delete; review
// actions should use review.<verb>. Targets are kind:id (user:u-..., school:s-...).
func (s *Service) Audit(ctx context.Context, actor *Principal, action, target string, detail map[string]any) {
	id, name := "", ""
	if actor != nil {
		id, name = actor.UserID, actor.Username
	}
	s.audit(ctx, id, name, action, target, detail, remoteFrom(ctx))
}

func (s *Service) audit(ctx context.Context, actorID, actor, action, target string, detail map[string]any, remote string) {
	d := "{}"
	if len(detail) > 0 {
		b, err := json.Marshal(detail)
		if err != nil {
			s.log.Error("audit detail is not JSON", "action", action, "error", err)
		} else {
			d = string(b)
		}
	}
	now := s.now()
	s.log.Info("audit", "action", action, "actor", actor, "target", target, "detail", d, "remote", remote)
	// Written even when the request was cancelled: the action it records happened.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.cat.AddAudit(ctx, catalog.AuditEntry{ID: timeID(now), At: now, ActorID: actorID, Actor: actor, Action: action,
		Target: target, Detail: d, Remote: remote}); err != nil {
		s.log.Error("could not write the audit log", "action", action, "actor", actor, "error", err)
	}
}

// AuditLog lists the audit log, newest first (admins only).
func (s *Service) AuditLog(ctx context.Context, p *Principal, f catalog.AuditFilter) ([]catalog.AuditEntry, int, error) {
	if err := requireAdmin(p); err != nil {
		return nil, 0, err
	}
	return s.cat.ListAudit(ctx, f)
}

// Me returns p's own account as stored now.
func (s *Service) Me(ctx context.Context, p *Principal) (catalog.User, error) {
	if p == nil {
		return catalog.User{}, ErrUnauthenticated
	}
	return s.cat.User(ctx, p.UserID)
}
