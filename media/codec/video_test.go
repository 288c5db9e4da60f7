package codec

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// h264BFramesTS returns 3 s of 1280x720 25 fps H.264 High with 3 B-frames:
// what a recording-room encoder sends and a browser cannot take over WebRTC.
func h264BFramesTS(t testing.TB) string {
	return testMedia(t, "h264_720p_bf3.ts", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "3",
		"-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "50", "-pix_fmt", "yuv420p", "-f", "mpegts")
}

// hevcTS returns 2 s of 1280x720 25 fps H.265 from libx265 (4 B-frames by
// default).
func hevcTS(t testing.TB) string {
	return testMedia(t, "hevc_720p.ts", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "2",
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=50",
		"-pix_fmt", "yuv420p", "-f", "mpegts")
}

// transcodeAll runs every access unit through tr and returns the output,
// the largest number of input AUs whose picture was still inside the
// transcoder, and the speed.
func transcodeAll(t *testing.T, tr *VideoTranscoder, aus []videoAU) (out []VideoFrame, maxLag int, sp speed) {
	t.Helper()
	start, cpu0 := time.Now(), cpuTime()
	for i, au := range aus {
		frames, err := tr.Transcode(au.nalus, au.pts)
		if err != nil {
			t.Fatalf("AU %d: %v", i, err)
		}
		out = append(out, frames...)
		maxLag = max(maxLag, i+1-len(out))
	}
	return out, maxLag, speed{
		frames: len(aus),
		wall:   time.Since(start),
		cpu:    cpuTime() - cpu0,
	}
}

// speed is a transcoding throughput measurement. The CPU figure holds up
// better than the wall clock on a busy machine.
type speed struct {
	frames    int
	wall, cpu time.Duration
}

func (s speed) String() string {
	return fmt.Sprintf("%.0f fps wall clock, %.0f fps per CPU-second (%.0f%% of a core at 25 fps)",
		float64(s.frames)/s.wall.Seconds(), float64(s.frames)/s.cpu.Seconds(),
		100*25*s.cpu.Seconds()/float64(s.frames))
}

// cpuTime returns the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// checkBrowserSafe asserts that out is H.264 a browser plays over WebRTC and
// that it carries the input's pictures.
func checkBrowserSafe(t *testing.T, out []VideoFrame, in []videoAU, wantW, wantH int) {
	t.Helper()
	checkH264Output(t, out, in, wantW, wantH, "42c0")
}

// checkH264Output is checkBrowserSafe for a given profile-level-id prefix.
func checkH264Output(t *testing.T, out []VideoFrame, in []videoAU, wantW, wantH int, profile string) {
	t.Helper()
	if len(out) == 0 {
		t.Fatal("no output")
	}
	if !out[0].Key || !IsH264Keyframe(out[0].AU) {
		t.Error("first output frame is not an IDR")
	}
	inPTS := map[int64]bool{}
	for _, au := range in {
		inPTS[au.pts] = true
	}
	keys := 0
	for i, f := range out {
		if H264HasBFrames(f.AU) {
			t.Fatalf("output frame %d has B slices", i)
		}
		if f.Key != IsH264Keyframe(f.AU) {
			t.Errorf("output frame %d: Key %v but IDR %v", i, f.Key, IsH264Keyframe(f.AU))
		}
		if f.Key {
			keys++
			sps, pps := H264Params(f.AU)
			if sps == nil || pps == nil {
				t.Fatalf("keyframe %d without SPS/PPS", i)
			}
			id, err := H264ProfileLevelID(sps)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(id, profile) {
				t.Errorf("profile-level-id %s, want %sxx", id, profile)
			}
			if i == 0 {
				t.Logf("output profile-level-id %s", id)
			}
		}
		for _, n := range f.AU {
			if len(n) == 0 {
				t.Fatalf("output frame %d has an empty NAL unit", i)
			}
		}
		if !inPTS[f.PTS] {
			t.Errorf("output frame %d has PTS %d, not an input PTS", i, f.PTS)
		}
		if i > 0 && f.PTS <= out[i-1].PTS {
			t.Errorf("output frame %d: PTS %d after %d", i, f.PTS, out[i-1].PTS)
		}
	}
	// Decoding holds back the source's reorder depth at the end.
	if d := len(in) - len(out); d < 0 || d > 4 {
		t.Errorf("%d output frames for %d input", len(out), len(in))
	}
	n, w, h := decodeH264(t, out)
	if n != len(out) || w != wantW || h != wantH {
		t.Errorf("decoded %d frames of %dx%d, want %d of %dx%d", n, w, h, len(out), wantW, wantH)
	}
	t.Logf("%d frames in, %d out, %d keyframes", len(in), len(out), keys)
}

func TestVideoTranscoderH264BFrames(t *testing.T) {
	aus := readVideoTS(t, h264BFramesTS(t))
	hasB := false
	for _, au := range aus {
		hasB = hasB || H264HasBFrames(au.nalus)
	}
	if !hasB {
		t.Fatal("test input has no B-frames")
	}
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH264}, VideoOutput{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	out, lag, sp := transcodeAll(t, tr, aus)
	t.Logf("720p H.264 (3 B-frames) -> H.264 720p: %v; max lag %d frames", sp, lag)
	if lag > 3 {
		t.Errorf("output lags %d frames behind input", lag)
	}
	checkBrowserSafe(t, out, aus, 1280, 720)
	keys := 0
	for _, f := range out {
		if f.Key {
			keys++
		}
	}
	if keys < 2 {
		t.Errorf("%d keyframes in 3 s, want one per 2 s GOP", keys)
	}
}

func TestVideoTranscoderH265(t *testing.T) {
	aus := readVideoTS(t, hevcTS(t))
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH265}, VideoOutput{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	out, lag, sp := transcodeAll(t, tr, aus)
	t.Logf("720p H.265 -> H.264 720p: %v; max lag %d frames", sp, lag)
	checkBrowserSafe(t, out, aus, 1280, 720)
}

func TestVideoTranscoderLowRendition(t *testing.T) {
	aus := readVideoTS(t, h264BFramesTS(t))
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH264}, VideoOutput{Width: 640, Height: 360})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	out, _, sp := transcodeAll(t, tr, aus)
	t.Logf("720p H.264 -> H.264 360p: %v", sp)
	checkBrowserSafe(t, out, aus, 640, 360)
	size := 0
	for _, f := range out {
		for _, n := range f.AU {
			size += len(n)
		}
	}
	kbps := float64(size*8) / 3 / 1000
	t.Logf("360p output: %.0f kbit/s", kbps)
	if kbps > 1200 {
		t.Errorf("360p output at %.0f kbit/s, want about 600", kbps)
	}
}

