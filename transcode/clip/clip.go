// Package clip cuts a micro-lecture out of a lesson's HLS ladder: it reads the
// ladder from the object store and writes the clip's own ladder (every video
// rendition, the audio-only one, master.m3u8, poster.jpg, and the lesson's
// storyboard thumbnails of the cut) into a directory, ready for the worker to
// publish like any ladder.
//
// How Cut works, per rendition:
//
//   - Segments wholly inside [in, out) are copied as they are: their moof boxes
//     are rewritten in flight (timestamps moved so the clip starts where a
//     ladder starts, sequence numbers renumbered), their media data streamed
//     from the store to the file, never decoded, never held in memory.
//   - The segment holding in and the one holding out (a ladder segment is one
//     closed GOP starting with an IDR) are decoded and the pictures inside the
//     clip re-encoded with x264 at the rung's size, profile, level and bit rate:
//     the clip starts on the picture at in, as an IDR, and ends on the picture
//     before the one at out. The AAC frames of those segments are copied, cut at
//     the frame boundary nearest to the cut.
//   - The re-encoded pictures refer to parameter sets with their own ids (x264's
//     sps-id), and the clip's init segment carries both pairs, the lesson's and
//     the edges', in one avcC: the rendition decodes end to end with one init
//     segment and no discontinuity, and the codecs string stays the lesson's.
//
// Times: in and out are lesson times as the ladder's storyboard and Result
// count them, from the lesson's first picture (0 s). A cut lands on the picture
// shown at that time.
package clip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"log/slog"
	"math"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/transcode/ladder"
	"github.com/classcast/classcast/transcode/outdir"
)

// Limits of a clip's length.
const (
	MinDuration = time.Second
	MaxDuration = time.Hour
)

const (
	clock90k = 90000
	// endSlack is how far past the lesson's end an out point may be (90 kHz).
	endSlack = clock90k / 10
	// tolerance absorbs rounding when a time given in nanoseconds is matched to
	// picture times (half a millisecond).
	tolerance = 45
	// posterBox is the long side of the largest rendition the poster is taken from
	// (the ladder's posters are at most 1280 wide).
	posterBox   = 1280
	jpegQuality = 82
)

// Options tune Cut. The zero value is usable.
type Options struct {
	// Preset is the x264 preset of the re-encoded edges; ladder.DefaultPreset when
	// empty (use the worker's, so edges look like the rest).
	Preset string
	// Progress, when not nil, is called with the step ("download" while the
	// playlists and edge segments are read, "cut" while renditions are written) and
	// how far it is, 0 to 100; from any goroutine, one call at a time.
	Progress func(step string, percent float64)
	// Parallel is how many renditions are cut at once (default 2).
	Parallel int
	// Log receives a line per clip; slog.Default() when nil.
	Log *slog.Logger
}

// Result is what Cut made: the clip's ladder.Result (for the worker's publish and
// AssetStore.SetReady) and how the work was split.
type Result struct {
	ladder.Result
	// CopiedSegments and CopiedBytes count segments copied without decoding, over
	// every rendition.
	CopiedSegments int
	CopiedBytes    int64
	// EdgeSegments counts the segments re-made around the cuts, EdgeFrames the
	// pictures re-encoded in them, over every rendition.
	EdgeSegments int
	EdgeFrames   int
	// CopyTime and EdgeTime are the time spent copying and re-making segments,
	// summed over renditions (which run in parallel).
	CopyTime, EdgeTime time.Duration
	// Storyboard reports whether the lesson's storyboard thumbnails were carried over.
	Storyboard bool
}

// rendition is one rendition of the lesson.
type rendition struct {
	v        variant
	name     string // folder, e.g. "720p"
	playlist string // key of index.m3u8
	init     []byte
	segKeys  []string
	durs     []int64
	starts   []int64 // lesson timeline, 90 kHz; len(segs)+1, the last is the end
	videoID  uint32  // 0: audio only
	audioID  uint32  // 0: no audio
	audioTS  uint32
	avcc     []byte
	avc      avcConfig
}

