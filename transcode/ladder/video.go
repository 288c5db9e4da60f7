package ladder

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/asticode/go-astiav"
)

// Threading. The decoder and every encoder run at once, each encoder in its
// own goroutine, so the pool of threads is larger than the machine: x264
// frame threads keep each core busy while another encoder waits.
var (
	// encoderThreads is x264's thread count per rung, 0 for x264's choice
	// (1.5 x cores). Fewer is not cheaper: one thread per rung costs about
	// 35% more CPU for the same 720p rung (measured, superfast), two to four
	// cost the same as x264's choice.
	encoderThreads = 0
	// lightDecodeRate bounds, in pixels per second, the sources decoded on
	// one thread (see decoderThreads): 1080p30.
	lightDecodeRate = 1920.0 * 1088 * 30
	// lightDecodeBitRate bounds their bit rate: H.264 decoding time grows
	// with the bits (CABAC), and a 12 Mbit/s 1080p25 stream of fine detail
	// already needs 8 ms a picture on one core.
	lightDecodeBitRate int64 = 10_000_000
)

// decoderThreads returns the video decoder's frame-thread count: 1 for
// H.264 up to 1080p30 at up to lightDecodeBitRate, else 0 (FFmpeg's choice,
// cores + 1). Frame threads cost CPU: each keeps its own decoder state and
// waits on the others, about 35% more CPU for a 1080p25 4.5 Mbit/s stream
// (measured). One thread decodes such a stream at over 20x realtime, far
// ahead of the encoders it feeds, so the threads buy nothing there; heavier
// sources (HEVC, 4K, high frame rates or bit rates) keep them, or the
// decoder would hold the encoders back.
func decoderThreads(s *source) int {
	cp := s.video.CodecParameters()
	rate := float64(cp.Width()) * float64(cp.Height()) * s.fps.Float64()
	bits := cp.BitRate()
	if bits <= 0 && s.info.Duration > 0 {
		// Undeclared: the whole file's rate, audio included, errs high.
		bits = int64(float64(s.info.Size*8) / s.info.Duration.Seconds())
	}
	if cp.CodecID() == astiav.CodecIDH264 && rate <= lightDecodeRate && bits <= lightDecodeBitRate {
		return 1
	}
	return 0
}

// videoDecoder decodes the source video, with frame threads when it is
// heavy (decoderThreads).
type videoDecoder struct {
	dec     *astiav.CodecContext
	frame   *astiav.Frame
	errs    int
	decoded int
}

func newVideoDecoder(s *source) (*videoDecoder, error) {
	cp := s.video.CodecParameters()
	c := astiav.FindDecoder(cp.CodecID())
	if c == nil {
		return nil, fmt.Errorf("ladder: %w: no decoder for video codec %q", ErrBadInput, cp.CodecID().Name())
	}
	d := &videoDecoder{dec: astiav.AllocCodecContext(c), frame: astiav.AllocFrame()}
	if d.dec == nil || d.frame == nil {
		d.close()
		return nil, errors.New("ladder: allocating video decoder failed")
	}
	if err := cp.ToCodecContext(d.dec); err != nil {
		d.close()
		return nil, fmt.Errorf("ladder: video decoder parameters: %w", averr(err))
	}
	d.dec.SetTimeBase(s.video.TimeBase())
	d.dec.SetThreadCount(decoderThreads(s))
	d.dec.SetThreadType(astiav.ThreadTypeFrame)
	// max_pixels makes the decoder itself refuse a picture larger than
	// the limit, whatever a later SPS claims.
	opts, err := newDict("max_pixels", strconv.Itoa(maxPixels))
	if err != nil {
		d.close()
		return nil, fmt.Errorf("ladder: %w", err)
	}
	defer opts.Free()
	if err := d.dec.Open(c, opts); err != nil {
		d.close()
		return nil, fmt.Errorf("ladder: %w: opening %s decoder: %v", ErrBadInput, cp.CodecID().Name(), averr(err))
	}
	return d, nil
}

// decode sends pkt (nil to drain) and calls fn with each decoded picture;
// fn may take the frame's buffers. Corrupt packets are counted and
// skipped: the decoder conceals what it can.
func (d *videoDecoder) decode(pkt *astiav.Packet, fn func(*astiav.Frame) error) error {
	if err := d.dec.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEof) {
		d.errs++
		if !errors.Is(err, astiav.ErrEagain) {
			return nil
		}
	}
	for {
		d.frame.Unref()
		if err := d.dec.ReceiveFrame(d.frame); err != nil {
			if again(err) {
				return nil
			}
			d.errs++
			return nil
		}
		d.decoded++
		if err := fn(d.frame); err != nil {
			d.frame.Unref()
			return err
		}
	}
}

func (d *videoDecoder) close() {
	if d.dec != nil {
		d.dec.Free()
		d.dec = nil
	}
	if d.frame != nil {
		d.frame.Free()
		d.frame = nil
	}
}

