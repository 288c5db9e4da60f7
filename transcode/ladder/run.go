package ladder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/classcast/classcast/transcode/outdir"
)

// Run makes the HLS ladder of the media file in under outDir (created if
// needed): master.m3u8, one directory per rendition with index.m3u8,
// init.mp4 and seg_NNNNN.m4s, plus poster.jpg, storyboard.jpg (or
// storyboard_N.jpg for long media) and storyboard.vtt when there is video.
//
// It writes only inside outDir; on failure, including cancellation, it
// removes everything it wrote. Input that can never work fails with an
// error wrapping ErrBadInput.
func Run(ctx context.Context, in, outDir string, opt Options) (res Result, err error) {
	if opt, err = opt.withDefaults(); err != nil {
		return Result{}, err
	}
	prog := &progress{fn: opt.Progress}
	prog.report("probe", 0, true)

	// Pass 1 reads the packets (no decoding): exact duration, truncation,
	// and the keyframes that decide the segment cuts before any encoder
	// starts.
	s, err := openSource(ctx, in, opt.MaxHeight)
	if err != nil {
		return Result{}, err
	}
	sc, err := s.scan(ctx, true, func(pct float64) { prog.report("probe", pct, false) })
	if err != nil {
		s.close()
		return Result{}, err
	}
	s.applyScan(sc)
	p := makePlan(s, sc, opt.SegmentDuration)
	info := s.info
	vIdx, aIdx := streamIndex(s.video), streamIndex(s.audio)
	s.close()
	prog.report("probe", 100, true)

	// Pass 2 decodes once and feeds every rung.
	src, err := openSource(ctx, in, opt.MaxHeight)
	if err != nil {
		return Result{}, err
	}
	defer src.close()
	if streamIndex(src.video) != vIdx || streamIndex(src.audio) != aIdx {
		return Result{}, fmt.Errorf("ladder: %s changed while being read", in)
	}
	src.info = info

	log := slog.Default().With("input", in)
	if len(p.rungs) > 0 {
		var names []string
		for _, r := range p.rungs {
			n := fmt.Sprintf("%s %dx%d", r.name, r.w, r.h)
			if r.copy {
				n += " copy"
			}
			names = append(names, n)
		}
		log.Info("ladder plan", "rungs", strings.Join(names, ", "), "segments", len(p.cuts)+1,
			"not_copied_because", p.copyReason, "duration", info.Duration)
	}

	out, err := outdir.New(outDir)
	if err != nil {
		return Result{}, fmt.Errorf("ladder: output directory: %w", err)
	}
	defer func() {
		if err != nil {
			out.RemoveAll()
		}
	}()

	pl, err := newPipeline(src, p, opt, out)
	if err != nil {
		return Result{}, err
	}
	defer pl.close()
	if err := pl.run(ctx, prog); err != nil {
		return Result{}, err
	}
	if pl.vdec != nil && pl.vdec.errs > 0 {
		log.Warn("video decode errors", "count", pl.vdec.errs, "frames", pl.vdec.decoded)
	}
	if pl.aenc != nil && pl.aenc.decodeErrs > 0 {
		log.Warn("audio decode errors", "count", pl.aenc.decodeErrs, "frames", pl.aenc.decoded)
	}

	if pl.images != nil {
		prog.report("poster", 0, true)
		if err := pl.images.finish(out); err != nil {
			return Result{}, err
		}
		prog.report("poster", 100, true)
		prog.report("storyboard", 100, true)
	}

	res = Result{Info: info}
	var master []variant
	for _, w := range pl.workers {
		peak, avg := Bandwidth(w.seg.segments())
		r := Rendition{Name: w.name, Bandwidth: peak, Playlist: w.name + "/index.m3u8"}
		v := variant{avg: avg}
		if w.rung != nil {
			r.Width, r.Height, r.Copy = w.rung.w, w.rung.h, w.rung.copy
			r.Codecs = avcCodecs(w.seg.sps)
			if w.seg.audio != nil {
				r.Codecs += ",mp4a.40.2"
			}
			r.FrameRate = src.fps.Float64()
			if res.Width == 0 {
				res.Width, res.Height = r.Width, r.Height
				res.Duration = ticks(w.seg.end() - p.offset)
			}
		} else {
			r.Codecs = "mp4a.40.2"
			if res.Duration == 0 {
				res.Duration = ticks(w.seg.end() - p.offset)
			}
		}
		v.Rendition = r
		res.Renditions = append(res.Renditions, r)
		master = append(master, v)
	}
	if err := out.Write("master.m3u8", []byte(masterPlaylist(master))); err != nil {
		return Result{}, err
	}
	res.Files = out.List()
	return res, nil
}

