package whep

import (
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// VideoFrame is one complete H.264 access unit.
type VideoFrame struct {
	// AU holds the NAL units, without start codes. The bytes are not reused
	// by the session: a callback may keep them.
	AU [][]byte
	// RTPTimestamp is the access unit's RTP timestamp (90 kHz).
	RTPTimestamp uint32
	// Keyframe is true when the access unit holds an IDR picture.
	Keyframe bool
	// ReceivedAt is when the last packet of the access unit was read.
	ReceivedAt time.Time
}

// AudioPacket is one audio RTP packet's payload (Opus at 48 kHz from
// classcast).
type AudioPacket struct {
	// Payload is the RTP payload; the session does not reuse its bytes.
	Payload []byte
	// RTPTimestamp is the packet's RTP timestamp (48 kHz for Opus).
	RTPTimestamp uint32
	// SequenceNumber is the packet's RTP sequence number.
	SequenceNumber uint16
	// ReceivedAt is when the packet was read.
	ReceivedAt time.Time
}

// TrackStats counts one track's packets.
type TrackStats struct {
	// Packets and Bytes count every RTP packet read (bytes of the whole RTP
	// packet), duplicates included.
	Packets uint64
	Bytes   uint64
	// Lost counts sequence numbers never received in time: gaps (across
	// 16-bit wrap) that no late or retransmitted packet filled.
	Lost uint64
	// Late counts packets dropped because they came after their gap was
	// given up, or came twice.
	Late uint64
	// Frames counts complete access units handed on (video only).
	Frames uint64
	// Skipped counts access units dropped while waiting for a keyframe,
	// after loss or at the start (video only).
	Skipped uint64
}

// Stats is a snapshot of a session's counters.
type Stats struct {
	Video TrackStats
	Audio TrackStats
	// NACKsSent counts RTCP NACK packets (each may ask for several RTP
	// packets) and PLIsSent picture loss indications.
	NACKsSent uint64
	PLIsSent  uint64
}

type trackCounters struct {
	packets, bytes, lost, late, frames, skipped atomic.Uint64
}

func (c *trackCounters) snapshot() TrackStats {
	return TrackStats{
		Packets: c.packets.Load(),
		Bytes:   c.bytes.Load(),
		Lost:    c.lost.Load(),
		Late:    c.late.Load(),
		Frames:  c.frames.Load(),
		Skipped: c.skipped.Load(),
	}
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	st := Stats{
		Video:    s.video.snapshot(),
		Audio:    s.audio.snapshot(),
		PLIsSent: s.plisSent.Load(),
	}
	if s.rtcpCounts != nil {
		st.NACKsSent = s.rtcpCounts.nacks.Load()
		return st
	}
	// A caller's API: take NACKs from pion's stats interceptor, if any.
	for _, v := range s.pc.GetStats() {
		if in, ok := v.(webrtc.InboundRTPStreamStats); ok {
			st.NACKsSent += uint64(in.NACKCount)
		}
	}
	return st
}

const (
	// readSize is the most one RTP packet may take; pion's receive MTU is
	// 1460 by default.
	readSize = 1600
	// slabSize is how much memory packets are read into at a time. Packets
	// are cut from a slab and never overwritten, so payloads (and the NAL
	// units sliced from them) can be handed on without copying, at one
	// allocation per few dozen packets.
	slabSize = 64 << 10
	// reorderSlots bounds how many video packets wait behind a gap: about
	// a second of 2 Mbit/s video.
	reorderSlots = 256
	// pliInterval bounds how often a PLI is sent while waiting for a
	// keyframe.
	pliInterval = 500 * time.Millisecond
)

// packetReader reads a track's RTP packets into slabs.
type packetReader struct {
	track *webrtc.TrackRemote
	slab  []byte
}

func (r *packetReader) read() (*rtp.Packet, int, error) {
	if len(r.slab) < readSize {
		r.slab = make([]byte, slabSize)
	}
	n, _, err := r.track.Read(r.slab[:readSize:readSize])
	if err != nil {
		return nil, 0, err
	}
	buf := r.slab[:n:n]
	r.slab = r.slab[n:]
	pkt := &rtp.Packet{}
	if err := pkt.Unmarshal(buf); err != nil {
		return nil, n, err
	}
	return pkt, n, nil
}

// handleTrack runs on pion's goroutine for the track and reads it until the
// PeerConnection closes.
func (s *Session) handleTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if !s.startGoroutine() {
		return
	}
	defer s.wg.Done()

	switch track.Kind() {
	case webrtc.RTPCodecTypeVideo:
		mime := track.Codec().MimeType
		if !strings.EqualFold(mime, webrtc.MimeTypeH264) {
			s.log.Warn("video track is not H.264; counting packets only", "codec", mime)
			s.readOther(track, &s.video)
			return
		}
		s.readVideo(track)
	case webrtc.RTPCodecTypeAudio:
		s.readAudio(track)
	default:
		s.readOther(track, &s.audio)
	}
}

