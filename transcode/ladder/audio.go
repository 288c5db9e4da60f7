package ladder

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// aacFrameSamples is the length of one AAC-LC frame.
const aacFrameSamples = 1024

// audioEncoder decodes the source audio and encodes it once as AAC-LC
// stereo 48 kHz; every rung muxes the same packets.
type audioEncoder struct {
	p     *plan
	inTB  astiav.Rational
	dec   *astiav.CodecContext
	enc   *astiav.CodecContext
	graph *graph

	// Decoder output the graph was built for.
	gRate int
	gFmt  astiav.SampleFormat
	gCh   astiav.ChannelLayout

	frame, filt *astiav.Frame
	pkt         *astiav.Packet
	offset      int64   // the plan's offset in 48 kHz ticks
	pending     []int64 // PTS (48 kHz, from the origin) of frames in the encoder
	decodeErrs  int
	decoded     int
	config      mpeg4audio.AudioSpecificConfig
}

func newAudioEncoder(s *source, p *plan) (*audioEncoder, error) {
	a := &audioEncoder{p: p, inTB: s.audio.TimeBase(), offset: astiav.RescaleQ(p.offset, tb90k, astiav.NewRational(1, audioRate))}
	cp := s.audio.CodecParameters()
	dc := astiav.FindDecoder(cp.CodecID())
	if dc == nil {
		return nil, fmt.Errorf("ladder: %w: no decoder for audio codec %q", ErrBadInput, cp.CodecID().Name())
	}
	if a.dec = astiav.AllocCodecContext(dc); a.dec == nil {
		return nil, errors.New("ladder: allocating audio decoder failed")
	}
	if err := cp.ToCodecContext(a.dec); err != nil {
		a.close()
		return nil, fmt.Errorf("ladder: audio decoder parameters: %w", averr(err))
	}
	a.dec.SetTimeBase(a.inTB)
	if err := a.dec.Open(dc, nil); err != nil {
		a.close()
		return nil, fmt.Errorf("ladder: %w: opening %s decoder: %v", ErrBadInput, cp.CodecID().Name(), averr(err))
	}

	ec := astiav.FindEncoder(astiav.CodecIDAac)
	if ec == nil {
		a.close()
		return nil, errors.New("ladder: FFmpeg has no AAC encoder")
	}
	if a.enc = astiav.AllocCodecContext(ec); a.enc == nil {
		a.close()
		return nil, errors.New("ladder: allocating AAC encoder failed")
	}
	a.enc.SetSampleFormat(astiav.SampleFormatFltp)
	a.enc.SetSampleRate(audioRate)
	a.enc.SetChannelLayout(astiav.ChannelLayoutStereo)
	a.enc.SetBitRate(audioBitrate)
	a.enc.SetTimeBase(astiav.NewRational(1, audioRate))
	// The AudioSpecificConfig goes into extradata, for the init segments.
	a.enc.SetFlags(a.enc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	if err := a.enc.Open(ec, nil); err != nil {
		a.close()
		return nil, fmt.Errorf("ladder: opening AAC encoder: %w", averr(err))
	}
	if err := a.config.Unmarshal(a.enc.ExtraData()); err != nil {
		a.close()
		return nil, fmt.Errorf("ladder: AAC encoder config %x: %w", a.enc.ExtraData(), err)
	}
	a.frame, a.filt, a.pkt = astiav.AllocFrame(), astiav.AllocFrame(), astiav.AllocPacket()
	if a.frame == nil || a.filt == nil || a.pkt == nil {
		a.close()
		return nil, errors.New("ladder: allocating audio frames failed")
	}
	return a, nil
}

// decode takes one source packet (nil to drain at the end) and calls emit
// with every AAC frame that comes out: its PTS in 48 kHz ticks on the
// output timeline and its bytes, which emit may keep. A corrupt packet is
// skipped: the resampler fills the gap with silence.
func (a *audioEncoder) decode(pkt *astiav.Packet, emit func(pts int64, data []byte) error) error {
	if err := a.dec.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEof) {
		a.decodeErrs++
		return nil
	}
	for {
		a.frame.Unref()
		if err := a.dec.ReceiveFrame(a.frame); err != nil {
			if again(err) {
				break
			}
			a.decodeErrs++
			break
		}
		a.decoded++
		if err := a.filterAndEncode(a.frame, emit); err != nil {
			return err
		}
	}
	if pkt == nil {
		// End of input: drain the graph and the encoder.
		if a.graph != nil {
			if err := a.graph.push(nil, false); err != nil {
				return err
			}
			if err := a.pullAndEncode(emit); err != nil {
				return err
			}
		}
		if err := a.enc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
			return fmt.Errorf("ladder: draining AAC encoder: %w", averr(err))
		}
		return a.receive(emit)
	}
	return nil
}

