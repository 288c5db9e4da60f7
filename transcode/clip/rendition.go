package clip

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/transcode/ladder"
	"github.com/classcast/classcast/transcode/outdir"
)

// rungOut is what cutting one rendition made.
type rungOut struct {
	segs   []outSeg
	end    int64 // where the media ends, clip timeline (90 kHz)
	poster image.Image

	copied, edges, edgeFrames int
	copiedBytes               int64
	copyTime, edgeTime        time.Duration
}

type outSeg struct {
	file  string
	start int64 // clip timeline, 90 kHz
	bytes int64
	dur   float64 // seconds
}

// cutRendition writes one rendition of the clip: segments, init segment, playlist.
func cutRendition(ctx context.Context, st storage.Store, w *outdir.Dir, r *rendition, cp *cutPlan, wantPoster bool, tick func()) (*rungOut, error) {
	if err := w.Mkdir(r.name); err != nil {
		return nil, err
	}
	o := &rungOut{}
	shift := map[uint32]uint64{}
	var shiftA int64
	if r.videoID != 0 {
		shift[r.videoID] = uint64(cp.shift)
	}
	if r.audioID != 0 {
		shiftA = cp.shift * int64(r.audioTS) / clock90k
		shift[r.audioID] = uint64(shiftA)
	}
	var edgeSPS, edgePPS []byte
	var audioEnd int64 = math.MinInt64 // audio rung, audio ticks, lesson timeline
	seq := 0
	for k := cp.hk; k <= cp.tk; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		seq++
		file := fmt.Sprintf("seg_%05d.m4s", seq)
		rel := r.name + "/" + file
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if k == cp.hk && !cp.headCopy {
			lo = cp.inPTS
		}
		if k == cp.tk && !cp.tailCopy {
			hi = cp.outPTS
		}
		if lo == math.MinInt64 && hi == math.MaxInt64 {
			start := time.Now()
			n, err := copySegment(ctx, st, w, r.segKeys[k], rel, uint32(seq), shift)
			if err != nil {
				return nil, err
			}
			o.segs = append(o.segs, outSeg{file: file, start: r.starts[k] - cp.shift, bytes: n})
			o.copied++
			o.copiedBytes += n
			o.copyTime += time.Since(start)
			if wantPoster && k == cp.hk && r.videoID != 0 {
				// The clip starts on a segment's IDR: decode just that picture.
				s, err := fetchSegment(ctx, st, r, k)
				if err != nil {
					return nil, err
				}
				e, err := transcodeRange(ctx, r.avcc, s.video[:1], cp.inPTS, cp.inPTS+1, nil, cp.inPTS)
				if err != nil {
					return nil, fmt.Errorf("poster: %w", err)
				}
				o.poster = e.poster
			}
			tick()
			continue
		}

		start := time.Now()
		s, err := fetchSegment(ctx, st, r, k)
		if err != nil {
			return nil, err
		}
		part := fmp4.Part{SequenceNumber: uint32(seq)}
		segStart := int64(math.MaxInt64)
		if r.videoID != 0 {
			enc := &encParams{
				w: r.v.w, h: r.v.h, fps: fpsRational(r.v.fps, cp.frameDur), bitrate: videoBitrate(r.v),
				preset: cp.preset, profile: x264Profile(r.avc.sps[0][1]), level: int(r.avc.sps[0][3]), spsID: cp.spsID,
			}
			posterAt := int64(-1)
			if wantPoster && k == cp.hk {
				posterAt = cp.inPTS
			}
			e, err := transcodeRange(ctx, r.avcc, s.video, lo, hi, enc, posterAt)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.segKeys[k], err)
			}
			if e.poster != nil {
				o.poster = e.poster
			}
			if edgeSPS == nil {
				edgeSPS, edgePPS = e.sps, e.pps
				sid, err1 := spsID(e.sps)
				pid, err2 := ppsID(e.pps)
				if err := errors.Join(err1, err2); err != nil || sid != uint(cp.spsID) || pid != uint(cp.spsID) {
					return nil, fmt.Errorf("x264 wrote parameter set ids %d/%d, not %d as asked (%v)", sid, pid, cp.spsID, err)
				}
			} else if !bytes.Equal(edgeSPS, e.sps) || !bytes.Equal(edgePPS, e.pps) {
				return nil, errors.New("x264 wrote different parameter sets for the two edges")
			}
			vt, err := edgeVideo(ctx, st, r, cp, k, s, e.aus)
			if err != nil {
				return nil, err
			}
			part.Tracks = append(part.Tracks, vt)
			for _, a := range e.aus {
				segStart = min(segStart, a.pts-cp.shift)
			}
			o.edgeFrames += e.frames
		}
		if r.audioID != 0 {
			var kept []*fmp4.Sample
			base := int64(-1)
			at := s.audioBase
			for _, a := range s.audio {
				if (k != cp.hk || at >= cp.audioIn) && (k != cp.tk || at < cp.audioOut) {
					if base < 0 {
						base = at
					}
					kept = append(kept, a)
					audioEnd = at + int64(a.Duration)
				}
				at += int64(a.Duration)
			}
			if len(kept) > 0 {
				if base < shiftA {
					return nil, fmt.Errorf("%w: %s: audio before the clip's start", ladder.ErrBadInput, r.segKeys[k])
				}
				part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: int(r.audioID), BaseTime: uint64(base - shiftA), Samples: kept})
				segStart = min(segStart, (base-shiftA)*clock90k/int64(r.audioTS))
			}
		}
		if len(part.Tracks) == 0 {
			return nil, fmt.Errorf("%w: %s: nothing of it is in the clip", ladder.ErrBadInput, r.segKeys[k])
		}
		var buf seekablebuffer.Buffer
		if err := part.Marshal(&buf); err != nil {
			return nil, fmt.Errorf("writing segment: %w", err)
		}
		if err := w.Write(rel, buf.Bytes()); err != nil {
			return nil, err
		}
		o.segs = append(o.segs, outSeg{file: file, start: segStart, bytes: int64(buf.Len())})
		o.edges++
		o.edgeTime += time.Since(start)
		tick()
	}

	// Where the media ends: the lesson's end of the last copied segment, or the cut.
	switch {
	case cp.tailCopy:
		o.end = r.starts[cp.tk+1] - cp.shift
	case r.videoID != 0:
		o.end = cp.outPTS - cp.shift
	default:
		o.end = (audioEnd - shiftA) * clock90k / int64(r.audioTS)
	}
	for i := range o.segs {
		next := o.end
		if i+1 < len(o.segs) {
			next = o.segs[i+1].start
		}
		if next <= o.segs[i].start {
			return nil, fmt.Errorf("segment %s has no duration", o.segs[i].file)
		}
		o.segs[i].dur = float64(next-o.segs[i].start) / clock90k
	}

	init := r.init
	if edgeSPS != nil {
		x, parents, err := findAVCC(r.init)
		if err != nil {
			return nil, err
		}
		c := r.avc
		c.sps = append(slices.Clone(c.sps), edgeSPS)
		c.pps = append(slices.Clone(c.pps), edgePPS)
		if init, err = replaceBox(r.init, x, parents, buildAVCC(c)); err != nil {
			return nil, err
		}
	}
	if err := w.Write(r.name+"/init.mp4", init); err != nil {
		return nil, err
	}
	if err := w.Write(r.name+"/index.m3u8", []byte(ladder.MediaPlaylist(o.segments()))); err != nil {
		return nil, err
	}
	return o, nil
}

