package ladder

import (
	"errors"
	"fmt"
	"math"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
	"github.com/classcast/classcast/transcode/outdir"
)

// Track IDs in the init segments.
const (
	videoTrackID = 1
	audioTrackID = 2
)

// maxTrackLag is how many complete segments one track may run ahead of the
// other before the segmenter stops waiting for the late one: a source
// whose audio dies must not make the video pile up in memory.
const maxTrackLag = 6

// segmenter writes one rung: an fMP4 init segment, media segments cut at
// the plan's cuts, and the media playlist. Video arrives in decode order,
// audio in order; each track may run ahead of the other. Not safe for
// concurrent use.
type segmenter struct {
	out  *outdir.Dir
	name string // rung name, the directory
	p    *plan

	video, audio *track // nil when the rung lacks the track
	sps, pps     []byte
	asc          mpeg4audio.AudioSpecificConfig

	pending  []*pendingSeg // ascending k
	flushed  int           // segments below this index are written
	segs     []segInfo
	initDone bool
	dropped  int // video samples before the first keyframe
}

// track is the state of one track of a segmenter.
type track struct {
	timescale int64
	started   bool
	ended     bool
	held      *heldSample // last sample, waiting for the next one's time
	seg       int         // segment of the latest sample
	lastDT    int64
	lastDur   uint32
	end       int64 // end of the last sample, 90 kHz
}

type heldSample struct {
	seg     int
	dt, pts int64 // track time scale
	s       fmp4.Sample
}

// pendingSeg collects the samples of segment k until every track is past
// it.
type pendingSeg struct {
	k            int
	video, audio []*fmp4.Sample
	vBase, aBase uint64
	start        int64 // earliest PTS, 90 kHz
	hasStart     bool
}

// segInfo describes a written media segment.
type segInfo struct {
	file  string
	start int64 // 90 kHz
	bytes int
	dur   float64 // seconds, set when the playlist is written
}

func newSegmenter(out *outdir.Dir, name string, p *plan, withVideo, withAudio bool) *segmenter {
	s := &segmenter{out: out, name: name, p: p}
	if withVideo {
		s.video = &track{timescale: clock90k}
	}
	if withAudio {
		s.audio = &track{timescale: audioRate}
	}
	return s
}

// setVideoParams gives the SPS and PPS for the init segment.
func (s *segmenter) setVideoParams(sps, pps []byte) {
	s.sps, s.pps = sps, pps
}

// setAudioConfig gives the AAC AudioSpecificConfig for the init segment.
func (s *segmenter) setAudioConfig(c mpeg4audio.AudioSpecificConfig) {
	s.asc = c
}

// writeVideo adds one access unit (AVCC, 4-byte lengths) with its times on
// the 90 kHz output timeline. Segments start at keyframes on a cut.
func (s *segmenter) writeVideo(pts, dts int64, key bool, data []byte) error {
	t := s.video
	if !t.started && !key {
		s.dropped++
		return nil
	}
	if dts > pts {
		dts = pts
	}
	// Decode times must rise and cannot be negative; the plan's offset
	// leaves room for the reorder delay, so clamping is only for broken
	// timestamps.
	dt := max(dts, 0)
	if !t.started {
		t.started = true
		t.seg = s.p.segmentOf(pts)
	} else {
		if key {
			if k := s.p.segmentOf(pts); k > t.seg {
				t.seg = k
			}
		}
		if dt <= t.lastDT {
			dt = t.lastDT + 1
		}
	}
	if pts < dt {
		pts = dt
	}
	t.seg = max(t.seg, s.flushed)
	off := pts - dt
	if off > math.MaxInt32 || off < math.MinInt32 {
		return fmt.Errorf("ladder: %s: composition offset %d out of range", s.name, off)
	}
	h := &heldSample{seg: t.seg, dt: dt, pts: pts, s: fmp4.Sample{
		PTSOffset:       int32(off),
		IsNonSyncSample: !key,
		Payload:         data,
	}}
	t.lastDT = dt
	s.push(t, h)
	return s.flushReady()
}

// writeAudio adds one AAC frame whose PTS is in 48 kHz ticks on the
// output timeline.
func (s *segmenter) writeAudio(pts int64, data []byte) error {
	t := s.audio
	if t.started && pts <= t.lastDT {
		pts = t.lastDT + 1
	}
	pts = max(pts, 0)
	pts90 := pts * clock90k / audioRate
	k := max(s.p.segmentOf(pts90), s.flushed, t.seg)
	t.started = true
	t.seg = k
	t.lastDT = pts
	h := &heldSample{seg: k, dt: pts, pts: pts, s: fmp4.Sample{Payload: data}}
	s.push(t, h)
	return s.flushReady()
}

// push finalizes the held sample of t, whose duration is now known, and
// holds h in its place.
func (s *segmenter) push(t *track, h *heldSample) {
	if prev := t.held; prev != nil {
		d := h.dt - prev.dt
		if d <= 0 || d > math.MaxUint32 {
			d = max(int64(t.lastDur), 1)
		}
		prev.s.Duration = uint32(d)
		t.lastDur = uint32(d)
		s.add(t, prev)
	}
	t.held = h
}

