package record

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/media/stream"
)

// Bounds on the segment held in memory: a source without keyframes for a long time (a
// broken encoder, a very long GOP) is cut at any frame rather than held without limit.
const (
	maxSegmentBytes = 64 << 20
	forcedCutFactor = 3 // × SegmentDuration
)

// fMP4 track IDs.
const (
	videoTrackID = 1
	audioTrackID = 2
)

// videoParams are what the init segment says about the video; a change of codec,
// picture size or profile starts a new recording.
type videoParams struct {
	codec         stream.Codec
	vps, sps, pps []byte
	width, height int
	profile       int
}

func (p *videoParams) sameStream(o *videoParams) bool {
	return p.codec == o.codec && p.width == o.width && p.height == o.height && p.profile == o.profile
}

// audioParams are what the init segment says about the audio.
type audioParams struct {
	codec    stream.Codec
	rate     int
	channels int
	config   []byte // AAC AudioSpecificConfig
}

func (p *audioParams) same(o *audioParams) bool {
	return p.codec == o.codec && p.rate == o.rate && p.channels == o.channels && bytes.Equal(p.config, o.config)
}

func (p *videoParams) name() string {
	if p == nil {
		return ""
	}
	if p.codec == stream.H265 {
		return "hevc"
	}
	return "h264"
}

func (p *audioParams) name() string {
	if p == nil {
		return ""
	}
	if p.codec == stream.Opus {
		return "opus"
	}
	return "aac"
}

// buildInit makes the fMP4 initialization segment.
func buildInit(v *videoParams, a *audioParams) ([]byte, error) {
	var ini fmp4.Init
	if v != nil {
		var c mp4.Codec
		switch v.codec {
		case stream.H264:
			c = &mp4.CodecH264{SPS: v.sps, PPS: v.pps}
		case stream.H265:
			c = &mp4.CodecH265{VPS: v.vps, SPS: v.sps, PPS: v.pps}
		default:
			return nil, fmt.Errorf("video codec %s cannot be recorded", v.codec)
		}
		ini.Tracks = append(ini.Tracks, &fmp4.InitTrack{ID: videoTrackID, TimeScale: 90000, Codec: c})
	}
	if a != nil {
		var c mp4.Codec
		switch a.codec {
		case stream.AAC:
			var asc mpeg4audio.AudioSpecificConfig
			if err := asc.Unmarshal(a.config); err != nil {
				return nil, fmt.Errorf("AAC config: %w", err)
			}
			c = &mp4.CodecMPEG4Audio{Config: asc}
		case stream.Opus:
			c = &mp4.CodecOpus{ChannelCount: a.channels}
		default:
			return nil, fmt.Errorf("audio codec %s cannot be recorded", a.codec)
		}
		ini.Tracks = append(ini.Tracks, &fmp4.InitTrack{ID: audioTrackID, TimeScale: uint32(a.rate), Codec: c})
	}
	var buf seekablebuffer.Buffer
	if err := ini.Marshal(&buf); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if v != nil && v.codec == stream.H265 {
		// mediacommon writes the sample entry as hev1; hvc1 is what Apple players and
		// HLS require, and FFmpeg reads both. The first "hev1" after "stsd" is the box
		// type: nothing before it in the moov holds parameter-set bytes.
		if i := bytes.Index(b, []byte("stsd")); i >= 0 {
			if j := bytes.Index(b[i:], []byte("hev1")); j >= 0 {
				copy(b[i+j:], "hvc1")
			}
		}
	}
	return b, nil
}

// sample is one access unit on a recording's timeline, in its track's timescale.
type sample struct {
	dts, pts int64
	payload  []byte
	sync     bool
}

// trackWriter builds the samples of one fMP4 track.
type trackWriter struct {
	id        int
	timescale int64
	defDur    int64 // nominal sample duration: the estimate for a sample with no successor
	maxStep   int64 // a longer step between two samples is a gap in the timeline

	pending  *sample        // the newest sample: its duration is known when the next arrives
	samples  []*fmp4.Sample // complete samples of the fragment being built
	base     int64          // DTS of samples[0]
	lastDur  int64
	end      int64 // DTS + duration of the last complete sample
	segFirst int64 // DTS of the first sample of the segment being filled; -1 for none
	// segPTS is that sample's PTS. Segments are measured from keyframe to keyframe in
	// presentation time: with B-frames the first keyframe's decode time is not offset
	// like the later ones', so decode times would make the first segment one GOP long.
	segPTS int64
	frames int
}

