// Package upload receives lesson files over the tus resumable upload protocol
// (tus.io, version 1.0), served by tusd's handler with its file store: a
// teacher's 2 GB recording over a flaky school link resumes where it stopped,
// even after a browser restart, instead of starting over.
//
// Every request is authorized (Options.Authorize) and an upload belongs to the
// user who created it. A completed upload is probed with ladder.Probe: a file
// that is not usable media is refused at once, in the response to its last
// PATCH (422 with the reason), and deleted. Usable media is handed to
// Options.Accept by a background worker, at least once: an upload that was
// complete when the server stopped is accepted on the next start.
//
// Files in Options.Dir, per upload id: "<id>" (the bytes) and "<id>.info"
// (tusd's JSON), and "<id>.done" once accepted (the bytes are then deleted).
// Uploads untouched for Options.Expiry are removed.
package upload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	xslog "golang.org/x/exp/slog"

	"github.com/classcast/classcast/transcode/ladder"
)

// DefaultMaxSize is the largest upload accepted when Options.MaxSize is 0.
const DefaultMaxSize int64 = 4 << 30

// DefaultBasePath is where the API mounts the handler.
const DefaultBasePath = "/api/v1/uploads/"

// Metadata keys a client may send (tus Upload-Metadata, base64 values, UTF-8).
const (
	// MetaFilename is the name of the file on the teacher's computer; required.
	MetaFilename = "filename"
	// MetaTitle is the lesson's title; optional.
	MetaTitle = "title"
	// metaOwner is set by the server to the uploading user's id; a value sent
	// by a client is replaced.
	metaOwner = "classcast-owner"
)

// Limits on metadata.
const (
	maxFilenameBytes = 255
	maxTitleRunes    = 200
	maxMetaBytes     = 4096
)

// Options configure a Handler. Zero values take the defaults in parentheses.
type Options struct {
	// Dir holds uploads in progress; required. It is created if missing.
	Dir string
	// MaxSize is the largest file accepted, in bytes (DefaultMaxSize). A larger
	// Upload-Length is refused with 413 before any byte is sent.
	MaxSize int64
	// BasePath is the URL path the handler is mounted at (DefaultBasePath).
	BasePath string
	// Authorize says who may upload: the user's id, or ok false and the HTTP
	// status to answer (401 anonymous, 403 not allowed). Called on every
	// request but CORS preflights; required.
	Authorize func(r *http.Request) (userID string, ok bool, status int)
	// Accept takes a completed upload that probed as usable media: it stores
	// the file as a lesson's source. It is called at least once per upload,
	// from one goroutine, and again after a failure or a server restart until
	// it returns nil, so it must be idempotent: Finished.ID is the same on
	// every call (derive the asset id from it). The file at Finished.Path is
	// deleted after Accept returns nil. Required.
	Accept func(ctx context.Context, u Finished) error
	// MaxHeight refuses pictures taller than this (ladder.DefaultMaxHeight).
	MaxHeight int
	// Expiry removes uploads untouched this long, and accepted upload records
	// (24 h). A complete upload waiting for Accept is never removed.
	Expiry time.Duration
	// SweepInterval is how often expired uploads are removed and failed
	// acceptances retried (1 min).
	SweepInterval time.Duration
	// AcceptTimeout bounds one Accept call (30 min).
	AcceptTimeout time.Duration
	Log           *slog.Logger
}

// Finished is a completed upload that probed as usable media.
type Finished struct {
	// ID is the upload's id: 32 hex digits, stable across retries.
	ID string
	// UserID is who uploaded it (from Options.Authorize).
	UserID string
	// Filename is the client's file name (metadata "filename"), without
	// directories.
	Filename string
	// Path is the file on local disk, valid during the Accept call only.
	Path string
	// Size in bytes.
	Size int64
	// Meta is the client's metadata ("filename", "title", ...).
	Meta map[string]string
	// Info is what ladder.Probe found.
	Info ladder.Info
}