// cutPlan is what every rendition shares.
type cutPlan struct {
	hk, tk             int   // first and last lesson segment in the clip
	headCopy, tailCopy bool  // the edge segment is whole: copy it
	inPTS, outPTS      int64 // first picture in, first picture out (MaxInt64: to the end)
	audioIn, audioOut  int64 // audio track time scale; MinInt64/MaxInt64: whole segment
	shift              int64 // 90 kHz, subtracted from every lesson time
	frameDur           int64
	preset             string
	spsID              int
	posterRung         int
}

// Cut makes the ladder of the clip [in, out) of the ready lesson sourceID (its
// objects under "vod/<sourceID>/" in st) in outDir (created if needed). It writes
// only inside outDir and removes what it wrote on failure. A cut that cannot work (out
// of the lesson, too short or long, a lesson without a ladder, corrupt media) fails
// with an error wrapping ladder.ErrBadInput.
func Cut(ctx context.Context, st storage.Store, sourceID string, in, out time.Duration, outDir string, opt Options) (res Result, err error) {
	switch {
	case in < 0:
		return res, fmt.Errorf("clip: %w: in point %v is before the lesson starts", ladder.ErrBadInput, in)
	case out <= in:
		return res, fmt.Errorf("clip: %w: out point %v is not after the in point %v", ladder.ErrBadInput, out, in)
	case out-in < MinDuration:
		return res, fmt.Errorf("clip: %w: a clip of %v is shorter than %v", ladder.ErrBadInput, out-in, MinDuration)
	case out-in > MaxDuration:
		return res, fmt.Errorf("clip: %w: a clip of %v is longer than %v", ladder.ErrBadInput, out-in, MaxDuration)
	case sourceID == "" || strings.ContainsAny(sourceID, "/:") || storage.ValidKey("vod/"+sourceID) != nil:
		return res, fmt.Errorf("clip: %w: bad lesson asset id %q", ladder.ErrBadInput, sourceID)
	}
	if opt.Preset == "" {
		opt.Preset = ladder.DefaultPreset
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 2
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	prog := &reporter{fn: opt.Progress}
	prog.report("download", 0)

	rs, err := loadLadder(ctx, st, sourceID)
	if err != nil {
		return res, fmt.Errorf("clip of %s: %w", sourceID, err)
	}
	prog.report("download", 30)
	cp, err := planCut(ctx, st, rs, in, out)
	if err != nil {
		return res, fmt.Errorf("clip of %s: %w", sourceID, err)
	}
	cp.preset = opt.Preset
	prog.report("download", 100)

	w, err := outdir.New(outDir)
	if err != nil {
		return res, fmt.Errorf("clip: output directory: %w", err)
	}
	defer func() {
		if err != nil {
			w.RemoveAll()
		}
	}()

	// Renditions in parallel; each reports its segments for the progress.
	total := len(rs) * (cp.tk - cp.hk + 1)
	var (
		mu      sync.Mutex
		done    int
		outs    = make([]*rungOut, len(rs))
		errs    = make([]error, len(rs))
		sem     = make(chan struct{}, opt.Parallel)
		wg      sync.WaitGroup
		cctx, c = context.WithCancel(ctx)
	)
	defer c()
	tick := func() {
		mu.Lock()
		done++
		prog.report("cut", 100*float64(done)/float64(max(total, 1)))
		mu.Unlock()
	}
	for i := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-cctx.Done():
				errs[i] = cctx.Err()
				return
			}
			defer func() { <-sem }()
			o, err := cutRendition(cctx, st, w, rs[i], cp, i == cp.posterRung, tick)
			if err != nil {
				errs[i] = fmt.Errorf("clip of %s: %s: %w", sourceID, rs[i].name, err)
				c()
				return
			}
			outs[i] = o
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	for _, e := range errs {
		if e != nil && !errors.Is(e, context.Canceled) {
			return res, e
		}
	}
	for _, e := range errs {
		if e != nil {
			return res, e
		}
	}

	// Master playlist, in the lesson's order and style, with the clip's measured
	// bit rates.
	var master strings.Builder
	master.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	for i, r := range rs {
		o := outs[i]
		peak, avg := ladder.Bandwidth(o.segments())
		master.WriteString("#EXT-X-STREAM-INF:")
		for j, a := range r.v.attrs {
			if j > 0 {
				master.WriteByte(',')
			}
			val := a.val
			switch a.key {
			case "BANDWIDTH":
				val = fmt.Sprint(peak)
			case "AVERAGE-BANDWIDTH":
				val = fmt.Sprint(avg)
			}
			if quoted(a.key) {
				val = `"` + val + `"`
			}
			master.WriteString(a.key + "=" + val)
		}
		master.WriteString("\n" + r.v.uri + "\n")
		rend := ladder.Rendition{
			Name: r.name, Width: r.v.w, Height: r.v.h, Bandwidth: peak, Codecs: r.v.codecs, Playlist: r.v.uri, FrameRate: r.v.fps,
		}
		res.Renditions = append(res.Renditions, rend)
		res.CopiedSegments += o.copied
		res.CopiedBytes += o.copiedBytes
		res.EdgeSegments += o.edges
		res.EdgeFrames += o.edgeFrames
		res.CopyTime += o.copyTime
		res.EdgeTime += o.edgeTime
		if r.videoID != 0 && res.Width == 0 {
			res.Width, res.Height = r.v.w, r.v.h
			res.Duration = ticks(o.end - (cp.inPTS - cp.shift))
		}
	}
	if err := w.Write("master.m3u8", []byte(master.String())); err != nil {
		return res, err
	}
	if img := outs[cp.posterRung].poster; img != nil {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
			return res, fmt.Errorf("clip: poster: %w", err)
		}
		if err := w.Write("poster.jpg", b.Bytes()); err != nil {
			return res, err
		}
	}
	sb, err := copyStoryboard(ctx, st, sourceID, w, in, in+res.Duration)
	if err != nil {
		return res, fmt.Errorf("clip of %s: storyboard: %w", sourceID, err)
	}
	res.Storyboard = sb
	res.Info = ladder.Info{Format: "hls", Duration: res.Duration}
	res.Files = w.List()
	opt.Log.Info("clip cut", "lesson", sourceID, "in", in, "out", out, "duration", res.Duration,
		"copied_segments", res.CopiedSegments, "edge_segments", res.EdgeSegments, "edge_frames", res.EdgeFrames)
	return res, nil
}

