package transcode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/transcode/ladder"
)

// errSourceMissing means the source object is gone: no retry can bring it back.
var errSourceMissing = errors.New("the source file is missing from the object store")

// stateTimeout bounds one catalog write made after the task's context has ended.
const stateTimeout = 10 * time.Second

// processLadder handles TypeLadder: download the source, probe it, run the ladder,
// upload the objects, record the result. Running it twice on the same input leaves the
// same objects: everything goes under "vod/<asset>/", master.m3u8 last, and objects of
// an earlier interrupted attempt that this one did not make are deleted.
func (w *Worker) processLadder(ctx context.Context, t *asynq.Task) error {
	w.running.Add(1)
	defer w.running.Done()
	taskID, _ := asynq.GetTaskID(ctx)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)

	p, err := DecodeLadder(t.Payload())
	if err != nil {
		return w.refuse(ctx, TypeLadder, taskID, p.AssetID, err)
	}
	log := w.log.With("asset", p.AssetID, "task", taskID)
	log.Info("transcode started", "attempt", retried+1, "of", maxRetry+1, "source", p.SourceKey, "origin", p.Origin)
	start := time.Now()
	res, err := w.ladder(ctx, p, log)
	if err == nil { // the work files are gone by now: ready means done
		if err = w.o.Assets.SetReady(ctx, p.AssetID, res); err != nil {
			err = fmt.Errorf("record the result: %w", err)
		}
	}
	took := time.Since(start)
	if err == nil {
		log.Info("transcode finished", "duration", res.Duration.Round(time.Millisecond), "took", took.Round(time.Millisecond),
			"realtime", fmt.Sprintf("%.1fx", res.Duration.Seconds()/max(took.Seconds(), 0.001)), "renditions", len(res.Renditions))
		metrics.Tasks.WithLabelValues(TypeLadder, "ok").Inc()
		return nil
	}
	return w.settle(ctx, t, TypeLadder, p.AssetID, err, took, log, nil)
}

// refuse ends a task whose payload cannot be read (a version this worker does not
// know, a bad field): its asset, when the id is usable, says why. err comes from a
// Decode function and already carries asynq.SkipRetry.
func (w *Worker) refuse(ctx context.Context, taskType, taskID, assetID string, err error) error {
	w.log.Error("task refused", "type", taskType, "task", taskID, "error", err)
	if validAssetID(assetID) == nil {
		w.setFailed(ctx, assetID, err.Error())
	}
	metrics.Tasks.WithLabelValues(taskType, "failed").Inc()
	return err
}

// settle ends a failed attempt of a task on asset id: for good with the reason when
// the input can never work (no retry) or no retries are left, back to the queue when
// a stopping worker handed it back or it will be retried. dropObjects, if set, runs
// when the task fails for good (a clip leaves nothing behind).
func (w *Worker) settle(ctx context.Context, t *asynq.Task, taskType, id string, err error, took time.Duration,
	log *slog.Logger, dropObjects func()) error {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	what := map[string]string{TypeLadder: "transcode", TypeClip: "clip"}[taskType]
	reason := userReason(err)
	giveUp := func() {
		if dropObjects != nil {
			dropObjects()
		}
		w.setFailed(ctx, id, reason)
		metrics.Tasks.WithLabelValues(taskType, "failed").Inc()
	}
	switch {
	case permanent(err):
		log.Warn(what+" failed: the input cannot be used", "reason", reason, "took", took.Round(time.Millisecond))
		giveUp()
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	case errors.Is(ctx.Err(), context.Canceled):
		// asynq cancels a task's context when a stopping worker hands it back (or an
		// admin cancels it in the queue UI); it runs again from the start.
		log.Info(what+" interrupted; the task goes back to the queue", "took", took.Round(time.Millisecond))
		w.setQueued(ctx, id, log)
		metrics.Tasks.WithLabelValues(taskType, "requeued").Inc()
		return err
	case retried >= maxRetry:
		log.Error(what+" failed; no retries left", "reason", reason, "attempts", retried+1)
		giveUp()
		return err
	default:
		log.Warn(what+" failed; will retry", "error", reason, "attempt", retried+1, "retry_in", RetryDelay(retried, err, t))
		w.setQueued(ctx, id, log)
		metrics.Tasks.WithLabelValues(taskType, "retry").Inc()
		return err
	}
}

// userReason is the text of err for a user: for unusable media, from the ladder's
// "not usable media: ..." on, without the file and step names in front of it.
func userReason(err error) string {
	msg := err.Error()
	if errors.Is(err, ladder.ErrBadInput) {
		if i := strings.Index(msg, ladder.ErrBadInput.Error()); i > 0 {
			return msg[i:]
		}
	}
	return msg
}

// permanent reports whether err can never go away by trying again.
func permanent(err error) bool {
	return errors.Is(err, ladder.ErrBadInput) || errors.Is(err, errSourceMissing) || errors.Is(err, asynq.SkipRetry)
}

func (w *Worker) setFailed(ctx context.Context, id, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	if err := w.o.Assets.SetFailed(ctx, id, reason); err != nil {
		w.log.Error("cannot mark the asset failed", "asset", id, "error", err)
	}
}

func (w *Worker) setQueued(ctx context.Context, id string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	if err := w.o.Assets.SetQueued(ctx, id); err != nil {
		log.Error("cannot mark the asset queued", "error", err)
	}
}

