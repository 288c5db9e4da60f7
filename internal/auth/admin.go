package auth

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/media/stream"
)

// Every method here is for admins: it checks the actor, validates, writes, and
// records the change in the audit log.

// --- users

// NewUser is an account to create. An empty Password makes one up (returned once).
type NewUser struct {
	Username    string
	DisplayName string
	Password    string
	Role        Role
	SchoolID    string
}

// CreateUser creates an account and returns it with the password when one was made up.
func (s *Service) CreateUser(ctx context.Context, actor *Principal, in NewUser) (catalog.User, string, error) {
	if err := requireAdmin(actor); err != nil {
		return catalog.User{}, "", err
	}
	u := catalog.User{ID: newID("u"), Username: NormalizeUsername(in.Username)}
	if err := validUsername(u.Username); err != nil {
		return catalog.User{}, "", err
	}
	var err error
	if u.DisplayName, err = validText("display_name", in.DisplayName, 100, true); err != nil {
		return catalog.User{}, "", err
	}
	role, err := ParseRole(string(in.Role))
	if err != nil {
		return catalog.User{}, "", err
	}
	u.Role = string(role)
	if u.SchoolID, u.District, err = s.school(ctx, in.SchoolID); err != nil {
		return catalog.User{}, "", err
	}
	generated := ""
	if in.Password == "" {
		generated = secret(12)
		in.Password = generated
	} else if err := validPassword("password", in.Password); err != nil {
		return catalog.User{}, "", err
	}
	if u.PasswordHash, err = s.hash(ctx, in.Password); err != nil {
		return catalog.User{}, "", err
	}
	if err := s.cat.CreateUser(ctx, u); err != nil {
		return catalog.User{}, "", err
	}
	s.Audit(ctx, actor, "admin.user_create", userTarget(u.ID), map[string]any{"username": u.Username, "role": u.Role, "school_id": u.SchoolID})
	created, err := s.cat.User(ctx, u.ID)
	return created, generated, err
}

// school checks that id names a school ("" is none) and returns it with its district.
func (s *Service) school(ctx context.Context, id string) (string, string, error) {
	if id == "" {
		return "", "", nil
	}
	if !catalog.ValidID(id) {
		return "", "", &InvalidError{Field: "school_id", Reason: "no such school"}
	}
	sc, err := s.cat.School(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return "", "", &InvalidError{Field: "school_id", Reason: "no such school"}
	}
	if err != nil {
		return "", "", err
	}
	return sc.ID, sc.District, nil
}

// UserUpdate holds the changes to an account; nil leaves a field as it is. Password
// is an admin's reset: it ends the user's sessions, as disabling does.
type UserUpdate struct {
	DisplayName *string
	Role        *Role
	SchoolID    *string
	Disabled    *bool
	Password    *string
}

// Users lists accounts.
func (s *Service) Users(ctx context.Context, actor *Principal, f catalog.UserFilter) ([]catalog.User, int, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, 0, err
	}
	return s.cat.ListUsers(ctx, f)
}

// User returns one account.
func (s *Service) User(ctx context.Context, actor *Principal, id string) (catalog.User, error) {
	if err := requireAdmin(actor); err != nil {
		return catalog.User{}, err
	}
	if !catalog.ValidID(id) {
		return catalog.User{}, catalog.ErrNotFound
	}
	return s.cat.User(ctx, id)
}

