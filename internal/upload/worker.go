package upload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/classcast/classcast/transcode/ladder"
)

// enqueue queues upload id for acceptance unless it is queued already.
func (h *Handler) enqueue(id string) {
	h.mu.Lock()
	if h.queued[id] || h.closed {
		h.mu.Unlock()
		return
	}
	h.queued[id] = true
	h.pending = append(h.pending, id)
	h.mu.Unlock()
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// run accepts queued uploads one at a time and sweeps the directory every
// SweepInterval, until Close.
func (h *Handler) run() {
	defer h.wg.Done()
	tick := time.NewTicker(h.opts.SweepInterval)
	defer tick.Stop()
	for {
		for {
			h.mu.Lock()
			if len(h.pending) == 0 {
				h.mu.Unlock()
				break
			}
			id := h.pending[0]
			h.pending = h.pending[1:]
			h.mu.Unlock()
			h.accept(id)
			h.mu.Lock()
			delete(h.queued, id)
			h.mu.Unlock()
			if h.ctx.Err() != nil {
				return
			}
		}
		select {
		case <-h.ctx.Done():
			return
		case <-h.kick:
		case <-tick.C:
			h.sweep()
		}
	}
}

// accept probes a complete upload and hands it to Options.Accept; on
// success it records the acceptance and deletes the bytes. A failure is
// retried on the next sweep.
func (h *Handler) accept(id string) {
	dir := h.opts.Dir
	log := h.log.With("upload", id)
	if exists(donePath(dir, id)) {
		return
	}
	info, err := readInfo(dir, id)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			log.Error("could not read an upload's record", "error", err)
		}
		return // deleted by its owner meanwhile
	}
	path := binPath(dir, id)
	fi, err := os.Stat(path)
	if err != nil || info.SizeIsDeferred || fi.Size() != info.Size {
		return // not complete
	}
	log = log.With("user", info.MetaData[metaOwner])

	ctx, cancel := context.WithTimeout(h.ctx, h.opts.AcceptTimeout)
	defer cancel()
	probed, err := ladder.Probe(ctx, path, h.opts.MaxHeight)
	if errors.Is(err, ladder.ErrBadInput) {
		reason := h.reject(id, info.MetaData, err)
		log.Warn("completed upload refused: not usable media", "reason", reason)
		return
	}
	if err != nil {
		h.fail(id, err)
		log.Warn("probing a completed upload failed; will retry", "error", err)
		return
	}
	meta := map[string]string{}
	for k, v := range info.MetaData {
		if k != metaOwner {
			meta[k] = v
		}
	}
	f := Finished{ID: id, UserID: info.MetaData[metaOwner], Filename: info.MetaData[MetaFilename],
		Path: path, Size: info.Size, Meta: meta, Info: probed}
	start := time.Now()
	if err := h.opts.Accept(ctx, f); err != nil {
		h.fail(id, err)
		log.Error("accepting an upload failed; will retry", "error", err)
		return
	}
	if err := writeDone(dir, id, doneRecord{UserID: f.UserID, AcceptedAt: time.Now().UTC().Format(time.RFC3339)}); err != nil {
		// Accept ran but the marker is missing: the next sweep calls Accept
		// again, which must be idempotent.
		h.fail(id, err)
		log.Error("could not record an accepted upload", "error", err)
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Error("could not delete an accepted upload's bytes", "error", err)
	}
	h.mu.Lock()
	delete(h.failures, id)
	h.mu.Unlock()
	log.Info("upload accepted", "size", f.Size, "filename", f.Filename, "took", time.Since(start).Round(time.Millisecond))
}

func (h *Handler) fail(id string, err error) {
	h.mu.Lock()
	h.failures[id] = err.Error()
	h.mu.Unlock()
}

// sweep queues complete, unaccepted uploads (left by a crash or a failed
// Accept) and deletes expired ones: incomplete uploads untouched for
// Expiry, accepted records older than Expiry, and stray files.
func (h *Handler) sweep() {
	dir := h.opts.Dir
	entries, err := os.ReadDir(dir)
	if err != nil {
		h.log.Error("could not list uploads", "dir", dir, "error", err)
		return
	}
	now := time.Now()
	h.mu.Lock()
	for id, r := range h.rejected {
		if now.Sub(r.at) > h.opts.Expiry {
			delete(h.rejected, id)
		}
	}
	for id := range h.failures {
		if !exists(infoPath(dir, id)) {
			delete(h.failures, id)
		}
	}
	h.mu.Unlock()
	old := func(path string) bool {
		fi, err := os.Stat(path)
		return err == nil && now.Sub(fi.ModTime()) > h.opts.Expiry
	}
	for _, e := range entries {
		name := e.Name()
		id, ext, _ := strings.Cut(name, ".")
		if !idPattern.MatchString(id) {
			continue // not ours
		}
		switch ext {
		case "info":
		case "", "done":
			// Data without a record (a crash inside tusd's NewUpload), or a
			// marker whose record was deleted.
			if !exists(infoPath(dir, id)) && old(filepath.Join(dir, name)) {
				removeUpload(dir, id, h.log)
			}
			continue
		default:
			if strings.HasPrefix(ext, "done.tmp") && old(filepath.Join(dir, name)) {
				_ = os.Remove(filepath.Join(dir, name))
			}
			continue
		}
		info, err := readInfo(dir, id)
		if err != nil {
			if old(infoPath(dir, id)) {
				removeUpload(dir, id, h.log)
			}
			continue
		}
		if exists(donePath(dir, id)) {
			if old(donePath(dir, id)) {
				removeUpload(dir, id, h.log)
			}
			continue
		}
		fi, err := os.Stat(binPath(dir, id))
		switch {
		case err != nil:
			if old(infoPath(dir, id)) {
				removeUpload(dir, id, h.log)
			}
		case fi.Size() == info.Size && !info.SizeIsDeferred:
			h.enqueue(id) // complete: never expires before it is accepted
		case now.Sub(fi.ModTime()) > h.opts.Expiry:
			h.log.Info("abandoned upload deleted", "upload", id, "offset", fi.Size(), "size", info.Size,
				"idle", now.Sub(fi.ModTime()).Round(time.Minute))
			removeUpload(dir, id, h.log)
		}
	}
}
