package codec

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// Video codec names accepted in VideoInput.Codec.
const (
	// VideoCodecH264 is H.264 (RTSP "H264").
	VideoCodecH264 = "h264"
	// VideoCodecH265 is H.265/HEVC (RTSP "H265").
	VideoCodecH265 = "h265"
)

// H.264 profiles VideoOutput.Profile accepts.
const (
	// ProfileConstrainedBaseline is what every WebRTC endpoint decodes;
	// x264 signals it as profile-level-id 42c0xx.
	ProfileConstrainedBaseline = "baseline"
	// ProfileMain adds CABAC, about 10 % fewer bits for the same picture;
	// profile-level-id 4d40xx.
	ProfileMain = "main"
)

// VideoClockRate is the unit of video PTS: the 90 kHz RTP clock.
const VideoClockRate = 90000

const (
	// defaultGOP is the keyframe interval when VideoOutput.GOP is 0: a late
	// joiner or a viewer recovering from loss waits at most this long.
	defaultGOP = 2 * time.Second
	// defaultFPS is assumed when the SPS does not say; it only steers rate
	// control and the keyframe interval, timestamps come from the input.
	defaultFPS = 25
	// minForcedKeyframeInterval coalesces keyframe requests: a burst of PLIs
	// from many viewers after one loss costs one IDR, not one each.
	minForcedKeyframeInterval = VideoClockRate / 2
	// maxBackwardJump is how far input PTS may go back before it is taken
	// as a new publisher session rather than B-frame reordering.
	maxBackwardJump = VideoClockRate
	// x264Preset trades CPU for quality. veryfast keeps 720p well above
	// real time on one core of a small server while keeping deblocking and
	// sub-pixel motion search that ultrafast drops.
	x264Preset = "veryfast"
	// maxEncoderThreads bounds x264 slice threads: several streams share
	// the machine, and more slices cost bits.
	maxEncoderThreads = 4
)

// VideoInput describes the video track of a source, as announced in its SDP.
type VideoInput struct {
	// Codec is VideoCodecH264 or VideoCodecH265.
	Codec string
	// Params are the parameter sets from the SDP (sprop-parameter-sets:
	// SPS and PPS; sprop-vps/sps/pps for H.265), NAL units without start
	// codes. May be nil when the source sends them in-band; when given they
	// are inserted before keyframes that lack them.
	Params [][]byte
}

// VideoOutput describes the H.264 the VideoTranscoder makes.
type VideoOutput struct {
	// Width and Height bound the output size: the picture is scaled down
	// to fit inside them keeping its aspect ratio, never up. 0 for both
	// keeps the input size; 0 for one derives it from the other.
	// 640x360 gives the low rendition for rural links.
	Width, Height int
	// Bitrate is the target in bit/s, also used as the VBV max rate over a
	// one-second buffer. 0 picks one from the output size.
	Bitrate int
	// GOP is the keyframe interval; 0 means 2 s.
	GOP time.Duration
	// Profile is ProfileConstrainedBaseline (the default when empty) or
	// ProfileMain.
	Profile string
}

// VideoFrame is one encoded H.264 access unit.
type VideoFrame struct {
	// AU holds the NAL units without start codes. Keyframes start with SPS
	// and PPS. The slices belong to the caller.
	AU [][]byte
	// PTS is the presentation time in 90 kHz units, the input's PTS of the
	// same picture. Output has no B-frames, so PTS is also decode order.
	PTS int64
	// Key reports an IDR access unit.
	Key bool
}

// VideoTranscoder decodes H.264 with B-frames or H.265 and re-encodes it as
// browser-safe H.264 (no B-frames, yuv420p, SPS/PPS on every keyframe) with
// libx264 tuned for zero latency, optionally scaled down. A hub makes one
// per stream and rendition, never one per viewer.
//
// Latency: the encoder adds none; the decoder holds back as many frames as
// the source reorders (2 for x264 with 3 B-frames), which no transcoder can
// avoid. Transcode and Close must be called from one goroutine at a time;
// RequestKeyframe may be called from any goroutine.
type VideoTranscoder struct {
	in  VideoInput
	out VideoOutput

	decID   astiav.CodecID
	dec     *astiav.CodecContext
	pkt     *astiav.Packet
	frame   *astiav.Frame
	encPkt  *astiav.Packet
	enc     *astiav.CodecContext
	sws     *astiav.SoftwareScaleContext
	scaled  *astiav.Frame
	threads int

	// Encoder configuration, to notice a change of input picture.
	srcW, srcH int
	srcFmt     astiav.PixelFormat

	// Latest parameter sets, copied: from the SDP, then from the stream.
	vps, sps, pps []byte
	fps           float64

	started     bool // a keyframe has been fed to the decoder
	lastInPTS   int64
	lastEncPTS  int64
	encoded     bool  // lastEncPTS is set
	lastForced  int64 // PTS of the last forced keyframe
	forcedOnce  bool
	keyRequest  atomic.Bool
	annexb      []byte // reusable Annex-B copy of the input AU
	closed      bool
	frameStride int64 // nominal frame duration in 90 kHz, for missing PTS
}

