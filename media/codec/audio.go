package codec

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/asticode/go-astiav"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Audio codec names accepted in AudioInput.Codec.
const (
	// AudioCodecAAC is MPEG-4 AAC (RTSP "mpeg4-generic"), raw access units
	// without ADTS headers, described by an AudioSpecificConfig.
	AudioCodecAAC = "aac"
	// AudioCodecPCMU is G.711 mu-law (RTP payload type 0).
	AudioCodecPCMU = "pcmu"
	// AudioCodecPCMA is G.711 A-law (RTP payload type 8).
	AudioCodecPCMA = "pcma"
)

// Opus output parameters. Browsers negotiate opus/48000/2 whatever the
// source, so the output is always 48 kHz stereo.
const (
	// OpusSampleRate is the sample rate of the Opus output and the unit of
	// OpusPacket.PTS.
	OpusSampleRate = 48000
	// OpusChannels is the channel count of the Opus output; mono sources
	// are upmixed.
	OpusChannels = 2
	// OpusFrameSamples is the duration of one OpusPacket: 20 ms at 48 kHz.
	OpusFrameSamples = 960
	// OpusBitrate is the target bitrate of the Opus output, in bit/s: clear
	// speech and music in stereo, small next to the video.
	OpusBitrate = 64000
)

// maxAudioDrift is how far, in 48 kHz samples, the output clock may drift
// from the input timestamps before the transcoder re-anchors on them: 100 ms
// absorbs timestamp jitter without an audible step, and keeps lip sync
// within what viewers notice when AUs are lost or a publisher restarts (a
// jump of a second or more is always re-anchored at once).
const maxAudioDrift = OpusSampleRate / 10

// avPaddingSize is AV_INPUT_BUFFER_PADDING_SIZE of FFmpeg 5.1: decoders may
// read this many bytes past the end of a packet, so they must be there and
// be zero.
const avPaddingSize = 64

var zeroPadding [avPaddingSize]byte

// ErrUnsupportedCodec is returned by the constructors for a codec they
// cannot transcode.
var ErrUnsupportedCodec = errors.New("codec: unsupported codec")

// ErrClosed is returned by Transcode after Close.
var ErrClosed = errors.New("codec: transcoder closed")

// AudioInput describes the audio track of a source, as announced in its SDP.
type AudioInput struct {
	// Codec is AudioCodecAAC, AudioCodecPCMU or AudioCodecPCMA.
	Codec string
	// SampleRate is the clock rate of the PTS given to Transcode, normally
	// the RTP clock rate. 0 means the sample rate of Config for AAC and
	// 8000 for G.711.
	SampleRate int
	// Channels is the channel count of G.711 input: 1 (0 means 1) or 2. AAC
	// takes its channels from Config.
	Channels int
	// Config is the AAC AudioSpecificConfig (the "config" parameter of the
	// SDP fmtp line). Required for AAC, ignored for G.711.
	Config []byte
}

// OpusPacket is one 20 ms Opus packet.
type OpusPacket struct {
	// Data is the Opus packet; it belongs to the caller.
	Data []byte
	// PTS is the presentation time of the first sample, in 48 kHz units.
	PTS int64
}

// AudioTranscoder converts one audio track to Opus 48 kHz stereo, 20 ms per
// packet, for WebRTC. A hub makes one per stream, never one per viewer.
//
// Transcode and Close must be called from one goroutine at a time.
type AudioTranscoder struct {
	in        AudioInput
	clockRate int // units of the input PTS

	dec      *astiav.CodecContext
	enc      *astiav.CodecContext
	pkt      *astiav.Packet
	encPkt   *astiav.Packet
	decFrame *astiav.Frame
	outFrame *astiav.Frame

	// The filter graph resamples, remixes to stereo and regroups samples
	// into frames of exactly the encoder frame size (asetnsamples plays the
	// role of an audio FIFO, which go-astiav v0.16.0 does not wrap). It is
	// built from the first decoded frame and rebuilt if the decoder output
	// changes (HE-AAC signalled late, channel count change).
	graph     *astiav.FilterGraph
	src, sink *astiav.FilterContext
	graphRate int
	graphFmt  astiav.SampleFormat
	graphCh   astiav.ChannelLayout
	sinkTB    astiav.Rational

	frameSize int     // samples per encoder frame
	nextPTS   int64   // PTS of the next frame sent to the encoder
	anchored  bool    // nextPTS has been set from an input timestamp
	pending   []int64 // PTS of frames sent to the encoder, not yet out
	padded    []byte  // reusable copy of the AU plus decoder padding
	closed    bool
}