// ladder does the work of one attempt, up to the objects in the store. Its errors never name the work directory: they
// end up in front of users as the reason an asset failed.
func (w *Worker) ladder(ctx context.Context, p LadderV1, log *slog.Logger) (res ladder.Result, err error) {
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

	src := filepath.Join(work, "source"+sourceExt(p.SourceKey))
	if err := w.download(ctx, p.SourceKey, src, prog); err != nil {
		return res, err
	}
	info, err := ladder.Probe(ctx, src, w.o.MaxHeight)
	if err != nil {
		return res, err
	}
	// The enqueue-time timeout only had a hint; the probed duration is the truth.
	ctx, cancel := context.WithTimeout(ctx, Timeout(info.Duration))
	defer cancel()

	out := filepath.Join(work, "out")
	res, err = ladder.Run(ctx, src, out, ladder.Options{
		Preset:    w.o.Preset,
		MaxHeight: w.o.MaxHeight,
		Progress: func(step string, percent float64) {
			prog.set(ctx, step, ladderPercent(step, percent), false)
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

// ladderSpans places each ladder step, which reports 0-100 % of itself, in the task's
// 5-90 %: encoding the rungs is most of the work.
var ladderSpans = map[string][2]float64{
	"probe":      {5, 6},
	"ladder":     {6, 82},
	"poster":     {82, 84},
	"storyboard": {84, 90},
}

// ladderPercent maps a ladder step's percent to the task's; an unknown step stays at
// the start of the ladder's share (progress never goes back, so it just waits).
func ladderPercent(step string, percent float64) float64 {
	span, ok := ladderSpans[step]
	if !ok {
		return 5
	}
	return span[0] + (span[1]-span[0])*min(max(percent, 0), 100)/100
}

// download copies the source object to path (0-5 % of the progress).
func (w *Worker) download(ctx context.Context, key, path string, prog *progress) error {
	r, info, err := w.o.Store.Get(ctx, key, nil)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("download %s: %w", key, errSourceMissing)
	}
	if err != nil {
		return fmt.Errorf("download source: %w", err)
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("download source: %w", err)
	}
	defer f.Close()
	cr := &countingReader{r: r, f: func(n int64) {
		if info.Size > 0 {
			prog.set(ctx, "download", 5*float64(n)/float64(info.Size), false)
		}
	}}
	if _, err := io.Copy(f, cr); err != nil {
		return fmt.Errorf("download source: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("download source: %w", err)
	}
	return nil
}

// publish uploads the ladder's files to vod/<asset>/ (90-100 % of the progress), the
// master playlist last so that its presence means the rest is there, then deletes
// objects under that prefix that this attempt did not make.
func (w *Worker) publish(ctx context.Context, id, out string, files []string, prog *progress, log *slog.Logger) error {
	prefix := "vod/" + id + "/"
	files = uploadOrder(files)
	if len(files) == 0 || files[len(files)-1] != "master.m3u8" {
		return errors.New("the ladder made no master.m3u8")
	}
	keep := make(map[string]bool, len(files))
	sizes := make([]int64, len(files))
	var total int64
	for i, f := range files {
		if !filepath.IsLocal(f) {
			return fmt.Errorf("the ladder named a file outside its directory: %q", f)
		}
		key := prefix + filepath.ToSlash(f)
		if err := storage.ValidKey(key); err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		st, err := os.Stat(filepath.Join(out, f))
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		keep[key], sizes[i] = true, st.Size()
		total += st.Size()
	}
	prog.set(ctx, "upload", 90, true)
	var done int64
	for i, f := range files {
		key := prefix + filepath.ToSlash(f)
		if err := w.put(ctx, key, filepath.Join(out, f), sizes[i]); err != nil {
			return err
		}
		done += sizes[i]
		prog.set(ctx, "upload", 90+10*float64(done)/float64(max(total, 1)), false)
	}
	objs, err := w.o.Store.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list earlier objects: %w", err)
	}
	removed := 0
	for _, o := range objs {
		if keep[o.Key] {
			continue
		}
		if err := w.o.Store.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete stale object: %w", err)
		}
		removed++
	}
	if removed > 0 {
		log.Info("deleted objects of an earlier attempt", "count", removed)
	}
	return nil
}

func (w *Worker) put(ctx context.Context, key, file string, size int64) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	if err := w.o.Store.Put(ctx, key, f, size, storage.DefaultContentType(key)); err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	return nil
}

// uploadOrder sorts files so that media and images come first, then rendition
// playlists, then master.m3u8: a player that finds a playlist finds what it names.
func uploadOrder(files []string) []string {
	rank := func(f string) int {
		switch {
		case f == "master.m3u8":
			return 2
		case strings.HasSuffix(f, ".m3u8"):
			return 1
		}
		return 0
	}
	out := slices.Clone(files)
	slices.SortStableFunc(out, func(a, b string) int {
		if c := rank(a) - rank(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(out)
}

// sourceExt keeps a plain extension of the source key (.mp4, .mov, .ts) so the file on
// disk says what it is; anything odd is dropped.
func sourceExt(key string) string {
	ext := strings.ToLower(path.Ext(key))
	if len(ext) < 2 || len(ext) > 6 {
		return ""
	}
	for _, c := range ext[1:] {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return ""
		}
	}
	return ext
}

// scrubbed hides the work directory in an error's text, keeping its chain for errors.Is.
type scrubbed struct {
	err  error
	work string
}

func (s scrubbed) Error() string {
	return strings.ReplaceAll(s.err.Error(), s.work+string(filepath.Separator), "")
}

func (s scrubbed) Unwrap() error { return s.err }

type countingReader struct {
	r io.Reader
	n int64
	f func(int64)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	c.f(c.n)
	return n, err
}
