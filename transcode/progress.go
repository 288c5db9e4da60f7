package transcode

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"
)

// progressInterval is the least time between two progress writes to the catalog.
const progressInterval = time.Second

// progress forwards a task's progress to the AssetStore at most once a second (plus
// the few forced writes where the step changes hands), never going backwards within
// an attempt. Safe for concurrent use; writes happen in the caller's goroutine, under
// the lock, so they land in order.
type progress struct {
	assets AssetStore
	id     string
	log    *slog.Logger

	mu     sync.Mutex
	step   string
	pct    float64
	last   time.Time
	warned bool
}

func (p *progress) set(ctx context.Context, step string, pct float64, force bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pct = min(max(pct, p.pct), 100)
	now := time.Now()
	if !force && now.Sub(p.last) < progressInterval {
		return
	}
	if step == p.step && pct == p.pct && !p.last.IsZero() {
		return
	}
	p.step, p.pct, p.last = step, pct, now
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	if err := p.assets.SetProgress(ctx, p.id, step, math.Round(pct*10)/10); err != nil && !p.warned {
		p.warned = true // once per attempt: progress is nice to have, not worth a log flood
		p.log.Warn("cannot record progress", "error", err)
	}
}