func streamIndex(s *astiav.Stream) int {
	if s == nil {
		return -1
	}
	return s.Index()
}

func ticks(t int64) time.Duration {
	return time.Duration(t) * time.Second / clock90k
}

func (o Options) withDefaults() (Options, error) {
	if o.Preset == "" {
		o.Preset = DefaultPreset
	}
	switch o.Preset {
	case "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow":
	default:
		return o, fmt.Errorf("ladder: %q is not an x264 preset", o.Preset)
	}
	if o.MaxHeight == 0 {
		o.MaxHeight = DefaultMaxHeight
	}
	if o.MaxHeight < 0 {
		return o, fmt.Errorf("ladder: negative MaxHeight %d", o.MaxHeight)
	}
	if o.SegmentDuration == 0 {
		o.SegmentDuration = DefaultSegmentDuration
	}
	if o.SegmentDuration < 500*time.Millisecond || o.SegmentDuration > 30*time.Second {
		return o, fmt.Errorf("ladder: segment duration %v outside 0.5 s to 30 s", o.SegmentDuration)
	}
	return o, nil
}

// progress throttles Options.Progress to a few calls per second.
type progress struct {
	fn   func(string, float64)
	last time.Time
	step string
}

func (p *progress) report(step string, pct float64, force bool) {
	if p.fn == nil {
		return
	}
	now := time.Now()
	if !force && step == p.step && now.Sub(p.last) < 250*time.Millisecond {
		return
	}
	p.step, p.last = step, now
	p.fn(step, min(max(pct, 0), 100))
}

// Work items travelling to the rung goroutines.
type (
	item struct {
		frame *astiav.Frame // picture to scale and encode; the receiver frees it
		video *vsample      // copied access unit
		audio *asample      // AAC frame, shared by every rung, read-only
	}
	vsample struct {
		pts, dts int64 // 90 kHz output timeline
		key      bool
		data     []byte // AVCC, 4-byte lengths
	}
	asample struct {
		pts  int64 // 48 kHz output timeline
		data []byte
	}
)

// itemQueue is the depth of each rung's queue: enough to ride out an
// encoder's burst, small enough to hold few decoded pictures.
const itemQueue = 8

// worker runs one rendition in its own goroutine.
type worker struct {
	name     string
	rung     *rung // nil for the audio rung
	in       chan item
	children []*worker
	enc      *videoEncoder // nil for a copy or the audio rung
	seg      *segmenter
	p        *plan
}

type pipeline struct {
	s   *source
	p   *plan
	opt Options
	out *outdir.Dir

	workers []*worker // video rungs highest first, then audio
	roots   []*worker // fed by the reader
	frameTo []*worker // roots that take decoded pictures
	audioTo []*worker // roots that take AAC frames
	copyW   *worker

	vdec   *videoDecoder
	aenc   *audioEncoder
	images *imageMaker
	nal    nalFormat
}

