package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/config"
	"github.com/classcast/classcast/internal/embedded"
	"github.com/classcast/classcast/internal/reclaim"
	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/internal/upload"
	"github.com/classcast/classcast/media/record"
	"github.com/classcast/classcast/media/stream"
	"github.com/classcast/classcast/transcode"
	"github.com/classcast/classcast/transcode/ladder"
)

// vodPlane is everything after the live path: recordings, the catalog, the object
// store, the task queue and (on worker nodes) the transcoding worker.
type vodPlane struct {
	log      *slog.Logger
	redis    *embedded.Redis
	store    storage.Store
	catalog  *catalog.Catalog
	queue    *transcode.Queue
	worker   *transcode.Worker
	recorder *record.Recorder

	// handoff uploads finished recordings and enqueues them; it outlives the request
	// context so a shutdown gives running uploads a moment to finish.
	handoffCtx    context.Context
	cancelHandoff context.CancelFunc
	handoffs      sync.WaitGroup
	// background is the sweeper of unused media, stopped with the hand-off context.
	background sync.WaitGroup
}

// redisURL is the queue's Redis: the configured one, or the embedded one.
func redisURL(c config.Config) string {
	if c.Redis.URL != "" {
		return c.Redis.URL
	}
	return "redis://" + c.Redis.EmbeddedAddress + "/0"
}

// startVOD opens the VOD plane for the roles this node plays. startRedis is true for
// serve (which owns the embedded Redis) and false for a lone worker, which connects to
// the embedded Redis of the serve process on the same machine.
func startVOD(ctx context.Context, c config.Config, log *slog.Logger, registry *stream.Registry, startRedis bool) (_ *vodPlane, err error) {
	v := &vodPlane{log: log}
	v.handoffCtx, v.cancelHandoff = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			v.close(time.Second)
		}
	}()
	url := redisURL(c)
	if c.Redis.URL == "" && startRedis {
		// Its own lifetime: Redis must outlive the hand-off and the worker's hand-back,
		// so close stops it last, explicitly.
		v.redis, err = embedded.StartRedis(context.Background(), c.Redis.EmbeddedBinary, c.Redis.EmbeddedAddress,
			filepath.Join(c.DataDir, "redis"), log.With("component", "redis"))
		if err != nil {
			return nil, err
		}
		url = v.redis.URL()
	}
	if v.store, err = storage.Open(ctx, c, log.With("component", "storage")); err != nil {
		return nil, err
	}
	if v.catalog, err = catalog.Open(ctx, c.Catalog.URL, filepath.Join(c.DataDir, "catalog.db"), log.With("component", "catalog")); err != nil {
		return nil, err
	}
	if v.queue, err = transcode.NewQueue(url); err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	if startRedis && c.Storage.ReclaimAfter > 0 {
		// The serve nodes give back the space of media nothing uses any more (deleted
		// lessons, earlier cuts of a micro-lecture). Sweeps are idempotent, so every
		// node of a district may run one.
		rc := reclaim.New(reclaim.Options{Catalog: v.catalog, Store: v.store, Grace: c.Storage.ReclaimAfter,
			Log: log.With("component", "reclaim")})
		v.background.Go(func() { rc.Run(v.handoffCtx) })
	}
	if c.HasRole("worker") {
		if err := os.MkdirAll(c.TempDir(), 0o755); err != nil {
			return nil, fmt.Errorf("transcode.temp_dir: %w", err)
		}
		v.worker, err = transcode.NewWorker(transcode.WorkerOptions{
			RedisURL: url, Concurrency: c.Worker.Concurrency, ShutdownTimeout: c.Worker.ShutdownTimeout,
			Store: v.store, Assets: assetStore{v.catalog}, TempDir: c.TempDir(), Preset: c.Transcode.Preset,
			MaxHeight: c.Transcode.MaxHeight, Log: log.With("component", "worker"),
		})
		if err != nil {
			return nil, err
		}
		if err := v.worker.Start(); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	if c.HasRole("ingest") && registry != nil {
		grace := c.Record.Grace
		if grace == 0 {
			grace = -1 // the recorder reads 0 as "its default"; the config means "no wait"
		}
		v.recorder, err = record.New(registry, record.Options{
			Dir: c.RecordDir(), SegmentDuration: c.Record.SegmentDuration, Grace: grace,
			MaxDuration: c.Record.MaxDuration, Enabled: c.Records,
			OnStart: v.recordingStarted, OnFinalized: v.recordingFinalized,
			Log: log.With("component", "record"),
		})
		if err != nil {
			return nil, err
		}
		if err := v.recorder.Start(ctx); err != nil {
			return nil, fmt.Errorf("recorder: %w", err)
		}
	}
	return v, nil
}

