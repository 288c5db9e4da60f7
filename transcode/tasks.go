// Package transcode is the VOD plane's task queue: the task contract (types, versioned
// payloads, queues, retries, timeouts), the client that enqueues tasks (Queue) and the
// worker that runs them (Worker), on asynq and Redis. The media work itself lives in
// transcode/ladder.
package transcode

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/classcast/classcast/internal/storage"
)

// Task types. A type names a job; its payload carries a version so a worker can refuse
// what it does not understand instead of misreading it.
const (
	// TypeLadder turns a source (a recording or an upload) into the HLS ladder, poster
	// and storyboard of an asset. Payload: LadderV1.
	TypeLadder = "asset:ladder"
	// TypeClip cuts a micro-lecture out of a ready lesson's ladder (copying whole
	// segments, re-encoding the two edge GOPs). Payload: ClipV1.
	TypeClip = "asset:clip"
)

// Queue names. A worker takes tasks from every queue, weighted by Queues: a finished
// live class is published before a backlog of bulk uploads, yet uploads never starve.
const (
	QueueLive    = "live"
	QueueUpload  = "upload"
	QueueDefault = "default"
)

// Queues maps each queue to its weight (asynq's non-strict priority).
var Queues = map[string]int{QueueLive: 6, QueueUpload: 3, QueueDefault: 1}

// Origins of a source, which pick the queue.
const (
	OriginLive   = "live"
	OriginUpload = "upload"
)

const (
	// MaxRetry is how many times a failed task is retried before it is archived.
	MaxRetry = 8
	// Retention keeps a completed task (and so its TaskID) for a day: enqueueing the
	// same asset again meanwhile is a no-op. Reprocess is the way to redo one.
	Retention = 24 * time.Hour
	// baseTimeout plus three times the media's duration bounds one attempt.
	baseTimeout = 10 * time.Minute
	// unknownDuration is assumed when a task carries no duration hint: the longest
	// recording (record.max_duration's default). The handler tightens the timeout once
	// it has probed the real duration.
	unknownDuration = 4 * time.Hour
)

// LadderV1 is version 1 of the TypeLadder payload.
type LadderV1 struct {
	// V is the payload version: 1.
	V int `json:"v"`
	// AssetID names the asset; its HLS objects go under "vod/<AssetID>/".
	AssetID string `json:"asset_id"`
	// SourceKey is the object holding the source media.
	SourceKey string `json:"source_key"`
	// Origin is "live" (a recorded class) or "upload"; it picks the queue.
	Origin string `json:"origin"`
	// DurationHint is the source's duration if known (0 if not), for the timeout.
	// In JSON: nanoseconds.
	DurationHint time.Duration `json:"duration_hint,omitempty"`
}

// Validate checks the payload, so a bad one is refused at enqueue, not in the worker.
func (p LadderV1) Validate() error {
	if p.V != 1 {
		return fmt.Errorf("transcode: ladder payload version %d, want 1", p.V)
	}
	if err := validAssetID(p.AssetID); err != nil {
		return err
	}
	if err := storage.ValidKey(p.SourceKey); err != nil {
		return fmt.Errorf("transcode: asset %s: source key: %w", p.AssetID, err)
	}
	if _, err := queueFor(p.Origin); err != nil {
		return fmt.Errorf("transcode: asset %s: %w", p.AssetID, err)
	}
	if p.DurationHint < 0 {
		return fmt.Errorf("transcode: asset %s: negative duration hint %v", p.AssetID, p.DurationHint)
	}
	return nil
}

// validAssetID accepts ids that are safe in an object key folder and a task ID.
func validAssetID(id string) error {
	if id == "" || len(id) > 128 || strings.ContainsAny(id, "/:") {
		return fmt.Errorf("transcode: asset id %q must have 1 to 128 characters and no slash or colon", id)
	}
	if err := storage.ValidKey("vod/" + id); err != nil {
		return fmt.Errorf("transcode: asset id %q: %w", id, err)
	}
	return nil
}

func queueFor(origin string) (string, error) {
	switch origin {
	case OriginLive:
		return QueueLive, nil
	case OriginUpload:
		return QueueUpload, nil
	}
	return "", fmt.Errorf("origin %q is not one of live, upload", origin)
}

// DecodeLadder decodes a TypeLadder payload. A payload that is not JSON or has a
// version this worker does not know can never succeed here: the error wraps
// asynq.SkipRetry. The returned payload carries the asset id when it could be read.
func DecodeLadder(b []byte) (LadderV1, error) { return decode[LadderV1](TypeLadder, b) }

// payload is a versioned task payload (LadderV1, ClipV1).
type payload interface {
	version() int
	Validate() error
}

func (p LadderV1) version() int { return p.V }

// decode reads a taskType payload of version 1. Whatever is wrong with it never gets
// better on a retry, so every error carries asynq.SkipRetry; the payload read so far is
// returned with it, so its asset can be told why.
func decode[P payload](taskType string, b []byte) (P, error) {
	var p P
	if err := json.Unmarshal(b, &p); err != nil {
		var zero P
		return zero, fmt.Errorf("transcode: %s payload is not valid JSON: %v: %w", taskType, err, asynq.SkipRetry)
	}
	if p.version() != 1 {
		return p, fmt.Errorf("transcode: %s payload version %d is not supported by this worker (upgrade it): %w", taskType, p.version(), asynq.SkipRetry)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return p, nil
}

// LadderTaskID is the TaskID of an asset's ladder task; redo n (n > 0, see
// Queue.Reprocess) is "ladder:<asset>:<n>".
func LadderTaskID(assetID string, redo int) string {
	if redo == 0 {
		return "ladder:" + assetID
	}
	return "ladder:" + assetID + ":" + strconv.Itoa(redo)
}

// Timeout is how long one attempt on media of duration d may take: 10 minutes plus
// three times the duration (the ladder runs faster than real time on any machine we
// support; three times is a stuck encoder, not a slow one). d <= 0 means unknown.
func Timeout(d time.Duration) time.Duration {
	if d <= 0 {
		d = unknownDuration
	}
	return baseTimeout + 3*d
}

// RetryDelay is the backoff between attempts: 30 s, 1 min, 2 min, ... capped at 15
// min. A task whose worker died (lease expired) is not at fault: it runs again soon.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return 5 * time.Second
	}
	d := 30 * time.Second
	for range min(max(n, 0), 10) {
		d *= 2
	}
	return min(d, 15*time.Minute)
}

// ladderTask builds the task and its options for redo n of an asset's ladder.
func ladderTask(p LadderV1, redo int) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	q, _ := queueFor(p.Origin)
	return asynq.NewTask(TypeLadder, b,
		asynq.Queue(q),
		asynq.TaskID(LadderTaskID(p.AssetID, redo)),
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(Timeout(p.DurationHint)),
		asynq.Retention(Retention),
	), nil
}
