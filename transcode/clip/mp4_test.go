package clip

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

func TestParameterSetIDs(t *testing.T) {
	// ue(5) = 00110, ue(3) = 00100, padded with ones.
	if id, err := spsID([]byte{0x67, 0x64, 0x00, 0x1f, 0x37}); err != nil || id != 5 {
		t.Errorf("spsID = %d, %v; want 5", id, err)
	}
	if id, err := ppsID([]byte{0x68, 0x27}); err != nil || id != 3 {
		t.Errorf("ppsID = %d, %v; want 3", id, err)
	}
	if _, err := spsID([]byte{0x67, 0x64, 0x00, 0x1f, 0x00}); err == nil {
		t.Error("an SPS cut short gave an id")
	}
	c := avcConfig{sps: [][]byte{{0x67, 0x64, 0x00, 0x1f, 0x37}}, pps: [][]byte{{0x68, 0x27}}, tail: []byte{0xfd, 0xf8, 0xf8, 0}}
	c2, err := parseAVCC(buildAVCC(c))
	if err != nil || len(c2.sps) != 1 || len(c2.pps) != 1 || !bytes.Equal(c2.tail, c.tail) {
		t.Fatalf("avcC round trip: %+v, %v", c2, err)
	}
}

// A copied segment keeps its bytes but for the rebased decode times and the sequence
// number; a truncated or foreign one is an error, not a panic.
func TestCopyRebased(t *testing.T) {
	p := fmp4.Part{SequenceNumber: 7, Tracks: []*fmp4.PartTrack{
		{ID: 1, BaseTime: 900000, Samples: []*fmp4.Sample{{Duration: 3600, Payload: []byte{0, 0, 0, 1, 0x65}}}},
		{ID: 2, BaseTime: 480000, Samples: []*fmp4.Sample{{Duration: 1024, Payload: []byte{1, 2, 3}}}},
	}}
	var buf seekablebuffer.Buffer
	if err := p.Marshal(&buf); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := copyRebased(&out, bytes.NewReader(buf.Bytes()), 2, map[uint32]uint64{1: 90000, 2: 48000})
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("copyRebased = %d, %v", n, err)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	if parts[0].SequenceNumber != 2 || parts[0].Tracks[0].BaseTime != 810000 || parts[0].Tracks[1].BaseTime != 432000 ||
		!bytes.Equal(parts[0].Tracks[1].Samples[0].Payload, []byte{1, 2, 3}) {
		t.Fatalf("rebased part: seq %d, times %d %d", parts[0].SequenceNumber, parts[0].Tracks[0].BaseTime, parts[0].Tracks[1].BaseTime)
	}
	for name, b := range map[string][]byte{
		"truncated":     buf.Bytes()[:buf.Len()-2],
		"not mp4":       []byte("#EXTM3U\nthis is a playlist, not a segment\n"),
		"empty":         nil,
		"huge box":      binary.BigEndian.AppendUint32(nil, 0xffffffff),
		"unknown track": buf.Bytes(),
	} {
		shift := map[uint32]uint64{1: 0, 2: 0}
		if name == "unknown track" {
			shift = map[uint32]uint64{1: 0}
		}
		if _, err := copyRebased(io.Discard, bytes.NewReader(b), 1, shift); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A shift past the segment's start is corrupt input.
	if _, err := copyRebased(io.Discard, bytes.NewReader(buf.Bytes()), 1, map[uint32]uint64{1: 1 << 40, 2: 0}); err == nil {
		t.Error("a segment before the clip's start was copied")
	}
}
