package ladder

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/asticode/go-astiav"
)

// clock90k is the unit of the output timeline: every video timestamp and
// every segment cut is expressed in 90 kHz ticks from the start of the
// media, computed the same way in every rung so cuts match exactly.
const clock90k = 90000

var (
	tb90k    = astiav.NewRational(1, clock90k)
	tbMicros = astiav.NewRational(1, 1000000)
)

// rungSpec is one step of the ladder: a bounding box (for a landscape
// picture; portrait pictures use it turned) and the bitrate for a picture
// that fills it.
type rungSpec struct {
	name       string
	boxW, boxH int
	bitrate    int
}

// rungSpecs, smallest first.
var rungSpecs = []rungSpec{
	{"360p", 640, 360, 600_000},
	{"480p", 854, 480, 1_000_000},
	{"720p", 1280, 720, 2_500_000},
	{"1080p", 1920, 1080, 4_500_000},
}

const (
	// audioRungName names the audio-only rendition and its directory.
	audioRungName = "audio"
	// audioBitrate is the AAC bitrate, stereo 48 kHz, shared by all rungs.
	audioBitrate = 96_000
	// audioRate is the AAC sample rate and the audio track time scale.
	audioRate = 48000
	// maxCopyGap is the longest keyframe interval a copied top rung may
	// have: its segments cannot be shorter than the source's GOP, and
	// longer ones make seeking and switching sluggish, so such a source is
	// re-encoded instead.
	maxCopyGap = 10 * time.Second
	// cascadeRatio: an encoded rung scales from the output of a larger
	// encoded rung at least this much taller instead of from the decoded
	// picture, which costs a fraction of the CPU for the same result at
	// these sizes.
	cascadeRatio = 1.4
)

// rung is one planned video rendition.
type rung struct {
	name    string
	w, h    int // upright output size
	bitrate int
	copy    bool
	// parent is the index of the rung whose scaled pictures this one
	// scales from, -1 for the decoded pictures.
	parent int
}

// plan is everything decided before the decode starts.
type plan struct {
	rungs []rung // highest first
	// origin is the source time (microseconds) that maps to offset on the
	// output timeline: the start of the video, or of the audio when that
	// clearly leads (or there is no video).
	origin int64
	// offset (90 kHz) is where the media starts on the output timeline.
	// Every rung decodes frames before presenting them (B-frames), and
	// fMP4 decode times cannot be negative: the offset leaves room for the
	// largest reorder delay, the same in every rung so presentation times
	// match exactly.
	offset int64
	// cuts are the segment starts after the first one, in 90 kHz ticks,
	// ascending; end is where the media ends.
	cuts []int64
	end  int64
	// copyReason says why the top rung is not a copy (for logs).
	copyReason string
}

// to90k maps a timestamp in time base tb to the output timeline.
func (p *plan) to90k(ts int64, tb astiav.Rational) int64 {
	return astiav.RescaleQ(ts, tb, tb90k) - astiav.RescaleQ(p.origin, tbMicros, tb90k) + p.offset
}

// audioLead is how far the audio must start before the video to move the
// origin: less is encoder priming, trimmed.
const audioLead = 100 * time.Millisecond

// reorderFrames is the reorder delay, in frames, left for x264 (2 with
// B-pyramid) and a margin.
const reorderFrames = 4

// segmentOf returns the index of the segment holding time t (90 kHz).
func (p *plan) segmentOf(t int64) int {
	return sort.Search(len(p.cuts), func(i int) bool { return p.cuts[i] > t })
}

// makePlan picks the rungs and the segment cuts.
func makePlan(s *source, sc *scanResult, segDur time.Duration) *plan {
	p := &plan{origin: sc.start}
	seg90 := max(int64(segDur.Seconds()*clock90k), 1)
	if s.video == nil {
		p.end = astiav.RescaleQ(sc.end-p.origin, tbMicros, tb90k)
		for t := seg90; t < p.end; t += seg90 {
			p.cuts = append(p.cuts, t)
		}
		return p
	}
	p.origin = sc.videoStart
	if sc.audioStart < math.MaxInt64 && sc.videoStart-sc.audioStart > audioLead.Microseconds() {
		p.origin = sc.audioStart
	}
	frame90 := astiav.RescaleQ(1, astiav.NewRational(s.fps.Den(), s.fps.Num()), tb90k)
	p.offset = max(astiav.RescaleQ(sc.reorder, tbMicros, tb90k), reorderFrames*frame90)
	// Whole milliseconds, for readable timestamps.
	p.offset = (p.offset + 89) / 90 * 90
	p.end = astiav.RescaleQ(sc.end-p.origin, tbMicros, tb90k) + p.offset

	p.rungs = planRungs(s.dispW, s.dispH)
	tb := s.video.TimeBase()
	pts := make([]int64, len(sc.videoPTS))
	for i, v := range sc.videoPTS {
		pts[i] = p.to90k(v, tb)
	}
	idr := make([]int64, len(sc.idrPTS))
	for i, v := range sc.idrPTS {
		idr[i] = p.to90k(v, tb)
	}

	ok, reason := copyable(s)
	if ok {
		p.cuts, reason = copyCuts(pts, idr, seg90, p.end)
		ok = reason == ""
	}
	if ok {
		p.rungs[0].copy = true
	} else {
		p.copyReason = reason
		p.cuts = gridCuts(pts, seg90)
	}
	p.cascade()
	return p
}

