package webrtc

import (
	"github.com/pion/rtp"

	"github.com/classcast/classcast/media/stream"
)

// munger rewrites one outgoing track's sequence numbers and timestamps for one viewer.
// The hub numbers packets once per stream; a viewer sees gaps in that numbering when it
// dropped units to catch up, when it started from the GOP cache, or when the hub switched
// its web video to a live transcode. The munger hides all three, so the browser sees one
// continuous RTP stream and never asks for packets that were skipped on purpose.
type munger struct {
	started   bool
	track     *stream.Track
	seqOffset uint16
	tsOffset  uint32
	lastIn    uint16 // last hub sequence number forwarded
	lastSeq   uint16 // last sequence number sent
	lastTS    uint32 // last timestamp sent
	lastInTS  uint32
	catchup   bool // the previous unit came from the GOP cache
	needKey   bool
}

// catchupTick spaces GOP-cache frames on the wire timeline: a new viewer's decoder must
// decode the whole cached GOP, but the renderer should show only the newest of those
// frames, so they are given almost the same timestamp and the picture is live at once.
const catchupTick = 1

// rewrite decides the outgoing numbering for a unit's packets and reports whether to
// send the unit at all. out receives the rewritten headers, one per packet.
func (m *munger) rewrite(u *stream.Unit, catchup bool, out []rtp.Header) ([]rtp.Header, bool) {
	if len(u.RTP) == 0 {
		return out, false
	}
	first := u.RTP[0]
	switched := m.started && u.Track != m.track
	if switched && u.Track.Kind == stream.Video {
		// A different source for the same outgoing track: start it on a keyframe.
		m.needKey = true
	}
	if m.needKey {
		if !u.Key {
			return out, false
		}
		m.needKey = false
	}
	switch {
	case !m.started:
		m.started = true
		m.seqOffset = 0
		m.tsOffset = 0
	case switched || first.SequenceNumber != m.lastIn+1:
		// Continue right after the last packet sent.
		m.seqOffset = m.lastSeq + 1 - first.SequenceNumber
		if switched {
			m.tsOffset = m.lastTS + uint32(u.Track.ClockRate/30) - first.Timestamp
		}
	}
	if u.Track.Kind == stream.Video && !switched {
		switch {
		case catchup && m.catchup:
			// Another cached frame: pack it right after the previous one.
			m.tsOffset = m.lastTS + catchupTick - first.Timestamp
		case !catchup && m.catchup:
			// First live frame after the cache: keep its real distance from the last
			// cached frame, on the compressed timeline.
			m.tsOffset = m.lastTS + (first.Timestamp - m.lastInTS) - first.Timestamp
		}
	}
	if u.Track.Kind == stream.Video {
		m.catchup = catchup
	}
	m.track = u.Track
	for _, p := range u.RTP {
		h := p.Header
		h.SequenceNumber = p.SequenceNumber + m.seqOffset
		h.Timestamp = p.Timestamp + m.tsOffset
		out = append(out, h)
	}
	last := u.RTP[len(u.RTP)-1]
	m.lastIn = last.SequenceNumber
	m.lastInTS = last.Timestamp
	m.lastSeq = out[len(out)-1].SequenceNumber
	m.lastTS = out[len(out)-1].Timestamp
	return out, true
}