func TestVideoTranscoderMainProfile(t *testing.T) {
	aus := readVideoTS(t, hevcTS(t))
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH265}, VideoOutput{Width: 640, Profile: ProfileMain})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	out, _, _ := transcodeAll(t, tr, aus)
	checkH264Output(t, out, aus, 640, 360, "4d40")
}

// A High 4:2:2 source (some capture cards) must come out as 4:2:0, at the
// same size: the scaler only converts the pixel format.
func TestVideoTranscoderPixelFormat(t *testing.T) {
	path := testMedia(t, "h264_422.ts", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv422p", "-f", "mpegts")
	aus := readVideoTS(t, path)
	// Never upscale: a 720p request for a 360p source keeps 360p.
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH264}, VideoOutput{Width: 1280, Height: 720})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	out, _, _ := transcodeAll(t, tr, aus)
	checkBrowserSafe(t, out, aus, 640, 360)
}

// Cameras that send SPS/PPS only in the SDP: the transcoder inserts them.
func TestVideoTranscoderParamsFromSDP(t *testing.T) {
	aus := readVideoTS(t, h264BFramesTS(t))
	sps, pps := H264Params(aus[0].nalus)
	params := [][]byte{append([]byte(nil), sps...), append([]byte(nil), pps...)}
	var stripped []videoAU
	for _, au := range aus {
		var nalus [][]byte
		for _, n := range au.nalus {
			if typ := n[0] & 0x1f; typ != h264NALSPS && typ != h264NALPPS {
				nalus = append(nalus, n)
			}
		}
		stripped = append(stripped, videoAU{nalus: nalus, pts: au.pts})
	}
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH264, Params: params}, VideoOutput{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	out, _, _ := transcodeAll(t, tr, stripped)
	checkBrowserSafe(t, out, stripped, 1280, 720)
}