// add files a finished sample under its segment.
func (s *segmenter) add(t *track, h *heldSample) {
	ps := s.pendingFor(h.seg)
	pts90 := h.pts
	if t == s.audio {
		pts90 = h.pts * clock90k / audioRate
	}
	if !ps.hasStart || pts90 < ps.start {
		ps.start, ps.hasStart = pts90, true
	}
	t.end = max(t.end, pts90+int64(h.s.Duration)*clock90k/t.timescale)
	smp := h.s
	if t == s.video {
		if len(ps.video) == 0 {
			ps.vBase = uint64(max(h.dt, 0))
		}
		ps.video = append(ps.video, &smp)
	} else {
		if len(ps.audio) == 0 {
			ps.aBase = uint64(max(h.dt, 0))
		}
		ps.audio = append(ps.audio, &smp)
	}
}

func (s *segmenter) pendingFor(k int) *pendingSeg {
	k = max(k, s.flushed)
	for i, ps := range s.pending {
		if ps.k == k {
			return ps
		}
		if ps.k > k {
			ps := &pendingSeg{k: k}
			s.pending = append(s.pending[:i], append([]*pendingSeg{ps}, s.pending[i:]...)...)
			return ps
		}
	}
	ps := &pendingSeg{k: k}
	s.pending = append(s.pending, ps)
	return ps
}

// past reports whether track t has moved beyond segment k (or cannot
// deliver more for it).
func (s *segmenter) past(t *track, k int, other *track) bool {
	if t == nil || t.ended {
		return true
	}
	if t.started && t.seg > k {
		return true
	}
	// The other track is far ahead: stop waiting for this one.
	return other != nil && other.started && other.seg > k+maxTrackLag
}

func (s *segmenter) flushReady() error {
	for len(s.pending) > 0 {
		k := s.pending[0].k
		if !s.past(s.video, k, s.audio) || !s.past(s.audio, k, s.video) {
			return nil
		}
		if err := s.writeSegment(s.pending[0]); err != nil {
			return err
		}
		s.pending = s.pending[1:]
		s.flushed = k + 1
	}
	return nil
}

// writeSegment writes one media segment (and the init segment first).
func (s *segmenter) writeSegment(ps *pendingSeg) error {
	if len(ps.video) == 0 && len(ps.audio) == 0 {
		return nil
	}
	if !s.initDone {
		if err := s.writeInit(); err != nil {
			return err
		}
		s.initDone = true
	}
	part := fmp4.Part{SequenceNumber: uint32(len(s.segs) + 1)}
	if len(ps.video) > 0 {
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: videoTrackID, BaseTime: ps.vBase, Samples: ps.video})
	}
	if len(ps.audio) > 0 {
		id := audioTrackID
		if s.video == nil {
			id = videoTrackID
		}
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: id, BaseTime: ps.aBase, Samples: ps.audio})
	}
	var buf seekablebuffer.Buffer
	if err := part.Marshal(&buf); err != nil {
		return fmt.Errorf("ladder: %s: writing segment: %w", s.name, err)
	}
	file := fmt.Sprintf("seg_%05d.m4s", len(s.segs)+1)
	if err := s.out.Write(s.name+"/"+file, buf.Bytes()); err != nil {
		return err
	}
	s.segs = append(s.segs, segInfo{file: file, start: ps.start, bytes: buf.Len()})
	return nil
}

func (s *segmenter) writeInit() error {
	var init fmp4.Init
	if s.video != nil {
		if s.sps == nil || s.pps == nil {
			return fmt.Errorf("ladder: %s: no H.264 SPS/PPS for the init segment", s.name)
		}
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{
			ID:        videoTrackID,
			TimeScale: clock90k,
			Codec:     &mp4.CodecH264{SPS: s.sps, PPS: s.pps},
		})
	}
	if s.audio != nil {
		id := audioTrackID
		if s.video == nil {
			id = videoTrackID
		}
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{
			ID:         id,
			TimeScale:  audioRate,
			AvgBitrate: audioBitrate,
			MaxBitrate: audioBitrate,
			Codec:      &mp4.CodecMPEG4Audio{Config: s.asc},
		})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return fmt.Errorf("ladder: %s: writing init segment: %w", s.name, err)
	}
	return s.out.Write(s.name+"/init.mp4", buf.Bytes())
}

// finish writes what is left and the media playlist.
func (s *segmenter) finish() error {
	for _, t := range []*track{s.video, s.audio} {
		if t == nil {
			continue
		}
		if h := t.held; h != nil {
			h.s.Duration = max(t.lastDur, 1)
			s.add(t, h)
			t.held = nil
		}
		t.ended = true
	}
	if err := s.flushReady(); err != nil {
		return err
	}
	if len(s.segs) == 0 {
		return fmt.Errorf("ladder: %s: %w: nothing to write, no frame could be decoded", s.name, ErrBadInput)
	}
	return s.writePlaylist()
}

// end is where the rung's media ends, 90 kHz.
func (s *segmenter) end() int64 {
	if s.video != nil && s.video.started {
		return s.video.end
	}
	if s.audio != nil {
		return s.audio.end
	}
	return 0
}

func (s *segmenter) writePlaylist() error {
	end := s.end()
	for i := range s.segs {
		next := end
		if i+1 < len(s.segs) {
			next = s.segs[i+1].start
		}
		d := float64(next-s.segs[i].start) / clock90k
		if d <= 0 {
			return errors.New("ladder: " + s.name + ": segment with no duration")
		}
		s.segs[i].dur = d
	}
	return s.out.Write(s.name+"/index.m3u8", []byte(MediaPlaylist(s.segments())))
}

// segments lists the rung's segments for the playlist and the bit rates.
func (s *segmenter) segments() []Segment {
	out := make([]Segment, len(s.segs))
	for i, sg := range s.segs {
		out[i] = Segment{File: sg.file, Duration: sg.dur, Bytes: int64(sg.bytes)}
	}
	return out
}
