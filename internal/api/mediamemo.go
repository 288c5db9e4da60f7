package api

import (
	"context"
	"net/http"

	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/catalog"
)

// mediaMemo serves one request that checks many assets (a listing): their uses fetched
// a page at a time, and each stream's classroom scope once, so the visibility check
// costs a few queries a page rather than two an asset (an anonymous listing over 5,000
// recordings of 40 streams on SQLite: 1.1-1.3 s before, 0.12-0.17 s with the memo).
type mediaMemo struct {
	uses   map[string][]catalog.AssetUse // every fetched id is present; nil = no uses
	scopes map[string]streamScope
}

type streamScope struct {
	scope auth.Scope
	owned bool
}

type mediaMemoKey struct{}

// withMediaMemo gives r a memo for the media checks made while serving it.
func withMediaMemo(r *http.Request) *http.Request {
	m := &mediaMemo{uses: map[string][]catalog.AssetUse{}, scopes: map[string]streamScope{}}
	return r.WithContext(context.WithValue(r.Context(), mediaMemoKey{}, m))
}

func memoOf(ctx context.Context) *mediaMemo {
	m, _ := ctx.Value(mediaMemoKey{}).(*mediaMemo)
	return m
}

// prefetchUses fetches the uses of a page of assets into r's memo in one query.
func (s *Server) prefetchUses(r *http.Request, list []catalog.Asset) error {
	m := memoOf(r.Context())
	if m == nil || len(list) == 0 {
		return nil
	}
	ids := make([]string, 0, len(list))
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	uses, err := s.opts.Catalog.AssetUsesOf(r.Context(), ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		m.uses[id] = uses[id]
	}
	return nil
}

// assetUses is catalog.AssetUses, from the request's memo when it has the asset.
func (s *Server) assetUses(ctx context.Context, id string) ([]catalog.AssetUse, error) {
	if m := memoOf(ctx); m != nil {
		if u, ok := m.uses[id]; ok {
			return u, nil
		}
	}
	return s.opts.Catalog.AssetUses(ctx, id)
}

// streamScope is auth.StreamScope, asked once a stream per request with a memo.
func (s *Server) streamScope(ctx context.Context, path string) (auth.Scope, bool, error) {
	m := memoOf(ctx)
	if m != nil {
		if e, ok := m.scopes[path]; ok {
			return e.scope, e.owned, nil
		}
	}
	sc, owned, err := s.opts.Auth.StreamScope(ctx, path)
	if err == nil && m != nil {
		m.scopes[path] = streamScope{sc, owned}
	}
	return sc, owned, err
}