func TestVideoTranscoderCorruptAU(t *testing.T) {
	aus := readVideoTS(t, h264BFramesTS(t))
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH264}, VideoOutput{Width: 640})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	// Before the first keyframe nothing comes out, without error.
	out, err := tr.Transcode(aus[3].nalus, aus[3].pts)
	if err != nil || len(out) != 0 {
		t.Fatalf("AU before the first keyframe: %d frames, %v", len(out), err)
	}

	var all []VideoFrame
	for i, au := range aus {
		if i == 30 {
			for _, bad := range [][][]byte{
				nil,
				{{}},
				{{0xff, 0x12, 0x34}},
				{{0x00, 0x01}},
			} {
				if _, err := tr.Transcode(bad, au.pts); err == nil {
					t.Errorf("corrupt AU %x: no error", bad)
				}
			}
			// A truncated slice: FFmpeg conceals it or reports it; either
			// way the stream goes on.
			trunc := [][]byte{au.nalus[len(au.nalus)-1][:6]}
			frames, err := tr.Transcode(trunc, au.pts)
			t.Logf("truncated slice: %d frames, err %v", len(frames), err)
			all = append(all, frames...)
			continue
		}
		frames, err := tr.Transcode(au.nalus, au.pts)
		if err != nil {
			t.Logf("AU %d after corruption: %v", i, err)
		}
		all = append(all, frames...)
	}
	if len(all) < len(aus)-6 {
		t.Errorf("%d frames out of %d after corruption", len(all), len(aus))
	}
	n, w, h := decodeH264(t, all)
	if n != len(all) || w != 640 || h != 360 {
		t.Errorf("decoded %d of %d frames, %dx%d", n, len(all), w, h)
	}
}

func TestVideoTranscoderRequestKeyframe(t *testing.T) {
	aus := readVideoTS(t, h264BFramesTS(t))
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH264}, VideoOutput{Width: 320})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	var out []VideoFrame
	requested := -1
	for i, au := range aus {
		if i == 20 || i == 22 { // the second is within 500 ms: coalesced
			tr.RequestKeyframe()
			if requested < 0 {
				requested = len(out)
			}
		}
		frames, err := tr.Transcode(au.nalus, au.pts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, frames...)
	}
	if !out[requested].Key {
		t.Errorf("frame %d after the request is not a keyframe", requested)
	}
	var keys []int
	for i, f := range out {
		if f.Key {
			keys = append(keys, i)
		}
	}
	t.Logf("keyframes at output frames %v (request before frame %d)", keys, requested)
	// Frame 0, the request, the deferred second request (500 ms = 12.5
	// frames later); the GOP counts from there, so the next regular
	// keyframe would come 2 s later, after the end.
	if len(keys) != 3 || keys[0] != 0 || keys[1] != requested || keys[2] != requested+13 {
		t.Errorf("keyframes at %v, want [0 %d %d]", keys, requested, requested+13)
	}
}

// A publisher restart sends timestamps from the start again: the
// transcoder starts over on the next keyframe.
func TestVideoTranscoderRestart(t *testing.T) {
	aus := readVideoTS(t, hevcTS(t))
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH265}, VideoOutput{Width: 320})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	first, _, _ := transcodeAll(t, tr, aus)
	second, _, _ := transcodeAll(t, tr, aus)
	if len(second) < len(aus)-5 || !second[0].Key || second[0].PTS != first[0].PTS {
		t.Errorf("after restart: %d frames, first key %v PTS %d", len(second), second[0].Key, second[0].PTS)
	}
}

func TestVideoTranscoderErrors(t *testing.T) {
	if _, err := NewVideoTranscoder(VideoInput{Codec: "vp8"}, VideoOutput{}); !errors.Is(err, ErrUnsupportedCodec) {
		t.Errorf("vp8: %v, want ErrUnsupportedCodec", err)
	}
	if _, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH264}, VideoOutput{Profile: "high"}); err == nil {
		t.Error("high profile accepted")
	}
	tr, err := NewVideoTranscoder(VideoInput{Codec: VideoCodecH264}, VideoOutput{})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	tr.Close()
	if _, err := tr.Transcode([][]byte{{0x65, 0x88}}, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestFitSize(t *testing.T) {
	for _, tc := range []struct{ sw, sh, rw, rh, w, h int }{
		{1280, 720, 0, 0, 1280, 720},
		{1280, 720, 640, 360, 640, 360},
		{1920, 1080, 640, 360, 640, 360},
		{1024, 768, 640, 360, 480, 360},
		{1280, 720, 640, 0, 640, 360},
		{1280, 720, 0, 360, 640, 360},
		{640, 360, 1280, 720, 640, 360},
		{1279, 719, 0, 0, 1278, 718},
		{1920, 1080, 853, 0, 852, 480},
	} {
		if w, h := fitSize(tc.sw, tc.sh, tc.rw, tc.rh); w != tc.w || h != tc.h {
			t.Errorf("fitSize(%dx%d, %dx%d) = %dx%d, want %dx%d", tc.sw, tc.sh, tc.rw, tc.rh, w, h, tc.w, tc.h)
		}
	}
}