func quoted(key string) bool {
	switch key {
	case "CODECS", "VIDEO", "AUDIO", "SUBTITLES", "NAME", "GROUP-ID", "URI":
		return true
	}
	return false
}

func ticks(t int64) time.Duration { return time.Duration(t) * time.Second / clock90k }

func toTicks(d time.Duration) int64 {
	return int64(math.Round(d.Seconds() * clock90k))
}

// loadLadder reads the lesson's master playlist, every media playlist and init
// segment.
func loadLadder(ctx context.Context, st storage.Store, id string) ([]*rendition, error) {
	masterKey := "vod/" + id + "/master.m3u8"
	mb, err := getSmall(ctx, st, masterKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: the lesson has no HLS ladder (is it ready?)", ladder.ErrBadInput)
	}
	if err != nil {
		return nil, err
	}
	vs, err := parseMaster(mb)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ladder.ErrBadInput, masterKey, err)
	}
	var rs []*rendition
	for _, v := range vs {
		r := &rendition{v: v, name: path.Dir(v.uri)}
		if r.name == "." || strings.Contains(r.name, "/") {
			return nil, fmt.Errorf("%w: rendition playlist %q is not in a folder of its own", ladder.ErrBadInput, v.uri)
		}
		if r.playlist, err = objectKey(masterKey, v.uri); err != nil {
			return nil, err
		}
		pb, err := getSmall(ctx, st, r.playlist)
		if err != nil {
			return nil, notFoundBad(err)
		}
		mp, err := parseMedia(pb)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ladder.ErrBadInput, r.playlist, err)
		}
		initKey, err := objectKey(r.playlist, mp.initURI)
		if err != nil {
			return nil, err
		}
		if r.init, err = getSmall(ctx, st, initKey); err != nil {
			return nil, notFoundBad(err)
		}
		var ini fmp4.Init
		if err := ini.Unmarshal(bytes.NewReader(r.init)); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ladder.ErrBadInput, initKey, err)
		}
		for _, t := range ini.Tracks {
			switch t.Codec.(type) {
			case *mp4.CodecH264:
				if t.TimeScale != clock90k {
					return nil, fmt.Errorf("%w: %s: video time scale %d, the ladder writes 90000", ladder.ErrBadInput, initKey, t.TimeScale)
				}
				r.videoID = uint32(t.ID)
			case *mp4.CodecMPEG4Audio:
				r.audioID, r.audioTS = uint32(t.ID), t.TimeScale
			default:
				return nil, fmt.Errorf("%w: %s: a track that is neither H.264 nor AAC", ladder.ErrBadInput, initKey)
			}
		}
		if r.videoID == 0 && r.audioID == 0 {
			return nil, fmt.Errorf("%w: %s has no track", ladder.ErrBadInput, initKey)
		}
		if r.videoID != 0 {
			x, _, err := findAVCC(r.init)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ladder.ErrBadInput, initKey, err)
			}
			r.avcc = r.init[x.start+x.hdr : x.end]
			if r.avc, err = parseAVCC(r.avcc); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ladder.ErrBadInput, initKey, err)
			}
		}
		for _, s := range mp.segs {
			k, err := objectKey(r.playlist, s.uri)
			if err != nil {
				return nil, err
			}
			r.segKeys = append(r.segKeys, k)
			r.durs = append(r.durs, s.dur)
		}
		rs = append(rs, r)
	}
	if rs[0].videoID == 0 {
		return nil, fmt.Errorf("%w: the lesson has no video; only video lessons can be cut", ladder.ErrBadInput)
	}
	for _, r := range rs[1:] {
		if len(r.segKeys) != len(rs[0].segKeys) {
			return nil, fmt.Errorf("%w: renditions %s and %s have %d and %d segments; the ladder cuts every one alike",
				ladder.ErrBadInput, rs[0].name, r.name, len(rs[0].segKeys), len(r.segKeys))
		}
		if r.videoID != 0 && !slices.Equal(r.durs, rs[0].durs) {
			return nil, fmt.Errorf("%w: renditions %s and %s are not cut at the same times", ladder.ErrBadInput, rs[0].name, r.name)
		}
	}
	return rs, nil
}