// NewAudioTranscoder returns a transcoder for the described input, with its
// decoder and Opus encoder open. It prefers libopus and falls back to
// FFmpeg's native (experimental) Opus encoder when libopus is absent.
func NewAudioTranscoder(in AudioInput) (*AudioTranscoder, error) {
	t := &AudioTranscoder{in: in}
	if err := t.open(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *AudioTranscoder) open() error {
	var decID astiav.CodecID
	switch t.in.Codec {
	case AudioCodecAAC:
		decID = astiav.CodecIDAac
		var conf mpeg4audio.AudioSpecificConfig
		if len(t.in.Config) == 0 {
			return errors.New("codec: AAC input needs its AudioSpecificConfig")
		}
		if err := conf.Unmarshal(t.in.Config); err != nil {
			return fmt.Errorf("codec: invalid AAC AudioSpecificConfig %x: %w", t.in.Config, err)
		}
		t.clockRate = t.in.SampleRate
		if t.clockRate <= 0 {
			t.clockRate = conf.SampleRate
		}
	case AudioCodecPCMU, AudioCodecPCMA:
		decID = astiav.CodecIDPcmMulaw
		if t.in.Codec == AudioCodecPCMA {
			decID = astiav.CodecIDPcmAlaw
		}
		t.clockRate = t.in.SampleRate
		if t.clockRate <= 0 {
			t.clockRate = 8000
		}
	default:
		return fmt.Errorf("%w: audio %q", ErrUnsupportedCodec, t.in.Codec)
	}
	if t.clockRate <= 0 {
		return fmt.Errorf("codec: invalid audio sample rate %d", t.clockRate)
	}

	if err := t.openDecoder(decID); err != nil {
		return err
	}
	if err := t.openEncoder(); err != nil {
		return err
	}
	t.pkt = astiav.AllocPacket()
	t.encPkt = astiav.AllocPacket()
	t.decFrame = astiav.AllocFrame()
	t.outFrame = astiav.AllocFrame()
	if t.pkt == nil || t.encPkt == nil || t.decFrame == nil || t.outFrame == nil {
		return errors.New("codec: allocating audio packets and frames failed")
	}
	return nil
}

func (t *AudioTranscoder) openDecoder(id astiav.CodecID) error {
	c := astiav.FindDecoder(id)
	if c == nil {
		return fmt.Errorf("%w: no %s decoder in this FFmpeg", ErrUnsupportedCodec, t.in.Codec)
	}
	t.dec = astiav.AllocCodecContext(c)
	if t.dec == nil {
		return errors.New("codec: allocating audio decoder failed")
	}
	t.dec.SetTimeBase(astiav.NewRational(1, t.clockRate))
	if t.in.Codec == AudioCodecAAC {
		// The AAC decoder takes rate and channels from the config.
		if err := t.dec.SetExtraData(t.in.Config); err != nil {
			return fmt.Errorf("codec: setting AAC config: %w", err)
		}
	} else {
		switch t.in.Channels {
		case 0, 1:
			t.dec.SetChannelLayout(astiav.ChannelLayoutMono)
		case 2:
			t.dec.SetChannelLayout(astiav.ChannelLayoutStereo)
		default:
			return fmt.Errorf("%w: G.711 with %d channels", ErrUnsupportedCodec, t.in.Channels)
		}
		t.dec.SetSampleRate(t.clockRate)
	}
	if err := t.dec.Open(c, nil); err != nil {
		return fmt.Errorf("codec: opening %s decoder: %w", t.in.Codec, err)
	}
	return nil
}

func (t *AudioTranscoder) openEncoder() error {
	c := astiav.FindEncoderByName("libopus")
	native := c == nil
	if native {
		c = astiav.FindEncoder(astiav.CodecIDOpus)
	}
	if c == nil {
		return fmt.Errorf("%w: no Opus encoder in this FFmpeg", ErrUnsupportedCodec)
	}
	t.enc = astiav.AllocCodecContext(c)
	if t.enc == nil {
		return errors.New("codec: allocating Opus encoder failed")
	}
	// Interleaved float when offered (libopus), else what the encoder
	// lists first (fltp for the native one).
	fmts := c.SampleFormats()
	sf := astiav.SampleFormatFlt
	if !containsSampleFormat(fmts, sf) && len(fmts) > 0 {
		sf = fmts[0]
	}
	t.enc.SetSampleFormat(sf)
	t.enc.SetSampleRate(OpusSampleRate)
	t.enc.SetChannelLayout(astiav.ChannelLayoutStereo)
	t.enc.SetBitRate(OpusBitrate)
	t.enc.SetTimeBase(astiav.NewRational(1, OpusSampleRate))
	if native {
		t.enc.SetStrictStdCompliance(astiav.StrictStdComplianceExperimental)
	}

	opts := astiav.NewDictionary()
	defer opts.Free()
	if !native {
		// 20 ms is what WebRTC peers expect by default (ptime 20).
		if err := opts.Set("frame_duration", "20", 0); err != nil {
			return fmt.Errorf("codec: setting Opus options: %w", err)
		}
	}
	if err := t.enc.Open(c, opts); err != nil {
		return fmt.Errorf("codec: opening %s encoder: %w", c.Name(), err)
	}
	t.frameSize = t.enc.FrameSize()
	if t.frameSize <= 0 {
		t.frameSize = OpusFrameSamples
	}
	return nil
}

// ffmpegError gives an FFmpeg error code a message: go-astiav returns an
// empty one for codes av_strerror does not know (the AAC decoder's -1).
type ffmpegError struct{ code astiav.Error }

func (e ffmpegError) Error() string { return "FFmpeg error " + strconv.Itoa(int(e.code)) }

// Unwrap lets errors.Is match the astiav.Error.
func (e ffmpegError) Unwrap() error { return e.code }

// avError returns err, or an error with a readable message when err is an
// astiav.Error without one.
func avError(err error) error {
	var e astiav.Error
	if errors.As(err, &e) && e.Error() == "" {
		return ffmpegError{code: e}
	}
	return err
}

func containsSampleFormat(fmts []astiav.SampleFormat, f astiav.SampleFormat) bool {
	for _, v := range fmts {
		if v == f {
			return true
		}
	}
	return false
}

// Transcode decodes one input access unit whose presentation time is pts,
// in units of the input sample rate, and returns the Opus packets that are
// complete so far: zero or more, each of OpusFrameSamples samples with PTS
// in 48 kHz units. PTS advance by exactly OpusFrameSamples while the input
// timestamps are continuous; when they drift from the decoded sample count
// by more than 100 ms (lost AUs, a publisher restart) the output re-anchors
// on the input.
//
// A corrupt access unit returns an error and produces nothing; the
// transcoder stays usable and the next good access unit decodes normally.
// G.711 has no syntax to check, so garbage there decodes as noise.
func (t *AudioTranscoder) Transcode(au []byte, pts int64) ([]OpusPacket, error) {
	if t.closed {
		return nil, ErrClosed
	}
	if len(au) == 0 {
		return nil, fmt.Errorf("codec: empty %s access unit", t.in.Codec)
	}

	// FFmpeg needs zeroed padding after the payload; FromData copies into
	// a buffer of exactly our length, so the padding is appended here and
	// hidden again with SetSize.
	t.padded = append(append(t.padded[:0], au...), zeroPadding[:]...)
	t.pkt.Unref()
	if err := t.pkt.FromData(t.padded); err != nil {
		return nil, fmt.Errorf("codec: preparing %s packet: %w", t.in.Codec, err)
	}
	t.pkt.SetSize(len(au))
	t.pkt.SetPts(pts)
	t.pkt.SetDts(pts)

	err := t.dec.SendPacket(t.pkt)
	t.pkt.Unref()
	if err != nil {
		return nil, fmt.Errorf("codec: decoding %s access unit: %w", t.in.Codec, avError(err))
	}

	var out []OpusPacket
	for {
		t.decFrame.Unref()
		if err := t.dec.ReceiveFrame(t.decFrame); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				break
			}
			return out, fmt.Errorf("codec: decoding %s access unit: %w", t.in.Codec, avError(err))
		}
		if out, err = t.filterAndEncode(t.decFrame, out); err != nil {
			t.decFrame.Unref()
			return out, err
		}
	}
	return out, nil
}