// UpdateUser changes an account. Demoting or disabling the last enabled admin is
// ErrLastAdmin.
func (s *Service) UpdateUser(ctx context.Context, actor *Principal, id string, in UserUpdate) (catalog.User, error) {
	old, err := s.User(ctx, actor, id)
	if err != nil {
		return catalog.User{}, err
	}
	var ch catalog.UserChange
	detail := map[string]any{}
	if in.DisplayName != nil {
		v, err := validText("display_name", *in.DisplayName, 100, true)
		if err != nil {
			return catalog.User{}, err
		}
		ch.DisplayName, detail["display_name"] = &v, v
	}
	if in.Role != nil {
		r, err := ParseRole(string(*in.Role))
		if err != nil {
			return catalog.User{}, err
		}
		v := string(r)
		ch.Role, detail["role"] = &v, v
	}
	if in.SchoolID != nil {
		v, _, err := s.school(ctx, *in.SchoolID)
		if err != nil {
			return catalog.User{}, err
		}
		ch.SchoolID, detail["school_id"] = &v, v
	}
	if in.Disabled != nil {
		ch.Disabled, detail["disabled"] = in.Disabled, *in.Disabled
	}
	if in.Password != nil {
		if err := validPassword("password", *in.Password); err != nil {
			return catalog.User{}, err
		}
		h, err := s.hash(ctx, *in.Password)
		if err != nil {
			return catalog.User{}, err
		}
		ch.PasswordHash, detail["password_reset"] = &h, true
	}
	losesAdmin := old.Role == string(RoleAdmin) && !old.Disabled &&
		(ch.Role != nil && *ch.Role != string(RoleAdmin) || ch.Disabled != nil && *ch.Disabled)
	if losesAdmin {
		// Not atomic with the update: two admins demoting each other at the same
		// instant could both pass. Rare enough for an admin screen; bootstrap cannot
		// help afterwards (users exist), so say it in the error.
		n, err := s.cat.CountActiveAdmins(ctx)
		if err != nil {
			return catalog.User{}, err
		}
		if n <= 1 {
			return catalog.User{}, ErrLastAdmin
		}
	}
	if err := s.cat.UpdateUser(ctx, id, ch); err != nil {
		return catalog.User{}, err
	}
	if ch.PasswordHash != nil || ch.Disabled != nil && *ch.Disabled {
		n, err := s.cat.DeleteUserSessions(ctx, id, "")
		if err != nil {
			return catalog.User{}, err
		}
		detail["sessions_ended"] = n
	}
	s.Audit(ctx, actor, "admin.user_update", userTarget(id), detail)
	return s.cat.User(ctx, id)
}

// --- schools

// Schools lists schools, of one district when district is set.
func (s *Service) Schools(ctx context.Context, actor *Principal, district string, limit, offset int) ([]catalog.School, int, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, 0, err
	}
	return s.cat.ListSchools(ctx, district, limit, offset)
}

// CreateSchool creates a school in district (which may be empty).
func (s *Service) CreateSchool(ctx context.Context, actor *Principal, name, district string) (catalog.School, error) {
	if err := requireAdmin(actor); err != nil {
		return catalog.School{}, err
	}
	sc := catalog.School{ID: newID("s")}
	var err error
	if sc.Name, err = validText("name", name, 200, false); err != nil {
		return catalog.School{}, err
	}
	if sc.District, err = validText("district", district, 100, true); err != nil {
		return catalog.School{}, err
	}
	if err := s.cat.CreateSchool(ctx, sc); err != nil {
		return catalog.School{}, err
	}
	s.Audit(ctx, actor, "admin.school_create", "school:"+sc.ID, map[string]any{"name": sc.Name, "district": sc.District})
	return s.cat.School(ctx, sc.ID)
}

// UpdateSchool renames a school or moves it to another district; nil leaves a field.
func (s *Service) UpdateSchool(ctx context.Context, actor *Principal, id string, name, district *string) (catalog.School, error) {
	if err := requireAdmin(actor); err != nil {
		return catalog.School{}, err
	}
	if !catalog.ValidID(id) {
		return catalog.School{}, catalog.ErrNotFound
	}
	var ch catalog.SchoolChange
	detail := map[string]any{}
	if name != nil {
		v, err := validText("name", *name, 200, false)
		if err != nil {
			return catalog.School{}, err
		}
		ch.Name, detail["name"] = &v, v
	}
	if district != nil {
		v, err := validText("district", *district, 100, true)
		if err != nil {
			return catalog.School{}, err
		}
		ch.District, detail["district"] = &v, v
	}
	if err := s.cat.UpdateSchool(ctx, id, ch); err != nil {
		return catalog.School{}, err
	}
	s.Audit(ctx, actor, "admin.school_update", "school:"+id, detail)
	return s.cat.School(ctx, id)
}

// --- classrooms

// NewClassroom is a classroom to create. An empty PublishUser is "publisher"; an empty
// Visibility is SchoolOnly.
type NewClassroom struct {
	SchoolID    string
	Name        string
	StreamPath  string
	PublishUser string
	Visibility  Visibility
}

