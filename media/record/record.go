// Package record records live streams to fragmented MP4 on local disk.
//
// Every stream whose publisher appears in a stream.Registry is recorded (unless
// Options.Enabled says not to) into its own directory under Options.Dir:
//
//	<Dir>/<id>/meta.json        what the recording is and its state (written atomically)
//	<Dir>/<id>/init.mp4         the fMP4 initialization segment (ftyp, moov)
//	<Dir>/<id>/seg_000001.m4s   media segments (moof, mdat), each renamed into place
//	...                         only once complete and fsynced
//	<Dir>/<id>/recording.mp4    init + every segment, once the recording is finalized
//
// A crash (kill -9, a power cut) therefore loses at most the segment being filled. A
// publisher that drops and returns within Options.Grace continues the same recording;
// after the grace period the recording is finalized and handed to Options.OnFinalized.
// Recordings a crash left unfinished are finalized by Recorder.Start.
package record

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/classcast/classcast/media/stream"
)

// Errors of Release.
var (
	// ErrNotFound means no recording with that ID is on disk.
	ErrNotFound = errors.New("recording not found")
	// ErrActive means the recording is still being written; it can be released only
	// once OnFinalized has been called for it.
	ErrActive = errors.New("recording is still being written")
)

// Info describes a recording.
type Info struct {
	// ID names the recording and its directory: time-sortable, URL-safe, lower case.
	ID string
	// Path is the stream path, e.g. "school-a/room-101".
	Path string
	// Started is the wall-clock time of the first recorded frame.
	Started time.Time
	// Ended is Started + Duration, set once finalized.
	Ended time.Time
	// Duration is the media duration so far (including gaps where the publisher was away).
	Duration time.Duration
	// File is the finalized fragmented MP4 (init + all segments), set once finalized.
	File string
	// Segments is the number of complete segments.
	Segments int
	// Bytes is the size of the complete segments, or of File once finalized.
	Bytes int64
	// VideoCodec and AudioCodec are FFmpeg codec names ("h264", "hevc", "aac", "opus"),
	// empty when the recording has no such track.
	VideoCodec, AudioCodec string
	// Recovered is true for a recording a crash left unfinished and Start finalized.
	Recovered bool
}

// Options configure a Recorder.
type Options struct {
	// Dir holds one directory per recording. Required.
	Dir string
	// SegmentDuration is the target length of a segment on disk: a segment is cut on the
	// first video keyframe after it (by time for audio-only streams). Default 2 s.
	SegmentDuration time.Duration
	// Grace is how long a recording waits for its publisher to return before it is
	// finalized. Default 60 s; negative means no wait.
	Grace time.Duration
	// MaxDuration splits longer recordings: the recording is finalized and a new one
	// starts on the next keyframe. Default 4 h.
	MaxDuration time.Duration
	// Enabled reports whether a stream is recorded (config: Config.Records). Nil
	// records every stream. It is asked each time a recording would start.
	Enabled func(path string) bool
	// OnStart is called when a new recording begins, from the recorder's goroutine.
	OnStart func(Info)
	// OnFinalized is called when File is complete, from the recorder's goroutine, so
	// it must not block for long (enqueue the upload, do not upload here). The owner
	// calls Release once the lesson is safely stored. It is called again on the next
	// Start for every recording not yet released.
	OnFinalized func(Info)
	// Log receives the recorder's logs; nil discards them.
	Log *slog.Logger
}

// Recorder records the live streams of a registry.
type Recorder struct {
	reg *stream.Registry
	opt Options
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*session
	started  bool
	closed   bool
	unsub    func()
	stop     chan struct{}
	wg       sync.WaitGroup
}