// NewVideoTranscoder returns a transcoder with its decoder open. The
// encoder opens on the first decoded picture, once its size is known.
func NewVideoTranscoder(in VideoInput, out VideoOutput) (*VideoTranscoder, error) {
	t := &VideoTranscoder{in: in, out: out}
	switch in.Codec {
	case VideoCodecH264:
		t.decID = astiav.CodecIDH264
	case VideoCodecH265:
		t.decID = astiav.CodecIDHevc
	default:
		return nil, fmt.Errorf("%w: video %q", ErrUnsupportedCodec, in.Codec)
	}
	switch out.Profile {
	case "":
		t.out.Profile = ProfileConstrainedBaseline
	case ProfileConstrainedBaseline, ProfileMain:
	default:
		return nil, fmt.Errorf("codec: unsupported H.264 output profile %q", out.Profile)
	}
	if out.Width < 0 || out.Height < 0 || out.Bitrate < 0 || out.GOP < 0 {
		return nil, fmt.Errorf("codec: negative video output setting %+v", out)
	}
	if t.out.GOP == 0 {
		t.out.GOP = defaultGOP
	}
	if astiav.FindEncoderByName("libx264") == nil {
		return nil, fmt.Errorf("%w: FFmpeg has no libx264 encoder", ErrUnsupportedCodec)
	}
	t.threads = min(max(runtime.NumCPU(), 1), maxEncoderThreads)
	t.updateParams(in.Params)

	t.pkt = astiav.AllocPacket()
	t.encPkt = astiav.AllocPacket()
	t.frame = astiav.AllocFrame()
	if t.pkt == nil || t.encPkt == nil || t.frame == nil {
		t.Close()
		return nil, errors.New("codec: allocating video packets and frames failed")
	}
	if err := t.openDecoder(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *VideoTranscoder) openDecoder() error {
	c := astiav.FindDecoder(t.decID)
	if c == nil {
		return fmt.Errorf("%w: no %s decoder in this FFmpeg", ErrUnsupportedCodec, t.in.Codec)
	}
	t.dec = astiav.AllocCodecContext(c)
	if t.dec == nil {
		return errors.New("codec: allocating video decoder failed")
	}
	t.dec.SetTimeBase(astiav.NewRational(1, VideoClockRate))
	// Slice threads only: frame threads would add one frame of latency
	// per thread.
	t.dec.SetThreadType(astiav.ThreadTypeSlice)
	t.dec.SetThreadCount(t.threads)
	if err := t.dec.Open(c, nil); err != nil {
		return fmt.Errorf("codec: opening %s decoder: %w", t.in.Codec, err)
	}
	return nil
}

// updateParams keeps a copy of the parameter sets found in nalus.
func (t *VideoTranscoder) updateParams(nalus [][]byte) {
	var vps, sps, pps []byte
	if t.decID == astiav.CodecIDH264 {
		sps, pps = H264Params(nalus)
	} else {
		vps, sps, pps = H265Params(nalus)
	}
	if vps != nil && !bytes.Equal(vps, t.vps) {
		t.vps = append([]byte(nil), vps...)
	}
	if pps != nil && !bytes.Equal(pps, t.pps) {
		t.pps = append([]byte(nil), pps...)
	}
	if sps != nil && !bytes.Equal(sps, t.sps) {
		t.sps = append([]byte(nil), sps...)
		fps := 0.0
		if t.decID == astiav.CodecIDH264 {
			fps = h264SPSFPS(sps)
		} else {
			fps = h265SPSFPS(sps)
		}
		if fps >= 1 && fps <= 120 {
			t.fps = fps
		}
	}
}

// RequestKeyframe asks for the next output frame to be an IDR, as a viewer's
// PLI or FIR does. Requests closer than 500 ms to the previous forced
// keyframe wait until that much time has passed, so a burst costs one IDR.
func (t *VideoTranscoder) RequestKeyframe() {
	t.keyRequest.Store(true)
}

// Transcode takes one access unit in decode order (the order RTSP delivers
// them) with its PTS in 90 kHz, and returns the encoded access units that
// are ready: usually one, none while the decoder fills its reorder buffer.
//
// Access units before the first keyframe are dropped without error, since
// the decoder cannot start there. A corrupt access unit returns an error;
// the transcoder stays usable, and the decoder conceals or resynchronizes on
// the following ones. Frames produced before an error are returned with it.
// PTS going back more than a second is taken as a new publisher session:
// decoder and encoder restart and wait for a keyframe.
func (t *VideoTranscoder) Transcode(au [][]byte, pts int64) ([]VideoFrame, error) {
	if t.closed {
		return nil, ErrClosed
	}
	if err := t.checkAU(au); err != nil {
		return nil, err
	}
	t.updateParams(au)

	key := false
	if t.decID == astiav.CodecIDH264 {
		key = IsH264Keyframe(au)
	} else {
		key = IsH265Keyframe(au)
	}
	if t.started && pts < t.lastInPTS-maxBackwardJump {
		if err := t.restart(); err != nil {
			return nil, err
		}
	}
	if !t.started {
		if !key {
			return nil, nil
		}
		t.started = true
	}
	t.lastInPTS = pts

	t.buildAnnexB(au, key)
	t.pkt.Unref()
	if err := t.pkt.FromData(t.annexb); err != nil {
		return nil, fmt.Errorf("codec: preparing %s packet: %w", t.in.Codec, err)
	}
	t.pkt.SetSize(len(t.annexb) - avPaddingSize)
	t.pkt.SetPts(pts)
	t.pkt.SetDts(astiav.NoPtsValue)
	if key {
		t.pkt.SetFlags(astiav.NewPacketFlags(astiav.PacketFlagKey))
	}
	err := t.dec.SendPacket(t.pkt)
	t.pkt.Unref()
	if err != nil {
		return nil, fmt.Errorf("codec: decoding %s access unit: %w", t.in.Codec, avError(err))
	}

	var out []VideoFrame
	for {
		t.frame.Unref()
		if err := t.dec.ReceiveFrame(t.frame); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return out, nil
			}
			return out, fmt.Errorf("codec: decoding %s access unit: %w", t.in.Codec, avError(err))
		}
		if out, err = t.encode(t.frame, out); err != nil {
			t.frame.Unref()
			return out, err
		}
	}
}