func notFoundBad(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: the lesson's ladder is incomplete: %v", ladder.ErrBadInput, err)
	}
	return err
}

// segment is a parsed media segment.
type segment struct {
	video     []vSample
	audio     []*fmp4.Sample
	audioBase int64 // audio track time scale
	videoBase int64
	firstPTS  int64 // earliest picture
}

// fetchSegment reads and parses lesson segment k of r.
func fetchSegment(ctx context.Context, st storage.Store, r *rendition, k int) (*segment, error) {
	b, err := getSmall(ctx, st, r.segKeys[k])
	if err != nil {
		return nil, notFoundBad(err)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %s is corrupt: %v", ladder.ErrBadInput, r.segKeys[k], err)
	}
	s := &segment{firstPTS: math.MaxInt64}
	for _, p := range parts {
		for _, t := range p.Tracks {
			switch uint32(t.ID) {
			case r.videoID:
				if len(s.video) == 0 {
					s.videoBase = int64(t.BaseTime)
				}
				dts := int64(t.BaseTime)
				for _, smp := range t.Samples {
					v := vSample{dts: dts, pts: dts + int64(smp.PTSOffset), key: !smp.IsNonSyncSample, data: smp.Payload}
					s.video = append(s.video, v)
					s.firstPTS = min(s.firstPTS, v.pts)
					dts += int64(smp.Duration)
				}
			case r.audioID:
				if len(s.audio) == 0 {
					s.audioBase = int64(t.BaseTime)
				}
				s.audio = append(s.audio, t.Samples...)
			default:
				return nil, fmt.Errorf("%w: %s has a track (%d) its init segment does not", ladder.ErrBadInput, r.segKeys[k], t.ID)
			}
		}
	}
	if r.videoID != 0 && (len(s.video) == 0 || !s.video[0].key) {
		return nil, fmt.Errorf("%w: %s does not start with a keyframe", ladder.ErrBadInput, r.segKeys[k])
	}
	return s, nil
}

