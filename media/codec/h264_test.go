package codec

import (
	"os"
	"strings"
	"sync"
	"testing"
)

// mediaDir holds media generated once and shared by the tests of this
// package; TestMain removes it.
var (
	mediaDir   string
	mediaMu    sync.Mutex
	mediaCache = map[string]string{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "classcast-codec-test")
	if err != nil {
		panic(err)
	}
	mediaDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testMedia generates (once per test binary run) the file name with the
// given ffmpeg arguments and returns its path.
func testMedia(t testing.TB, name string, args ...string) string {
	t.Helper()
	mediaMu.Lock()
	defer mediaMu.Unlock()
	if p, ok := mediaCache[name]; ok {
		return p
	}
	p := runFFmpeg(t, mediaDir, name, args...)
	mediaCache[name] = p
	return p
}

// h264TS returns 2 s of 640x360 25 fps H.264 in MPEG-TS, encoded by libx264
// with the given extra arguments.
func h264TS(t testing.TB, name string, extra ...string) string {
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2",
		"-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p"}
	args = append(args, extra...)
	return testMedia(t, name, append(args, "-f", "mpegts")...)
}

func TestH264Helpers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		wantB     bool
		profileID string
	}{
		{"bframes", []string{"-bf", "2", "-profile:v", "high", "-level:v", "3.1"}, true, "64001f"},
		{"no_bframes", []string{"-bf", "0", "-profile:v", "main", "-level:v", "3.0"}, false, "4d401e"},
		{"baseline", []string{"-profile:v", "baseline", "-level:v", "3.1"}, false, "42c01f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aus := readVideoTS(t, h264TS(t, tc.name+".ts", tc.args...))
			if len(aus) != 50 {
				t.Fatalf("%d access units, want 50", len(aus))
			}
			keys, bs := 0, 0
			for i, au := range aus {
				if IsH264Keyframe(au.nalus) {
					keys++
					sps, pps := H264Params(au.nalus)
					if sps == nil || pps == nil {
						t.Errorf("keyframe %d without SPS/PPS", i)
					}
					id, err := H264ProfileLevelID(sps)
					if err != nil {
						t.Fatal(err)
					}
					if id != tc.profileID {
						t.Errorf("profile-level-id %s, want %s", id, tc.profileID)
					}
				} else if sps, pps := H264Params(au.nalus); sps != nil || pps != nil {
					t.Errorf("non-key AU %d has parameter sets", i)
				}
				if H264HasBFrames(au.nalus) {
					bs++
				}
			}
			if !IsH264Keyframe(aus[0].nalus) || IsH264Keyframe(aus[1].nalus) {
				t.Error("keyframe detection: want AU 0 key, AU 1 not")
			}
			if keys != 2 {
				t.Errorf("%d keyframes, want 2 (GOP 25 over 50 frames)", keys)
			}
			if (bs > 0) != tc.wantB {
				t.Errorf("%d AUs with B slices, want B-frames: %v", bs, tc.wantB)
			}
			t.Logf("%d keyframes, %d B access units", keys, bs)
		})
	}
}

func TestH265Helpers(t *testing.T) {
	path := testMedia(t, "hevc_small.ts", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2",
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=25:min-keyint=25",
		"-pix_fmt", "yuv420p", "-f", "mpegts")
	aus := readVideoTS(t, path)
	if len(aus) != 50 {
		t.Fatalf("%d access units, want 50", len(aus))
	}
	keys := 0
	for i, au := range aus {
		if IsH265Keyframe(au.nalus) {
			keys++
			vps, sps, pps := H265Params(au.nalus)
			if vps == nil || sps == nil || pps == nil {
				t.Errorf("keyframe %d without VPS/SPS/PPS", i)
			}
		}
	}
	if !IsH265Keyframe(aus[0].nalus) {
		t.Error("first AU is not an IRAP")
	}
	if keys != 2 {
		t.Errorf("%d keyframes, want 2", keys)
	}
}

func TestH264ProfileLevelIDErrors(t *testing.T) {
	for _, b := range [][]byte{nil, {0x67}, {0x67, 0x42, 0xe0}, {0x68, 0x42, 0xe0, 0x1f}} {
		if id, err := H264ProfileLevelID(b); err == nil {
			t.Errorf("%x: got %q, want an error", b, id)
		}
	}
	id, err := H264ProfileLevelID([]byte{0x67, 0x42, 0xe0, 0x1f, 0xaa})
	if err != nil || id != "42e01f" {
		t.Errorf("got %q, %v; want 42e01f", id, err)
	}
}

// bitWriter builds slice headers for the parser tests.
type bitWriter struct {
	buf []byte
	n   int
}