// edgeVideo lays out re-encoded access units as a track fragment. The segments
// around an edge keep the lesson's decode times, so the edge's must fit between
// them: x264's decode times are moved as a whole (keeping every picture's duration)
// so that a tail edge starts where its lesson segment started and a head edge ends
// at least a picture before the next segment starts. x264's decode times are its
// presentation times in order, delayed by its reorder depth, and the lesson's
// segment start is at most its IDR's presentation time, so the move never puts a
// decode time after a presentation time; if it would, the times are squeezed, and
// failing that the cut fails.
func edgeVideo(ctx context.Context, st storage.Store, r *rendition, cp *cutPlan, k int, s *segment, aus []vSample) (*fmp4.PartTrack, error) {
	n := len(aus)
	d := make([]int64, n)
	for i, a := range aus {
		d[i] = a.dts
	}
	if k > cp.hk {
		// The segment before ends where this one started in the lesson.
		delta := s.videoBase - d[0]
		for i := range d {
			d[i] += delta
		}
		for i := 1; i < n; i++ {
			d[i] = min(max(d[i], d[i-1]+1), aus[i].pts)
		}
	}
	endDTS := d[n-1] + cp.frameDur
	if k < cp.tk {
		next, err := videoBase(ctx, st, r, k+1)
		if err != nil {
			return nil, err
		}
		if delta := d[n-1] + cp.frameDur - next; delta > 0 {
			for i := range d {
				d[i] -= delta
			}
		}
		for i := n - 1; i >= 0; i-- {
			d[i] = min(d[i], next-int64(n-i))
		}
		endDTS = next
	}
	t := &fmp4.PartTrack{ID: int(r.videoID)}
	for i, a := range aus {
		if d[i] > a.pts || d[i] < cp.shift || (i > 0 && d[i] <= d[i-1]) {
			return nil, fmt.Errorf("%s: no room for the re-encoded pictures' decode times (decode %d, presentation %d)", r.segKeys[k], d[i], a.pts)
		}
		next := endDTS
		if i+1 < n {
			next = d[i+1]
		}
		if next <= d[i] || next-d[i] > math.MaxUint32 {
			return nil, fmt.Errorf("%s: bad decode time step", r.segKeys[k])
		}
		t.Samples = append(t.Samples, &fmp4.Sample{
			Duration:        uint32(next - d[i]),
			PTSOffset:       int32(a.pts - d[i]),
			IsNonSyncSample: !a.key,
			Payload:         a.data,
		})
	}
	t.BaseTime = uint64(d[0] - cp.shift)
	return t, nil
}