// checkAU rejects what is not an access unit at all, before it reaches the
// decoder: FFmpeg skips such NAL units silently, and the caller deserves to
// know its source sends garbage.
func (t *VideoTranscoder) checkAU(au [][]byte) error {
	if len(au) == 0 {
		return fmt.Errorf("codec: empty %s access unit", t.in.Codec)
	}
	minLen := 1
	if t.decID == astiav.CodecIDHevc {
		minLen = 2
	}
	for i, nalu := range au {
		if len(nalu) < minLen {
			return fmt.Errorf("codec: %s access unit: NAL unit %d is %d bytes", t.in.Codec, i, len(nalu))
		}
		if nalu[0]&0x80 != 0 {
			return fmt.Errorf("codec: %s access unit: NAL unit %d has forbidden_zero_bit set", t.in.Codec, i)
		}
		if t.decID == astiav.CodecIDH264 && nalu[0]&0x1f == 0 {
			return fmt.Errorf("codec: h264 access unit: NAL unit %d has type 0", i)
		}
	}
	return nil
}

// buildAnnexB writes au with start codes and decoder padding into t.annexb,
// putting the known parameter sets first on a keyframe that lacks them
// (sources that send them only in the SDP).
func (t *VideoTranscoder) buildAnnexB(au [][]byte, key bool) {
	b := t.annexb[:0]
	startCode := []byte{0, 0, 0, 1}
	if key {
		var vps, sps, pps []byte
		if t.decID == astiav.CodecIDH264 {
			sps, pps = H264Params(au)
		} else {
			vps, sps, pps = H265Params(au)
		}
		if t.decID == astiav.CodecIDHevc && vps == nil && t.vps != nil {
			b = append(append(b, startCode...), t.vps...)
		}
		if sps == nil && t.sps != nil {
			b = append(append(b, startCode...), t.sps...)
		}
		if pps == nil && t.pps != nil {
			b = append(append(b, startCode...), t.pps...)
		}
	}
	for _, nalu := range au {
		b = append(append(b, startCode...), nalu...)
	}
	t.annexb = append(b, zeroPadding[:]...)
}

