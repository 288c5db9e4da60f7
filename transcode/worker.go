package transcode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/transcode/ladder"
)

// AssetStore records what the worker does to an asset; the catalog implements it.
type AssetStore interface {
	// SetProgress marks the asset processing, at step (download, a ladder step,
	// upload) and percent (0-100) of the whole task.
	SetProgress(ctx context.Context, id, step string, percent float64) error
	// SetReady marks the asset ready to play with what the ladder made.
	SetReady(ctx context.Context, id string, r ladder.Result) error
	// SetFailed marks the asset failed for good, with a reason a user can read.
	SetFailed(ctx context.Context, id, reason string) error
	// SetQueued marks the asset waiting again: an attempt failed and will be retried,
	// or a stopping worker handed the task back.
	SetQueued(ctx context.Context, id string) error
}

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	// RedisURL is the queue's Redis (see NewQueue).
	RedisURL string
	// Concurrency is how many tasks run at once (default 1).
	Concurrency int
	// ShutdownTimeout is how long Shutdown lets running tasks finish before handing
	// them back to the queue (default 30 s).
	ShutdownTimeout time.Duration
	// Store holds sources and receives the HLS objects.
	Store storage.Store
	// Assets records progress and results.
	Assets AssetStore
	// TempDir holds work files (default os.TempDir()); a task uses
	// TempDir/transcode/<asset>-<random> and removes it when done.
	TempDir string
	// Preset is the x264 preset of encoded rungs (default veryfast).
	Preset string
	// MaxHeight refuses sources taller than this (default 2160).
	MaxHeight int
	// Log receives one line per task start and end, and asynq's own messages.
	Log *slog.Logger
}

// Worker runs tasks from the queue. Start it once and Shutdown it once.
type Worker struct {
	o       WorkerOptions
	opt     asynq.RedisConnOpt
	srv     *asynq.Server
	log     *slog.Logger
	workDir string

	// running counts handlers that have not returned yet. asynq hands a task back
	// when ShutdownTimeout passes but does not wait for its handler; Shutdown does,
	// so no late write of a handed-back attempt lands after it returns.
	running sync.WaitGroup
}

// NewWorker checks the options and builds a worker; Start begins taking tasks.
func NewWorker(o WorkerOptions) (*Worker, error) {
	opt, err := RedisOpt(o.RedisURL)
	if err != nil {
		return nil, err
	}
	if o.Store == nil || o.Assets == nil {
		return nil, errors.New("transcode: worker needs a Store and an AssetStore")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.Preset == "" {
		o.Preset = ladder.DefaultPreset
	}
	if o.MaxHeight <= 0 {
		o.MaxHeight = 2160
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	w := &Worker{o: o, opt: opt, log: o.Log, workDir: workRoot(o.TempDir)}
	w.srv = asynq.NewServer(opt, asynq.Config{
		Concurrency:     o.Concurrency,
		Queues:          Queues,
		StrictPriority:  false,
		RetryDelayFunc:  RetryDelay,
		ShutdownTimeout: o.ShutdownTimeout,
		Logger:          asynqLogger{o.Log},
		LogLevel:        asynq.InfoLevel,
		HealthCheckFunc: func(err error) {
			if err != nil {
				o.Log.Warn("task queue: Redis unreachable", "error", err)
			}
		},
	})
	return w, nil
}

// Start checks that Redis answers, removes work files a killed worker left behind, and
// begins processing tasks in the background.
func (w *Worker) Start() error {
	c := asynq.NewClient(w.opt)
	err := c.Ping()
	c.Close()
	if err != nil {
		return fmt.Errorf("transcode: task queue Redis %s: %w", Redact(w.o.RedisURL), err)
	}
	if err := os.MkdirAll(w.workDir, 0o755); err != nil {
		return fmt.Errorf("transcode: temp dir: %w", err)
	}
	cleanWorkDirs(w.workDir, w.log)
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeLadder, w.processLadder)
	mux.HandleFunc(TypeClip, w.processClip)
	if err := w.srv.Start(mux); err != nil {
		return fmt.Errorf("transcode: start worker: %w", err)
	}
	w.log.Info("transcode worker started", "concurrency", w.o.Concurrency, "queues", Queues)
	return nil
}

// Shutdown stops taking tasks, gives running ones ShutdownTimeout to finish, hands the
// rest back to the queue (another worker, or this one after a restart, runs them again
// from the start) and waits until their handlers have returned.
func (w *Worker) Shutdown() {
	w.srv.Shutdown()
	done := make(chan struct{})
	go func() {
		w.running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		w.log.Error("transcode handlers still running 30 s after their tasks were handed back")
	}
}

// asynqLogger sends asynq's messages to slog.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug("asynq: " + fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.log.Info("asynq: " + fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn("asynq: " + fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.log.Error("asynq: " + fmt.Sprint(args...)) }

// Fatal is part of asynq's Logger interface; asynq v0.26 never calls it, and a library
// has no business ending the process, so it only logs.
func (l asynqLogger) Fatal(args ...any) { l.log.Error("asynq: fatal: " + fmt.Sprint(args...)) }