// filterAndEncode pushes one decoded frame through the filter graph and the
// encoder, appending the packets that come out to out.
func (t *AudioTranscoder) filterAndEncode(f *astiav.Frame, out []OpusPacket) ([]OpusPacket, error) {
	if err := t.ensureGraph(f); err != nil {
		return out, err
	}
	// Without KeepRef the source takes the frame's buffers: no copy.
	if err := t.src.BuffersrcAddFrame(f, 0); err != nil {
		return out, fmt.Errorf("codec: feeding audio filter: %w", err)
	}
	for {
		t.outFrame.Unref()
		if err := t.sink.BuffersinkGetFrame(t.outFrame, 0); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return out, nil
			}
			return out, fmt.Errorf("codec: reading audio filter: %w", err)
		}
		pts := t.outputPTS(t.outFrame.Pts())
		t.outFrame.SetPts(pts)
		err := t.enc.SendFrame(t.outFrame)
		t.outFrame.Unref()
		if err != nil {
			return out, fmt.Errorf("codec: encoding Opus: %w", avError(err))
		}
		t.pending = append(t.pending, pts)
		if out, err = t.receivePackets(out); err != nil {
			return out, err
		}
	}
}

// outputPTS returns the PTS of the next encoder frame, given the PTS the
// filter graph derived from the input timestamps (in the sink time base).
func (t *AudioTranscoder) outputPTS(filterPTS int64) int64 {
	if filterPTS != astiav.NoPtsValue {
		in := astiav.RescaleQ(filterPTS, t.sinkTB, astiav.NewRational(1, OpusSampleRate))
		if d := in - t.nextPTS; !t.anchored || d > maxAudioDrift || d < -maxAudioDrift {
			t.nextPTS = in
			t.anchored = true
		}
	}
	pts := t.nextPTS
	t.nextPTS += int64(t.frameSize)
	return pts
}

