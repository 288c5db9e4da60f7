package sei

import (
	"bytes"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// noStartCode fails when b holds a three-byte pattern a decoder would take
// for a start code or that emulation prevention must have broken up.
func noStartCode(t *testing.T, b []byte) {
	t.Helper()
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] <= 2 {
			t.Fatalf("unescaped 00 00 %02x at %d in % x", b[i+2], i, b)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		t    time.Time
		seq  uint32
	}{
		{"now", time.Now(), 1},
		{"zero seq", time.Unix(1700000000, 123456789), 0},
		{"max seq", time.Unix(1700000000, 0), 0xffffffff},
		// Unix nanoseconds 0x00000000_00000001: seven zero bytes then 01.
		{"epoch plus 1ns", time.Unix(0, 1), 0x00000001},
		// 00 00 03 inside the time, 00 00 00 03 in seq.
		{"needs 03 escape", time.Unix(0, 0x0100000300000100), 0x00000003},
		// 00 00 01 inside the time, 00 00 01 00 in seq.
		{"needs 01 escape", time.Unix(0, 0x1122000001334400), 0x00000100},
		// 00 00 02 straddling time and seq.
		{"straddles fields", time.Unix(0, 0x7766554433220000), 0x02000000},
		{"before epoch", time.Unix(-5, 0), 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nalu := New(c.t, c.seq)
			if nalu[0] != 0x06 {
				t.Fatalf("NAL header %02x, want 06", nalu[0])
			}
			if nalu[len(nalu)-1] != 0x80 {
				t.Fatalf("last byte %02x, want rbsp trailing bits 80", nalu[len(nalu)-1])
			}
			noStartCode(t, nalu)

			// The reference unescaping in mediacommon must agree with ours.
			if got := h264.EmulationPreventionRemove(nalu[1:]); !bytes.Equal(got, removeEmulationPrevention(nalu[1:])) {
				t.Fatalf("unescape mismatch:\n mediacommon % x\n ours        % x", got, removeEmulationPrevention(nalu[1:]))
			}

			gotT, gotSeq, ok := Parse(nalu)
			if !ok {
				t.Fatalf("Parse(% x) not ok", nalu)
			}
			if !gotT.Equal(c.t) || gotT.UnixNano() != c.t.UnixNano() {
				t.Fatalf("time %v, want %v", gotT, c.t)
			}
			if gotSeq != c.seq {
				t.Fatalf("seq %d, want %d", gotSeq, c.seq)
			}
		})
	}
}

func TestEscapeAddsBytes(t *testing.T) {
	plain := New(time.Unix(0, 0x0102030405060708), 0x01020304)
	if len(plain) != 1+2+28+1 {
		t.Fatalf("len %d without escapes, want 32", len(plain))
	}
	escaped := New(time.Unix(0, 1), 1) // 00 00 00 00 00 00 00 01 00 00 00 01
	if len(escaped) <= len(plain) {
		t.Fatalf("len %d with zero runs, want more than %d: % x", len(escaped), len(plain), escaped)
	}
	if !bytes.Contains(escaped, []byte{0, 0, 3}) {
		t.Fatalf("no emulation prevention byte in % x", escaped)
	}
}

// x264 writes its own user_data_unregistered SEI with its version string; a
// NAL unit may also carry several messages, ours not first.
func TestParseSkipsOtherMessages(t *testing.T) {
	want := time.Unix(1700000000, 42)
	ours := New(want, 9)

	x264UUID := []byte{0xdc, 0x45, 0xe9, 0xbd, 0xe6, 0xd9, 0x48, 0xb7, 0x96, 0x2c, 0xd8, 0x20, 0xd9, 0x23, 0xee, 0xef}
	other := append([]byte{0x06, 0x05, byte(16 + 5)}, x264UUID...)
	other = append(other, []byte("x264!")...)
	other = append(other, 0x80)

	if _, _, ok := Parse(other); ok {
		t.Fatal("Parse accepted x264's SEI")
	}

	// One NAL unit: a recovery point message (type 6, size 1), then ours.
	multi := []byte{0x06, 0x06, 0x01, 0x84}
	multi = append(multi, ours[1:]...)
	gotT, seq, ok := Parse(multi)
	if !ok || !gotT.Equal(want) || seq != 9 {
		t.Fatalf("Parse(multi) = %v %d %v", gotT, seq, ok)
	}

	// Find looks through an access unit, past non-SEI and foreign SEI NAL units.
	au := [][]byte{{0x09, 0xf0}, other, {0x67, 0x42}, ours, {0x65, 0x88, 0x84}}
	gotT, seq, ok = Find(au)
	if !ok || !gotT.Equal(want) || seq != 9 {
		t.Fatalf("Find = %v %d %v", gotT, seq, ok)
	}
	if _, _, ok := Find([][]byte{{0x65, 1, 2}, other, {}}); ok {
		t.Fatal("Find found a timestamp in an access unit without one")
	}
}

func TestParseRejects(t *testing.T) {
	good := New(time.Now(), 1)
	cases := map[string][]byte{
		"empty":          nil,
		"header only":    {0x06},
		"not SEI":        append([]byte{0x65}, good[1:]...),
		"truncated":      good[:len(good)-6],
		"size too large": {0x06, 0x05, 0xff, 0xff, 0x10, 0x80},
		"ff run":         {0x06, 0xff, 0xff, 0xff},
		"short payload":  {0x06, 0x05, 0x04, 1, 2, 3, 4, 0x80},
	}
	for name, b := range cases {
		if _, _, ok := Parse(b); ok {
			t.Errorf("%s: Parse(% x) ok", name, b)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(New(time.Unix(0, 1), 1))
	f.Add(New(time.Now(), 0xffffffff))
	f.Add([]byte{0x06, 0xff, 0xff})
	f.Add([]byte{0x06, 0x05, 0xff, 0x00, 0x00, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		t1, seq, ok := Parse(b)
		if !ok {
			return
		}
		// Anything Parse accepts must survive a rewrite.
		t2, seq2, ok2 := Parse(New(t1, seq))
		if !ok2 || !t2.Equal(t1) || seq2 != seq {
			t.Fatalf("rewrite of % x lost data", b)
		}
	})
}
