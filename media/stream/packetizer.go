package stream

import (
	"fmt"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"
)

// packetizer turns a track's units into RTP once per stream. Sequence numbers belong to
// the hub track, not to a publisher, so they stay continuous across publisher restarts.
type packetizer struct {
	h264 *rtph264.Encoder
	h265 *rtph265.Encoder
	seq  uint16
	ssrc uint32
}

func newPacketizer(t *Track) (*packetizer, error) {
	p := &packetizer{ssrc: uint32(t.ID + 1)}
	zero := uint16(0)
	switch t.Codec {
	case H264:
		p.h264 = &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: MaxRTPPayload, PacketizationMode: 1,
			SSRC: &p.ssrc, InitialSequenceNumber: &zero}
		if err := p.h264.Init(); err != nil {
			return nil, err
		}
	case H265:
		p.h265 = &rtph265.Encoder{PayloadType: 96, PayloadMaxSize: MaxRTPPayload,
			SSRC: &p.ssrc, InitialSequenceNumber: &zero}
		if err := p.h265.Init(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// packetize fills u.RTP. Audio frames become one packet each: every codec the hub sends
// to browsers (Opus, G.711) fits a frame in a packet. AAC is not sent over RTP from the
// hub (browsers cannot play it), so its units carry no packets.
func (p *packetizer) packetize(u *Unit) error {
	var pkts []*rtp.Packet
	var err error
	switch {
	case p.h264 != nil:
		pkts, err = p.h264.Encode(u.NALUs)
	case p.h265 != nil:
		pkts, err = p.h265.Encode(u.NALUs)
	case u.Track.Codec == Opus || u.Track.Codec == PCMU || u.Track.Codec == PCMA:
		if len(u.Frame) > MaxRTPPayload {
			return fmt.Errorf("audio frame of %d bytes exceeds the RTP payload limit", len(u.Frame))
		}
		pkts = []*rtp.Packet{{
			Header:  rtp.Header{Version: 2, PayloadType: 111, SSRC: p.ssrc, Marker: true},
			Payload: u.Frame,
		}}
	default:
		return nil
	}
	if err != nil {
		return err
	}
	// The encoders number packets themselves; we renumber so the hub, not the encoder
	// instance, owns continuity.
	for _, pkt := range pkts {
		pkt.SequenceNumber = p.seq
		p.seq++
		pkt.Timestamp = uint32(u.PTS)
	}
	u.RTP = pkts
	return nil
}