// videoBase reads the video decode time at which lesson segment k starts, from its
// moof alone.
func videoBase(ctx context.Context, st storage.Store, r *rendition, k int) (int64, error) {
	const probe = 64 << 10
	b, err := getRange(ctx, st, r.segKeys[k], &storage.Range{Start: 0, End: probe - 1})
	if err != nil {
		return 0, notFoundBad(err)
	}
	if len(b) < 8 || string(b[4:8]) != "moof" {
		return 0, fmt.Errorf("%w: %s does not start with a moof box", ladder.ErrBadInput, r.segKeys[k])
	}
	size := int(binary.BigEndian.Uint32(b))
	if size > len(b) && size <= maxMoof {
		// A moof larger than the first read: read all of it.
		if b, err = getRange(ctx, st, r.segKeys[k], &storage.Range{Start: 0, End: int64(size) - 1}); err != nil {
			return 0, notFoundBad(err)
		}
	}
	if size > len(b) || size < 8 {
		return 0, fmt.Errorf("%w: %s: bad moof", ladder.ErrBadInput, r.segKeys[k])
	}
	base := int64(-1)
	err = moofTimes(b[:size], func(id uint32, x box, v byte) error {
		if id == r.videoID {
			base = int64(readBaseTime(b, x, v))
		}
		return nil
	})
	if err != nil || base < 0 {
		return 0, fmt.Errorf("%w: %s: no video decode time in its moof (%v)", ladder.ErrBadInput, r.segKeys[k], err)
	}
	return base, nil
}

// copySegment streams lesson segment key into the file rel, rebased.
func copySegment(ctx context.Context, st storage.Store, w *outdir.Dir, key, rel string, seq uint32, shift map[uint32]uint64) (int64, error) {
	rd, _, err := st.Get(ctx, key, nil)
	if err != nil {
		return 0, notFoundBad(fmt.Errorf("read %s: %w", key, err))
	}
	defer rd.Close()
	f, err := w.Create(rel)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 256<<10)
	n, err := copyRebased(bw, bufio.NewReaderSize(rd, 256<<10), seq, shift)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%w: %s is corrupt: %v", ladder.ErrBadInput, key, err)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("clip: writing %s: %w", rel, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("clip: writing %s: %w", rel, err)
	}
	return n, nil
}

// segments lists the rendition's segments for the playlist and the bit rates.
func (o *rungOut) segments() []ladder.Segment {
	out := make([]ladder.Segment, len(o.segs))
	for i, s := range o.segs {
		out[i] = ladder.Segment{File: s.file, Duration: s.dur, Bytes: s.bytes}
	}
	return out
}

// videoBitrate is the target of the edges: the rendition's average bit rate less the
// audio (96 kbit/s in the ladder), at least 200 kbit/s.
func videoBitrate(v variant) int {
	b := v.avg
	if b <= 0 {
		b = v.bandwidth
	}
	if strings.Contains(v.codecs, "mp4a") {
		b -= 96_000
	}
	return max(b, 200_000)
}
