package webrtc

import (
	"testing"

	"github.com/pion/rtp"

	"github.com/classcast/classcast/media/stream"
)

func unit(t *stream.Track, key bool, seq uint16, ts uint32, packets int) *stream.Unit {
	u := &stream.Unit{Track: t, Key: key}
	for i := range packets {
		u.RTP = append(u.RTP, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq + uint16(i), Timestamp: ts}})
	}
	return u
}

func TestMungerHidesDropsAndCompressesCatchup(t *testing.T) {
	video := &stream.Track{ID: 0, Kind: stream.Video, ClockRate: 90000}
	var m munger
	var out []rtp.Header
	var sent []rtp.Header
	send := func(u *stream.Unit, catchup bool) bool {
		var ok bool
		out, ok = m.rewrite(u, catchup, out[:0])
		sent = append(sent, out...)
		return ok
	}
	// Three cached frames (40 ms apart at the source), then live frames.
	send(unit(video, true, 100, 9000, 3), true)
	send(unit(video, false, 103, 12600, 2), true)
	send(unit(video, false, 105, 16200, 2), true)
	send(unit(video, false, 107, 19800, 2), false)
	// The reader dropped units (hub sequence jumps from 109 to 150), resyncing on a key.
	send(unit(video, true, 150, 40000, 2), false)

	for i := 1; i < len(sent); i++ {
		if sent[i].SequenceNumber != sent[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, sent[i].SequenceNumber, sent[i-1].SequenceNumber)
		}
	}
	// Cached frames are packed one tick apart so the newest shows at once...
	if sent[3].Timestamp != sent[0].Timestamp+catchupTick || sent[5].Timestamp != sent[3].Timestamp+catchupTick {
		t.Fatalf("catch-up timestamps %d %d %d", sent[0].Timestamp, sent[3].Timestamp, sent[5].Timestamp)
	}
	// ...and the first live frame keeps its real distance (3600) from the last cached.
	if d := sent[7].Timestamp - sent[5].Timestamp; d != 3600 {
		t.Fatalf("first live frame is %d ticks after the last cached, want 3600", d)
	}
	// After the drop the timeline runs on with the hub's spacing.
	if d := sent[9].Timestamp - sent[7].Timestamp; d != 40000-19800 {
		t.Fatalf("after the drop: %d ticks, want %d", d, 40000-19800)
	}
}

func TestMungerSwitchWaitsForKeyframe(t *testing.T) {
	src := &stream.Track{ID: 0, Kind: stream.Video, ClockRate: 90000}
	transcoded := &stream.Track{ID: 2, Kind: stream.Video, ClockRate: 90000, Derived: true}
	var m munger
	out, _ := m.rewrite(unit(src, true, 10, 1000, 1), false, nil)
	last := out[0]
	if _, ok := m.rewrite(unit(transcoded, false, 500, 7, 1), false, nil); ok {
		t.Fatal("a non-keyframe from a new source must wait for a keyframe")
	}
	out, ok := m.rewrite(unit(transcoded, true, 501, 3607, 1), false, nil)
	if !ok {
		t.Fatal("keyframe from the new source not sent")
	}
	if out[0].SequenceNumber != last.SequenceNumber+1 {
		t.Fatalf("sequence %d after %d across the switch", out[0].SequenceNumber, last.SequenceNumber)
	}
	if d := int32(out[0].Timestamp - last.Timestamp); d <= 0 || d > 9000 {
		t.Fatalf("timestamp moved by %d across the switch", d)
	}
}

// A switch to the transcoded track right after GOP-cache frames must not mix the two
// tracks' timelines: timestamps only move forward.
func TestMungerSwitchRightAfterCatchup(t *testing.T) {
	src := &stream.Track{ID: 0, Kind: stream.Video, ClockRate: 90000}
	transcoded := &stream.Track{ID: 2, Kind: stream.Video, ClockRate: 90000, Derived: true}
	var m munger
	var last rtp.Header
	for i, ts := range []uint32{900000, 903600, 907200} {
		out, _ := m.rewrite(unit(src, i == 0, uint16(10+i), ts, 1), true, nil)
		last = out[0]
	}
	out, ok := m.rewrite(unit(transcoded, true, 500, 12, 1), false, nil)
	if !ok {
		t.Fatal("transcoded keyframe not sent")
	}
	if d := int32(out[0].Timestamp - last.Timestamp); d <= 0 || d > 9000 {
		t.Fatalf("timestamp moved by %d across the switch", d)
	}
	next, _ := m.rewrite(unit(transcoded, false, 501, 3612, 1), false, nil)
	if d := next[0].Timestamp - out[0].Timestamp; d != 3600 {
		t.Fatalf("transcoded frames %d ticks apart, want 3600", d)
	}
}