// videoEncoder scales pictures for one rung and encodes them with x264,
// forcing an IDR at every cut.
type videoEncoder struct {
	r      rung
	p      *plan
	tb     astiav.Rational // of the pictures and the packets
	rotate int             // degrees clockwise to turn the input (root rungs)
	desc   string

	graph      *graph
	gW, gH     int
	gFmt       astiav.PixelFormat
	enc        *astiav.CodecContext
	filt       *astiav.Frame
	pkt        *astiav.Packet
	nextCut    int
	sps, pps   []byte
	frameCount int
}

func newVideoEncoder(r rung, p *plan, s *source, preset string, rotate int) (*videoEncoder, error) {
	e := &videoEncoder{r: r, p: p, tb: s.video.TimeBase(), rotate: rotate}
	e.filt, e.pkt = astiav.AllocFrame(), astiav.AllocPacket()
	if e.filt == nil || e.pkt == nil {
		e.close()
		return nil, errors.New("ladder: allocating encoder frames failed")
	}
	c := astiav.FindEncoderByName("libx264")
	if c == nil {
		e.close()
		return nil, errors.New("ladder: FFmpeg has no libx264 encoder")
	}
	if e.enc = astiav.AllocCodecContext(c); e.enc == nil {
		e.close()
		return nil, errors.New("ladder: allocating libx264 encoder failed")
	}
	e.enc.SetWidth(r.w)
	e.enc.SetHeight(r.h)
	e.enc.SetPixelFormat(astiav.PixelFormatYuv420P)
	e.enc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	e.enc.SetTimeBase(e.tb)
	e.enc.SetFramerate(s.fps)
	e.enc.SetBitRate(int64(r.bitrate))
	e.enc.SetThreadCount(encoderThreads)
	// SPS and PPS go into extradata, for the init segment, instead of
	// before every IDR.
	e.enc.SetFlags(e.enc.Flags().Add(astiav.CodecContextFlagGlobalHeader))

	kbps := strconv.Itoa(r.bitrate / 1000)
	opts, err := newDict(
		"preset", preset,
		"profile", "high",
		// A forced keyframe is an IDR: every segment decodes on its own.
		"forced-idr", "1",
		// Keyframes only where forced (no scene cuts, no interval), closed
		// GOPs, and a VBV so no segment exceeds what a link of this rung's
		// bandwidth carries.
		"x264-params", "keyint=infinite:scenecut=0:open-gop=0:vbv-maxrate="+kbps+":vbv-bufsize="+strconv.Itoa(2*r.bitrate/1000),
	)
	if err != nil {
		e.close()
		return nil, fmt.Errorf("ladder: %w", err)
	}
	defer opts.Free()
	if err := e.enc.Open(c, opts); err != nil {
		e.close()
		return nil, fmt.Errorf("ladder: opening libx264 %dx%d preset %s: %w", r.w, r.h, preset, averr(err))
	}
	annexB := nalFormat{h264: true}
	annexB.each(e.enc.ExtraData(), func(n []byte) bool {
		switch n[0] & 0x1f {
		case 7:
			e.sps = append([]byte(nil), n...)
		case 8:
			e.pps = append([]byte(nil), n...)
		}
		return true
	})
	if e.sps == nil || e.pps == nil {
		e.close()
		return nil, errors.New("ladder: libx264 gave no SPS/PPS")
	}
	return e, nil
}

// ensureGraph (re)builds the scaler for pictures like f. The size the
// graph scales to is the rung's, turned back when the rotation swaps it:
// scaling before turning moves fewer pixels.
func (e *videoEncoder) ensureGraph(f *astiav.Frame, out func(*astiav.Frame) error) error {
	if e.graph != nil && f.Width() == e.gW && f.Height() == e.gH && f.PixelFormat() == e.gFmt {
		return nil
	}
	if f.Width() <= 0 || f.Height() <= 0 {
		return fmt.Errorf("ladder: %s: decoded picture is %dx%d", e.r.name, f.Width(), f.Height())
	}
	if e.graph != nil {
		// The source changed size mid-stream: drain the old scaler.
		if err := e.graph.push(nil, false); err != nil {
			return err
		}
		if err := e.pull(out); err != nil {
			return err
		}
		e.graph.free()
		e.graph = nil
	}
	sw, sh := e.r.w, e.r.h
	if e.rotate == 90 || e.rotate == 270 {
		sw, sh = sh, sw
	}
	desc := scaleFilter(f, sw, sh) + ",format=yuv420p,setsar=1"
	if rf := rotateFilter(e.rotate); rf != "" {
		desc += "," + rf
	}
	g, err := newVideoGraph(f.Width(), f.Height(), f.PixelFormat(), f.SampleAspectRatio(), e.tb, desc)
	if err != nil {
		return fmt.Errorf("ladder: %s: %w", e.r.name, err)
	}
	e.graph, e.gW, e.gH, e.gFmt, e.desc = g, f.Width(), f.Height(), f.PixelFormat(), desc
	return nil
}

// hasZscale reports whether FFmpeg was built with zimg's zscale filter
// (Debian's is).
var hasZscale = sync.OnceValue(func() bool { return astiav.FindFilterByName("zscale") != nil })