func (s *Session) markFirstRTP(now time.Time) {
	s.mu.Lock()
	if s.timing.FirstRTP.IsZero() {
		s.timing.FirstRTP = now
	}
	s.mu.Unlock()
}

func (s *Session) readOther(track *webrtc.TrackRemote, c *trackCounters) {
	r := packetReader{track: track}
	for {
		_, n, err := r.read()
		if err != nil && n == 0 {
			return
		}
		c.packets.Add(1)
		c.bytes.Add(uint64(n))
	}
}

func (s *Session) readAudio(track *webrtc.TrackRemote) {
	r := packetReader{track: track}
	order := newReorderer(1, 0) // audio never waits
	first := true
	var now time.Time
	out := func(pkt *rtp.Packet, _ bool) {
		if f := s.onAudio.Load(); f != nil {
			(*f)(AudioPacket{
				Payload:        pkt.Payload,
				RTPTimestamp:   pkt.Timestamp,
				SequenceNumber: pkt.SequenceNumber,
				ReceivedAt:     now,
			})
		}
	}
	for {
		pkt, n, err := r.read()
		if err != nil {
			if n == 0 {
				return
			}
			continue // not RTP; skip it
		}
		now = time.Now()
		if first {
			first = false
			s.markFirstRTP(now)
		}
		s.audio.packets.Add(1)
		s.audio.bytes.Add(uint64(n))
		lost, late := order.lost, order.late
		order.push(pkt, now, out)
		s.audio.lost.Add(order.lost - lost)
		s.audio.late.Add(order.late - late)
	}
}

// videoReceiver turns a video track's packets into access units.
type videoReceiver struct {
	s         *Session
	ssrc      uint32
	dec       *rtph264.Decoder
	waitKey   bool
	lastPLI   time.Time
	now       time.Time
	firstSeen bool
}

func (s *Session) readVideo(track *webrtc.TrackRemote) {
	v := &videoReceiver{s: s, ssrc: uint32(track.SSRC()), waitKey: true}
	v.resetDecoder()
	wait := s.reorderWait
	if wait < 0 {
		wait = 0
	}
	order := newReorderer(reorderSlots, wait)
	r := packetReader{track: track}
	for {
		pkt, n, err := r.read()
		if err != nil {
			if n == 0 {
				return
			}
			continue
		}
		v.now = time.Now()
		if !v.firstSeen {
			v.firstSeen = true
			s.markFirstRTP(v.now)
		}
		s.video.packets.Add(1)
		s.video.bytes.Add(uint64(n))
		lost, late := order.lost, order.late
		order.push(pkt, v.now, v.decode)
		if d := order.lost - lost; d > 0 {
			s.video.lost.Add(d)
		}
		if d := order.late - late; d > 0 {
			s.video.late.Add(d)
		}
	}
}

func (v *videoReceiver) resetDecoder() {
	v.dec = &rtph264.Decoder{PacketizationMode: 1}
	_ = v.dec.Init() // cannot fail for mode 1
}

// decode takes packets in sequence order.
func (v *videoReceiver) decode(pkt *rtp.Packet, afterGap bool) {
	if afterGap {
		// The access unit in progress, and every one after it until a
		// keyframe, references data we do not have.
		v.resetDecoder()
		v.needKeyframe()
	}
	au, err := v.dec.Decode(pkt)
	if err != nil {
		if !errors.Is(err, rtph264.ErrMorePacketsNeeded) {
			v.resetDecoder()
			v.needKeyframe()
		}
		return
	}

	key := h264.IsRandomAccess(au)
	if v.waitKey && !key {
		v.s.video.skipped.Add(1)
		v.needKeyframe()
		return
	}
	v.waitKey = false
	v.s.video.frames.Add(1)

	if key {
		v.s.mu.Lock()
		if v.s.timing.FirstKeyframe.IsZero() {
			v.s.timing.FirstKeyframe = v.now
			close(v.s.keyframe)
		}
		v.s.mu.Unlock()
	}
	if f := v.s.onVideo.Load(); f != nil {
		(*f)(VideoFrame{AU: au, RTPTimestamp: pkt.Timestamp, Keyframe: key, ReceivedAt: v.now})
	}
}

// needKeyframe drops frames until the next keyframe and asks for one,
// at most every pliInterval.
func (v *videoReceiver) needKeyframe() {
	v.waitKey = true
	if v.now.Sub(v.lastPLI) < pliInterval {
		return
	}
	v.lastPLI = v.now
	err := v.s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: v.ssrc}})
	if err == nil {
		v.s.plisSent.Add(1)
	}
}