func newTrackWriter(id int, timescale, defDur, maxStep int64) *trackWriter {
	return &trackWriter{id: id, timescale: timescale, defDur: defDur, maxStep: maxStep, segFirst: -1}
}

// lastDTS is the DTS of the newest sample, or -1.
func (t *trackWriter) lastDTS() int64 {
	if t.pending != nil {
		return t.pending.dts
	}
	if t.frames > 0 {
		return t.end - t.lastDur
	}
	return -1
}

func (t *trackWriter) estimate() int64 {
	if t.lastDur > 0 && t.lastDur <= t.maxStep {
		return t.lastDur
	}
	return t.defDur
}

func (t *trackWriter) push(s *sample, dur int64) {
	if len(t.samples) == 0 {
		t.base = s.dts
	}
	t.samples = append(t.samples, &fmp4.Sample{Duration: uint32(dur), PTSOffset: int32(s.pts - s.dts),
		IsNonSyncSample: !s.sync, Payload: s.payload})
	t.lastDur = dur
	t.end = s.dts + dur
	t.frames++
}

// ticks converts d to the track's timescale.
func (t *trackWriter) ticks(d time.Duration) int64 {
	return int64(d.Seconds() * float64(t.timescale))
}

// recording is one recording being written: its directory, its tracks and the segment
// being filled. Only its session's goroutine uses it.
type recording struct {
	dir    string
	log    *slog.Logger
	meta   meta
	segDur time.Duration
	vp     *videoParams
	ap     *audioParams
	video  *trackWriter // nil for audio-only
	audio  *trackWriter // nil without sound

	fragSeq  uint32
	seg      []byte // complete fragments of the segment being filled
	segBytes int    // seg plus the payloads of samples not yet in a fragment
	segCount int
	bytes    int64
}

// createRecording makes the recording's directory, meta.json and init.mp4.
func createRecording(dir string, m meta, vp *videoParams, ap *audioParams, segDur time.Duration, log *slog.Logger) (*recording, error) {
	initData, err := buildInit(vp, ap)
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	m.State = stateRecording
	m.VideoCodec, m.AudioCodec = vp.name(), ap.name()
	if err := writeMeta(dir, m); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(dir, initFile, initData); err != nil {
		return nil, err
	}
	rec := &recording{dir: dir, log: log, meta: m, segDur: segDur, vp: vp, ap: ap}
	if vp != nil {
		// A frame shown for more than 10 s is a gap, not a slide held on screen.
		rec.video = newTrackWriter(videoTrackID, 90000, 3600, 10*90000)
	}
	if ap != nil {
		def := int64(1024) // AAC-LC frame
		if ap.codec == stream.Opus {
			def = 960 // 20 ms
		}
		rec.audio = newTrackWriter(audioTrackID, int64(ap.rate), def, int64(ap.rate)/2)
	}
	return rec, nil
}

func (r *recording) tracks() []*trackWriter {
	var out []*trackWriter
	if r.video != nil {
		out = append(out, r.video)
	}
	if r.audio != nil {
		out = append(out, r.audio)
	}
	return out
}

// writeVideo adds a video access unit; times are on the recording's timeline and DTS
// must increase. A keyframe cuts the segment once it is SegmentDuration long.
func (r *recording) writeVideo(dts, pts int64, au [][]byte, key bool) error {
	s := &sample{dts: dts, pts: pts, sync: key}
	var fs fmp4.Sample
	var err error
	if r.vp.codec == stream.H265 {
		err = fs.FillH265(0, au)
	} else {
		err = fs.FillH264(0, au)
	}
	if err != nil {
		return nil // an empty or oversized NAL unit: nothing a player could use
	}
	s.payload = fs.Payload
	t := r.video
	cut := false
	if t.segFirst >= 0 {
		cut = key && pts-t.segPTS >= t.ticks(r.segDur) ||
			dts-t.segFirst >= t.ticks(forcedCutFactor*r.segDur) || r.segBytes >= maxSegmentBytes
	}
	return r.add(t, s, cut)
}

