package ladder

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/asticode/go-astiav"
)

func TestPlanRungs(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		want string
	}{
		{1920, 1080, "1080p 1920x1080, 720p 1280x720, 480p 854x480, 360p 640x360"},
		{3840, 2160, "1080p 1920x1080, 720p 1280x720, 480p 854x480, 360p 640x360"},
		{1280, 720, "720p 1280x720, 480p 854x480, 360p 640x360"},
		// Between boxes: named after the smallest box that holds it.
		{960, 540, "720p 960x540, 480p 854x480, 360p 640x360"},
		{640, 360, "360p 640x360"},
		{320, 240, "360p 320x240"},
		// Portrait uses the boxes turned.
		{1080, 1920, "1080p 1080x1920, 720p 720x1280, 480p 480x854, 360p 360x640"},
		// Ultra-wide: the width limits.
		{2560, 1080, "1080p 1920x810, 720p 1280x540, 480p 854x360, 360p 640x270"},
		// 4:3 keeps its shape.
		{1440, 1080, "1080p 1440x1080, 720p 960x720, 480p 640x480, 360p 480x360"},
	} {
		var got []string
		for _, r := range planRungs(tc.w, tc.h) {
			got = append(got, fmt.Sprintf("%s %dx%d", r.name, r.w, r.h))
			if r.w%2 != 0 || r.h%2 != 0 || r.w > tc.w || r.h > tc.h {
				t.Errorf("%dx%d: rung %s is %dx%d", tc.w, tc.h, r.name, r.w, r.h)
			}
		}
		if s := strings.Join(got, ", "); s != tc.want {
			t.Errorf("%dx%d: rungs %v, want %s", tc.w, tc.h, got, tc.want)
		}
	}
}

func TestCascade(t *testing.T) {
	p := &plan{rungs: planRungs(1920, 1080)}
	p.cascade()
	var parents []int
	for _, r := range p.rungs {
		parents = append(parents, r.parent)
	}
	// 1080p from the decoder, 720p from 1080p, 480p and 360p from 720p.
	if !slices.Equal(parents, []int{-1, 0, 1, 1}) {
		t.Errorf("parents %v", parents)
	}
	p.rungs[0].copy = true
	p.cascade()
	parents = parents[:0]
	for _, r := range p.rungs {
		parents = append(parents, r.parent)
	}
	// A copied top rung has no pictures to give.
	if !slices.Equal(parents, []int{-1, -1, 1, 1}) {
		t.Errorf("parents with a copied top %v", parents)
	}
}

func TestCuts(t *testing.T) {
	const f = 3600 // one frame at 25 fps, 90 kHz
	var pts []int64
	for i := int64(0); i < 250; i++ {
		pts = append(pts, i*f)
	}
	if got := gridCuts(pts, 2*clock90k); !slices.Equal(got, []int64{50 * f, 100 * f, 150 * f, 200 * f}) {
		t.Errorf("grid cuts %v", got)
	}
	// Keyframes every 1.5 s: the first at or after each 2 s mark.
	var idr []int64
	for i := int64(0); i < 250; i += 37 {
		idr = append(idr, i*f)
	}
	cuts, why := copyCuts(pts, idr, 2*clock90k, 250*f)
	if why != "" || !slices.Equal(cuts, []int64{74 * f, 111 * f, 185 * f, 222 * f}) {
		t.Errorf("copy cuts %v (%s)", cuts, why)
	}
	// Keyframes 12 s apart cannot be copied.
	if _, why := copyCuts(pts, []int64{0}, 2*clock90k, 12*clock90k); why == "" {
		t.Error("a 12 s GOP was accepted for a copy")
	}
	// Nor a video that does not start with one.
	if _, why := copyCuts(pts, []int64{f}, 2*clock90k, 250*f); why == "" {
		t.Error("a video starting without an IDR was accepted for a copy")
	}
	p := &plan{cuts: []int64{100, 200}}
	for t0, want := range map[int64]int{0: 0, 99: 0, 100: 1, 199: 1, 200: 2, 1e9: 2} {
		if got := p.segmentOf(t0); got != want {
			t.Errorf("segmentOf(%d) = %d, want %d", t0, got, want)
		}
	}
}

func TestVTTTime(t *testing.T) {
	for ticks, want := range map[int64]string{0: "00:00:00.000", 90: "00:00:00.001", 6 * clock90k: "00:00:06.000", 3723 * clock90k: "01:02:03.000", -5: "00:00:00.000"} {
		if got := vttTime(ticks); got != want {
			t.Errorf("vttTime(%d) = %s, want %s", ticks, got, want)
		}
	}
}