// recordingTitle names a recording for the library: its classroom ("东城一中 录播教室
// 101 2026-11-23 10:00") when one owns the stream, else the stream path.
func (v *vodPlane) recordingTitle(ctx context.Context, path string, started time.Time) string {
	name := path
	if room, err := v.catalog.ClassroomByStreamPath(ctx, path); err == nil {
		name = room.Name
		if school, err := v.catalog.School(ctx, room.SchoolID); err == nil && school.Name != "" {
			name = school.Name + " " + name
		}
	}
	return name + " " + started.Local().Format("2006-01-02 15:04")
}

func (v *vodPlane) recordingStarted(info record.Info) {
	err := v.catalog.CreateAsset(v.handoffCtx, catalog.Asset{
		ID: info.ID, Kind: catalog.KindRecording, StreamPath: info.Path, State: catalog.StateRecording,
		Title: v.recordingTitle(v.handoffCtx, info.Path, info.Started), StartedAt: info.Started,
	})
	if err != nil {
		v.log.Error("cannot list the new recording in the catalog", "recording", info.ID, "error", err)
	}
}

// recordingFinalized hands a finished recording to the VOD plane: store its file,
// enqueue the ladder, and only then let the recorder delete it. Every step retries until
// it succeeds, so an object store or Redis that is down for a while delays the lesson
// but loses nothing; if this node stops first, the recorder offers the recording again
// on the next start.
func (v *vodPlane) recordingFinalized(info record.Info) {
	v.handoffs.Add(1)
	go func() {
		defer v.handoffs.Done()
		ctx, id := v.handoffCtx, info.ID
		log := v.log.With("recording", id, "stream", info.Path)
		key := "sources/" + id + "/recording.mp4"
		retry(ctx, log, "create catalog entry", func() error {
			return v.catalog.CreateAsset(ctx, catalog.Asset{
				ID: id, Kind: catalog.KindRecording, StreamPath: info.Path, State: catalog.StateRecording,
				Title: v.recordingTitle(ctx, info.Path, info.Started), StartedAt: info.Started,
			})
		})
		retry(ctx, log, "upload recording", func() error {
			f, err := os.Open(info.File)
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			return v.store.Put(ctx, key, f, st.Size(), "video/mp4")
		})
		retry(ctx, log, "record catalog entry", func() error {
			return v.catalog.SetRecorded(ctx, id, info.Ended, info.Duration, key)
		})
		retry(ctx, log, "enqueue transcode", func() error {
			return v.queue.EnqueueLadder(ctx, transcode.LadderV1{V: 1, AssetID: id, SourceKey: key, Origin: "live", DurationHint: info.Duration})
		})
		retry(ctx, log, "mark queued", func() error { return v.catalog.SetQueued(ctx, id) })
		if ctx.Err() != nil {
			log.Warn("recording hand-off interrupted by shutdown; it resumes on the next start")
			return
		}
		if err := v.recorder.Release(id); err != nil {
			log.Warn("could not delete the local copy of a stored recording", "error", err)
		}
		log.Info("recording stored and queued for transcoding", "key", key, "duration", info.Duration.Round(time.Second), "recovered", info.Recovered)
	}()
}

