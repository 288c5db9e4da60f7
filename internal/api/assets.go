package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/catalog"
)

// assetView is an asset as the API shows it.
type assetView struct {
	ID            string              `json:"id"`
	Kind          string              `json:"kind"`
	Title         string              `json:"title"`
	StreamPath    string              `json:"stream_path"`
	State         string              `json:"state"`
	Step          string              `json:"step"`
	Percent       float64             `json:"percent"`
	Error         string              `json:"error"`
	Duration      float64             `json:"duration_seconds"`
	Width         int                 `json:"width"`
	Height        int                 `json:"height"`
	CreatedAt     time.Time           `json:"created_at"`
	UpdatedAt     time.Time           `json:"updated_at"`
	StartedAt     *time.Time          `json:"started_at"`
	EndedAt       *time.Time          `json:"ended_at"`
	Renditions    []catalog.Rendition `json:"renditions"`
	MasterURL     string              `json:"master_url"`
	PosterURL     string              `json:"poster_url"`
	StoryboardURL string              `json:"storyboard_url"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewAsset(a catalog.Asset) assetView {
	v := assetView{
		ID: a.ID, Kind: a.Kind, Title: a.Title, StreamPath: a.StreamPath, State: a.State, Step: a.Step,
		Percent: a.Percent, Error: a.Error, Duration: a.Duration.Seconds(), Width: a.Width, Height: a.Height,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, StartedAt: optTime(a.StartedAt), EndedAt: optTime(a.EndedAt),
		Renditions: a.Renditions,
	}
	if v.Renditions == nil {
		v.Renditions = []catalog.Rendition{}
	}
	if a.State == catalog.StateReady {
		base := "/vod/" + a.ID + "/"
		v.MasterURL, v.PosterURL, v.StoryboardURL = base+"master.m3u8", base+"poster.jpg", base+"storyboard.vtt"
	}
	return v
}

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request) {
	r = withMediaMemo(r)
	q := r.URL.Query()
	f := catalog.AssetFilter{State: q.Get("state"), Kind: q.Get("kind")}
	switch f.State {
	case "", catalog.StateRecording, catalog.StateQueued, catalog.StateProcessing, catalog.StateReady, catalog.StateFailed:
	default:
		writeError(w, http.StatusBadRequest, "bad_state", "state must be one of recording, queued, processing, ready, failed")
		return
	}
	for name, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, "bad_"+name, name+" must be a non-negative integer")
				return
			}
			*dst = n
		}
	}
	if p := auth.FromContext(r.Context()); s.opts.Auth == nil || seesEverything(p) {
		// Admins and reviewers see every asset: the catalog pages for them.
		list, total, err := s.opts.Catalog.ListAssets(r.Context(), f)
		if err == nil {
			err = s.prefetchUses(r, list)
		}
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		out := make([]assetView, 0, len(list))
		for _, a := range list {
			if s.canSeeAsset(r, a) {
				out = append(out, viewAsset(a))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"assets": out, "total": total})
		return
	}
	out, total, partial, err := s.visibleAssets(r, f)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"assets": out, "total": total, "total_is_lower_bound": partial})
}

// assetScanLimit bounds how many assets one listing checks for a caller who may not
// see them all; past it the total is a lower bound. Lessons (GET /api/v1/lessons),
// filtered by visibility in SQL, are the listing for everyone else.
const assetScanLimit = 5000

// visibleAssets pages over the assets the caller may see: the visibility rule lives
// in each asset's lessons and stream, so the catalog cannot page for them; it walks
// newest first, keeps the visible ones and counts them, so total and the pages agree.
func (s *Server) visibleAssets(r *http.Request, f catalog.AssetFilter) (out []assetView, total int, partial bool, err error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	out = []assetView{}
	const batch = 500
	for off := 0; off < assetScanLimit; off += batch {
		list, all, err := s.opts.Catalog.ListAssets(r.Context(), catalog.AssetFilter{State: f.State, Kind: f.Kind, Limit: batch, Offset: off})
		if err == nil {
			err = s.prefetchUses(r, list)
		}
		if err != nil {
			return nil, 0, false, err
		}
		for _, a := range list {
			if !s.canSeeAsset(r, a) {
				continue
			}
			if total >= f.Offset && len(out) < limit {
				out = append(out, viewAsset(a))
			}
			total++
		}
		if off+batch >= all {
			return out, total, false, nil
		}
	}
	return out, total, true, nil
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := s.loadAsset(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, viewAsset(a))
}

// loadAsset fetches an asset and checks the caller may see it, writing the error if not.
func (s *Server) loadAsset(w http.ResponseWriter, r *http.Request, id string) (catalog.Asset, bool) {
	if !catalog.ValidID(id) {
		writeError(w, http.StatusNotFound, "not_found", "no such lesson")
		return catalog.Asset{}, false
	}
	a, err := s.opts.Catalog.Asset(r.Context(), id)
	if errors.Is(err, catalog.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such lesson")
		return catalog.Asset{}, false
	}
	if err != nil {
		s.internalError(w, r, err)
		return catalog.Asset{}, false
	}
	// Who may see it: its lessons', its classroom's or its stream's rule (lessons.go).
	if err := s.checkMediaView(r, a); errors.Is(err, errStreamToken) {
		s.authorizeToken(w, r, a.StreamPath, "vod") // writes the 401 or 403 it is
		return catalog.Asset{}, false
	} else if err != nil {
		s.lessonError(w, r, err)
		return catalog.Asset{}, false
	}
	return a, true
}

// canSeeAsset reports, without writing anything, whether a listing may show a.
func (s *Server) canSeeAsset(r *http.Request, a catalog.Asset) bool {
	return s.checkMediaView(r, a) == nil
}

// streamTokenOK reports whether r carries the config's viewer token of the stream at
// path, or the stream needs none.
func (s *Server) streamTokenOK(r *http.Request, path string) bool {
	if s.opts.Access == nil {
		return true
	}
	want, required := s.opts.Access(path)
	return !required || tokenMatches(requestToken(r), want)
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.opts.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error; see the server log")
}
