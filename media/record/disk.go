package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// On-disk names inside a recording's directory.
const (
	metaFile  = "meta.json"
	initFile  = "init.mp4"
	finalFile = "recording.mp4"
	tmpSuffix = ".tmp"

	stateRecording = "recording"
	stateFinalized = "finalized"
)

// errEmpty means a recording has no complete segment: there is nothing to keep.
var errEmpty = errors.New("recording has no complete segment")

// meta is meta.json: what a recording is, written atomically at its start and when it
// is finalized, so a restart knows what each directory holds.
type meta struct {
	Version    int       `json:"version"`
	ID         string    `json:"id"`
	Path       string    `json:"path"`
	State      string    `json:"state"`
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended,omitzero"`
	DurationMS int64     `json:"duration_ms,omitempty"`
	VideoCodec string    `json:"video_codec,omitempty"`
	AudioCodec string    `json:"audio_codec,omitempty"`
	Segments   int       `json:"segments,omitempty"`
	Bytes      int64     `json:"bytes,omitempty"`
	Recovered  bool      `json:"recovered,omitempty"`
}

func (m meta) info(dir string) Info {
	in := Info{ID: m.ID, Path: m.Path, Started: m.Started, Ended: m.Ended,
		Duration: time.Duration(m.DurationMS) * time.Millisecond, Segments: m.Segments, Bytes: m.Bytes,
		VideoCodec: m.VideoCodec, AudioCodec: m.AudioCodec, Recovered: m.Recovered}
	if m.State == stateFinalized {
		in.File = filepath.Join(dir, finalFile)
	}
	return in
}

func segmentName(n int) string { return fmt.Sprintf("seg_%06d.m4s", n) }

func isSegmentName(name string) bool {
	return strings.HasPrefix(name, "seg_") && strings.HasSuffix(name, ".m4s") && len(name) == len("seg_000000.m4s")
}

// writeFileAtomic writes name in dir so that after a crash it either holds all of data
// or does not exist: temp file, fsync, rename, fsync of the directory.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeMeta(dir string, m meta) error {
	m.Version = 1
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, metaFile, append(b, '\n'))
}

func readMeta(dir string) (meta, error) {
	var m meta
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, metaFile), err)
	}
	if m.ID == "" || m.Path == "" {
		return m, fmt.Errorf("%s: no id or path", filepath.Join(dir, metaFile))
	}
	return m, nil
}

// segments lists the complete segments of dir in order.
func segments(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && isSegmentName(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// removeTemps deletes files a crash left half-written.
func removeTemps(dir string, log *slog.Logger) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			p := filepath.Join(dir, e.Name())
			if err := os.Remove(p); err != nil {
				log.Warn("cannot delete leftover temp file", "file", p, "error", err)
			} else {
				log.Info("deleted leftover temp file", "file", p)
			}
		}
	}
}

// finalizeDir joins init.mp4 and every complete segment of dir into recording.mp4,
// marks the recording finalized in meta.json and deletes the parts. The media
// duration is read from the segments themselves, so a recording cut short by a crash
// gets the duration of what it really holds. It returns errEmpty when there is no
// complete segment.
func finalizeDir(dir string, m meta, log *slog.Logger) (meta, error) {
	removeTemps(dir, log)
	segs, err := segments(dir)
	if err != nil {
		return m, err
	}
	if len(segs) == 0 {
		return m, errEmpty
	}
	initData, err := os.ReadFile(filepath.Join(dir, initFile))
	if err != nil {
		return m, fmt.Errorf("reading init segment: %w", err)
	}
	var ini fmp4.Init
	if err := ini.Unmarshal(bytes.NewReader(initData)); err != nil {
		return m, fmt.Errorf("parsing %s: %w", filepath.Join(dir, initFile), err)
	}
	scales := map[int]uint32{}
	for _, t := range ini.Tracks {
		scales[t.ID] = t.TimeScale
	}

	tmp := filepath.Join(dir, finalFile+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return m, err
	}
	fail := func(err error) (meta, error) {
		f.Close()
		os.Remove(tmp)
		return m, fmt.Errorf("writing %s: %w", filepath.Join(dir, finalFile), err)
	}
	size, err := f.Write(initData)
	if err != nil {
		return fail(err)
	}
	total := int64(size)
	var span timeSpan
	written := 0
	for _, name := range segs {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fail(err)
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal(b); err != nil {
			// Complete segments are renamed into place only after fsync, so this is
			// damage from elsewhere: keep the rest of the lesson.
			log.Error("skipping unreadable segment", "file", filepath.Join(dir, name), "error", err)
			continue
		}
		span.add(parts, scales)
		n, err := f.Write(b)
		if err != nil {
			return fail(err)
		}
		total += int64(n)
		written++
	}
	if written == 0 {
		f.Close()
		os.Remove(tmp)
		return m, errEmpty
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return m, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, finalFile)); err != nil {
		os.Remove(tmp)
		return m, err
	}
	if err := syncDir(dir); err != nil {
		return m, err
	}

	m.State = stateFinalized
	m.Segments = written
	m.Bytes = total
	m.DurationMS = span.duration().Milliseconds()
	m.Ended = m.Started.Add(span.duration())
	if err := writeMeta(dir, m); err != nil {
		return m, err
	}
	removeParts(dir, log)
	return m, nil
}

