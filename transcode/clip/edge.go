package clip

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"strconv"

	"github.com/asticode/go-astiav"

	"github.com/classcast/classcast/transcode/ladder"
)

// vSample is a video access unit on the lesson's 90 kHz timeline, AVCC (4-byte
// lengths).
type vSample struct {
	dts, pts int64
	key      bool
	data     []byte
}

// encParams set up x264 for one rung's edges so they match the rung: size, profile,
// level and bit rate of the copied segments around them, and parameter set ids of
// their own.
type encParams struct {
	w, h    int
	fps     astiav.Rational
	bitrate int
	preset  string
	profile string // x264 profile name
	level   int    // level_idc
	spsID   int
}

// edgeOut is what re-encoding one partial GOP gave.
type edgeOut struct {
	aus      []vSample // encoded, lesson timeline, decode order
	sps, pps []byte
	poster   image.Image // the picture at posterAt, when asked for
	frames   int         // pictures encoded
}

var tb90 = astiav.NewRational(1, clock90k)

// transcodeRange decodes the GOP in samples (decode order, starting at an IDR) with
// the decoder configuration avcc, and re-encodes the pictures whose times fall in
// [lo, hi) with x264, the first as an IDR. With enc nil it only decodes, for the
// poster. posterAt >= 0 asks for the picture at that time as an image. A GOP that does
// not decode into every picture it should is corrupt: the error wraps ErrBadInput.
func transcodeRange(ctx context.Context, avcc []byte, samples []vSample, lo, hi int64, enc *encParams, posterAt int64) (res edgeOut, err error) {
	want := 0
	for _, s := range samples {
		if s.pts >= lo && s.pts < hi {
			want++
		}
	}
	if want == 0 {
		return res, fmt.Errorf("%w: no picture between %d and %d", ladder.ErrBadInput, lo, hi)
	}
	dc := astiav.FindDecoder(astiav.CodecIDH264)
	if dc == nil {
		return res, errors.New("FFmpeg has no H.264 decoder")
	}
	dec := astiav.AllocCodecContext(dc)
	if dec == nil {
		return res, errors.New("allocating H.264 decoder failed")
	}
	defer dec.Free()
	if err := dec.SetExtraData(avcc); err != nil {
		return res, fmt.Errorf("decoder configuration: %w", err)
	}
	dec.SetTimeBase(tb90)
	dec.SetThreadCount(2)
	dec.SetThreadType(astiav.ThreadTypeFrame)
	if err := dec.Open(dc, nil); err != nil {
		return res, fmt.Errorf("opening H.264 decoder: %w", err)
	}
	pkt, frame, opkt := astiav.AllocPacket(), astiav.AllocFrame(), astiav.AllocPacket()
	if pkt == nil || frame == nil || opkt == nil {
		return res, errors.New("allocating packets failed")
	}
	defer pkt.Free()
	defer frame.Free()
	defer opkt.Free()

	var x *astiav.CodecContext
	defer func() {
		if x != nil {
			x.Free()
		}
	}()
	receive := func() error {
		for {
			opkt.Unref()
			if err := x.ReceivePacket(opkt); err != nil {
				if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
					return nil
				}
				return fmt.Errorf("encoding: %w", err)
			}
			dts := opkt.Dts()
			if dts == astiav.NoPtsValue {
				dts = opkt.Pts()
			}
			res.aus = append(res.aus, vSample{
				pts: opkt.Pts(), dts: dts,
				key:  opkt.Flags().Has(astiav.PacketFlagKey),
				data: toAVCC(opkt.Data()),
			})
		}
	}
	openEncoder := func(f *astiav.Frame) error {
		if f.Width() != enc.w || f.Height() != enc.h {
			return fmt.Errorf("%w: decoded picture is %dx%d, the rendition says %dx%d", ladder.ErrBadInput, f.Width(), f.Height(), enc.w, enc.h)
		}
		pf := f.PixelFormat()
		if pf != astiav.PixelFormatYuv420P && pf != astiav.PixelFormatYuvj420P {
			return fmt.Errorf("%w: decoded pictures are %s, not 8-bit 4:2:0", ladder.ErrBadInput, pf.Name())
		}
		c := astiav.FindEncoderByName("libx264")
		if c == nil {
			return errors.New("FFmpeg has no libx264 encoder")
		}
		if x = astiav.AllocCodecContext(c); x == nil {
			return errors.New("allocating libx264 encoder failed")
		}
		x.SetWidth(enc.w)
		x.SetHeight(enc.h)
		x.SetPixelFormat(pf)
		x.SetSampleAspectRatio(astiav.NewRational(1, 1))
		x.SetTimeBase(tb90)
		x.SetFramerate(enc.fps)
		x.SetBitRate(int64(enc.bitrate))
		// Parameter sets go to extradata, for the init segment, not in-band.
		x.SetFlags(x.Flags().Add(astiav.CodecContextFlagGlobalHeader))
		kbps := strconv.Itoa(enc.bitrate / 1000)
		d := astiav.NewDictionary()
		defer d.Free()
		for _, kv := range [][2]string{
			{"preset", enc.preset},
			{"profile", enc.profile},
			{"level", fmt.Sprintf("%d.%d", enc.level/10, enc.level%10)},
			{"forced-idr", "1"},
			// sps-id gives the edges' SPS and PPS ids the copied segments do not
			// use, so both pairs live in one init segment and one decoder
			// switches between them at each IDR. Keyframes only where forced,
			// closed GOPs, and the rung's VBV, as the ladder encodes.
			{"x264-params", "sps-id=" + strconv.Itoa(enc.spsID) + ":keyint=infinite:scenecut=0:open-gop=0:vbv-maxrate=" + kbps + ":vbv-bufsize=" + strconv.Itoa(2*enc.bitrate/1000)},
		} {
			if err := d.Set(kv[0], kv[1], 0); err != nil {
				return fmt.Errorf("x264 option %s: %w", kv[0], err)
			}
		}
		if err := x.Open(c, d); err != nil {
			return fmt.Errorf("opening libx264 %dx%d: %w", enc.w, enc.h, err)
		}
		annexBUnits(x.ExtraData(), func(n []byte) {
			switch n[0] & 0x1f {
			case 7:
				res.sps = append([]byte(nil), n...)
			case 8:
				res.pps = append([]byte(nil), n...)
			}
		})
		if res.sps == nil || res.pps == nil {
			return errors.New("libx264 gave no SPS/PPS")
		}
		return nil
	}
	onFrame := func(f *astiav.Frame) error {
		pts := f.Pts()
		if pts == astiav.NoPtsValue {
			pts = f.PktDts()
		}
		if pts < lo || pts >= hi {
			return nil
		}
		if posterAt >= 0 && pts == posterAt && res.poster == nil {
			img, err := pictureImage(f)
			if err != nil {
				return fmt.Errorf("poster picture: %w", err)
			}
			res.poster = img
		}
		res.frames++
		if enc == nil {
			return nil
		}
		if x == nil {
			if err := openEncoder(f); err != nil {
				return err
			}
		}
		f.SetPts(pts)
		// The first picture starts the clip (or the GOP): an IDR; the others are
		// x264's choice, whatever the decoder says they were.
		if res.frames == 1 {
			f.SetPictureType(astiav.PictureTypeI)
		} else {
			f.SetPictureType(astiav.PictureTypeNone)
		}
		if err := x.SendFrame(f); err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
		return receive()
	}
	decodeErrs := 0
	drain := func() error {
		for {
			frame.Unref()
			if err := dec.ReceiveFrame(frame); err != nil {
				if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
					return nil
				}
				decodeErrs++
				return nil
			}
			if err := onFrame(frame); err != nil {
				return err
			}
		}
	}
	for _, s := range samples {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		pkt.Unref()
		// FFmpeg's decoders read a little past the data: give them zeroed padding.
		if err := pkt.FromData(append(append(make([]byte, 0, len(s.data)+64), s.data...), make([]byte, 64)...)); err != nil {
			return res, fmt.Errorf("packet: %w", err)
		}
		pkt.SetSize(len(s.data))
		pkt.SetPts(s.pts)
		pkt.SetDts(s.dts)
		if s.key {
			pkt.SetFlags(pkt.Flags().Add(astiav.PacketFlagKey))
		}
		if err := dec.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEagain) {
			decodeErrs++
		}
		if err := drain(); err != nil {
			return res, err
		}
		if res.frames == want {
			// Every picture of the range is out (a tail edge ends before its
			// segment does): the rest need not be decoded.
			break
		}
	}
	if err := dec.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		decodeErrs++
	}
	if err := drain(); err != nil {
		return res, err
	}
	if decodeErrs > 0 || res.frames != want {
		return res, fmt.Errorf("%w: the GOP is corrupt: %d of %d pictures decoded, %d decode errors", ladder.ErrBadInput, res.frames, want, decodeErrs)
	}
	if posterAt >= 0 && res.poster == nil {
		return res, fmt.Errorf("%w: no picture at the clip's start", ladder.ErrBadInput)
	}
	if x != nil {
		if err := x.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
			return res, fmt.Errorf("draining encoder: %w", err)
		}
		if err := receive(); err != nil {
			return res, err
		}
		if len(res.aus) != res.frames {
			return res, fmt.Errorf("x264 gave %d pictures for %d", len(res.aus), res.frames)
		}
		if !res.aus[0].key {
			return res, errors.New("x264 did not start with a keyframe")
		}
	}
	return res, nil
}