// writeAudio adds an audio frame. Audio-only recordings cut by time; with video the
// video keyframes decide, unless video stops coming.
func (r *recording) writeAudio(dts int64, frame []byte) error {
	t := r.audio
	cut := false
	if t.segFirst >= 0 {
		long := dts - t.segFirst
		target := r.segDur
		if r.video != nil {
			target = forcedCutFactor * r.segDur
		}
		cut = long >= t.ticks(target) || r.segBytes >= maxSegmentBytes
	}
	return r.add(t, &sample{dts: dts, pts: dts, payload: frame, sync: true}, cut)
}

// add completes the pending sample of t with the step to s, cuts the segment before s
// when asked, and makes s pending.
func (r *recording) add(t *trackWriter, s *sample, cutBefore bool) error {
	gap := false
	if p := t.pending; p != nil {
		d := s.dts - p.dts
		if d > 0 && d <= t.maxStep {
			t.push(p, d)
		} else {
			// The source went away and came back (or lost a stretch): give the last
			// sample its usual length and let the next fragment's start time carry the
			// gap, instead of stretching one audio frame over seconds.
			t.push(p, t.estimate())
			gap = true
		}
		t.pending = nil
	}
	if gap {
		r.closeFragment()
	}
	if cutBefore {
		if err := r.cutSegment(); err != nil {
			return err
		}
	}
	t.pending = s
	r.segBytes += len(s.payload)
	if t.segFirst < 0 {
		t.segFirst, t.segPTS = s.dts, s.pts
	}
	return nil
}

// closeFragment marshals the complete samples of every track into a moof+mdat.
func (r *recording) closeFragment() {
	part := fmp4.Part{SequenceNumber: r.fragSeq + 1}
	for _, t := range r.tracks() {
		if len(t.samples) > 0 {
			part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: t.id, BaseTime: uint64(t.base), Samples: t.samples})
		}
	}
	if len(part.Tracks) == 0 {
		return
	}
	var buf seekablebuffer.Buffer
	if err := part.Marshal(&buf); err != nil {
		// Only an impossible box layout fails here; losing the fragment is all we can do.
		r.log.Error("cannot build fMP4 fragment", "error", err)
	} else {
		r.seg = append(r.seg, buf.Bytes()...)
		r.fragSeq++
	}
	for _, t := range r.tracks() {
		t.samples = nil
	}
}

// cutSegment writes the segment being filled to disk: temp file, fsync, rename. The
// pending samples stay for the next segment.
func (r *recording) cutSegment() error {
	r.closeFragment()
	if len(r.seg) == 0 {
		return nil
	}
	name := segmentName(r.segCount + 1)
	if err := writeFileAtomic(r.dir, name, r.seg); err != nil {
		return err
	}
	r.segCount++
	r.bytes += int64(len(r.seg))
	metrics.RecordBytes.Add(float64(len(r.seg)))
	r.seg = r.seg[:0]
	r.segBytes = 0
	for _, t := range r.tracks() {
		t.segFirst = -1
		if t.pending != nil {
			t.segFirst, t.segPTS = t.pending.dts, t.pending.pts
			r.segBytes += len(t.pending.payload)
		}
	}
	return nil
}

// flush completes the pending samples with their usual length and writes everything
// to disk, so the recording is whole up to now (the publisher left, or the end).
func (r *recording) flush() error {
	for _, t := range r.tracks() {
		if t.pending != nil {
			t.push(t.pending, t.estimate())
			t.pending = nil
		}
	}
	return r.cutSegment()
}

// duration is the media time recorded so far.
func (r *recording) duration() time.Duration {
	var d time.Duration
	for _, t := range r.tracks() {
		end := t.end
		if t.pending != nil {
			end = t.pending.dts + t.estimate()
		}
		if td := time.Duration(float64(end) / float64(t.timescale) * float64(time.Second)); td > d {
			d = td
		}
	}
	return d
}

// info is a snapshot for Active.
func (r *recording) info() Info {
	in := r.meta.info(r.dir)
	in.Duration = r.duration()
	in.Segments = r.segCount
	in.Bytes = r.bytes
	return in
}
