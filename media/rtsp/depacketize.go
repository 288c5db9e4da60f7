// Package rtsp adapts RTSP to the hub: a server that takes publishers (ANNOUNCE/RECORD)
// over TCP and UDP, and pull sources that read IP cameras and recording hosts. It holds no
// media state of its own: access units go straight into media/stream.
package rtsp

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpfragmented"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/media/stream"
)

// track ties one RTSP media/format to the hub: it turns the format's RTP packets into
// access units and writes them to the publisher under the track's index.
type track struct {
	index  int
	medi   *description.Media
	forma  format.Format
	decode func(pkt *rtp.Packet) (nalus [][]byte, frames [][]byte, err error)
	// samplesPerFrame spaces the PTS of several audio frames in one packet (AAC).
	samplesPerFrame int64
	lastSeq         uint16
	haveSeq         bool
}

// tracksFromDescription picks the formats the hub can carry. Unsupported media are
// skipped (and logged), so a camera with an extra metadata track still publishes.
func tracksFromDescription(desc *description.Session, log *slog.Logger) ([]*track, []stream.Track) {
	var tracks []*track
	var infos []stream.Track
	for _, medi := range desc.Medias {
		var chosen *track
		var info stream.Track
		for _, forma := range medi.Formats {
			t, in, err := newTrack(medi, forma)
			if err != nil {
				log.Warn("skipping RTSP format", "media", medi.Type, "codec", forma.Codec(), "reason", err)
				continue
			}
			chosen, info = t, in
			break
		}
		if chosen == nil {
			continue
		}
		chosen.index = len(tracks)
		tracks = append(tracks, chosen)
		infos = append(infos, info)
	}
	return tracks, infos
}