// removeParts deletes init.mp4 and the segments of a finalized recording: its
// recording.mp4 holds them all.
func removeParts(dir string, log *slog.Logger) {
	segs, _ := segments(dir)
	for _, name := range append(segs, initFile) {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Warn("cannot delete segment of a finalized recording", "file", filepath.Join(dir, name), "error", err)
		}
	}
}

// timeSpan is the media time covered by fMP4 fragments, in seconds.
type timeSpan struct {
	set        bool
	start, end float64
}

func (s *timeSpan) add(parts fmp4.Parts, scales map[int]uint32) {
	for _, p := range parts {
		for _, t := range p.Tracks {
			scale := scales[t.ID]
			if scale == 0 || len(t.Samples) == 0 {
				continue
			}
			d := uint64(0)
			for _, smp := range t.Samples {
				d += uint64(smp.Duration)
			}
			a := float64(t.BaseTime) / float64(scale)
			b := float64(t.BaseTime+d) / float64(scale)
			if !s.set || a < s.start {
				s.start = a
			}
			if !s.set || b > s.end {
				s.end = b
			}
			s.set = true
		}
	}
}

func (s *timeSpan) duration() time.Duration {
	if !s.set {
		return 0
	}
	return time.Duration((s.end - s.start) * float64(time.Second))
}

// recoverAll finalizes the recordings a crash left in Dir and announces, again, every
// finalized recording not yet released.
func (r *Recorder) recoverAll() error {
	ents, err := os.ReadDir(r.opt.Dir)
	if err != nil {
		return fmt.Errorf("record: reading %s: %w", r.opt.Dir, err)
	}
	for _, e := range ents {
		if !e.IsDir() || !idPattern.MatchString(e.Name()) {
			continue
		}
		dir := filepath.Join(r.opt.Dir, e.Name())
		log := r.log.With("recording", e.Name())
		m, err := readMeta(dir)
		if errors.Is(err, os.ErrNotExist) {
			// meta.json is written first: without it nothing was recorded.
			log.Warn("deleting recording directory without meta.json", "dir", dir)
			if err := os.RemoveAll(dir); err != nil {
				log.Error("cannot delete recording directory", "dir", dir, "error", err)
			}
			continue
		}
		if err != nil {
			log.Error("cannot read recording metadata; leaving the directory alone", "dir", dir, "error", err)
			continue
		}
		log = log.With("stream", m.Path)
		switch m.State {
		case stateRecording:
			m.Recovered = true
			fm, err := finalizeDir(dir, m, log)
			if errors.Is(err, errEmpty) {
				log.Warn("recording interrupted before its first segment; nothing to recover", "dir", dir)
				if err := os.RemoveAll(dir); err != nil {
					log.Error("cannot delete recording directory", "dir", dir, "error", err)
				}
				continue
			}
			if err != nil {
				log.Error("cannot finalize interrupted recording", "dir", dir, "error", err)
				continue
			}
			log.Info("recovered interrupted recording", "duration", time.Duration(fm.DurationMS)*time.Millisecond, "segments", fm.Segments)
			r.finalized(fm.info(dir))
		case stateFinalized:
			if _, err := os.Stat(filepath.Join(dir, finalFile)); err != nil {
				log.Error("finalized recording lacks its file; leaving the directory alone", "dir", dir, "error", err)
				continue
			}
			removeTemps(dir, log)
			removeParts(dir, log)
			log.Info("finalized recording not yet released; announcing it again")
			r.finalized(m.info(dir))
		default:
			log.Error("unknown recording state; leaving the directory alone", "dir", dir, "state", m.State)
		}
	}
	return nil
}

// finalized hands a finalized recording to its owner.
func (r *Recorder) finalized(in Info) {
	if r.opt.OnFinalized != nil {
		r.opt.OnFinalized(in)
	}
}