func (w *bitWriter) bit(b int) {
	if w.n%8 == 0 {
		w.buf = append(w.buf, 0)
	}
	if b != 0 {
		w.buf[w.n/8] |= 0x80 >> (w.n % 8)
	}
	w.n++
}

func (w *bitWriter) ue(v uint32) {
	x := uint64(v) + 1
	l := 0
	for y := x; y > 1; y >>= 1 {
		l++
	}
	for i := 0; i < l; i++ {
		w.bit(0)
	}
	for i := l; i >= 0; i-- {
		w.bit(int(x>>i) & 1)
	}
}

// escape inserts emulation prevention bytes as an encoder does.
func escape(rbsp []byte) []byte {
	var out []byte
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

func sliceNALU(header byte, firstMB, sliceType uint32) []byte {
	var w bitWriter
	w.ue(firstMB)
	w.ue(sliceType)
	w.ue(0) // pic_parameter_set_id
	w.bit(1)
	for w.n%8 != 0 {
		w.bit(0)
	}
	w.buf = append(w.buf, 0x80, 0x00, 0x00, 0x00)
	return append([]byte{header}, escape(w.buf)...)
}

func TestH264SliceType(t *testing.T) {
	for _, tc := range []struct {
		firstMB, sliceType uint32
	}{
		{0, 0}, {0, 1}, {0, 2}, {0, 5}, {0, 6}, {0, 7},
		{120, 1}, {8159, 6},
		// 2^23 codes with 23 leading zero bits: "00 00 01" must be escaped,
		// so the parser only works if it removes the escape.
		{1<<23 - 1, 1}, {1<<23 + 5, 6}, {1<<30 - 1, 1},
	} {
		nalu := sliceNALU(0x41, tc.firstMB, tc.sliceType)
		st, err := h264SliceType(nalu)
		if err != nil {
			t.Errorf("first_mb %d type %d (%x): %v", tc.firstMB, tc.sliceType, nalu, err)
			continue
		}
		if st != tc.sliceType {
			t.Errorf("first_mb %d: slice_type %d, want %d (%x)", tc.firstMB, st, tc.sliceType, nalu)
		}
		wantB := tc.sliceType%5 == 1
		if got := H264HasBFrames([][]byte{{0x09, 0xf0}, nalu}); got != wantB {
			t.Errorf("first_mb %d type %d: H264HasBFrames %v", tc.firstMB, tc.sliceType, got)
		}
	}
	// The escaped case really contains an escape.
	if n := sliceNALU(0x41, 1<<23-1, 1); !strings.Contains(string(n), "\x00\x00\x03") {
		t.Errorf("test vector %x has no emulation prevention byte", n)
	}
}

// garbageAUs are access units no source should send; the helpers must
// survive them.
var garbageAUs = [][][]byte{
	nil,
	{},
	{nil},
	{{}},
	{{0x65}},
	{{0x41}},
	{{0x41, 0x00}},
	{{0x41, 0x00, 0x00, 0x00, 0x00}},
	{{0x65, 0xff, 0xff, 0xff}},
	{{0x67}, {0x68}, {}},
	{{0x26}, {0x40}, {0x42}, {0x44}},
	{{0x00, 0x00, 0x03}},
	{{0x41, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03}},
}

func TestHelpersGarbage(t *testing.T) {
	for _, au := range garbageAUs {
		IsH264Keyframe(au)
		H264HasBFrames(au)
		H264Params(au)
		IsH265Keyframe(au)
		H265Params(au)
		for _, n := range au {
			H264ProfileLevelID(n)
			h264SliceType(n)
			h264SPSFPS(n)
			h265SPSFPS(n)
		}
	}
}

// FuzzH264SliceHeader feeds arbitrary NAL units to the slice header parser
// and the helpers that use it: they must never panic and never return a
// slice_type outside 0..9.
//
//	go test -run '^$' -fuzz FuzzH264SliceHeader ./media/codec/
func FuzzH264SliceHeader(f *testing.F) {
	for _, au := range garbageAUs {
		for _, n := range au {
			f.Add(n)
		}
	}
	f.Add(sliceNALU(0x41, 1<<23-1, 1))
	f.Add(sliceNALU(0x65, 0, 7))
	f.Fuzz(func(t *testing.T, nalu []byte) {
		st, err := h264SliceType(nalu)
		if err == nil && st > 9 {
			t.Fatalf("slice_type %d accepted", st)
		}
		au := [][]byte{nalu, nalu[:len(nalu)/2]}
		H264HasBFrames(au)
		IsH264Keyframe(au)
		H264Params(au)
		IsH265Keyframe(au)
		H265Params(au)
		H264ProfileLevelID(nalu)
		// Parameter sets from a broken source reach the SPS parsers too.
		h264SPSFPS(append([]byte{0x67}, nalu...))
		h265SPSFPS(append([]byte{0x42, 0x01}, nalu...))
	})
}
