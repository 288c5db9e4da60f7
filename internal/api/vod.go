package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/internal/storage"
)

// vodFile serves /vod/<asset>/<file> from the object store: the master playlist, media
// playlists, fMP4 segments, the poster and the storyboard, with Range and caching.
func (s *Server) vodFile(w http.ResponseWriter, r *http.Request) {
	if s.opts.Store == nil || s.opts.Catalog == nil {
		writeError(w, http.StatusNotFound, "not_found", "this node does not serve lessons")
		return
	}
	id, file := r.PathValue("id"), r.PathValue("file")
	if !validVODFile(file) {
		writeError(w, http.StatusNotFound, "not_found", "no such file")
		return
	}
	a, ok := s.loadAsset(w, r, id)
	if !ok {
		return
	}
	if a.State != catalog.StateReady {
		writeError(w, http.StatusConflict, "not_ready", fmt.Sprintf("the lesson is %s, not ready to play yet", a.State))
		return
	}
	key := "vod/" + a.ID + "/" + file
	private := a.StreamPath != "" && s.opts.Access != nil
	if private {
		_, private = s.opts.Access(a.StreamPath)
	}
	if !private {
		private = !s.publicMedia(r, a.ID)
	}

	// Media of public lessons may come straight from the store. Playlists never do: their
	// relative URIs must resolve against this server, not against a presigned URL. Private
	// lessons stay behind this node: a presigned URL works for whoever holds it.
	if s.opts.PresignRedirect && !private && !strings.HasSuffix(file, ".m3u8") {
		if u, err := s.opts.Store.URL(r.Context(), key, time.Hour); err == nil {
			w.Header().Set("Cache-Control", "private, max-age=300")
			http.Redirect(w, r, u, http.StatusFound)
			return
		} else if !errors.Is(err, storage.ErrNoURL) {
			s.opts.Log.Warn("presigning failed; serving through this node", "key", key, "error", err)
		}
	}

	info, err := s.opts.Store.Stat(r.Context(), key)
	if errors.Is(err, storage.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such file in this lesson")
		return
	}
	if err != nil {
		metrics.Errors.WithLabelValues("vod", "store").Inc()
		s.opts.Log.Error("object store read failed", "key", key, "error", err)
		writeError(w, http.StatusBadGateway, "store_unavailable", "the lesson store is not answering; try again shortly")
		return
	}
	h := w.Header()
	if info.ETag != "" {
		h.Set("ETag", strconv.Quote(strings.Trim(info.ETag, `"`)))
		if match := r.Header.Get("If-None-Match"); match != "" && match == h.Get("ETag") {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	ctype := info.ContentType
	if ctype == "" || ctype == "application/octet-stream" {
		ctype = storage.DefaultContentType(file)
	}
	h.Set("Content-Type", ctype)
	h.Set("Accept-Ranges", "bytes")
	scope := "public"
	if private {
		scope = "private"
	}
	if strings.HasSuffix(file, ".m3u8") || strings.HasSuffix(file, ".vtt") {
		// A re-transcode rewrites playlists in place; keep them short-lived.
		h.Set("Cache-Control", scope+", max-age=60")
	} else {
		h.Set("Cache-Control", scope+", max-age=86400")
	}
	if !info.ModTime.IsZero() {
		h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	}

	var rng *storage.Range
	status := http.StatusOK
	length := info.Size
	if spec := r.Header.Get("Range"); spec != "" {
		start, end, ok := parseRange(spec, info.Size)
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size))
			writeError(w, http.StatusRequestedRangeNotSatisfiable, "bad_range", "the requested range is not satisfiable")
			return
		}
		if start >= 0 {
			rng = &storage.Range{Start: start, End: end}
			status, length = http.StatusPartialContent, end-start+1
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, info.Size))
		}
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body, _, err := s.opts.Store.Get(r.Context(), key, rng)
	if err != nil {
		h.Del("Content-Length")
		h.Del("Content-Range")
		s.opts.Log.Error("object store read failed", "key", key, "error", err)
		writeError(w, http.StatusBadGateway, "store_unavailable", "the lesson store is not answering; try again shortly")
		return
	}
	defer body.Close()
	w.WriteHeader(status)
	n, err := io.Copy(w, body)
	metrics.BytesOut.WithLabelValues("vod").Add(float64(n))
	if err != nil && r.Context().Err() == nil {
		s.opts.Log.Warn("VOD response cut short", "key", key, "sent", n, "error", err)
	}
}

// validVODFile accepts the names the ladder writes: a few path segments of safe
// characters, no dot-segments.
func validVODFile(file string) bool {
	if file == "" || len(file) > 200 || path.Clean(file) != file || strings.HasPrefix(file, "/") {
		return false
	}
	for _, seg := range strings.Split(file, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
			return false
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return false
			}
		}
	}
	return true
}

// parseRange reads a single "bytes=" range against size. It returns start -1 (serve the
// whole object) for forms it does not handle, such as several ranges, which HTTP allows a
// server to ignore, and ok false for a range that cannot be satisfied.
func parseRange(spec string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(spec, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return -1, -1, true
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return -1, -1, true
	}
	switch {
	case first == "":
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		if n > size {
			n = size
		}
		if size == 0 {
			return 0, 0, false
		}
		return size - n, size - 1, true
	default:
		s, err := strconv.ParseInt(first, 10, 64)
		if err != nil || s < 0 || s >= size {
			return 0, 0, false
		}
		e := size - 1
		if last != "" {
			e, err = strconv.ParseInt(last, 10, 64)
			if err != nil || e < s {
				return 0, 0, false
			}
			e = min(e, size-1)
		}
		return s, e, true
	}
}

// publicMedia reports whether an asset may be cached and fetched by anyone: no lesson
// or clip uses it, or one that does is published to the public.
func (s *Server) publicMedia(r *http.Request, assetID string) bool {
	uses, err := s.opts.Catalog.AssetUses(r.Context(), assetID)
	if err != nil {
		return false
	}
	if len(uses) == 0 {
		return true
	}
	for _, u := range uses {
		if u.Visibility == string(auth.Public) && u.State == "published" {
			return true
		}
	}
	return false
}