func (a *audioEncoder) filterAndEncode(f *astiav.Frame, emit func(int64, []byte) error) error {
	cl := f.ChannelLayout()
	if a.graph == nil || f.SampleRate() != a.gRate || f.SampleFormat() != a.gFmt || !cl.Equal(a.gCh) {
		if a.graph != nil {
			// The decoder output changed (HE-AAC signalled late, a channel
			// change): drain the old graph, then build a new one.
			if err := a.graph.push(nil, false); err != nil {
				return err
			}
			if err := a.pullAndEncode(emit); err != nil {
				return err
			}
			a.graph.free()
			a.graph = nil
		}
		// aresample fills timestamp gaps with silence (async) so audio
		// stays in sync with the video; asetnsamples cuts AAC-sized frames.
		desc := fmt.Sprintf("aresample=%d:async=1:first_pts=0,aformat=sample_fmts=fltp:sample_rates=%d:channel_layouts=stereo,asetnsamples=n=%d:p=0",
			audioRate, audioRate, aacFrameSamples)
		g, err := newAudioGraph(f, a.inTB, desc)
		if err != nil {
			return fmt.Errorf("ladder: audio filter: %w", err)
		}
		a.graph = g
		a.gRate, a.gFmt, a.gCh = f.SampleRate(), f.SampleFormat(), cl
	}
	// The output timeline starts at the plan origin.
	if pts := f.Pts(); pts != astiav.NoPtsValue {
		f.SetPts(pts - astiav.RescaleQ(a.p.origin, tbMicros, a.inTB))
	}
	if err := a.graph.push(f, false); err != nil {
		return fmt.Errorf("ladder: audio filter: %w", err)
	}
	return a.pullAndEncode(emit)
}

func (a *audioEncoder) pullAndEncode(emit func(int64, []byte) error) error {
	outTB := a.graph.outTimeBase()
	for {
		a.filt.Unref()
		if err := a.graph.pull(a.filt); err != nil {
			if again(err) {
				return nil
			}
			return fmt.Errorf("ladder: audio filter: %w", averr(err))
		}
		pts := a.filt.Pts()
		if pts != astiav.NoPtsValue && outTB.Num() > 0 {
			pts = astiav.RescaleQ(pts, outTB, astiav.NewRational(1, audioRate))
		} else if n := len(a.pending); n > 0 {
			pts = a.pending[n-1] + aacFrameSamples
		} else {
			pts = 0
		}
		a.filt.SetPts(pts)
		err := a.enc.SendFrame(a.filt)
		a.filt.Unref()
		if err != nil {
			return fmt.Errorf("ladder: encoding AAC: %w", averr(err))
		}
		a.pending = append(a.pending, pts)
		if err := a.receive(emit); err != nil {
			return err
		}
	}
}

// receive hands every ready AAC packet to emit, stamped with the PTS of the
// frame it was encoded from (the encoder's priming delay is not shifted
// into the timeline, as players expect).
func (a *audioEncoder) receive(emit func(int64, []byte) error) error {
	for {
		a.pkt.Unref()
		if err := a.enc.ReceivePacket(a.pkt); err != nil {
			if again(err) {
				return nil
			}
			return fmt.Errorf("ladder: encoding AAC: %w", averr(err))
		}
		var pts int64
		if len(a.pending) > 0 {
			pts = a.pending[0]
			a.pending = a.pending[1:]
		} else {
			pts = a.pkt.Pts() + aacFrameSamples
		}
		data := append([]byte(nil), a.pkt.Data()...)
		if err := emit(pts+a.offset, data); err != nil {
			return err
		}
	}
}

func (a *audioEncoder) close() {
	a.graph.free()
	a.graph = nil
	if a.dec != nil {
		a.dec.Free()
		a.dec = nil
	}
	if a.enc != nil {
		a.enc.Free()
		a.enc = nil
	}
	if a.frame != nil {
		a.frame.Free()
		a.frame = nil
	}
	if a.filt != nil {
		a.filt.Free()
		a.filt = nil
	}
	if a.pkt != nil {
		a.pkt.Free()
		a.pkt = nil
	}
}