// scaleFilter returns the filter resizing pictures like f to w x h.
// zimg's bilinear resize gives the same picture as swscale's (74 dB luma
// PSNR between the two, chroma 47-50 dB: chroma siting) for about half the
// CPU, and scaling is a good tenth of the ladder's CPU (measured). It is
// used for the usual decoder output, limited-range 8-bit 4:2:0 of even
// size, which it takes without any conversion; swscale takes the rest.
func scaleFilter(f *astiav.Frame, w, h int) string {
	if hasZscale() && f.PixelFormat() == astiav.PixelFormatYuv420P && f.ColorRange() != astiav.ColorRangeJpeg &&
		f.Width()%2 == 0 && f.Height()%2 == 0 {
		return fmt.Sprintf("zscale=w=%d:h=%d:filter=bilinear", w, h)
	}
	return fmt.Sprintf("scale=%d:%d:flags=bilinear", w, h)
}

// encode scales f (taking its buffers), hands each scaled picture to fwd
// (which may take a reference for the rungs scaled from this one) and
// encodes it; packets go to out.
func (e *videoEncoder) encode(f *astiav.Frame, fwd func(*astiav.Frame) error, out func(*astiav.Packet) error) error {
	if err := e.ensureGraph(f, func(sf *astiav.Frame) error { return e.encodeScaled(sf, fwd, out) }); err != nil {
		return err
	}
	if err := e.graph.push(f, false); err != nil {
		return fmt.Errorf("ladder: %s: %w", e.r.name, err)
	}
	return e.pull(func(sf *astiav.Frame) error { return e.encodeScaled(sf, fwd, out) })
}

func (e *videoEncoder) pull(fn func(*astiav.Frame) error) error {
	for {
		e.filt.Unref()
		if err := e.graph.pull(e.filt); err != nil {
			if again(err) {
				return nil
			}
			return fmt.Errorf("ladder: %s: scaling: %w", e.r.name, averr(err))
		}
		if err := fn(e.filt); err != nil {
			e.filt.Unref()
			return err
		}
	}
}

func (e *videoEncoder) encodeScaled(sf *astiav.Frame, fwd func(*astiav.Frame) error, out func(*astiav.Packet) error) error {
	if fwd != nil {
		if err := fwd(sf); err != nil {
			return err
		}
	}
	// The decoder's picture type would steer x264 (a decoded B picture
	// asks for a B frame): clear it, except at a cut.
	sf.SetPictureType(astiav.PictureTypeNone)
	pts90 := e.p.to90k(sf.Pts(), e.tb)
	force := e.frameCount == 0
	for e.nextCut < len(e.p.cuts) && e.p.cuts[e.nextCut] <= pts90 {
		force = true
		e.nextCut++
	}
	if force {
		sf.SetPictureType(astiav.PictureTypeI)
	}
	e.frameCount++
	if err := e.enc.SendFrame(sf); err != nil {
		return fmt.Errorf("ladder: %s: encoding: %w", e.r.name, averr(err))
	}
	return e.receive(out)
}

func (e *videoEncoder) receive(out func(*astiav.Packet) error) error {
	for {
		e.pkt.Unref()
		if err := e.enc.ReceivePacket(e.pkt); err != nil {
			if again(err) {
				return nil
			}
			return fmt.Errorf("ladder: %s: encoding: %w", e.r.name, averr(err))
		}
		if err := out(e.pkt); err != nil {
			return err
		}
	}
}

// flush drains the scaler and the encoder at the end of the input.
func (e *videoEncoder) flush(fwd func(*astiav.Frame) error, out func(*astiav.Packet) error) error {
	if e.graph != nil {
		if err := e.graph.push(nil, false); err != nil {
			return err
		}
		if err := e.pull(func(sf *astiav.Frame) error { return e.encodeScaled(sf, fwd, out) }); err != nil {
			return err
		}
	}
	if err := e.enc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("ladder: %s: draining encoder: %w", e.r.name, averr(err))
	}
	return e.receive(out)
}

func (e *videoEncoder) close() {
	e.graph.free()
	e.graph = nil
	if e.enc != nil {
		e.enc.Free()
		e.enc = nil
	}
	if e.filt != nil {
		e.filt.Free()
		e.filt = nil
	}
	if e.pkt != nil {
		e.pkt.Free()
		e.pkt = nil
	}
}

// toAVCC returns the access unit b with 4-byte NAL unit lengths, as the
// fMP4 init segment declares: b itself when it already has them.
func toAVCC(f nalFormat, b []byte) []byte {
	if f.lengthSize == 4 {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	f.each(b, func(n []byte) bool {
		l := len(n)
		out = append(out, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
		out = append(out, n...)
		return true
	})
	return out
}

// avcCodecs returns the RFC 6381 codecs value of an H.264 SPS.
func avcCodecs(sps []byte) string {
	if len(sps) < 4 {
		return "avc1"
	}
	return fmt.Sprintf("avc1.%02x%02x%02x", sps[1], sps[2], sps[3])
}