// retry runs op until it succeeds or ctx ends, backing off from 1 s to 30 s.
func retry(ctx context.Context, log *slog.Logger, what string, op func() error) {
	delay := time.Second
	for attempt := 1; ctx.Err() == nil; attempt++ {
		err := op()
		if err == nil {
			return
		}
		log.Warn(what+" failed; retrying", "attempt", attempt, "in", delay, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// close stops the plane: recordings are finalized (and their hand-off given up to
// grace to finish), the worker hands unfinished tasks back, then stores close.
func (v *vodPlane) close(grace time.Duration) {
	if v.recorder != nil {
		v.recorder.Close()
	}
	done := make(chan struct{})
	go func() { v.handoffs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
	}
	v.cancelHandoff()
	v.handoffs.Wait()
	v.background.Wait()
	if v.worker != nil {
		v.worker.Shutdown()
	}
	if v.queue != nil {
		v.queue.Close()
	}
	if v.catalog != nil {
		v.catalog.Close()
	}
	if v.redis != nil {
		if err := v.redis.Stop(); err != nil {
			v.log.Warn("embedded redis stop", "error", err)
		}
	}
}

// assetStore lets the worker report progress in the catalog.
type assetStore struct{ c *catalog.Catalog }

func (a assetStore) SetProgress(ctx context.Context, id, step string, percent float64) error {
	return a.c.SetProgress(ctx, id, step, percent)
}

func (a assetStore) SetReady(ctx context.Context, id string, r ladder.Result) error {
	rend := make([]catalog.Rendition, 0, len(r.Renditions))
	for _, x := range r.Renditions {
		rend = append(rend, catalog.Rendition{Name: x.Name, Width: x.Width, Height: x.Height, Bandwidth: x.Bandwidth, Codecs: x.Codecs, FrameRate: x.FrameRate})
	}
	return a.c.SetReady(ctx, id, r.Duration, r.Width, r.Height, rend)
}

func (a assetStore) SetFailed(ctx context.Context, id, reason string) error {
	return a.c.SetFailed(ctx, id, reason)
}

func (a assetStore) SetQueued(ctx context.Context, id string) error { return a.c.SetQueued(ctx, id) }

// acceptUpload turns a finished, probed upload into an asset and a draft lesson owned
// by its uploader, and queues the transcode. It is keyed on the upload's ID, so a
// repeated call (the upload package accepts at least once) changes nothing.
func (v *vodPlane) acceptUpload(ctx context.Context, u upload.Finished) error {
	assetID := "u-" + strings.ToLower(u.ID)
	ext := strings.ToLower(filepath.Ext(u.Filename))
	if len(ext) > 8 || strings.ContainsAny(ext, "/\\") {
		ext = ""
	}
	key := "sources/" + assetID + "/upload" + ext
	if _, err := v.store.Stat(ctx, key); err != nil {
		f, err := os.Open(u.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := v.store.Put(ctx, key, f, u.Size, ""); err != nil {
			return fmt.Errorf("store upload: %w", err)
		}
	}
	title := u.Meta[upload.MetaTitle]
	if title == "" {
		title = strings.TrimSuffix(u.Filename, filepath.Ext(u.Filename))
	}
	if err := v.catalog.CreateAsset(ctx, catalog.Asset{
		ID: assetID, Kind: catalog.KindUpload, Title: title, State: catalog.StateQueued,
		SourceKey: key, Duration: u.Info.Duration,
	}); err != nil {
		return err
	}
	if uses, err := v.catalog.AssetUses(ctx, assetID); err != nil {
		return err
	} else if len(uses) == 0 {
		teacher, err := v.catalog.User(ctx, u.UserID)
		if err != nil {
			return fmt.Errorf("uploader %s: %w", u.UserID, err)
		}
		name := teacher.DisplayName
		if name == "" {
			name = teacher.Username
		}
		l := catalog.Lesson{
			ID: catalog.NewLessonID(), AssetID: assetID, Title: title, TeacherID: teacher.ID, TeacherName: name,
			SchoolID: teacher.SchoolID, District: teacher.District, Origin: catalog.KindUpload, Duration: u.Info.Duration,
		}
		// What the upload page asked for the lesson; a bad value (an unknown visibility,
		// an over-long chapter) must not lose the upload: the lesson is made without them.
		withMeta := l
		withMeta.Subject, withMeta.Grade = u.Meta["subject"], u.Meta["grade"]
		withMeta.TextbookEdition, withMeta.Chapter = u.Meta["textbook_edition"], u.Meta["chapter"]
		withMeta.Description, withMeta.Visibility = u.Meta["description"], u.Meta["visibility"]
		err = v.catalog.CreateLesson(ctx, withMeta)
		if errors.Is(err, catalog.ErrInvalid) {
			v.log.Warn("upload's lesson details refused; lesson made without them", "asset", assetID, "reason", err)
			err = v.catalog.CreateLesson(ctx, l)
		}
		if err != nil {
			return err
		}
	}
	if err := v.queue.EnqueueLadder(ctx, transcode.LadderV1{V: 1, AssetID: assetID, SourceKey: key, Origin: "upload", DurationHint: u.Info.Duration}); err != nil {
		return err
	}
	v.log.Info("upload accepted and queued for transcoding", "asset", assetID, "user", u.UserID, "file", u.Filename, "size", u.Size, "duration", u.Info.Duration.Round(time.Second))
	return nil
}