func (t *AudioTranscoder) receivePackets(out []OpusPacket) ([]OpusPacket, error) {
	for {
		t.encPkt.Unref()
		if err := t.enc.ReceivePacket(t.encPkt); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return out, nil
			}
			return out, fmt.Errorf("codec: encoding Opus: %w", avError(err))
		}
		// Opus encoders give one packet per frame, in order, possibly a
		// frame or two late: the queue pairs them back with their PTS.
		var pts int64
		if len(t.pending) > 0 {
			pts = t.pending[0]
			t.pending = t.pending[1:]
			if len(t.pending) == 0 {
				t.pending = t.pending[:0:cap(t.pending)]
			}
		} else {
			pts = t.nextPTS
		}
		out = append(out, OpusPacket{Data: t.encPkt.Data(), PTS: pts})
	}
}

// ensureGraph (re)builds the filter graph when the decoder output format is
// not the one the graph was built for.
func (t *AudioTranscoder) ensureGraph(f *astiav.Frame) error {
	cl := f.ChannelLayout()
	if t.graph != nil && f.SampleRate() == t.graphRate && f.SampleFormat() == t.graphFmt && cl.Equal(t.graphCh) {
		return nil
	}
	if f.SampleRate() <= 0 || cl.NbChannels() <= 0 {
		return fmt.Errorf("codec: %s decoder gave a frame without rate or channels", t.in.Codec)
	}
	t.freeGraph()

	g := astiav.AllocFilterGraph()
	if g == nil {
		return errors.New("codec: allocating audio filter graph failed")
	}
	t.graph = g
	abuffer, abuffersink := astiav.FindFilterByName("abuffer"), astiav.FindFilterByName("abuffersink")
	if abuffer == nil || abuffersink == nil {
		return errors.New("codec: FFmpeg lacks the abuffer/abuffersink filters")
	}
	src, err := g.NewFilterContext(abuffer, "in", astiav.FilterArgs{
		"sample_rate":    strconv.Itoa(f.SampleRate()),
		"sample_fmt":     f.SampleFormat().Name(),
		"channel_layout": cl.String(),
		"time_base":      "1/" + strconv.Itoa(t.clockRate),
	})
	if err != nil {
		return fmt.Errorf("codec: creating audio filter source: %w", err)
	}
	sink, err := g.NewFilterContext(abuffersink, "out", nil)
	if err != nil {
		return fmt.Errorf("codec: creating audio filter sink: %w", err)
	}

	outputs := astiav.AllocFilterInOut()
	inputs := astiav.AllocFilterInOut()
	defer outputs.Free()
	defer inputs.Free()
	outputs.SetName("in")
	outputs.SetFilterContext(src)
	outputs.SetPadIdx(0)
	outputs.SetNext(nil)
	inputs.SetName("out")
	inputs.SetFilterContext(sink)
	inputs.SetPadIdx(0)
	inputs.SetNext(nil)

	// aformat makes the graph insert one aresample doing rate, layout
	// (mono is spread over both channels) and sample format at once.
	desc := fmt.Sprintf("aformat=sample_fmts=%s:sample_rates=%d:channel_layouts=stereo,asetnsamples=n=%d:p=0",
		t.enc.SampleFormat().Name(), OpusSampleRate, t.frameSize)
	if err := g.Parse(desc, inputs, outputs); err != nil {
		return fmt.Errorf("codec: parsing audio filter %q: %w", desc, err)
	}
	if err := g.Configure(); err != nil {
		return fmt.Errorf("codec: configuring audio filter: %w", err)
	}
	links := sink.Inputs()
	if len(links) == 0 {
		return errors.New("codec: audio filter sink has no input")
	}
	t.src, t.sink = src, sink
	t.sinkTB = links[0].TimeBase()
	t.graphRate, t.graphFmt, t.graphCh = f.SampleRate(), f.SampleFormat(), cl
	return nil
}