// restart drops decoder and encoder state for a new publisher session.
func (t *VideoTranscoder) restart() error {
	t.closeEncoder()
	if t.dec != nil {
		t.dec.Free()
		t.dec = nil
	}
	t.started = false
	t.encoded = false
	t.forcedOnce = false
	return t.openDecoder()
}

// encode sends one decoded picture to the encoder (opening it, or
// reopening it if the picture size or format changed) and appends the
// access units that come out.
func (t *VideoTranscoder) encode(f *astiav.Frame, out []VideoFrame) ([]VideoFrame, error) {
	if t.enc == nil || f.Width() != t.srcW || f.Height() != t.srcH || f.PixelFormat() != t.srcFmt {
		if err := t.openEncoder(f); err != nil {
			return out, err
		}
	}

	// x264 wants strictly increasing PTS; the decoder may leave a frame
	// without one after a loss.
	pts := f.Pts()
	if pts == astiav.NoPtsValue {
		pts = t.lastEncPTS + t.frameStride
	}
	if t.encoded && pts <= t.lastEncPTS {
		pts = t.lastEncPTS + 1
	}

	src := f
	if t.sws != nil {
		if err := t.sws.ScaleFrame(f, t.scaled); err != nil {
			return out, fmt.Errorf("codec: scaling video: %w", err)
		}
		src = t.scaled
	}
	src.SetPts(pts)
	// The decoder's picture type would force x264's choice (a decoded B
	// picture asks for a B frame): clear it, except for a keyframe request.
	src.SetPictureType(astiav.PictureTypeNone)
	if t.keyRequest.Load() && (!t.forcedOnce || pts-t.lastForced >= minForcedKeyframeInterval) {
		t.keyRequest.Store(false)
		src.SetPictureType(astiav.PictureTypeI)
		t.lastForced, t.forcedOnce = pts, true
	}

	if err := t.enc.SendFrame(src); err != nil {
		return out, fmt.Errorf("codec: encoding H.264: %w", avError(err))
	}
	t.lastEncPTS, t.encoded = pts, true

	for {
		t.encPkt.Unref()
		if err := t.enc.ReceivePacket(t.encPkt); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return out, nil
			}
			return out, fmt.Errorf("codec: encoding H.264: %w", avError(err))
		}
		var a h264.AnnexB
		if err := a.Unmarshal(t.encPkt.Data()); err != nil {
			return out, fmt.Errorf("codec: splitting x264 output: %w", err)
		}
		out = append(out, VideoFrame{
			AU:  a,
			PTS: t.encPkt.Pts(),
			Key: t.encPkt.Flags().Has(astiav.PacketFlagKey),
		})
	}
}

