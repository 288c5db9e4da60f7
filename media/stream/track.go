// Package stream is the hub: the one place where a source's access units meet their
// readers. A source (an RTSP publisher, a pull source, a relay) writes each unit once;
// every reader (a WebRTC viewer, the recorder, a live transcoder) gets it through its own
// bounded queue. Protocol servers only adapt their protocol to this package.
package stream

import (
	"fmt"
	"time"

	"github.com/pion/rtp"
)

// Codec names the encoding of a track.
type Codec string

// Codecs the hub carries.
const (
	H264 Codec = "H264"
	H265 Codec = "H265"
	AAC  Codec = "MPEG4Audio"
	Opus Codec = "Opus"
	PCMU Codec = "PCMU"
	PCMA Codec = "PCMA"
)

// Kind says whether a track is video or audio.
type Kind string

// Track kinds.
const (
	Video Kind = "video"
	Audio Kind = "audio"
)

// Track describes one elementary stream of a hub. A track keeps its identity for the
// life of the hub: when a publisher drops and comes back with the same kind and codec,
// its units continue the same track, so readers never renegotiate.
type Track struct {
	// ID is the track's index in the hub; stable for the life of the hub.
	ID int `json:"id"`
	// Kind is video or audio.
	Kind Kind `json:"kind"`
	// Codec is the encoding.
	Codec Codec `json:"codec"`
	// ClockRate is the timestamp rate of PTS (90000 for video, the sample rate for audio).
	ClockRate int `json:"clock_rate"`
	// Channels is the number of audio channels.
	Channels int `json:"channels,omitempty"`
	// Config is the AAC AudioSpecificConfig.
	Config []byte `json:"-"`
	// Params are out-of-band parameter sets from the source's SDP (H.264: SPS, PPS;
	// H.265: VPS, SPS, PPS). In-band sets in keyframes take precedence.
	Params [][]byte `json:"-"`
	// Derived is true for tracks the server makes from another one (Opus from AAC,
	// browser-safe H.264 from a source with B-frames).
	Derived bool `json:"derived,omitempty"`
}

func (t *Track) String() string {
	return fmt.Sprintf("%d:%s/%s", t.ID, t.Kind, t.Codec)
}

// MaxRTPPayload is the RTP payload size units are packetized to: small enough for a
// 1280-byte WebRTC path MTU after SRTP, IP, UDP and TURN overheads.
const MaxRTPPayload = 1150

// Unit is one access unit: a video frame (its NAL units) or an audio frame. Units are
// immutable once written to a hub, and shared by every reader.
type Unit struct {
	// Track is the hub track the unit belongs to.
	Track *Track
	// PTS is the presentation time in Track.ClockRate units on the hub's continuous
	// timeline: the hub rebases each publisher's timestamps so that a publisher that
	// drops and returns continues where the last one stopped.
	PTS int64
	// Received is the wall-clock time the unit entered the hub.
	Received time.Time
	// NALUs holds a video frame's NAL units (without start codes).
	NALUs [][]byte
	// Frame holds an audio frame.
	Frame []byte
	// Key is true for a video frame a decoder can start from (IDR, IRAP).
	Key bool
	// RTP is the unit packetized once per stream for WebRTC, with payloads of at most
	// MaxRTPPayload bytes, sequence numbers continuous per track for the life of the hub,
	// and timestamp uint32(PTS). Readers must not modify the packets: they copy the
	// header when they need to rewrite it.
	RTP []*rtp.Packet
}

// Size is the payload size of the unit in bytes.
func (u *Unit) Size() int {
	n := len(u.Frame)
	for _, n2 := range u.NALUs {
		n += len(n2)
	}
	return n
}