func (t *AudioTranscoder) freeGraph() {
	if t.graph != nil {
		// Freeing the graph frees its filter contexts too.
		t.graph.Free()
		t.graph, t.src, t.sink = nil, nil, nil
	}
}

// Close frees the decoder, encoder and filter graph. Samples still buffered
// (less than one packet) are dropped. Close is safe to call more than once.
func (t *AudioTranscoder) Close() {
	if t.closed {
		return
	}
	t.closed = true
	t.freeGraph()
	if t.dec != nil {
		t.dec.Free()
		t.dec = nil
	}
	if t.enc != nil {
		// Drain the encoder so libopus does not warn about frames left in
		// its queue; the packets are not wanted any more.
		if t.encPkt != nil && t.enc.SendFrame(nil) == nil {
			for t.enc.ReceivePacket(t.encPkt) == nil {
				t.encPkt.Unref()
			}
		}
		t.enc.Free()
		t.enc = nil
	}
	if t.pkt != nil {
		t.pkt.Free()
		t.pkt = nil
	}
	if t.encPkt != nil {
		t.encPkt.Free()
		t.encPkt = nil
	}
	if t.decFrame != nil {
		t.decFrame.Free()
		t.decFrame = nil
	}
	if t.outFrame != nil {
		t.outFrame.Free()
		t.outFrame = nil
	}
}