// ClassroomUpdate holds the changes to a classroom; nil leaves a field as it is.
// RotateKey makes a new publish key (the encoder must be reconfigured);
// RotateShareToken makes a new share link, so the old link stops working.
type ClassroomUpdate struct {
	SchoolID         *string
	Name             *string
	StreamPath       *string
	PublishUser      *string
	Visibility       *Visibility
	RotateKey        bool
	RotateShareToken bool
}

// publishKey is an encoder's RTSP password: 32 lower-case hex digits (128 bits), which
// every encoder's settings page and an rtsp://user:key@host URL accept without escaping.
func publishKey() string { return hex.EncodeToString(randomBytes(16)) }

func validPublishUser(u string) error {
	if len(u) < 1 || len(u) > 64 {
		return &InvalidError{Field: "publish_user", Reason: "must be 1 to 64 characters"}
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return &InvalidError{Field: "publish_user", Reason: "may hold only letters, digits and - _ . (it goes into rtsp:// URLs)"}
		}
	}
	return nil
}

func validStreamPath(p string) error {
	if err := stream.ValidatePath(p); err != nil {
		return &InvalidError{Field: "stream_path", Reason: "must be up to 128 characters of segments of letters, digits, - _ . separated by /, such as school-a/room-101"}
	}
	return nil
}

// Classrooms lists classrooms, of one school when schoolID is set.
func (s *Service) Classrooms(ctx context.Context, actor *Principal, schoolID string, limit, offset int) ([]catalog.Classroom, int, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, 0, err
	}
	return s.cat.ListClassrooms(ctx, schoolID, limit, offset)
}

// Classroom returns one classroom.
func (s *Service) Classroom(ctx context.Context, actor *Principal, id string) (catalog.Classroom, error) {
	if err := requireAdmin(actor); err != nil {
		return catalog.Classroom{}, err
	}
	if !catalog.ValidID(id) {
		return catalog.Classroom{}, catalog.ErrNotFound
	}
	return s.cat.Classroom(ctx, id)
}

// CreateClassroom creates a classroom with a new publish key (in the result).
func (s *Service) CreateClassroom(ctx context.Context, actor *Principal, in NewClassroom) (catalog.Classroom, error) {
	if err := requireAdmin(actor); err != nil {
		return catalog.Classroom{}, err
	}
	r := catalog.Classroom{ID: newID("c"), StreamPath: in.StreamPath, PublishUser: in.PublishUser, PublishKey: publishKey()}
	var err error
	if in.SchoolID == "" {
		return catalog.Classroom{}, &InvalidError{Field: "school_id", Reason: "is required"}
	}
	if r.SchoolID, _, err = s.school(ctx, in.SchoolID); err != nil {
		return catalog.Classroom{}, err
	}
	if r.Name, err = validText("name", in.Name, 200, false); err != nil {
		return catalog.Classroom{}, err
	}
	if err := validStreamPath(r.StreamPath); err != nil {
		return catalog.Classroom{}, err
	}
	if r.PublishUser == "" {
		r.PublishUser = "publisher"
	}
	if err := validPublishUser(r.PublishUser); err != nil {
		return catalog.Classroom{}, err
	}
	if in.Visibility == "" {
		in.Visibility = SchoolOnly
	}
	v, err := ParseVisibility(string(in.Visibility))
	if err != nil {
		return catalog.Classroom{}, err
	}
	r.Visibility = string(v)
	if v == Link {
		r.ShareToken = secret(24)
	}
	if err := s.cat.CreateClassroom(ctx, r); err != nil {
		return catalog.Classroom{}, err
	}
	s.Audit(ctx, actor, "admin.classroom_create", "classroom:"+r.ID,
		map[string]any{"name": r.Name, "stream_path": r.StreamPath, "school_id": r.SchoolID, "visibility": r.Visibility})
	return s.cat.Classroom(ctx, r.ID)
}

