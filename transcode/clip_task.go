package transcode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/hibiken/asynq"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/transcode/clip"
)

// ClipV1 is version 1 of the TypeClip payload: cut [Start, End) of a ready lesson
// into a new asset, a micro-lecture.
type ClipV1 struct {
	// V is the payload version: 1.
	V int `json:"v"`
	// AssetID names the clip's asset; its HLS objects go under "vod/<AssetID>/".
	AssetID string `json:"asset_id"`
	// SourceAssetID is the lesson's ready asset, read from "vod/<SourceAssetID>/".
	SourceAssetID string `json:"source_asset_id"`
	// Start and End are lesson times (from its first picture), in JSON nanoseconds.
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end"`
}

// Validate checks the payload, so a bad one is refused at enqueue, not in the worker.
// Whether the times fit the lesson is only known to the worker.
func (p ClipV1) Validate() error {
	if p.V != 1 {
		return fmt.Errorf("transcode: clip payload version %d, want 1", p.V)
	}
	if err := validAssetID(p.AssetID); err != nil {
		return err
	}
	if err := validAssetID(p.SourceAssetID); err != nil {
		return fmt.Errorf("transcode: clip %s: source: %w", p.AssetID, err)
	}
	switch d := p.End - p.Start; {
	case p.AssetID == p.SourceAssetID:
		return fmt.Errorf("transcode: clip %s: a clip cannot replace its own lesson", p.AssetID)
	case p.Start < 0:
		return fmt.Errorf("transcode: clip %s: start %v is negative", p.AssetID, p.Start)
	case d < clip.MinDuration || d > clip.MaxDuration:
		return fmt.Errorf("transcode: clip %s: %v to %v is %v long, not %v to %v", p.AssetID, p.Start, p.End, d, clip.MinDuration, clip.MaxDuration)
	}
	return nil
}

// DecodeClip decodes a TypeClip payload; like DecodeLadder, a payload that can never
// work wraps asynq.SkipRetry.
func DecodeClip(b []byte) (ClipV1, error) { return decode[ClipV1](TypeClip, b) }

func (p ClipV1) version() int { return p.V }

// ClipTaskID is the TaskID of a clip asset's task.
func ClipTaskID(assetID string) string { return "clip:" + assetID }

// ClipTimeout bounds one attempt on a clip of length d: the edges are a few seconds
// of encoding whatever d is; the rest is copying, well under d.
func ClipTimeout(d time.Duration) time.Duration { return 5*time.Minute + d }

// EnqueueClip queues the cutting of a micro-lecture, on the live queue (a teacher is
// waiting for it). Like EnqueueLadder, a clip asset already queued, running or done
// within the retention period is not queued again: that returns nil.
func (q *Queue) EnqueueClip(ctx context.Context, p ClipV1) error {
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	t := asynq.NewTask(TypeClip, b,
		asynq.Queue(QueueLive),
		asynq.TaskID(ClipTaskID(p.AssetID)),
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(ClipTimeout(p.End-p.Start)),
		asynq.Retention(Retention),
	)
	_, err = q.client.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("transcode: enqueue clip %s: %w", p.AssetID, err)
	}
	return nil
}

// processClip handles TypeClip: cut the clip out of the lesson's ladder in the store,
// upload its objects, record the result. Like processLadder it is idempotent
// (everything under "vod/<clip>/", master.m3u8 last, stale objects deleted), and a
// clip that fails for good leaves no object behind.
func (w *Worker) processClip(ctx context.Context, t *asynq.Task) error {
	w.running.Add(1)
	defer w.running.Done()
	taskID, _ := asynq.GetTaskID(ctx)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)

	p, err := DecodeClip(t.Payload())
	if err != nil {
		return w.refuse(ctx, TypeClip, taskID, p.AssetID, err)
	}
	log := w.log.With("asset", p.AssetID, "task", taskID)
	log.Info("clip started", "attempt", retried+1, "of", maxRetry+1, "lesson", p.SourceAssetID, "start", p.Start, "end", p.End)
	start := time.Now()
	res, err := w.clip(ctx, p, log)
	if err == nil {
		if err = w.o.Assets.SetReady(ctx, p.AssetID, res.Result); err != nil {
			err = fmt.Errorf("record the result: %w", err)
		}
	}
	took := time.Since(start)
	if err == nil {
		log.Info("clip finished", "duration", res.Duration.Round(time.Millisecond), "took", took.Round(time.Millisecond),
			"copied_segments", res.CopiedSegments, "edge_segments", res.EdgeSegments, "edge_frames", res.EdgeFrames)
		metrics.Tasks.WithLabelValues(TypeClip, "ok").Inc()
		return nil
	}
	return w.settle(ctx, t, TypeClip, p.AssetID, err, took, log, func() { w.dropObjects(ctx, p.AssetID, log) })
}

// dropObjects deletes what an attempt of a failed clip uploaded.
func (w *Worker) dropObjects(ctx context.Context, id string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := w.o.Store.DeletePrefix(ctx, "vod/"+id+"/"); err != nil {
		log.Error("cannot delete the objects of a failed clip", "error", err)
	}
}

// clipSpans places the clip's steps in the task's progress: reading the lesson's
// playlists and edges, cutting (mostly copying), then publish's 90-100 % upload.
var clipSpans = map[string][2]float64{
	"download": {0, 10},
	"cut":      {10, 90},
}

// clip does the work of one attempt, up to the objects in the store. Its errors never
// name the work directory.
func (w *Worker) clip(ctx context.Context, p ClipV1, log *slog.Logger) (res clip.Result, err error) {
	prog := &progress{assets: w.o.Assets, id: p.AssetID, log: log}
	prog.set(ctx, "download", 0, true)
	work, release, err := newWorkDir(w.workDir, p.AssetID)
	if err != nil {
		return res, fmt.Errorf("work directory: %w", err)
	}
	defer release()
	defer func() {
		if err != nil {
			err = scrubbed{err, work}
		}
	}()
	out := filepath.Join(work, "out")
	res, err = clip.Cut(ctx, w.o.Store, p.SourceAssetID, p.Start, p.End, out, clip.Options{
		Preset: w.o.Preset,
		Log:    log,
		Progress: func(step string, percent float64) {
			span, ok := clipSpans[step]
			if !ok {
				return
			}
			prog.set(ctx, step, span[0]+(span[1]-span[0])*percent/100, false)
		},
	})
	if err != nil {
		return res, err
	}
	if err := w.publish(ctx, p.AssetID, out, res.Files, prog, log); err != nil {
		return res, err
	}
	return res, nil
}
