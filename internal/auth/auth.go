// Package auth is classcast's accounts and access layer: password sign-in (argon2id),
// browser sessions with CSRF tokens, bearer API tokens, roles, the visibility rule that
// says who may see a lesson or a live stream, login rate limiting and the audit log.
// The SQL lives in internal/catalog; this package holds the rules.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// Role is what a user may do. Roles are not ranked, except that an admin may do
// everything.
type Role string

// Roles.
const (
	// RoleAdmin manages schools, classrooms, users and reads the audit log.
	RoleAdmin Role = "admin"
	// RoleReviewer approves or rejects submitted lessons.
	RoleReviewer Role = "reviewer"
	// RoleTeacher records, uploads, cuts and submits lessons.
	RoleTeacher Role = "teacher"
	// RoleViewer watches what is visible to them.
	RoleViewer Role = "viewer"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleReviewer, RoleTeacher, RoleViewer}

// ParseRole checks that s names a role.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", &InvalidError{Field: "role", Reason: fmt.Sprintf("%q is not one of admin, reviewer, teacher, viewer", s)}
}

// Visibility says who may see a lesson or a live stream.
type Visibility string

// Visibilities, from the widest to the narrowest.
const (
	// Public: anyone, signed in or not.
	Public Visibility = "public"
	// DistrictOnly: signed-in users of any school in the owner's district.
	DistrictOnly Visibility = "district"
	// SchoolOnly: signed-in users of the owner's school.
	SchoolOnly Visibility = "school"
	// Link: the owner's school, and anyone holding the object's share token.
	Link Visibility = "link"
)

// ParseVisibility checks that s names a visibility.
func ParseVisibility(s string) (Visibility, error) {
	switch v := Visibility(s); v {
	case Public, DistrictOnly, SchoolOnly, Link:
		return v, nil
	}
	return "", &InvalidError{Field: "visibility", Reason: fmt.Sprintf("%q is not one of public, district, school, link", s)}
}

// Principal is who made a request: a signed-in user, by session or by API token. A nil
// *Principal is an anonymous caller.
type Principal struct {
	UserID      string
	Username    string
	DisplayName string
	Role        Role
	// SchoolID is empty for a user of no school; District is the district of that
	// school.
	SchoolID string
	District string
	// Method is how the request authenticated: MethodSession or MethodToken.
	Method string
	// CSRFToken is the session's CSRF token (sessions only): the page sends it back in
	// X-CSRF-Token on unsafe requests.
	CSRFToken string
	// SessionExpires is when the session ends if left idle (sessions only).
	SessionExpires time.Time
	// TokenID is the API token used (tokens only).
	TokenID string

	sessionHash string
}

// Authentication methods.
const (
	MethodSession = "session"
	MethodToken   = "token"
)