// UpdateClassroom changes a classroom and reports whether its publish key changed.
func (s *Service) UpdateClassroom(ctx context.Context, actor *Principal, id string, in ClassroomUpdate) (catalog.Classroom, bool, error) {
	old, err := s.Classroom(ctx, actor, id)
	if err != nil {
		return catalog.Classroom{}, false, err
	}
	var ch catalog.ClassroomChange
	detail := map[string]any{}
	if in.SchoolID != nil {
		if *in.SchoolID == "" {
			return catalog.Classroom{}, false, &InvalidError{Field: "school_id", Reason: "a classroom belongs to a school"}
		}
		v, _, err := s.school(ctx, *in.SchoolID)
		if err != nil {
			return catalog.Classroom{}, false, err
		}
		ch.SchoolID, detail["school_id"] = &v, v
	}
	if in.Name != nil {
		v, err := validText("name", *in.Name, 200, false)
		if err != nil {
			return catalog.Classroom{}, false, err
		}
		ch.Name, detail["name"] = &v, v
	}
	if in.StreamPath != nil {
		if err := validStreamPath(*in.StreamPath); err != nil {
			return catalog.Classroom{}, false, err
		}
		ch.StreamPath, detail["stream_path"] = in.StreamPath, *in.StreamPath
	}
	if in.PublishUser != nil {
		if err := validPublishUser(*in.PublishUser); err != nil {
			return catalog.Classroom{}, false, err
		}
		ch.PublishUser, detail["publish_user"] = in.PublishUser, *in.PublishUser
	}
	vis := Visibility(old.Visibility)
	if in.Visibility != nil {
		v, err := ParseVisibility(string(*in.Visibility))
		if err != nil {
			return catalog.Classroom{}, false, err
		}
		vs := string(v)
		ch.Visibility, detail["visibility"], vis = &vs, vs, v
	}
	if in.RotateKey {
		k := publishKey()
		ch.PublishKey, detail["publish_key_rotated"] = &k, true
	}
	// A link needs a secret; a new one on request; none kept for other visibilities,
	// so a later switch back to link makes a fresh one instead of reviving the old.
	switch {
	case vis == Link && (old.ShareToken == "" || in.RotateShareToken):
		t := secret(24)
		ch.ShareToken, detail["share_token_rotated"] = &t, true
	case vis != Link && old.ShareToken != "":
		t := ""
		ch.ShareToken = &t
	}
	if err := s.cat.UpdateClassroom(ctx, id, ch); err != nil {
		return catalog.Classroom{}, false, err
	}
	s.Audit(ctx, actor, "admin.classroom_update", "classroom:"+id, detail)
	r, err := s.cat.Classroom(ctx, id)
	return r, in.RotateKey, err
}

// DeleteClassroom deletes a classroom; its stream loses its publish key at once.
func (s *Service) DeleteClassroom(ctx context.Context, actor *Principal, id string) error {
	old, err := s.Classroom(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := s.cat.DeleteClassroom(ctx, id); err != nil {
		return err
	}
	s.Audit(ctx, actor, "admin.classroom_delete", "classroom:"+id, map[string]any{"name": old.Name, "stream_path": old.StreamPath})
	return nil
}

// --- for the live plane

// PublishCredentials returns the RTSP credentials of the classroom streaming to path;
// ok is false when no classroom has that path. Its signature fits
// rtsp.ServerOptions.Credentials. A catalog failure is logged and reads as "no
// classroom", which refuses remote publishers rather than letting them in.
func (s *Service) PublishCredentials(path string) (user, pass string, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := s.cat.ClassroomByStreamPath(ctx, path)
	if err != nil {
		if !errors.Is(err, catalog.ErrNotFound) {
			s.log.Error("could not look up publish credentials", "stream", path, "error", err)
		}
		return "", "", false
	}
	return r.PublishUser, r.PublishKey, true
}

// ClassroomScope is the visibility scope of a classroom's live stream, for CanView.
func ClassroomScope(r catalog.Classroom) Scope {
	return Scope{Visibility: Visibility(r.Visibility), SchoolID: r.SchoolID, District: r.District, ShareToken: r.ShareToken}
}

// StreamScope returns the scope of the live stream at path and whether a classroom
// owns it (when none does, the stream's access is up to the config's view tokens).
func (s *Service) StreamScope(ctx context.Context, path string) (Scope, bool, error) {
	r, err := s.cat.ClassroomByStreamPath(ctx, path)
	if errors.Is(err, catalog.ErrNotFound) {
		return Scope{}, false, nil
	}
	if err != nil {
		return Scope{}, false, fmt.Errorf("auth: stream %s: %w", path, err)
	}
	return ClassroomScope(r), true, nil
}
