package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/classcast/classcast/internal/captions"
	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/storage"
)

// Caption tracks: a teacher PUTs a WebVTT or SRT file per language; it is checked,
// converted to WebVTT and kept in the object store next to the lesson's media, and
// the player loads it from GET .../captions/{lang} under the lesson's visibility.

type captionView struct {
	Lang      string    `json:"lang"`
	Label     string    `json:"label"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

// captionKey is where a lesson's track of a language lives in the store.
func captionKey(lessonID, lang string) string { return captionPrefix(lessonID) + lang + ".vtt" }

// captionPrefix holds every caption track of a lesson.
func captionPrefix(lessonID string) string { return "captions/" + lessonID + "/" }

// captionURL is the track's URL, carrying the share token the caller came with so a
// link-shared lesson's player can load its captions too.
func captionURL(r *http.Request, lessonID, lang string) string {
	u := "/api/v1/lessons/" + url.PathEscape(lessonID) + "/captions/" + url.PathEscape(lang)
	if share := r.URL.Query().Get("share"); share != "" {
		u += "?share=" + url.QueryEscape(share)
	}
	return u
}

func (s *Server) listCaptions(w http.ResponseWriter, r *http.Request) {
	_, l, ok := s.viewableLesson(w, r)
	if !ok {
		return
	}
	caps, err := s.opts.Catalog.Captions(r.Context(), l.ID)
	if err != nil {
		s.lessonError(w, r, err)
		return
	}
	out := make([]captionView, 0, len(caps))
	for _, c := range caps {
		out = append(out, captionView{Lang: c.Lang, Label: c.Label, URL: captionURL(r, l.ID, c.Lang), CreatedAt: c.CreatedAt})
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"captions": out})
}

// getCaption serves one track's WebVTT file.
func (s *Server) getCaption(w http.ResponseWriter, r *http.Request) {
	_, l, ok := s.viewableLesson(w, r)
	if !ok {
		return
	}
	lang := r.PathValue("lang")
	var key string
	if catalog.ValidLang(lang) {
		caps, err := s.opts.Catalog.Captions(r.Context(), l.ID)
		if err != nil {
			s.lessonError(w, r, err)
			return
		}
		for _, c := range caps {
			if c.Lang == lang {
				key = c.Key
			}
		}
	}
	if key == "" || s.opts.Store == nil {
		writeError(w, http.StatusNotFound, "not_found", "the lesson has no captions in "+lang)
		return
	}
	rc, _, err := s.opts.Store.Get(r.Context(), key, nil)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "the caption file is missing from the store")
			return
		}
		s.opts.Log.Error("caption read failed", "key", key, "error", err)
		writeError(w, http.StatusServiceUnavailable, "store_unavailable", "the object store did not answer; try again")
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/vtt; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-cache")
	_, _ = io.Copy(w, rc)
}

// putCaption stores a caption file (the request body: WebVTT or SRT, UTF-8) as the
// lesson's track in language {lang}, labelled ?label= (default: the language tag).
func (s *Server) putCaption(w http.ResponseWriter, r *http.Request) {
	_, l, ok := s.ownedLesson(w, r)
	if !ok {
		return
	}
	lang := r.PathValue("lang")
	if !catalog.ValidLang(lang) {
		writeError(w, http.StatusBadRequest, "invalid", "lang "+lang+" is not a language tag such as zh-CN or en")
		return
	}
	if s.opts.Store == nil {
		writeError(w, http.StatusNotFound, "not_found", "this node does not store lessons")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, captions.MaxSize+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "a caption file can be at most 2 MiB")
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid", "reading the caption file: "+err.Error())
		return
	}
	vtt, err := captions.ToVTT(body)
	if err != nil {
		s.opts.Log.Info("caption file refused", "lesson", l.ID, "lang", lang, "reason", err)
		writeError(w, http.StatusUnprocessableEntity, "not_captions", err.Error())
		return
	}
	label := r.URL.Query().Get("label")
	if label == "" {
		label = lang
	}
	key := captionKey(l.ID, lang)
	if err := s.opts.Store.Put(r.Context(), key, bytes.NewReader(vtt), int64(len(vtt)), "text/vtt; charset=utf-8"); err != nil {
		s.opts.Log.Error("caption store failed", "key", key, "error", err)
		writeError(w, http.StatusServiceUnavailable, "store_unavailable", "the object store did not take the file; try again")
		return
	}
	c := catalog.Caption{LessonID: l.ID, Lang: lang, Label: label, Key: key}
	if err := s.opts.Catalog.PutCaption(r.Context(), c); err != nil {
		s.lessonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, captionView{Lang: lang, Label: label, URL: captionURL(r, l.ID, lang), CreatedAt: time.Now().UTC()})
}

// deleteCaption removes the track and its file.
func (s *Server) deleteCaption(w http.ResponseWriter, r *http.Request) {
	_, l, ok := s.ownedLesson(w, r)
	if !ok {
		return
	}
	lang := r.PathValue("lang")
	if !catalog.ValidLang(lang) {
		s.lessonError(w, r, catalog.ErrNotFound)
		return
	}
	if err := s.opts.Catalog.DeleteCaption(r.Context(), l.ID, lang); err != nil {
		s.lessonError(w, r, err)
		return
	}
	if s.opts.Store != nil {
		if err := s.opts.Store.Delete(r.Context(), captionKey(l.ID, lang)); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.opts.Log.Warn("caption file left in the store", "lesson", l.ID, "lang", lang, "error", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