// Is reports whether p is signed in with one of roles; an admin is every role.
func (p *Principal) Is(roles ...Role) bool {
	if p == nil {
		return false
	}
	if p.Role == RoleAdmin {
		return true
	}
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// IsAdmin reports whether p is a signed-in admin.
func (p *Principal) IsAdmin() bool { return p != nil && p.Role == RoleAdmin }

// Scope is what the visibility rule needs to know about an object (a lesson, a
// micro-lecture, a classroom's live stream): its visibility, where it belongs and who
// owns it.
type Scope struct {
	Visibility Visibility
	// SchoolID and District are the owning school and its district.
	SchoolID string
	District string
	// OwnerID is the user who owns the object (a lesson's teacher); empty for none.
	OwnerID string
	// ShareToken is the object's share-link secret; used only with Link visibility.
	ShareToken string
}

// CanView reports whether p (nil: anonymous) may see an object of scope s, when the
// request presented shareToken (empty: none). Admins and the owner always may; public
// is for everyone; district for users of a school in the same district; school for
// users of the same school; link for the owning school and whoever holds the share
// token (compared in constant time). A share token opens Link objects only, so turning
// a link-shared lesson back to school-only stops the link at once. An unknown
// visibility is closed.
func CanView(p *Principal, s Scope, shareToken string) bool {
	if s.Visibility == Public {
		return true
	}
	if p != nil && (p.Role == RoleAdmin || s.OwnerID != "" && p.UserID == s.OwnerID) {
		return true
	}
	sameSchool := p != nil && s.SchoolID != "" && p.SchoolID == s.SchoolID
	switch s.Visibility {
	case SchoolOnly:
		return sameSchool
	case DistrictOnly:
		return sameSchool || p != nil && s.District != "" && p.District == s.District
	case Link:
		return sameSchool || TokenMatches(shareToken, s.ShareToken)
	}
	return false
}

// CheckView is CanView as an error for the HTTP layer: nil when allowed,
// ErrUnauthenticated (401) when an anonymous caller without a share token is refused,
// ErrForbidden (403) otherwise.
func CheckView(p *Principal, s Scope, shareToken string) error {
	switch {
	case CanView(p, s, shareToken):
		return nil
	case p == nil && shareToken == "":
		return ErrUnauthenticated
	default:
		return ErrForbidden
	}
}

// TokenMatches compares a presented secret with the expected one in constant time; an
// empty expected secret never matches.
func TokenMatches(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Errors that callers match with errors.Is and the API maps to statuses.
var (
	// ErrUnauthenticated: the caller must sign in (401).
	ErrUnauthenticated = errors.New("sign-in required")
	// ErrForbidden: signed in, or holding a link, but not allowed (403).
	ErrForbidden = errors.New("not allowed")
	// ErrCSRF: a cookie-authenticated unsafe request without the session's
	// X-CSRF-Token (403).
	ErrCSRF = errors.New("missing or wrong X-CSRF-Token header")
	// ErrBadCredentials: wrong username or password (401). Which of the two is not said.
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrDisabled: the password was right but the account is disabled (403).
	ErrDisabled = errors.New("this account is disabled; ask an admin")
	// ErrLastAdmin: the change would leave no enabled admin (409).
	ErrLastAdmin = errors.New("this would leave no enabled admin")
	// ErrTooManyTokens: a user has as many API tokens as allowed (409).
	ErrTooManyTokens = errors.New("too many API tokens; delete one first")
	// ErrNotJSON: a sign-in request that is not Content-Type: application/json (415).
	ErrNotJSON = errors.New("sign-in requests must be Content-Type: application/json")
	// ErrCrossOrigin: a sign-in request from another site (403).
	ErrCrossOrigin = errors.New("cross-origin sign-in refused")
)

// InvalidError is input that can never succeed; the API answers 400 with it.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// RateLimitError is a refused sign-in attempt: too many failures lately (429).
type RateLimitError struct {
	// RetryAfter is how long until the next attempt may be made.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many failed sign-in attempts; try again in %d s", int(e.RetryAfter.Round(time.Second)/time.Second))
}

// state is what the middleware learnt about a request.
type state struct {
	principal *Principal
	// denied is set when credentials were presented but not accepted in a way the
	// caller must hear about (ErrCSRF).
	denied error
	// err is a failure to look the credentials up (the catalog is down).
	err    error
	remote string
}

type stateKey struct{}

// FromContext returns the request's principal, nil when anonymous (or when a cookie
// session's unsafe request lacked its CSRF token).
func FromContext(ctx context.Context) *Principal {
	if st, ok := ctx.Value(stateKey{}).(*state); ok {
		return st.principal
	}
	return nil
}

// WithPrincipal returns ctx carrying p, for calls made on a principal's behalf outside
// an HTTP request (and for tests).
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	st := &state{principal: p}
	if old, ok := ctx.Value(stateKey{}).(*state); ok {
		st.remote = old.remote
	}
	return context.WithValue(ctx, stateKey{}, st)
}

// Denial returns why the request must be refused whatever the endpoint: ErrCSRF when
// a cookie session's unsafe request lacked its token, or a lookup failure; nil when
// there is none (the caller then decides between anonymous and signed-in).
func Denial(ctx context.Context) error {
	if st, ok := ctx.Value(stateKey{}).(*state); ok {
		if st.err != nil {
			return st.err
		}
		return st.denied
	}
	return nil
}

func remoteFrom(ctx context.Context) string {
	if st, ok := ctx.Value(stateKey{}).(*state); ok {
		return st.remote
	}
	return ""
}