// planCut fixes, from the top rendition, the pictures where the clip starts and ends,
// the segments to copy and to re-make, and the timestamp shift.
func planCut(ctx context.Context, st storage.Store, rs []*rendition, in, out time.Duration) (*cutPlan, error) {
	top := rs[0]
	first, err := fetchSegment(ctx, st, top, 0)
	if err != nil {
		return nil, err
	}
	// The ladder's timeline: the media starts at the first picture (or at the audio
	// when it leads by more than the ladder trims, 100 ms), a few frames after zero.
	offset := first.firstPTS
	var a90 int64 = math.MaxInt64
	if top.audioID != 0 && len(first.audio) > 0 {
		a90 = first.audioBase * clock90k / int64(top.audioTS)
		if a90 < offset-9000 {
			offset = a90
		}
	}
	for _, r := range rs {
		start := first.firstPTS
		if r.videoID == 0 || a90 < start {
			start = min(start, a90)
			if r.videoID == 0 {
				start = a90
			}
		}
		r.starts = make([]int64, len(r.durs)+1)
		r.starts[0] = start
		for i, d := range r.durs {
			r.starts[i+1] = r.starts[i] + d
		}
	}
	// A video rendition's segment starts are its cuts (the first aside), where
	// every segment's IDR is.
	cuts := top.starts
	end := cuts[len(cuts)-1]
	lessonDur := end - offset
	inT, outT := offset+toTicks(in), offset+toTicks(out)
	if inT >= end {
		return nil, fmt.Errorf("%w: in point %v is past the lesson's end (%v)", ladder.ErrBadInput, in, ticks(lessonDur).Round(time.Millisecond))
	}
	// An out point a little past the end (a player's rounding, a slider dragged
	// to the end) means the end.
	if outT > end+endSlack {
		return nil, fmt.Errorf("%w: out point %v is past the lesson's end (%v)", ladder.ErrBadInput, out, ticks(lessonDur).Round(time.Millisecond))
	}
	segOf := func(t int64) int {
		return max(0, sort.Search(len(cuts)-1, func(i int) bool { return cuts[i] > t })-1)
	}
	cp := &cutPlan{hk: segOf(inT)}
	cache := map[int]*segment{0: first}
	get := func(k int) (*segment, error) {
		if s, ok := cache[k]; ok {
			return s, nil
		}
		s, err := fetchSegment(ctx, st, top, k)
		if err == nil {
			cache[k] = s
		}
		return s, err
	}
	// pictureAt is the picture shown at t: the last one starting at or before it.
	pictureAt := func(s *segment, t int64) int64 {
		best := int64(math.MinInt64)
		for _, v := range s.video {
			if v.pts <= t+tolerance && v.pts > best {
				best = v.pts
			}
		}
		if best == math.MinInt64 {
			best = s.firstPTS
		}
		return best
	}
	head, err := get(cp.hk)
	if err != nil {
		return nil, err
	}
	cp.inPTS = pictureAt(head, inT)
	cp.headCopy = cp.inPTS == head.firstPTS
	cp.frameDur = frameDuration(head, top.v.fps)

	var tail *segment
	if outT >= end-tolerance {
		cp.outPTS, cp.tk, cp.tailCopy = math.MaxInt64, len(cuts)-2, true
	} else {
		ok := segOf(outT)
		s, err := get(ok)
		if err != nil {
			return nil, err
		}
		cp.outPTS = pictureAt(s, outT)
		if cp.outPTS == s.firstPTS {
			cp.tk, cp.tailCopy = ok-1, true
		} else {
			cp.tk, tail = ok, s
		}
	}
	if cp.tk < cp.hk || cp.outPTS <= cp.inPTS {
		return nil, fmt.Errorf("%w: no picture between %v and %v", ladder.ErrBadInput, in, out)
	}
	if clipEnd := min(cp.outPTS, end); clipEnd-cp.inPTS < toTicks(MinDuration)-tolerance {
		return nil, fmt.Errorf("%w: the clip holds %v of pictures, less than %v", ladder.ErrBadInput, ticks(clipEnd-cp.inPTS), MinDuration)
	}

	// Audio: the AAC frame boundary nearest to each cut, from the edge segments.
	cp.audioIn, cp.audioOut = math.MinInt64, math.MaxInt64
	if top.audioID != 0 {
		ts := int64(top.audioTS)
		if !cp.headCopy {
			cp.audioIn = nearestBoundary(head, cp.inPTS*ts/clock90k)
		}
		if !cp.tailCopy {
			cp.audioOut = nearestBoundary(tail, cp.outPTS*ts/clock90k)
		}
	}
	// Every track's shift must be a whole number of its own ticks.
	g := int64(1)
	for _, r := range rs {
		if r.audioID != 0 {
			g = lcm(g, clock90k/gcd(clock90k, int64(r.audioTS)))
		}
	}
	cp.shift = (cp.inPTS - offset) / g * g
	cp.shift = max(cp.shift, 0)

	// The edges' parameter set ids: one no rendition's SPS or PPS uses.
	used := map[uint]bool{}
	for _, r := range rs {
		for _, s := range r.avc.sps {
			id, err := spsID(s)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ladder.ErrBadInput, r.name, err)
			}
			used[id] = true
		}
		for _, p := range r.avc.pps {
			id, err := ppsID(p)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ladder.ErrBadInput, r.name, err)
			}
			used[id] = true
		}
	}
	cp.spsID = -1
	for id := 1; id < 32; id++ {
		if !used[uint(id)] {
			cp.spsID = id
			break
		}
	}
	if cp.spsID < 0 {
		return nil, fmt.Errorf("%w: the lesson uses every parameter set id", ladder.ErrBadInput)
	}
	// The poster comes from the largest rendition the ladder's poster size holds.
	cp.posterRung = 0
	for i, r := range rs {
		if r.videoID != 0 && max(r.v.w, r.v.h) <= posterBox {
			cp.posterRung = i
			break
		}
	}
	return cp, nil
}

