package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Asset kinds.
const (
	KindRecording = "recording"
	KindUpload    = "upload"
	KindClip      = "clip"
)

// Asset states, in the order an asset normally passes through them.
const (
	StateRecording  = "recording"
	StateQueued     = "queued"
	StateProcessing = "processing"
	StateReady      = "ready"
	StateFailed     = "failed"
)

// Asset is one media item: a recorded class, an uploaded file or a clip, and the state
// of its way to a playable VOD lesson.
type Asset struct {
	ID         string
	Kind       string
	Title      string
	StreamPath string
	State      string
	Step       string
	Percent    float64
	Error      string
	SourceKey  string
	Duration   time.Duration
	Width      int
	Height     int
	Renditions []Rendition
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  time.Time
	EndedAt    time.Time
}

// Rendition is one playable rung of a ready asset.
type Rendition struct {
	Name      string `json:"name"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	Bandwidth int    `json:"bandwidth"`
	Codecs    string `json:"codecs"`
	// FrameRate is the video's average frame rate (frames per second), absent for
	// audio and for assets made before it was recorded.
	FrameRate float64 `json:"frame_rate,omitempty"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,63}$`)

// ValidID reports whether id can name an asset (it becomes part of URLs and object keys).
func ValidID(id string) bool { return idPattern.MatchString(id) }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// CreateAsset inserts a. Creating an asset that already exists is not an error (a
// recovered recording announces itself again), and leaves the existing row alone.
func (c *Catalog) CreateAsset(ctx context.Context, a Asset) error {
	if !ValidID(a.ID) {
		return fmt.Errorf("catalog: invalid asset id %q", a.ID)
	}
	now := time.Now()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	rend, err := json.Marshal(nonNil(a.Renditions))
	if err != nil {
		return err
	}
	_, err = c.db.ExecContext(ctx, c.q(`INSERT INTO assets
		(id, kind, title, stream_path, state, step, percent, error, source_key, duration_ms, width, height, renditions, created_at, updated_at, started_at, ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`),
		a.ID, a.Kind, a.Title, a.StreamPath, a.State, a.Step, a.Percent, a.Error, a.SourceKey,
		a.Duration.Milliseconds(), a.Width, a.Height, string(rend), ms(a.CreatedAt), ms(now), ms(a.StartedAt), ms(a.EndedAt))
	if err != nil {
		return fmt.Errorf("catalog: create asset %s: %w", a.ID, err)
	}
	return nil
}

func nonNil(r []Rendition) []Rendition {
	if r == nil {
		return []Rendition{}
	}
	return r
}

const assetColumns = `id, kind, title, stream_path, state, step, percent, error, source_key, duration_ms, width, height, renditions, created_at, updated_at, started_at, ended_at`

type scanner interface{ Scan(...any) error }

func scanAsset(s scanner) (Asset, error) {
	var a Asset
	var dur, created, updated, started, ended int64
	var rend string
	if err := s.Scan(&a.ID, &a.Kind, &a.Title, &a.StreamPath, &a.State, &a.Step, &a.Percent, &a.Error, &a.SourceKey,
		&dur, &a.Width, &a.Height, &rend, &created, &updated, &started, &ended); err != nil {
		return Asset{}, err
	}
	a.Duration = time.Duration(dur) * time.Millisecond
	a.CreatedAt, a.UpdatedAt, a.StartedAt, a.EndedAt = fromMS(created), fromMS(updated), fromMS(started), fromMS(ended)
	if err := json.Unmarshal([]byte(rend), &a.Renditions); err != nil {
		return Asset{}, fmt.Errorf("catalog: asset %s renditions: %w", a.ID, err)
	}
	return a, nil
}

// Asset returns one asset, or ErrNotFound.
func (c *Catalog) Asset(ctx context.Context, id string) (Asset, error) {
	a, err := scanAsset(c.db.QueryRowContext(ctx, c.q(`SELECT `+assetColumns+` FROM assets WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Asset{}, ErrNotFound
	}
	if err != nil {
		return Asset{}, fmt.Errorf("catalog: asset %s: %w", id, err)
	}
	return a, nil
}

// AssetFilter selects assets for a listing.
type AssetFilter struct {
	State  string
	Kind   string
	Limit  int
	Offset int
}