func newPipeline(s *source, p *plan, opt Options, out *outdir.Dir) (pl *pipeline, err error) {
	pl = &pipeline{s: s, p: p, opt: opt, out: out}
	defer func() {
		if err != nil {
			pl.close()
		}
	}()
	if s.audio != nil {
		if pl.aenc, err = newAudioEncoder(s, p); err != nil {
			return nil, err
		}
	}
	if s.video != nil {
		if pl.vdec, err = newVideoDecoder(s); err != nil {
			return nil, err
		}
		if pl.images, err = newImageMaker(s, p); err != nil {
			return nil, err
		}
		pl.nal = nalFormatOf(s.video.CodecParameters())
	}
	for i := range p.rungs {
		r := &p.rungs[i]
		if err := out.Mkdir(r.name); err != nil {
			return nil, err
		}
		w := &worker{name: r.name, rung: r, in: make(chan item, itemQueue), p: p}
		w.seg = newSegmenter(out, r.name, p, true, s.audio != nil)
		if r.copy {
			sps, pps := sourceParams(s.video.CodecParameters().ExtraData())
			w.seg.setVideoParams(sps, pps)
			pl.copyW = w
		} else {
			rotate := 0
			if r.parent < 0 {
				rotate = s.info.Video.Rotation
			}
			if w.enc, err = newVideoEncoder(*r, p, s, opt.Preset, rotate); err != nil {
				return nil, err
			}
			w.seg.setVideoParams(w.enc.sps, w.enc.pps)
		}
		if pl.aenc != nil {
			w.seg.setAudioConfig(pl.aenc.config)
		}
		pl.workers = append(pl.workers, w)
	}
	for i, w := range pl.workers {
		switch r := w.rung; {
		case r.copy:
			pl.roots = append(pl.roots, w)
			pl.audioTo = append(pl.audioTo, w)
		case r.parent < 0:
			pl.roots = append(pl.roots, w)
			pl.frameTo = append(pl.frameTo, w)
			pl.audioTo = append(pl.audioTo, w)
		default:
			parent := pl.workers[r.parent]
			parent.children = append(parent.children, pl.workers[i])
		}
	}
	if s.audio != nil {
		if err := out.Mkdir(audioRungName); err != nil {
			return nil, err
		}
		w := &worker{name: audioRungName, in: make(chan item, itemQueue), p: p}
		w.seg = newSegmenter(out, audioRungName, p, false, true)
		w.seg.setAudioConfig(pl.aenc.config)
		pl.workers = append(pl.workers, w)
		pl.roots = append(pl.roots, w)
		pl.audioTo = append(pl.audioTo, w)
	}
	return pl, nil
}

// collectParams returns a function keeping the first SPS and PPS it sees,
// copied.
func collectParams(sps, pps *[]byte) func([]byte) bool {
	return func(n []byte) bool {
		switch n[0] & 0x1f {
		case 7:
			if *sps == nil {
				*sps = append([]byte(nil), n...)
			}
		case 8:
			if *pps == nil {
				*pps = append([]byte(nil), n...)
			}
		}
		return true
	}
}

// sourceParams finds the SPS and PPS in a stream's extradata: an avcC
// record (MP4, MKV) or Annex B units (MPEG-TS).
func sourceParams(ext []byte) (sps, pps []byte) {
	collect := collectParams(&sps, &pps)
	if len(ext) < 7 || ext[0] != 1 {
		nalFormat{h264: true}.each(ext, collect)
		return sps, pps
	}
	// avcC: 5 bytes of header, then the SPS and the PPS, each set with a
	// count and 16-bit lengths.
	b := ext[5:]
	for part := 0; part < 2 && len(b) > 0; part++ {
		count := int(b[0])
		if part == 0 {
			count &= 0x1f
		}
		b = b[1:]
		for i := 0; i < count && len(b) >= 2; i++ {
			n := int(b[0])<<8 | int(b[1])
			b = b[2:]
			if n > len(b) {
				return sps, pps
			}
			if n > 0 {
				collect(b[:n])
			}
			b = b[n:]
		}
	}
	return sps, pps
}

// auParams finds the SPS and PPS sent in-band in an access unit.
func auParams(nf nalFormat, au []byte) (sps, pps []byte) {
	nf.each(au, collectParams(&sps, &pps))
	return sps, pps
}

// run starts the rung goroutines, reads and decodes the source once, and
// waits for every rung to finish.
func (pl *pipeline) run(parent context.Context, prog *progress) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	var wg sync.WaitGroup
	var start func(w *worker)
	start = func(w *worker) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(ctx); err != nil {
				cancel(err)
			}
		}()
		for _, c := range w.children {
			start(c)
		}
	}
	for _, w := range pl.roots {
		start(w)
	}
	if err := pl.read(ctx, prog); err != nil {
		// Stop the rungs before they finish a ladder that will be thrown
		// away.
		cancel(err)
	}
	for _, w := range pl.roots {
		close(w.in)
	}
	wg.Wait()
	if err := parent.Err(); err != nil {
		return err
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	prog.report("ladder", 100, true)
	return nil
}