// frameDuration is the picture duration: from the frame rate, else from the samples.
func frameDuration(s *segment, fps float64) int64 {
	if fps > 0 {
		return int64(math.Round(clock90k / fps))
	}
	pts := make([]int64, 0, len(s.video))
	for _, v := range s.video {
		pts = append(pts, v.pts)
	}
	slices.Sort(pts)
	if len(pts) > 1 {
		return max(1, pts[1]-pts[0])
	}
	return 3600
}

// nearestBoundary returns the start of the AAC frame of s nearest to t (audio ticks).
func nearestBoundary(s *segment, t int64) int64 {
	best, bestD := t, int64(math.MaxInt64)
	at := s.audioBase
	for _, a := range s.audio {
		if d := abs(at - t); d < bestD {
			best, bestD = at, d
		}
		at += int64(a.Duration)
	}
	if d := abs(at - t); d < bestD && len(s.audio) > 0 {
		best = at
	}
	return best
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int64) int64 { return a / gcd(a, b) * b }

// reporter serializes progress calls.
type reporter struct {
	mu   sync.Mutex
	fn   func(string, float64)
	last time.Time
}

func (r *reporter) report(step string, pct float64) {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if pct < 100 && pct > 0 && now.Sub(r.last) < 200*time.Millisecond {
		return
	}
	r.last = now
	r.fn(step, min(max(pct, 0), 100))
}