// ListAssets returns one page of assets, newest first, and the total that match.
func (c *Catalog) ListAssets(ctx context.Context, f AssetFilter) ([]Asset, int, error) {
	where, args := "WHERE 1=1", []any{}
	if f.State != "" {
		where += " AND state = ?"
		args = append(args, f.State)
	}
	if f.Kind != "" {
		where += " AND kind = ?"
		args = append(args, f.Kind)
	}
	return listPage(ctx, c, "assets", assetColumns, `FROM assets `+where, `created_at DESC, id DESC`, args, f.Limit, f.Offset, scanAsset)
}

// update runs one UPDATE on an asset and reports ErrNotFound when no row matched.
func (c *Catalog) update(ctx context.Context, id, set string, args ...any) error {
	args = append(args, time.Now().UnixMilli(), id)
	res, err := c.db.ExecContext(ctx, c.q(`UPDATE assets SET `+set+`, updated_at = ? WHERE id = ?`), args...)
	if err != nil {
		return fmt.Errorf("catalog: update asset %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetRecorded records that a recording has ended and its source is stored at sourceKey.
func (c *Catalog) SetRecorded(ctx context.Context, id string, ended time.Time, d time.Duration, sourceKey string) error {
	return c.update(ctx, id, `ended_at = ?, duration_ms = ?, source_key = ?`, ms(ended), d.Milliseconds(), sourceKey)
}

// SetQueued marks an asset waiting for a worker. A ready asset stays ready.
func (c *Catalog) SetQueued(ctx context.Context, id string) error {
	return c.update(ctx, id, `state = CASE WHEN state = 'ready' THEN state ELSE 'queued' END, step = '', percent = 0, error = ''`)
}

// SetProgress marks an asset processing at step and percent (0-100).
func (c *Catalog) SetProgress(ctx context.Context, id, step string, percent float64) error {
	return c.update(ctx, id, `state = 'processing', step = ?, percent = ?, error = ''`, step, min(max(percent, 0), 100))
}

// SetReady marks an asset playable with its renditions.
func (c *Catalog) SetReady(ctx context.Context, id string, d time.Duration, width, height int, r []Rendition) error {
	rend, err := json.Marshal(nonNil(r))
	if err != nil {
		return err
	}
	return c.update(ctx, id, `state = 'ready', step = '', percent = 100, error = '', duration_ms = ?, width = ?, height = ?, renditions = ?`,
		d.Milliseconds(), width, height, string(rend))
}

// SetFailed marks an asset failed with a reason a user can read.
func (c *Catalog) SetFailed(ctx context.Context, id, reason string) error {
	return c.update(ctx, id, `state = 'failed', step = '', error = ?`, reason)
}

// unusedAsset is the condition under which an asset's media may go: an upload or a
// clip (recordings are listed for their own sake) that has settled, that no lesson and
// no micro-lecture uses, and that no clip still being cut reads from.
const unusedAsset = `a.kind IN ('upload', 'clip') AND a.state IN ('ready', 'failed')
	AND NOT EXISTS (SELECT 1 FROM lessons l WHERE l.asset_id = a.id)
	AND NOT EXISTS (SELECT 1 FROM micro_lectures m WHERE m.asset_id = a.id)
	AND NOT EXISTS (SELECT 1 FROM assets c WHERE c.kind = 'clip' AND c.source_key = 'vod/' || a.id || '/'
		AND c.state NOT IN ('ready', 'failed'))`

// UnusedAssets lists up to limit assets whose media nothing uses any more (a deleted
// lesson's upload, a micro-lecture's earlier cut, a deleted micro-lecture's clip),
// oldest change first.
func (c *Catalog) UnusedAssets(ctx context.Context, limit int) ([]Asset, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT `+prefixed("a.", assetColumns)+` FROM assets a
		WHERE `+unusedAsset+` ORDER BY a.updated_at, a.id LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("catalog: unused assets: %w", err)
	}
	defer rows.Close()
	var out []Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteUnusedAsset removes asset id's record if nothing uses it (as UnusedAssets
// decides, checked again in the same statement so a lesson made meanwhile keeps it).
// ErrNotFound means it is gone or in use; the caller then leaves its media alone.
func (c *Catalog) DeleteUnusedAsset(ctx context.Context, id string) error {
	return c.exec(ctx, "delete asset "+id, `DELETE FROM assets WHERE id IN (SELECT a.id FROM assets a WHERE a.id = ? AND `+unusedAsset+`)`, id)
}

// prefixed qualifies every column of a comma-separated list with p ("a.").
func prefixed(p, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, col := range cols {
		cols[i] = p + col
	}
	return strings.Join(cols, ", ")
}
