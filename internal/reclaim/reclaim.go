// Package reclaim gives back the object store's space held by media that nothing uses
// any more: a deleted lesson's upload and ladder, a micro-lecture's earlier cuts, a
// deleted micro-lecture's clip. A school's storage is finite and a teacher who deletes
// or re-cuts expects it freed; nobody should have to find orphans by hand.
//
// An asset goes only after it has stayed unused for a grace period (default an hour,
// measured by this process from the first sweep that found it unused): a lesson deleted
// by mistake can be made again on the same asset_id meanwhile, and media whose record
// is being written (an asset a moment before its lesson) is never taken. Unused media
// is already hidden from everyone but reviewers and admins (api.checkMediaView).
// Recordings are never reclaimed: the library lists them for their own sake.
package reclaim

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/internal/storage"
)

// Defaults.
const (
	DefaultGrace = time.Hour
	DefaultEvery = 10 * time.Minute
	// batch bounds one sweep's work; what is left waits for the next.
	batch = 200
)

// Options configure a Reclaimer.
type Options struct {
	Catalog *catalog.Catalog
	Store   storage.Store
	Log     *slog.Logger
	// Grace is how long an asset must stay unused before its media is deleted.
	Grace time.Duration
	// Every is the time between sweeps in Run.
	Every time.Duration
	// Now is the clock (tests move it).
	Now func() time.Time
}

// Reclaimer sweeps; it remembers since when each unused asset has been unused.
type Reclaimer struct {
	o Options

	mu     sync.Mutex
	unused map[string]time.Time // asset ID → first sweep that found it unused
}

// New returns a Reclaimer with the defaults filled in.
func New(o Options) *Reclaimer {
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Reclaimer{o: o, unused: map[string]time.Time{}}
}

// Result is what one sweep did.
type Result struct {
	// Waiting counts unused assets still in their grace period.
	Waiting int
	// Deleted lists the assets whose media and record were deleted.
	Deleted []string
	// Bytes is the size of the objects deleted.
	Bytes int64
}

// Sweep deletes the media of assets that have been unused for the grace period. An
// asset that fails to go is logged and tried again at the next sweep.
func (r *Reclaimer) Sweep(ctx context.Context) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res Result
	list, err := r.o.Catalog.UnusedAssets(ctx, batch)
	if err != nil {
		return res, err
	}
	now := r.o.Now()
	still := make(map[string]time.Time, len(list))
	for _, a := range list {
		since, ok := r.unused[a.ID]
		if !ok {
			since = now
		}
		if now.Sub(since) < r.o.Grace {
			still[a.ID] = since
			res.Waiting++
			continue
		}
		n, err := r.reclaim(ctx, a)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			// In use again, or another node took it.
		case err != nil:
			r.o.Log.Warn("unused media not deleted; next sweep tries again", "asset", a.ID, "error", err)
			still[a.ID] = since
		default:
			res.Deleted = append(res.Deleted, a.ID)
			res.Bytes += n
			metrics.Reclaimed.WithLabelValues(a.Kind).Inc()
			metrics.ReclaimedBytes.Add(float64(n))
			r.o.Log.Info("unused media deleted", "asset", a.ID, "kind", a.Kind, "title", a.Title,
				"unused_since", since, "bytes", n)
		}
	}
	// Assets not listed any more are in use again or gone: forget them.
	r.unused = still
	return res, nil
}

// reclaim deletes asset a's record, then its objects. The record goes first, under the
// catalog's own check that nothing uses it, so media a new lesson picked up meanwhile
// is never deleted; objects left by a failure after that are logged with their prefix.
func (r *Reclaimer) reclaim(ctx context.Context, a catalog.Asset) (int64, error) {
	if err := r.o.Catalog.DeleteUnusedAsset(ctx, a.ID); err != nil {
		return 0, err
	}
	prefixes := []string{"vod/" + a.ID + "/"}
	// A clip's source key is its lesson's media, never its own.
	if src := "sources/" + a.ID + "/"; strings.HasPrefix(a.SourceKey, src) {
		prefixes = append(prefixes, src)
	}
	var bytes int64
	for _, p := range prefixes {
		objs, err := r.o.Store.List(ctx, p)
		if err != nil {
			r.o.Log.Error("unused media: objects left in the store", "asset", a.ID, "prefix", p, "error", err)
			continue
		}
		for _, o := range objs {
			bytes += o.Size
		}
		if err := r.o.Store.DeletePrefix(ctx, p); err != nil {
			r.o.Log.Error("unused media: objects left in the store", "asset", a.ID, "prefix", p, "error", err)
		}
	}
	return bytes, nil
}

// Run sweeps every o.Every until ctx ends.
func (r *Reclaimer) Run(ctx context.Context) {
	t := time.NewTicker(r.o.Every)
	defer t.Stop()
	for {
		if _, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
			r.o.Log.Warn("unused media sweep", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