// Handler serves the tus protocol under Options.BasePath and accepts
// completed uploads. Close stops its worker.
type Handler struct {
	opts Options
	base string
	tus  *tusd.Handler
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{}

	mu       sync.Mutex
	pending  []string            // ids waiting for the worker, in order
	queued   map[string]bool     // ids in pending or being accepted
	failures map[string]string   // id -> last acceptance error
	rejected map[string]rejected // ids refused by the probe since start
	closed   bool
}

type rejected struct {
	owner, reason string
	at            time.Time
}

type ctxKey struct{}

var idPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// New checks opts, creates the directory, queues the complete uploads a
// previous run left unaccepted, and starts the worker.
func New(o Options) (*Handler, error) {
	if o.Dir == "" {
		return nil, errors.New("upload: Dir is required")
	}
	if o.Authorize == nil || o.Accept == nil {
		return nil, errors.New("upload: Authorize and Accept are required")
	}
	if o.MaxSize < 0 {
		return nil, fmt.Errorf("upload: MaxSize %d is negative", o.MaxSize)
	}
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.BasePath == "" {
		o.BasePath = DefaultBasePath
	}
	if !strings.HasPrefix(o.BasePath, "/") {
		return nil, fmt.Errorf("upload: BasePath %q must start with /", o.BasePath)
	}
	if !strings.HasSuffix(o.BasePath, "/") {
		o.BasePath += "/"
	}
	if o.Expiry <= 0 {
		o.Expiry = 24 * time.Hour
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Minute
	}
	if o.AcceptTimeout <= 0 {
		o.AcceptTimeout = 30 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}

	h := &Handler{
		opts: o, base: o.BasePath, log: o.Log,
		kick:     make(chan struct{}, 1),
		queued:   map[string]bool{},
		failures: map[string]string{},
		rejected: map[string]rejected{},
	}
	composer := tusd.NewStoreComposer()
	st := newStore(o.Dir)
	composer.UseCore(st)
	composer.UseTerminater(st)
	memorylocker.New().UseIn(composer)

	cors := tusd.DefaultCorsConfig
	cors.AllowHeaders += ", X-CSRF-Token"
	cors.ExposeHeaders += ", " + stateHeader
	tus, err := tusd.NewHandler(tusd.Config{
		StoreComposer:             composer,
		MaxSize:                   o.MaxSize,
		BasePath:                  o.BasePath,
		DisableDownload:           true,
		DisableConcatenation:      true,
		RespectForwardedHeaders:   true,
		Cors:                      &cors,
		Logger:                    xslog.New(bridge{o.Log.Handler()}),
		PreUploadCreateCallback:   h.preCreate,
		PreFinishResponseCallback: h.preFinish,
	})
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	h.tus = tus

	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.sweep() // queue what a previous run left complete but unaccepted
	h.wg.Add(1)
	go h.run()
	return h, nil
}

// Close stops the worker, cancelling a running Accept, and waits for it. An
// upload whose acceptance was cut short is accepted on the next start. Safe
// to call more than once.
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

// diskReserve is left free on the upload disk: an upload is refused at
// creation when it would eat into it.
const diskReserve = 512 << 20

// stateHeader tells the client, on the last PATCH, that the file was probed
// and queued for acceptance ("processing").
const stateHeader = "Classcast-Upload-State"