// x264Profile names the x264 profile for an SPS's profile_idc; the edges never use a
// higher profile than the segments around them.
func x264Profile(profileIdc byte) string {
	switch profileIdc {
	case 66:
		return "baseline"
	case 77, 88:
		return "main"
	}
	return "high"
}

// fpsRational turns the master playlist's FRAME-RATE (three decimals) back into a
// rational: whole rates, NTSC's n*1000/1001, else from the picture duration.
func fpsRational(fps float64, frameDur int64) astiav.Rational {
	if fps > 0 {
		if n := math.Round(fps); math.Abs(fps-n) < 0.002 {
			return astiav.NewRational(int(n), 1)
		}
		if n := math.Round(fps * 1.001); math.Abs(fps-n/1.001) < 0.002 {
			return astiav.NewRational(int(n)*1000, 1001)
		}
	}
	return astiav.NewRational(clock90k, int(max(frameDur, 1)))
}

// pictureImage copies a decoded 4:2:0 picture into an image. It copies through
// av_image_copy_to_buffer: go-astiav 0.16's FrameData.ToImage reads each chroma plane
// as if it were as tall as the picture, past the end of FFmpeg's buffer (a crash).
func pictureImage(f *astiav.Frame) (*image.YCbCr, error) {
	pf := f.PixelFormat()
	if pf != astiav.PixelFormatYuv420P && pf != astiav.PixelFormatYuvj420P {
		return nil, fmt.Errorf("%w: pictures are %s, not 8-bit 4:2:0", ladder.ErrBadInput, pf.Name())
	}
	b, err := f.Data().Bytes(1)
	if err != nil {
		return nil, err
	}
	w, h := f.Width(), f.Height()
	cw, ch := (w+1)/2, (h+1)/2
	if len(b) < w*h+2*cw*ch {
		return nil, fmt.Errorf("picture buffer of %d bytes for %dx%d", len(b), w, h)
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	copy(img.Y, b[:w*h])
	copy(img.Cb, b[w*h:w*h+cw*ch])
	copy(img.Cr, b[w*h+cw*ch:w*h+2*cw*ch])
	return img, nil
}