// send hands it to w unless ctx ends first, in which case it frees the
// picture.
func send(ctx context.Context, w *worker, it item) bool {
	select {
	case w.in <- it:
		return true
	case <-ctx.Done():
		if it.frame != nil {
			it.frame.Free()
		}
		return false
	}
}

// read demuxes and decodes the source, feeding the rungs.
func (pl *pipeline) read(ctx context.Context, prog *progress) error {
	pkt := astiav.AllocPacket()
	if pkt == nil {
		return errors.New("ladder: allocating packet failed")
	}
	defer pkt.Free()

	var vtb astiav.Rational
	var frameDur, lastPTS int64
	havePTS := false
	if pl.s.video != nil {
		vtb = pl.s.video.TimeBase()
		frameDur = max(1, astiav.RescaleQ(1, astiav.NewRational(pl.s.fps.Den(), pl.s.fps.Num()), vtb))
	}
	onFrame := func(f *astiav.Frame) error {
		pts := f.Pts()
		if pts == astiav.NoPtsValue {
			switch {
			case havePTS:
				pts = lastPTS + frameDur
			case f.PktDts() != astiav.NoPtsValue:
				pts = f.PktDts()
			default:
				pts = 0
			}
		}
		// x264 needs rising timestamps; a repeated one is a duplicate.
		if havePTS && pts <= lastPTS {
			return nil
		}
		f.SetPts(pts)
		lastPTS, havePTS = pts, true
		if err := pl.images.frame(f); err != nil {
			return err
		}
		for _, w := range pl.frameTo {
			c := astiav.AllocFrame()
			if c == nil {
				return errors.New("ladder: allocating frame failed")
			}
			if err := c.Ref(f); err != nil {
				c.Free()
				return fmt.Errorf("ladder: referencing frame: %w", averr(err))
			}
			if !send(ctx, w, item{frame: c}) {
				return context.Cause(ctx)
			}
		}
		return nil
	}
	onAudio := func(pts int64, data []byte) error {
		a := &asample{pts: pts, data: data}
		for _, w := range pl.audioTo {
			if !send(ctx, w, item{audio: a}) {
				return context.Cause(ctx)
			}
		}
		return nil
	}

	end := max(pl.p.end, 1)
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		pkt.Unref()
		if err := pl.s.fc.ReadFrame(pkt); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			// Pass 1 read to the same point; a read error here ends the
			// input the same way.
			break
		}
		switch {
		case pl.s.video != nil && pkt.StreamIndex() == pl.s.video.Index():
			if pl.copyW != nil && pkt.Pts() != astiav.NoPtsValue {
				dts := pkt.Dts()
				if dts == astiav.NoPtsValue {
					dts = pkt.Pts()
				}
				// Data copies the packet out of C memory: once.
				data := pkt.Data()
				v := &vsample{
					pts:  pl.p.to90k(pkt.Pts(), vtb),
					dts:  pl.p.to90k(dts, vtb),
					key:  pkt.Flags().Has(astiav.PacketFlagKey) && pl.nal.hasIDR(data),
					data: toAVCC(pl.nal, data),
				}
				if !send(ctx, pl.copyW, item{video: v}) {
					return context.Cause(ctx)
				}
			}
			if err := pl.vdec.decode(pkt, onFrame); err != nil {
				return err
			}
			if n%16 == 0 && pkt.Pts() != astiav.NoPtsValue {
				prog.report("ladder", 100*float64(pl.p.to90k(pkt.Pts(), vtb))/float64(end), false)
			}
		case pl.s.audio != nil && pkt.StreamIndex() == pl.s.audio.Index():
			if err := pl.aenc.decode(pkt, onAudio); err != nil {
				return err
			}
			if pl.s.video == nil && n%16 == 0 && pkt.Pts() != astiav.NoPtsValue {
				prog.report("ladder", 100*float64(pl.p.to90k(pkt.Pts(), pl.s.audio.TimeBase()))/float64(end), false)
			}
		}
	}
	if pl.vdec != nil {
		if err := pl.vdec.decode(nil, onFrame); err != nil {
			return err
		}
	}
	if pl.aenc != nil {
		if err := pl.aenc.decode(nil, onAudio); err != nil {
			return err
		}
	}
	return nil
}