// openEncoder (re)creates the scaler and the x264 encoder for pictures like
// f. The first output after it is an IDR with SPS and PPS.
func (t *VideoTranscoder) openEncoder(f *astiav.Frame) error {
	t.closeEncoder()
	srcW, srcH, srcFmt := f.Width(), f.Height(), f.PixelFormat()
	if srcW < 2 || srcH < 2 {
		return fmt.Errorf("codec: decoded picture is %dx%d", srcW, srcH)
	}
	w, h := fitSize(srcW, srcH, t.out.Width, t.out.Height)

	fps := t.fps
	if fps == 0 {
		fps = defaultFPS
	}
	t.frameStride = int64(math.Round(VideoClockRate / fps))
	gop := max(int(math.Round(t.out.GOP.Seconds()*fps)), 1)
	bitrate := t.out.Bitrate
	if bitrate == 0 {
		bitrate = autoBitrate(w, h)
	}

	if w != srcW || h != srcH || srcFmt != astiav.PixelFormatYuv420P {
		sws, err := astiav.CreateSoftwareScaleContext(srcW, srcH, srcFmt, w, h, astiav.PixelFormatYuv420P,
			astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
		if err != nil {
			return fmt.Errorf("codec: creating scaler %dx%d %s -> %dx%d: %w", srcW, srcH, srcFmt.Name(), w, h, err)
		}
		t.sws = sws
		// One output picture, reused: x264 copies each input picture before
		// SendFrame returns.
		t.scaled = astiav.AllocFrame()
		t.scaled.SetWidth(w)
		t.scaled.SetHeight(h)
		t.scaled.SetPixelFormat(astiav.PixelFormatYuv420P)
		if err := t.scaled.AllocBuffer(0); err != nil {
			return fmt.Errorf("codec: allocating scaled picture: %w", err)
		}
	}

	c := astiav.FindEncoderByName("libx264")
	if c == nil {
		return fmt.Errorf("%w: FFmpeg has no libx264 encoder", ErrUnsupportedCodec)
	}
	t.enc = astiav.AllocCodecContext(c)
	if t.enc == nil {
		return errors.New("codec: allocating libx264 encoder failed")
	}
	t.enc.SetWidth(w)
	t.enc.SetHeight(h)
	t.enc.SetPixelFormat(astiav.PixelFormatYuv420P)
	t.enc.SetSampleAspectRatio(f.SampleAspectRatio())
	t.enc.SetTimeBase(astiav.NewRational(1, VideoClockRate))
	// The frame rate only informs rate control and level; timestamps are
	// the input's (x264 runs in variable frame rate mode).
	t.enc.SetFramerate(astiav.NewRational(int(math.Round(fps*1000)), 1000))
	t.enc.SetGopSize(gop)
	t.enc.SetBitRate(int64(bitrate))
	t.enc.SetThreadCount(t.threads)

	opts := astiav.NewDictionary()
	defer opts.Free()
	kbps := strconv.Itoa(bitrate / 1000)
	for _, kv := range [][2]string{
		{"preset", x264Preset},
		{"tune", "zerolatency"}, // no lookahead, no frame threads: a frame in, a frame out
		{"profile", t.out.Profile},
		{"bf", "0"},
		{"forced-idr", "1"}, // a requested keyframe is an IDR, not an open-GOP I
		{"keyint_min", strconv.Itoa(max(gop/2, 1))},
		// Without the global header flag x264 repeats SPS/PPS before
		// every IDR, so a late joiner can decode; the VBV keeps the
		// bitrate within what the viewers' links were sized for.
		{"x264-params", "repeat-headers=1:vbv-maxrate=" + kbps + ":vbv-bufsize=" + kbps},
	} {
		if err := opts.Set(kv[0], kv[1], 0); err != nil {
			return fmt.Errorf("codec: setting libx264 option %s: %w", kv[0], err)
		}
	}
	if err := t.enc.Open(c, opts); err != nil {
		return fmt.Errorf("codec: opening libx264 %dx%d: %w", w, h, err)
	}
	t.srcW, t.srcH, t.srcFmt = srcW, srcH, srcFmt
	return nil
}

func (t *VideoTranscoder) closeEncoder() {
	if t.enc != nil {
		t.enc.Free()
		t.enc = nil
	}
	if t.sws != nil {
		t.sws.Free()
		t.sws = nil
	}
	if t.scaled != nil {
		t.scaled.Free()
		t.scaled = nil
	}
	t.srcW, t.srcH = 0, 0
}

// fitSize returns the output size for a srcW x srcH picture bounded by
// reqW x reqH (0 = unbounded): aspect ratio kept, never upscaled, even
// dimensions as 4:2:0 requires.
func fitSize(srcW, srcH, reqW, reqH int) (w, h int) {
	w, h = srcW, srcH
	switch {
	case reqW > 0 && reqH > 0:
		if reqW*srcH <= reqH*srcW {
			w, h = reqW, (reqW*srcH+srcW/2)/srcW
		} else {
			w, h = (reqH*srcW+srcH/2)/srcH, reqH
		}
	case reqW > 0:
		w, h = reqW, (reqW*srcH+srcW/2)/srcW
	case reqH > 0:
		w, h = (reqH*srcW+srcH/2)/srcH, reqH
	}
	if w > srcW || h > srcH {
		w, h = srcW, srcH
	}
	return max(w&^1, 2), max(h&^1, 2)
}

// autoBitrate picks a bitrate for a live classroom picture (mostly static:
// a teacher, a board, slides) by size, in bit/s.
func autoBitrate(w, h int) int {
	switch px := w * h; {
	case px <= 640*360:
		return 600_000
	case px <= 854*480:
		return 1_000_000
	case px <= 1280*720:
		return 2_000_000
	case px <= 1920*1080:
		return 3_500_000
	default:
		return 6_000_000
	}
}

// Close frees the decoder, scaler and encoder. Pictures still in the
// decoder's reorder buffer are dropped. Close is safe to call more than
// once.
func (t *VideoTranscoder) Close() {
	if t.closed {
		return
	}
	t.closed = true
	t.closeEncoder()
	if t.dec != nil {
		t.dec.Free()
		t.dec = nil
	}
	if t.pkt != nil {
		t.pkt.Free()
		t.pkt = nil
	}
	if t.encPkt != nil {
		t.encPkt.Free()
		t.encPkt = nil
	}
	if t.frame != nil {
		t.frame.Free()
		t.frame = nil
	}
}