func newTrack(medi *description.Media, forma format.Format) (*track, stream.Track, error) {
	t := &track{medi: medi, forma: forma}
	switch f := forma.(type) {
	case *format.H264:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, stream.Track{}, err
		}
		t.decode = func(pkt *rtp.Packet) ([][]byte, [][]byte, error) {
			au, err := dec.Decode(pkt)
			if errors.Is(err, rtph264.ErrMorePacketsNeeded) || errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) {
				return nil, nil, nil
			}
			return au, nil, err
		}
		var params [][]byte
		if sps, pps := f.SafeParams(); sps != nil && pps != nil {
			params = [][]byte{sps, pps}
		}
		return t, stream.Track{Kind: stream.Video, Codec: stream.H264, ClockRate: 90000, Params: params}, nil
	case *format.H265:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, stream.Track{}, err
		}
		t.decode = func(pkt *rtp.Packet) ([][]byte, [][]byte, error) {
			au, err := dec.Decode(pkt)
			if errors.Is(err, rtph265.ErrMorePacketsNeeded) || errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) {
				return nil, nil, nil
			}
			return au, nil, err
		}
		var params [][]byte
		if vps, sps, pps := f.SafeParams(); vps != nil && sps != nil && pps != nil {
			params = [][]byte{vps, sps, pps}
		}
		return t, stream.Track{Kind: stream.Video, Codec: stream.H265, ClockRate: 90000, Params: params}, nil
	case *format.MPEG4Audio:
		if f.Config == nil {
			return nil, stream.Track{}, fmt.Errorf("AAC without a config (LATM is not supported)")
		}
		cfg, err := f.Config.Marshal()
		if err != nil {
			return nil, stream.Track{}, fmt.Errorf("AAC config: %w", err)
		}
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, stream.Track{}, err
		}
		t.decode = func(pkt *rtp.Packet) ([][]byte, [][]byte, error) {
			aus, err := dec.Decode(pkt)
			if errors.Is(err, rtpmpeg4audio.ErrMorePacketsNeeded) {
				return nil, nil, nil
			}
			return nil, aus, err
		}
		t.samplesPerFrame = 1024
		return t, stream.Track{Kind: stream.Audio, Codec: stream.AAC, ClockRate: f.ClockRate(),
			Channels: f.Config.ChannelCount, Config: cfg}, nil
	case *format.MPEG4AudioLATM:
		// LATM is what GStreamer and many IP cameras send for AAC.
		smc := f.StreamMuxConfig
		if smc == nil || len(smc.Programs) == 0 || len(smc.Programs[0].Layers) == 0 || smc.Programs[0].Layers[0].AudioSpecificConfig == nil {
			return nil, stream.Track{}, fmt.Errorf("AAC LATM without a config in the SDP is not supported")
		}
		asc := smc.Programs[0].Layers[0].AudioSpecificConfig
		cfg, err := asc.Marshal()
		if err != nil {
			return nil, stream.Track{}, fmt.Errorf("AAC LATM config: %w", err)
		}
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, stream.Track{}, err
		}
		cPresent := f.CPresent
		if l := smc.Programs[0].Layers[0]; l.FrameLengthType != 0 {
			// GStreamer's rtpmp4apay writes a StreamMuxConfig cut short after the
			// AudioSpecificConfig, so frameLengthType is read from padding. Payloads of
			// variable length (type 0) is what every such sender uses.
			fixed := mpeg4audio.StreamMuxConfig{NumSubFrames: smc.NumSubFrames}
			fixed.Programs = []*mpeg4audio.StreamMuxConfigProgram{{Layers: []*mpeg4audio.StreamMuxConfigLayer{{
				AudioSpecificConfig: l.AudioSpecificConfig, LatmBufferFullness: 255}}}}
			smc = &fixed
		}
		t.decode = func(pkt *rtp.Packet) ([][]byte, [][]byte, error) {
			buf, err := dec.Decode(pkt)
			if errors.Is(err, rtpfragmented.ErrMorePacketsNeeded) {
				return nil, nil, nil
			}
			if err != nil {
				return nil, nil, err
			}
			el := mpeg4audio.AudioMuxElement{MuxConfigPresent: cPresent, StreamMuxConfig: smc}
			if err := el.Unmarshal(buf); err != nil {
				return nil, nil, fmt.Errorf("LATM: %w", err)
			}
			var frames [][]byte
			for _, sub := range el.Payloads {
				if len(sub) > 0 && len(sub[0]) > 0 {
					frames = append(frames, sub[0][0])
				}
			}
			return nil, frames, nil
		}
		t.samplesPerFrame = 1024
		return t, stream.Track{Kind: stream.Audio, Codec: stream.AAC, ClockRate: f.ClockRate(),
			Channels: asc.ChannelCount, Config: cfg}, nil
	case *format.Opus:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, stream.Track{}, err
		}
		t.decode = func(pkt *rtp.Packet) ([][]byte, [][]byte, error) {
			fr, err := dec.Decode(pkt)
			return nil, [][]byte{fr}, err
		}
		ch := f.ChannelCount
		if ch == 0 {
			ch = 2
		}
		return t, stream.Track{Kind: stream.Audio, Codec: stream.Opus, ClockRate: 48000, Channels: ch}, nil
	case *format.G711:
		if f.SampleRate != 8000 || f.ChannelCount != 1 {
			return nil, stream.Track{}, fmt.Errorf("G.711 at %d Hz × %d channels (only 8000 Hz mono is supported)", f.SampleRate, f.ChannelCount)
		}
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, stream.Track{}, err
		}
		t.decode = func(pkt *rtp.Packet) ([][]byte, [][]byte, error) {
			fr, err := dec.Decode(pkt)
			return nil, [][]byte{fr}, err
		}
		c := stream.PCMA
		if f.MULaw {
			c = stream.PCMU
		}
		return t, stream.Track{Kind: stream.Audio, Codec: c, ClockRate: 8000, Channels: 1}, nil
	}
	return nil, stream.Track{}, fmt.Errorf("codec %s is not supported", forma.Codec())
}

// feeder writes depacketized units of one source into its publisher.
type feeder struct {
	log       *slog.Logger
	publisher *stream.Publisher
	protocol  string
	errors    atomic.Uint64
}

// onPacket handles one RTP packet of t; pts is in the track's clock rate.
func (f *feeder) onPacket(t *track, pkt *rtp.Packet, pts int64) {
	metrics.BytesIn.WithLabelValues(f.protocol).Add(float64(len(pkt.Payload)))
	if t.haveSeq {
		if gap := pkt.SequenceNumber - t.lastSeq - 1; gap != 0 && gap < 0x8000 {
			metrics.PacketsLost.WithLabelValues(f.protocol).Add(float64(gap))
		}
	}
	t.lastSeq, t.haveSeq = pkt.SequenceNumber, true

	nalus, frames, err := t.decode(pkt)
	if err != nil {
		// A corrupt or truncated packet: drop it and go on. Logged at powers of two so a
		// broken encoder cannot flood the log.
		n := f.errors.Add(1)
		metrics.Errors.WithLabelValues(f.protocol, "depacketize").Inc()
		if n&(n-1) == 0 {
			f.log.Warn("dropping undecodable RTP packet", "codec", t.forma.Codec(), "errors", n, "error", err)
		}
		return
	}
	if nalus != nil {
		f.publisher.Write(t.index, pts, nalus, nil)
		return
	}
	for i, fr := range frames {
		if len(fr) == 0 {
			continue
		}
		f.publisher.Write(t.index, pts+int64(i)*t.samplesPerFrame, nil, fr)
	}
}