// run handles the worker's queue until it is closed. After an error or
// cancellation it keeps draining (freeing pictures) so senders never
// block. It closes its children's queues when done.
func (w *worker) run(ctx context.Context) (err error) {
	defer func() {
		for _, c := range w.children {
			close(c.in)
		}
	}()
	for it := range w.in {
		if err != nil || ctx.Err() != nil {
			if it.frame != nil {
				it.frame.Free()
			}
			continue
		}
		err = w.handle(ctx, it)
	}
	if err != nil || ctx.Err() != nil {
		return err
	}
	if w.enc != nil {
		if err := w.enc.flush(w.forward(ctx), w.packet); err != nil {
			return err
		}
	}
	return w.seg.finish()
}

func (w *worker) handle(ctx context.Context, it item) error {
	switch {
	case it.frame != nil:
		err := w.enc.encode(it.frame, w.forward(ctx), w.packet)
		it.frame.Free()
		return err
	case it.video != nil:
		if w.seg.sps == nil {
			// No parameter sets in the extradata: take them in-band.
			sps, pps := auParams(nalFormat{h264: true, lengthSize: 4}, it.video.data)
			if sps != nil && pps != nil {
				w.seg.setVideoParams(sps, pps)
			}
		}
		return w.seg.writeVideo(it.video.pts, it.video.dts, it.video.key, it.video.data)
	case it.audio != nil:
		if w.seg.audio != nil {
			if err := w.seg.writeAudio(it.audio.pts, it.audio.data); err != nil {
				return err
			}
		}
		for _, c := range w.children {
			if !send(ctx, c, it) {
				return nil
			}
		}
	}
	return nil
}

// forward returns the function giving each scaled picture of this rung to
// the rungs scaled from it, or nil when there are none.
func (w *worker) forward(ctx context.Context) func(*astiav.Frame) error {
	if len(w.children) == 0 {
		return nil
	}
	return func(f *astiav.Frame) error {
		for _, c := range w.children {
			cf := astiav.AllocFrame()
			if cf == nil {
				return errors.New("ladder: allocating frame failed")
			}
			if err := cf.Ref(f); err != nil {
				cf.Free()
				return fmt.Errorf("ladder: referencing frame: %w", averr(err))
			}
			if !send(ctx, c, item{frame: cf}) {
				return context.Cause(ctx)
			}
		}
		return nil
	}
}

// packet muxes one encoded access unit.
func (w *worker) packet(pkt *astiav.Packet) error {
	tb := w.enc.tb
	pts := pkt.Pts()
	dts := pkt.Dts()
	if dts == astiav.NoPtsValue {
		dts = pts
	}
	return w.seg.writeVideo(w.p.to90k(pts, tb), w.p.to90k(dts, tb),
		pkt.Flags().Has(astiav.PacketFlagKey), toAVCC(nalFormat{h264: true}, pkt.Data()))
}

func (pl *pipeline) close() {
	for _, w := range pl.workers {
		if w.enc != nil {
			w.enc.close()
			w.enc = nil
		}
	}
	if pl.vdec != nil {
		pl.vdec.close()
	}
	if pl.aenc != nil {
		pl.aenc.close()
	}
	if pl.images != nil {
		pl.images.close()
	}
}

// variant is a master playlist entry.
type variant struct {
	Rendition
	avg int
}

// masterPlaylist lists the variants in the given order (highest first).
func masterPlaylist(vs []variant) string {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d", v.Bandwidth, v.avg)
		if v.Width > 0 {
			fmt.Fprintf(&b, ",RESOLUTION=%dx%d", v.Width, v.Height)
		}
		fmt.Fprintf(&b, ",CODECS=\"%s\"", v.Codecs)
		if v.FrameRate > 0 {
			fmt.Fprintf(&b, ",FRAME-RATE=%.3f", v.FrameRate)
		}
		fmt.Fprintf(&b, "\n%s\n", v.Playlist)
	}
	return b.String()
}