// planRungs returns the video rungs for an upright w x h picture, highest
// first: one per box the picture reaches, never upscaled, each named after
// the smallest box that holds it.
func planRungs(w, h int) []rung {
	var rs []rung
	prevW, prevH := 0, 0
	for _, spec := range rungSpecs {
		rw, rh := fitBox(w, h, spec.boxW, spec.boxH)
		if rw == prevW && rh == prevH {
			continue
		}
		prevW, prevH = rw, rh
		bw, bh := spec.boxW, spec.boxH
		if h > w {
			bw, bh = bh, bw
		}
		// A picture that fills its box only partly (a narrow aspect ratio,
		// or a small source) needs fewer bits.
		fill := math.Min(1, math.Max(0.5, float64(rw*rh)/float64(bw*bh)))
		rs = append(rs, rung{name: spec.name, w: rw, h: rh, bitrate: int(float64(spec.bitrate) * fill), parent: -1})
	}
	// Highest first.
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs
}

// fitBox scales w x h down (never up) to fit a boxW x boxH box, turned for
// portrait pictures, keeping the aspect ratio; sizes are even, as 4:2:0
// needs.
func fitBox(w, h, boxW, boxH int) (int, int) {
	if h > w {
		boxW, boxH = boxH, boxW
	}
	scale := math.Min(1, math.Min(float64(boxW)/float64(w), float64(boxH)/float64(h)))
	even := func(v float64) int { return max(2, 2*int(math.Round(v/2))) }
	return even(float64(w) * scale), even(float64(h) * scale)
}

// copyable says whether the source video can be the top rung as it is:
// H.264 any browser's MSE decodes, progressive-looking 8-bit 4:2:0, even
// size, square pixels, upright, at most 1080p.
func copyable(s *source) (bool, string) {
	cp := s.video.CodecParameters()
	v := s.info.Video
	switch {
	case cp.CodecID() != astiav.CodecIDH264:
		return false, "codec " + v.Codec
	case cp.PixelFormat() != astiav.PixelFormatYuv420P && cp.PixelFormat() != astiav.PixelFormatYuvj420P:
		return false, "pixel format " + v.PixFmt
	case v.Profile != "Constrained Baseline" && v.Profile != "Baseline" && v.Profile != "Main" && v.Profile != "High":
		return false, fmt.Sprintf("H.264 profile %q", v.Profile)
	case v.Width%2 != 0 || v.Height%2 != 0:
		return false, fmt.Sprintf("odd size %dx%d", v.Width, v.Height)
	case v.Rotation != 0:
		return false, fmt.Sprintf("rotated %d degrees", v.Rotation)
	case s.dispW != v.Width || s.dispH != v.Height:
		return false, "non-square pixels"
	case min(v.Width, v.Height) > 1080 || max(v.Width, v.Height) > 1920:
		return false, fmt.Sprintf("larger than 1080p (%dx%d)", v.Width, v.Height)
	}
	return true, ""
}

// copyCuts cuts at the first source IDR at or after each segment mark, so
// the copied rung can start every segment with its own keyframe; the
// encoded rungs force their IDRs at the same timestamps. It returns a
// reason instead when the source keyframes do not allow a copy.
func copyCuts(pts, idr []int64, seg90, end int64) ([]int64, string) {
	if len(pts) == 0 || len(idr) == 0 || idr[0] != pts[0] {
		return nil, "the video does not start with an IDR frame"
	}
	var cuts []int64
	next := pts[0] + seg90
	for _, k := range idr[1:] {
		if k < next {
			continue
		}
		cuts = append(cuts, k)
		for next <= k {
			next += seg90
		}
	}
	maxGap := int64(maxCopyGap.Seconds() * clock90k)
	prev := pts[0]
	for _, c := range append(cuts, end) {
		if c-prev > maxGap {
			return nil, fmt.Sprintf("keyframes %.1f s apart", float64(c-prev)/clock90k)
		}
		prev = c
	}
	return cuts, ""
}

// gridCuts cuts at the first frame at or after every segment mark.
func gridCuts(pts []int64, seg90 int64) []int64 {
	if len(pts) == 0 {
		return nil
	}
	var cuts []int64
	next := pts[0] + seg90
	for {
		i := sort.Search(len(pts), func(i int) bool { return pts[i] >= next })
		if i == len(pts) {
			return cuts
		}
		cuts = append(cuts, pts[i])
		for next <= pts[i] {
			next += seg90
		}
	}
}

// cascade picks, for each encoded rung, the picture it scales from: the
// smallest larger encoded rung at least cascadeRatio taller, else the
// decoded picture.
func (p *plan) cascade() {
	for i := range p.rungs {
		r := &p.rungs[i]
		r.parent = -1
		if r.copy {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			q := p.rungs[j]
			if !q.copy && float64(min(q.w, q.h)) >= cascadeRatio*float64(min(r.w, r.h)) {
				r.parent = j
				break
			}
		}
	}
}