// New makes a recorder for reg; Start begins recording.
func New(reg *stream.Registry, opt Options) (*Recorder, error) {
	if reg == nil {
		return nil, errors.New("record: nil registry")
	}
	if opt.Dir == "" {
		return nil, errors.New("record: Options.Dir is required")
	}
	if opt.SegmentDuration <= 0 {
		opt.SegmentDuration = 2 * time.Second
	}
	if opt.Grace == 0 {
		opt.Grace = 60 * time.Second
	} else if opt.Grace < 0 {
		opt.Grace = 0
	}
	if opt.MaxDuration <= 0 {
		opt.MaxDuration = 4 * time.Hour
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(opt.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("record: creating %s: %w", opt.Dir, err)
	}
	return &Recorder{reg: reg, opt: opt, log: opt.Log.With("component", "record"),
		sessions: map[string]*session{}, stop: make(chan struct{})}, nil
}

// Start finalizes the recordings a crash left unfinished in Dir and calls OnFinalized
// for every recording not yet released, then records every stream that has or gets a
// publisher. When ctx ends, the recorder closes as by Close.
func (r *Recorder) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.started || r.closed {
		r.mu.Unlock()
		return errors.New("record: Start called twice or after Close")
	}
	r.started = true
	r.mu.Unlock()

	if err := r.recoverAll(); err != nil {
		return err
	}

	unsub := r.reg.OnPublisher(r.onPublisher)
	r.mu.Lock()
	r.unsub = unsub
	r.mu.Unlock()
	// Streams already live when we start: their events came before we listened.
	for _, in := range r.reg.List() {
		if !in.Live {
			continue
		}
		if h := r.reg.Hub(in.Path); h != nil {
			r.onPublisher(stream.PublisherEvent{Hub: h, Live: true, At: time.Now()})
		}
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		select {
		case <-ctx.Done():
			go r.Close()
		case <-r.stop:
		}
	}()
	return nil
}

// onPublisher routes a registry event to the stream's session, starting one when a
// recorded stream gets a publisher. It runs on the publisher's goroutine and must not
// block: it only subscribes a reader and wakes the session.
func (r *Recorder) onPublisher(ev stream.PublisherEvent) {
	path := ev.Hub.Path()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	s := r.sessions[path]
	if s == nil {
		if !ev.Live || !r.enabled(path) {
			return
		}
		s = newSession(r, path)
		r.sessions[path] = s
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			s.run(r.stop)
		}()
	}
	s.notify(ev)
}

func (r *Recorder) enabled(path string) bool {
	return r.opt.Enabled == nil || r.opt.Enabled(path)
}

// retire removes s from the recorder unless an event for it is waiting, in which case
// the session must stay and handle it.
func (r *Recorder) retire(s *session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.hasPending() && !r.closed {
		return false
	}
	if r.sessions[s.path] == s {
		delete(r.sessions, s.path)
	}
	return true
}

// Active returns the recordings being written (including those waiting out their
// grace period), sorted by ID.
func (r *Recorder) Active() []Info {
	r.mu.Lock()
	sessions := make([]*session, 0, len(r.sessions))
	for _, s := range r.sessions {
		sessions = append(sessions, s)
	}
	r.mu.Unlock()
	var out []Info
	for _, s := range sessions {
		if in, ok := s.snapshot(); ok {
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// isActive reports whether a session is writing the recording id.
func (r *Recorder) isActive(id string) bool {
	for _, in := range r.Active() {
		if in.ID == id {
			return true
		}
	}
	return false
}

var idPattern = regexp.MustCompile(`^[a-z][0-9a-z]*[0-9]{8}t[0-9]{6}-[a-z2-7]{6}$`)

// Release deletes a finalized recording's local files: its lesson is safely stored.
func (r *Recorder) Release(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("release %q: %w", id, ErrNotFound)
	}
	if r.isActive(id) {
		return fmt.Errorf("release %s: %w", id, ErrActive)
	}
	dir := filepath.Join(r.opt.Dir, id)
	m, err := readMeta(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release %s: %w", id, ErrNotFound)
	}
	if err == nil && m.State != stateFinalized {
		// Not active, not finalized: a crashed recording Start has not recovered yet.
		return fmt.Errorf("release %s: %w", id, ErrActive)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("release %s: %w", id, err)
	}
	r.log.Info("recording released", "recording", id)
	return nil
}

// Close finalizes every active recording (OnFinalized is called for each) and stops
// following the registry. Safe to call more than once.
func (r *Recorder) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.wg.Wait()
		return
	}
	r.closed = true
	unsub := r.unsub
	r.mu.Unlock()
	if unsub != nil {
		unsub()
	}
	close(r.stop)
	r.wg.Wait()
}

// NewID returns a new recording ID: prefix, the UTC time as 20261123t132700, a dash
// and 6 random base32 characters, all lower case, so IDs sort by start time.
func NewID(prefix string) string {
	// rand.Text is base32 (A-Z, 2-7): URL-safe once lower-cased.
	return prefix + strings.ToLower(time.Now().UTC().Format("20060102t150405")) + "-" + strings.ToLower(rand.Text()[:6])
}