func TestNALUnits(t *testing.T) {
	annexB := []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 0}
	var got [][]byte
	nalFormat{h264: true}.each(annexB, func(n []byte) bool { got = append(got, n); return true })
	if fmt.Sprint(got) != "[[103 1 2] [104 3] [101 4 5]]" {
		t.Errorf("Annex B units %v", got)
	}
	avcc := toAVCC(nalFormat{h264: true}, annexB)
	sps, pps := auParams(nalFormat{h264: true, lengthSize: 4}, avcc)
	if fmt.Sprint(sps, pps) != "[103 1 2] [104 3]" || !(nalFormat{h264: true, lengthSize: 4}).hasIDR(avcc) {
		t.Errorf("AVCC %v: sps %v pps %v", avcc, sps, pps)
	}
	// avcC extradata.
	ext := []byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 3, 0x67, 1, 2, 1, 0, 2, 0x68, 3}
	if sps, pps := sourceParams(ext); fmt.Sprint(sps, pps) != "[103 1 2] [104 3]" {
		t.Errorf("avcC sps %v pps %v", sps, pps)
	}
}

// FuzzNALUnits: no input makes the NAL unit walkers panic or loop.
func FuzzNALUnits(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0x65}, 0)
	f.Add([]byte{0, 0, 0, 9, 0x65}, 4)
	f.Add([]byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0xff, 0xff}, 4)
	f.Fuzz(func(t *testing.T, b []byte, size int) {
		nf := nalFormat{h264: true, lengthSize: []int{0, 1, 2, 4}[uint(size)%4]}
		n := 0
		nf.each(b, func(u []byte) bool {
			if len(u) == 0 {
				t.Fatal("empty NAL unit")
			}
			n++
			return true
		})
		if n > len(b) {
			t.Fatalf("%d units from %d bytes", n, len(b))
		}
		nf.hasIDR(b)
		sourceParams(b)
		auParams(nf, b)
		toAVCC(nf, b)
	})
}

func TestDecoderThreads(t *testing.T) {
	// Light H.264 decodes on one thread; heavier sources keep FFmpeg's
	// frame threads.
	for _, c := range []struct {
		name string
		src  string
		want int
	}{
		{"720p25 H.264", srcH264(t), 1},
		{"480p HEVC", srcHEVC(t), 0},
		{"1440p H.264", media(t, "h264_1440p.mp4", append(lavfi("2560x1440", 3),
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")...), 0},
		{"480p H.264 at 16 Mbit/s", media(t, "h264_16M.mp4", append(lavfi("854x480", 2),
			"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "16M", "-minrate", "16M", "-maxrate", "16M", "-bufsize", "4M",
			"-x264-params", "nal-hrd=cbr", "-pix_fmt", "yuv420p", "-c:a", "aac")...), 0},
	} {
		s, err := openSource(context.Background(), c.src, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := decoderThreads(s); got != c.want {
			t.Errorf("%s (%d bit/s): decoder threads %d, want %d", c.name, s.video.CodecParameters().BitRate(), got, c.want)
		}
		s.close()
	}
}

func TestScaleFilter(t *testing.T) {
	if !hasZscale() {
		t.Fatal("FFmpeg has no zscale filter: the ladder scales with swscale, at about twice the CPU")
	}
	f := astiav.AllocFrame()
	defer f.Free()
	for _, c := range []struct {
		w, h int
		pix  astiav.PixelFormat
		rng  astiav.ColorRange
		want string
	}{
		{1920, 1080, astiav.PixelFormatYuv420P, astiav.ColorRangeMpeg, "zscale=w=1280:h=720:filter=bilinear"},
		{1920, 1080, astiav.PixelFormatYuv420P, astiav.ColorRangeUnspecified, "zscale=w=1280:h=720:filter=bilinear"},
		// What zimg would convert or refuses goes to swscale.
		{1921, 1080, astiav.PixelFormatYuv420P, astiav.ColorRangeMpeg, "scale=1280:720:flags=bilinear"},
		{1920, 1080, astiav.PixelFormatYuvj420P, astiav.ColorRangeJpeg, "scale=1280:720:flags=bilinear"},
		{1920, 1080, astiav.PixelFormatYuv420P, astiav.ColorRangeJpeg, "scale=1280:720:flags=bilinear"},
		{1920, 1080, astiav.PixelFormatYuv420P10Le, astiav.ColorRangeMpeg, "scale=1280:720:flags=bilinear"},
	} {
		f.SetWidth(c.w)
		f.SetHeight(c.h)
		f.SetPixelFormat(c.pix)
		f.SetColorRange(c.rng)
		if got := scaleFilter(f, 1280, 720); got != c.want {
			t.Errorf("%dx%d %s range %d: %q, want %q", c.w, c.h, c.pix.Name(), c.rng, got, c.want)
		}
	}
}