// ServeHTTP serves the tus protocol for paths under BasePath, and GET
// BasePath<id> with the upload's state as JSON.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, h.base)
	if !ok {
		if r.URL.Path+"/" != h.base {
			writeError(w, http.StatusNotFound, "not_found", "no such upload")
			return
		}
		rest = "" // the creation URL without its slash
	}
	id := strings.Trim(rest, "/")
	if r.Method == http.MethodOptions {
		h.serveTus(w, r, id, "")
		return
	}
	user, ok, status := h.opts.Authorize(r)
	if !ok {
		switch status {
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="classcast"`)
			writeError(w, status, "unauthorized", "sign in as a teacher to upload lessons")
		case http.StatusForbidden:
			writeError(w, status, "forbidden", "your account may not upload lessons")
		default:
			if status < 400 {
				status = http.StatusInternalServerError
			}
			writeError(w, status, "unavailable", "could not check your sign-in; try again")
		}
		return
	}
	if id != "" {
		if !idPattern.MatchString(id) {
			writeError(w, http.StatusNotFound, "not_found", "no such upload")
			return
		}
		owner, found := h.owner(id)
		if found && owner != user {
			writeError(w, http.StatusForbidden, "forbidden", "this upload belongs to another user")
			return
		}
		if r.Method == http.MethodGet {
			h.serveState(w, id, found)
			return
		}
	}
	h.serveTus(w, r, id, user)
}

// serveTus hands r to tusd with the base path stripped, as its routed handler
// expects, and the user in the context for the hooks.
func (h *Handler) serveTus(w http.ResponseWriter, r *http.Request, id, user string) {
	r2 := r.WithContext(context.WithValue(r.Context(), ctxKey{}, user))
	u := *r.URL
	u.Path, u.RawPath = "/"+id, ""
	r2.URL = &u
	h.tus.ServeHTTP(w, r2)
}

// State is what GET BasePath<id> answers.
type State struct {
	ID string `json:"id"`
	// State is uploading, processing (complete, waiting for acceptance),
	// accepted, or rejected (not usable media; Reason says why).
	State    string `json:"state"`
	Offset   int64  `json:"offset"`
	Size     int64  `json:"size"`
	Filename string `json:"filename,omitempty"`
	Title    string `json:"title,omitempty"`
	// Reason is why a rejected upload was refused, or the last acceptance
	// error of one still processing.
	Reason string `json:"reason,omitempty"`
}

func (h *Handler) serveState(w http.ResponseWriter, id string, found bool) {
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no such upload")
		return
	}
	st := State{ID: id}
	h.mu.Lock()
	rej, isRejected := h.rejected[id]
	failure := h.failures[id]
	h.mu.Unlock()
	if isRejected {
		st.State, st.Reason = "rejected", rej.reason
		writeJSON(w, http.StatusOK, st)
		return
	}
	info, err := readInfo(h.opts.Dir, id)
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such upload")
		return
	}
	st.Size, st.Filename, st.Title = info.Size, info.MetaData[MetaFilename], info.MetaData[MetaTitle]
	switch {
	case exists(donePath(h.opts.Dir, id)):
		st.State, st.Offset = "accepted", info.Size
	default:
		if fi, err := os.Stat(binPath(h.opts.Dir, id)); err == nil {
			st.Offset = fi.Size()
		}
		st.State = "uploading"
		if st.Offset == st.Size {
			st.State, st.Reason = "processing", failure
		}
	}
	writeJSON(w, http.StatusOK, st)
}

// owner returns who created upload id, and whether it is known.
func (h *Handler) owner(id string) (string, bool) {
	if info, err := readInfo(h.opts.Dir, id); err == nil {
		return info.MetaData[metaOwner], true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if rej, ok := h.rejected[id]; ok {
		return rej.owner, true
	}
	return "", false
}

// preCreate checks a new upload's metadata and records its owner.
func (h *Handler) preCreate(ev tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	user, _ := ev.Context.Value(ctxKey{}).(string)
	if user == "" {
		// ServeHTTP authorizes before tusd runs; this is a wiring mistake.
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_UNAUTHORIZED", "sign in first", http.StatusUnauthorized)
	}
	if ev.Upload.Size == 0 && !ev.Upload.SizeIsDeferred {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_EMPTY_FILE", "文件是空的 / the file is empty", http.StatusBadRequest)
	}
	if free, ok := freeSpace(h.opts.Dir); ok && free < uint64(ev.Upload.Size)+diskReserve {
		h.log.Warn("upload refused: the upload disk is full", "dir", h.opts.Dir, "free", free, "size", ev.Upload.Size)
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_DISK_FULL",
			"服务器磁盘空间不足，请联系管理员 / the server is out of disk space for uploads; tell your administrator", http.StatusInsufficientStorage)
	}
	meta, err := cleanMeta(ev.Upload.MetaData)
	if err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_INVALID_METADATA", err.Error(), http.StatusBadRequest)
	}
	meta[metaOwner] = user
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{MetaData: meta}, nil
}

// preFinish probes a file whose last byte just arrived: not media is refused
// in this response and deleted; media is queued for Accept.
func (h *Handler) preFinish(ev tusd.HookEvent) (tusd.HTTPResponse, error) {
	id := ev.Upload.ID
	log := h.log.With("upload", id, "user", ev.Upload.MetaData[metaOwner])
	_, err := ladder.Probe(ev.Context, binPath(h.opts.Dir, id), h.opts.MaxHeight)
	if errors.Is(err, ladder.ErrBadInput) {
		reason := h.reject(id, ev.Upload.MetaData, err)
		log.Info("upload refused: not usable media", "reason", reason)
		return tusd.HTTPResponse{}, tusd.NewError("ERR_NOT_MEDIA", "不是可用的视频文件 / not a usable video: "+reason, http.StatusUnprocessableEntity)
	}
	if err != nil {
		// Not the file's fault (the request ended, the disk): the worker probes
		// it again.
		log.Warn("probing a finished upload failed; the worker will retry", "error", err)
	}
	log.Info("upload complete", "size", ev.Upload.Size)
	h.enqueue(id)
	return tusd.HTTPResponse{Header: tusd.HTTPHeader{stateHeader: "processing"}}, nil
}

// reject deletes upload id, remembers why for its state, and returns the
// reason a user can read.
func (h *Handler) reject(id string, meta tusd.MetaData, probeErr error) string {
	reason := badInputReason(probeErr, binPath(h.opts.Dir, id), meta[MetaFilename])
	h.mu.Lock()
	h.rejected[id] = rejected{owner: meta[metaOwner], reason: reason, at: time.Now()}
	h.mu.Unlock()
	removeUpload(h.opts.Dir, id, h.log)
	return reason
}

// badInputReason is the part of a probe error after "not usable media: ",
// with the server's path replaced by the client's file name.
func badInputReason(err error, path, filename string) string {
	msg := err.Error()
	marker := ladder.ErrBadInput.Error() + ": "
	if i := strings.Index(msg, marker); i >= 0 {
		msg = msg[i+len(marker):]
	} else {
		msg = "not a supported audio or video file"
	}
	return strings.ReplaceAll(msg, path, filename)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, message
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// bridge passes tusd's warnings and errors, logged with golang.org/x/exp/slog
// (its own types, not log/slog's), to our log, and drops its per-request info
// lines (several per PATCH).
type bridge struct{ h slog.Handler }

func (b bridge) Enabled(ctx context.Context, l xslog.Level) bool {
	return l >= xslog.LevelWarn && b.h.Enabled(ctx, slog.Level(l))
}

func (b bridge) Handle(ctx context.Context, r xslog.Record) error {
	level := slog.Level(r.Level)
	if r.Message == "BodyReadError" {
		// A PATCH cut short: the client's link dropped, or it paused. tusd
		// keeps what arrived and the client resumes; not an error of ours.
		level = slog.LevelInfo
		if !b.h.Enabled(ctx, level) {
			return nil
		}
	}
	out := slog.NewRecord(r.Time, level, "tusd: "+r.Message, r.PC)
	r.Attrs(func(a xslog.Attr) bool {
		out.AddAttrs(slog.Any(a.Key, a.Value.Any()))
		return true
	})
	return b.h.Handle(ctx, out)
}

func (b bridge) WithAttrs(as []xslog.Attr) xslog.Handler {
	conv := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		conv = append(conv, slog.Any(a.Key, a.Value.Any()))
	}
	return bridge{b.h.WithAttrs(conv)}
}

func (b bridge) WithGroup(name string) xslog.Handler { return bridge{b.h.WithGroup(name)} }

var _ io.Closer = (*Handler)(nil)
