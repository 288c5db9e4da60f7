package ladder

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wantRung is a video rendition a test expects.
type wantRung struct {
	name string
	w, h int
	copy bool
}

type wantLadder struct {
	rungs    []wantRung // highest first
	audio    bool
	duration float64 // seconds
}

// runLadder runs the ladder of src into a fresh directory.
func runLadder(t *testing.T, src string, opt Options) (Result, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var steps []string
	opt.Progress = func(step string, pct float64) {
		if pct < 0 || pct > 100 {
			t.Errorf("progress %s %.1f out of range", step, pct)
		}
		if len(steps) == 0 || steps[len(steps)-1] != step {
			steps = append(steps, step)
		}
	}
	start := time.Now()
	res, err := Run(ctx, src, out, opt)
	if err != nil {
		t.Fatalf("Run(%s): %v", filepath.Base(src), err)
	}
	t.Logf("%s: %v for %v of media, progress steps %v", filepath.Base(src), time.Since(start).Round(time.Millisecond), res.Duration, steps)
	if steps[0] != "probe" || !slices.Contains(steps, "ladder") {
		t.Errorf("progress steps %v, want probe then ladder", steps)
	}
	return res, out
}

var codecsRE = regexp.MustCompile(`^avc1\.([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})(,mp4a\.40\.2)?$`)

// checkLadder checks everything a player and a user see of a ladder.
func checkLadder(t *testing.T, res Result, out string, want wantLadder) {
	t.Helper()
	// Renditions, highest first, audio last.
	var names []string
	for _, r := range res.Renditions {
		names = append(names, r.Name)
	}
	var wantNames []string
	for _, r := range want.rungs {
		wantNames = append(wantNames, r.name)
	}
	if want.audio {
		wantNames = append(wantNames, "audio")
	}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("renditions %v, want %v", names, wantNames)
	}
	if math.Abs(res.Duration.Seconds()-want.duration) > 0.5 {
		t.Errorf("Result.Duration %v, want %.1f s", res.Duration, want.duration)
	}
	if len(want.rungs) > 0 && (res.Width != want.rungs[0].w || res.Height != want.rungs[0].h) {
		t.Errorf("Result size %dx%d, want %dx%d", res.Width, res.Height, want.rungs[0].w, want.rungs[0].h)
	}

	// Master playlist.
	tags, variants := parseMaster(t, filepath.Join(out, "master.m3u8"))
	if len(tags) < 3 || tags[0] != "#EXTM3U" || !slices.Contains(tags, "#EXT-X-VERSION:7") || !slices.Contains(tags, "#EXT-X-INDEPENDENT-SEGMENTS") {
		t.Errorf("master playlist tags %v", tags)
	}
	if len(variants) != len(res.Renditions) {
		t.Fatalf("master has %d variants, want %d", len(variants), len(res.Renditions))
	}

	var videoStarts [][]segStart
	var videoDurs [][]float64
	var audioStarts []segStart
	for i, r := range res.Renditions {
		v := variants[i]
		if v.uri != r.Name+"/index.m3u8" || r.Playlist != v.uri {
			t.Errorf("variant %d URI %q, playlist %q, want %s/index.m3u8", i, v.uri, r.Playlist, r.Name)
		}
		bw, _ := strconv.Atoi(v.attrs["BANDWIDTH"])
		avg, _ := strconv.Atoi(v.attrs["AVERAGE-BANDWIDTH"])
		if bw <= 0 || bw != r.Bandwidth || avg <= 0 || avg > bw {
			t.Errorf("%s: BANDWIDTH %d (result %d), AVERAGE-BANDWIDTH %d", r.Name, bw, r.Bandwidth, avg)
		}
		if v.attrs["CODECS"] != r.Codecs {
			t.Errorf("%s: CODECS %q, result %q", r.Name, v.attrs["CODECS"], r.Codecs)
		}
		// The source is 25 fps; the clip editor snaps to frames with this number.
		if wantFPS := map[bool]float64{true: 25}[r.Width > 0]; r.FrameRate != wantFPS || (r.Width > 0) != (v.attrs["FRAME-RATE"] == "25.000") {
			t.Errorf("%s: frame rate %v, FRAME-RATE %q, want %v", r.Name, r.FrameRate, v.attrs["FRAME-RATE"], wantFPS)
		}

		dir := filepath.Join(out, r.Name)
		pl := parseMediaPlaylist(t, filepath.Join(dir, "index.m3u8"))
		for _, k := range []string{"#EXT-X-ENDLIST", "#EXT-X-INDEPENDENT-SEGMENTS"} {
			if _, ok := pl.tags[k]; !ok {
				t.Errorf("%s: media playlist lacks %s", r.Name, k)
			}
		}
		if pl.tags["#EXT-X-VERSION"] != "7" || pl.tags["#EXT-X-PLAYLIST-TYPE"] != "VOD" || pl.tags["#EXT-X-MAP"] != `URI="init.mp4"` {
			t.Errorf("%s: media playlist tags %v", r.Name, pl.tags)
		}
		target, _ := strconv.Atoi(pl.tags["#EXT-X-TARGETDURATION"])
		sum := 0.0
		for j, d := range pl.durs {
			sum += d
			if int(math.Round(d)) > target || d <= 0 {
				t.Errorf("%s: segment %d lasts %.3f s, target %d", r.Name, j+1, d, target)
			}
			if wantName := fmt.Sprintf("seg_%05d.m4s", j+1); pl.segments[j] != wantName {
				t.Errorf("%s: segment %d named %q, want %s", r.Name, j+1, pl.segments[j], wantName)
			}
		}
		if math.Abs(sum-want.duration) > 0.5 {
			t.Errorf("%s: segments last %.3f s, want %.1f", r.Name, sum, want.duration)
		}

		joined, starts := joinRendition(t, dir, pl)
		p := ffprobe(t, joined, true)
		if math.Abs(atof(p.Format.Duration)-want.duration) > 0.5 {
			t.Errorf("%s: ffprobe duration %s, want %.1f", r.Name, p.Format.Duration, want.duration)
		}
		var gotVideo, gotAudio bool
		for _, s := range p.Streams {
			switch s.CodecType {
			case "video":
				gotVideo = true
				if s.CodecName != "h264" || s.Width != r.Width || s.Height != r.Height {
					t.Errorf("%s: video %s %dx%d, want h264 %dx%d", r.Name, s.CodecName, s.Width, s.Height, r.Width, r.Height)
				}
				m := codecsRE.FindStringSubmatch(r.Codecs)
				if m == nil {
					t.Errorf("%s: CODECS %q", r.Name, r.Codecs)
					break
				}
				if prof := map[string]string{"42": "Baseline", "4d": "Main", "64": "High"}[m[1]]; !strings.Contains(s.Profile, prof) || prof == "" {
					t.Errorf("%s: CODECS %q but the stream is %q", r.Name, r.Codecs, s.Profile)
				}
				if (m[4] != "") != want.audio {
					t.Errorf("%s: CODECS %q with audio %v", r.Name, r.Codecs, want.audio)
				}
			case "audio":
				gotAudio = true
				if s.CodecName != "aac" || s.SampleRate != "48000" || s.Channels != 2 {
					t.Errorf("%s: audio %s %s Hz %d ch, want aac 48000 Hz stereo", r.Name, s.CodecName, s.SampleRate, s.Channels)
				}
			}
		}
		isVideo := r.Name != "audio"
		if gotVideo != isVideo || gotAudio != want.audio {
			t.Errorf("%s: video %v audio %v, want video %v audio %v", r.Name, gotVideo, gotAudio, isVideo, want.audio)
		}
		if isVideo {
			wr := want.rungs[i]
			if r.Width != wr.w || r.Height != wr.h || r.Copy != wr.copy {
				t.Errorf("%s: %dx%d copy %v, want %dx%d copy %v", r.Name, r.Width, r.Height, r.Copy, wr.w, wr.h, wr.copy)
			}
			if v.attrs["RESOLUTION"] != fmt.Sprintf("%dx%d", r.Width, r.Height) || v.attrs["FRAME-RATE"] != "25.000" {
				t.Errorf("%s: RESOLUTION %q FRAME-RATE %q", r.Name, v.attrs["RESOLUTION"], v.attrs["FRAME-RATE"])
			}
			ss := segmentStarts(t, p, starts, "video")
			for j, s := range ss {
				if !s.firstKey {
					t.Errorf("%s: segment %d does not start with a keyframe", r.Name, j+1)
				}
			}
			videoStarts = append(videoStarts, ss)
			videoDurs = append(videoDurs, pl.durs)
			// The bitrate stays near the rung's budget (VBV), plus audio.
			if !r.Copy {
				budget := 0
				for _, spec := range rungSpecs {
					if spec.name == r.Name {
						budget = spec.bitrate
					}
				}
				if avg > budget*13/10+audioBitrate*12/10 {
					t.Errorf("%s: average %d bit/s over the %d budget", r.Name, avg, budget)
				}
			}
		} else {
			if _, ok := v.attrs["RESOLUTION"]; ok {
				t.Errorf("audio variant has a RESOLUTION")
			}
			audioStarts = segmentStarts(t, p, starts, "audio")
		}
	}

	// Segment boundaries: the same presentation time in every rung, the
	// audio rung within one AAC frame of them.
	for i := 1; i < len(videoStarts); i++ {
		if len(videoStarts[i]) != len(videoStarts[0]) {
			t.Fatalf("%s has %d segments, %s %d", res.Renditions[i].Name, len(videoStarts[i]), res.Renditions[0].Name, len(videoStarts[0]))
		}
		for j := range videoStarts[i] {
			if math.Abs(videoStarts[i][j].pts-videoStarts[0][j].pts) > 0.0011 || math.Abs(videoDurs[i][j]-videoDurs[0][j]) > 0.0011 {
				t.Errorf("segment %d starts at %.4f s (%.3f s long) in %s, at %.4f s (%.3f s) in %s", j+1,
					videoStarts[i][j].pts, videoDurs[i][j], res.Renditions[i].Name,
					videoStarts[0][j].pts, videoDurs[0][j], res.Renditions[0].Name)
			}
		}
	}
	if len(videoStarts) > 0 && audioStarts != nil {
		if len(audioStarts) != len(videoStarts[0]) {
			t.Fatalf("audio rung has %d segments, video %d", len(audioStarts), len(videoStarts[0]))
		}
		for j := range audioStarts {
			if d := audioStarts[j].pts - videoStarts[0][j].pts; d < -0.0011 || d > 0.0225 {
				t.Errorf("audio segment %d starts at %.4f s, video at %.4f s", j+1, audioStarts[j].pts, videoStarts[0][j].pts)
			}
		}
	}
	if len(videoStarts) > 0 {
		for j := 0; j+1 < len(videoStarts[0]); j++ {
			if d := videoStarts[0][j+1].pts - videoStarts[0][j].pts; d < 1.99 || d > 2.5 {
				t.Errorf("segment %d lasts %.3f s, want about 2 s", j+1, d)
			}
		}
	}

	if len(want.rungs) > 0 {
		checkImages(t, out, want)
	} else {
		for _, f := range []string{"poster.jpg", "storyboard.jpg", "storyboard.vtt"} {
			if _, err := os.Stat(filepath.Join(out, f)); err == nil {
				t.Errorf("audio-only media has %s", f)
			}
		}
	}

	// Files lists exactly what is on disk.
	var onDisk []string
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(onDisk)
	if !slices.Equal(onDisk, res.Files) {
		t.Errorf("Result.Files %v, on disk %v", res.Files, onDisk)
	}
}

// checkImages checks the poster, the storyboard sprites and the VTT track.
func checkImages(t *testing.T, out string, want wantLadder) {
	t.Helper()
	top := want.rungs[0]
	poster := readJPEG(t, filepath.Join(out, "poster.jpg"))
	pw, ph := fitBoxExact(top.w, top.h, posterBox, posterBox)
	if b := poster.Bounds(); b.Dx() != pw || b.Dy() != ph {
		t.Errorf("poster is %v, want %dx%d", b.Size(), pw, ph)
	}
	cues := parseVTT(t, filepath.Join(out, "storyboard.vtt"))
	if len(cues) == 0 {
		t.Fatal("storyboard.vtt has no cues")
	}
	tw, th := fitBoxExact(top.w, top.h, thumbW, thumbH)
	sprites := map[string]image.Image{}
	prevEnd := 0.0
	for i, c := range cues {
		if math.Abs(c.start-prevEnd) > 0.0011 || c.end <= c.start {
			t.Errorf("cue %d runs %.3f-%.3f after one ending at %.3f", i, c.start, c.end, prevEnd)
		}
		prevEnd = c.end
		img, ok := sprites[c.image]
		if !ok {
			img = readJPEG(t, filepath.Join(out, c.image))
			sprites[c.image] = img
		}
		if c.w != tw || c.h != th || c.x+c.w > img.Bounds().Dx() || c.y+c.h > img.Bounds().Dy() || c.x%tw != 0 || c.y%th != 0 {
			t.Errorf("cue %d: %s#xywh=%d,%d,%d,%d in a %v sprite, thumbnails %dx%d", i, c.image, c.x, c.y, c.w, c.h, img.Bounds().Size(), tw, th)
		}
	}
	if cues[0].start != 0 || math.Abs(prevEnd-want.duration) > 0.5 {
		t.Errorf("cues cover %.3f-%.3f s, want 0-%.1f", cues[0].start, prevEnd, want.duration)
	}
}

func TestLadderH264Copy(t *testing.T) {
	src := srcH264(t)
	res, out := runLadder(t, src, Options{})
	checkLadder(t, res, out, wantLadder{
		rungs: []wantRung{
			{"720p", 1280, 720, true},
			{"480p", 854, 480, false},
			{"360p", 640, 360, false},
		},
		audio:    true,
		duration: 6,
	})
	if res.Info.Video == nil || res.Info.Video.Codec != "h264" || res.Info.Audio == nil {
		t.Errorf("Info %+v", res.Info)
	}

	// The copied rung carries the source's own access units.
	srcP := ffprobe(t, src, true)
	pl := parseMediaPlaylist(t, filepath.Join(out, "720p", "index.m3u8"))
	joined, _ := joinRendition(t, filepath.Join(out, "720p"), pl)
	outP := ffprobe(t, joined, true)
	count := func(p probeJSON) (n int) {
		for _, pk := range p.Packets {
			if pk.CodecType == "video" {
				n++
			}
		}
		return n
	}
	if count(srcP) != count(outP) {
		t.Errorf("copied rung has %d video packets, source %d", count(outP), count(srcP))
	}
	srcBytes, _ := os.Stat(src)
	var rungBytes int64
	for _, s := range pl.segments {
		st, _ := os.Stat(filepath.Join(out, "720p", s))
		rungBytes += st.Size()
	}
	// Same video plus re-encoded 96k audio: within a few percent.
	if r := float64(rungBytes) / float64(srcBytes.Size()); r < 0.9 || r > 1.1 {
		t.Errorf("copied rung is %d bytes for a %d byte source", rungBytes, srcBytes.Size())
	}
}

func TestLadderBFramesMPEGTS(t *testing.T) {
	res, out := runLadder(t, srcH264B(t), Options{})
	checkLadder(t, res, out, wantLadder{
		rungs: []wantRung{
			{"480p", 854, 480, true},
			{"360p", 640, 360, false},
		},
		audio:    true,
		duration: 6,
	})
	if !res.Info.Video.BFrames || res.Info.Video.Profile != "High" {
		t.Errorf("Info.Video %+v, want High with B-frames", res.Info.Video)
	}
}

func TestLadderHEVC(t *testing.T) {
	res, out := runLadder(t, srcHEVC(t), Options{})
	checkLadder(t, res, out, wantLadder{
		rungs: []wantRung{
			{"480p", 854, 480, false},
			{"360p", 640, 360, false},
		},
		audio:    true,
		duration: 6,
	})
}

func TestLadderRotated(t *testing.T) {
	src := srcRotated(t)
	info, err := Probe(context.Background(), src, 0)
	if err != nil {
		t.Fatal(err)
	}
	// FFmpeg 5.1 stores "rotate=90" as a display matrix turning 90 degrees
	// counter-clockwise, which players (and the ffmpeg CLI) undo by
	// turning the picture 270 degrees clockwise.
	if info.Video.Rotation != 270 || info.Video.Width != 640 || info.Video.Height != 360 {
		t.Fatalf("Probe: %+v, want 640x360 rotated 270", info.Video)
	}
	res, out := runLadder(t, src, Options{})
	checkLadder(t, res, out, wantLadder{
		rungs:    []wantRung{{"360p", 360, 640, false}},
		audio:    true,
		duration: 4,
	})

	// The poster is upright: it matches what the ffmpeg CLI's autorotate
	// shows at the same time (1 s in), and clearly not the picture turned
	// the other way.
	ref := filepath.Join(t.TempDir(), "ref.jpg")
	run(t, "ffmpeg", "-v", "error", "-ss", "1", "-i", src, "-frames:v", "1", "-q:v", "2", ref)
	refOther := filepath.Join(t.TempDir(), "other.jpg")
	run(t, "ffmpeg", "-v", "error", "-ss", "1", "-noautorotate", "-i", src, "-frames:v", "1", "-vf", "transpose=clock", "-q:v", "2", refOther)
	poster := readJPEG(t, filepath.Join(out, "poster.jpg"))
	same, other := lumaDiff(t, poster, readJPEG(t, ref)), lumaDiff(t, poster, readJPEG(t, refOther))
	t.Logf("poster luma difference: %.1f to the upright reference, %.1f to the wrong turn", same, other)
	if same > 8 || same*3 > other {
		t.Errorf("poster is not upright: difference %.1f to upright, %.1f to the wrong turn", same, other)
	}
}

// lumaDiff is the mean absolute luma difference of two same-size images.
func lumaDiff(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("images %v and %v differ in size", a.Bounds().Size(), b.Bounds().Size())
	}
	ya, ok1 := a.(*image.YCbCr)
	yb, ok2 := b.(*image.YCbCr)
	if !ok1 || !ok2 {
		t.Fatal("JPEGs are not YCbCr")
	}
	var sum float64
	w, h := a.Bounds().Dx(), a.Bounds().Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum += math.Abs(float64(ya.Y[ya.YOffset(x, y)]) - float64(yb.Y[yb.YOffset(x, y)]))
		}
	}
	return sum / float64(w*h)
}

func TestLadderVideoOnly(t *testing.T) {
	res, out := runLadder(t, srcVideoOnly(t), Options{})
	checkLadder(t, res, out, wantLadder{
		rungs:    []wantRung{{"360p", 640, 360, true}},
		duration: 5,
	})
	if res.Info.Audio != nil {
		t.Errorf("Info.Audio %+v for a silent file", res.Info.Audio)
	}
}

func TestLadderAudioOnly(t *testing.T) {
	res, out := runLadder(t, srcAudioOnly(t), Options{})
	checkLadder(t, res, out, wantLadder{audio: true, duration: 5})
	if res.Info.Video != nil || res.Width != 0 {
		t.Errorf("audio-only media: Info.Video %+v, size %dx%d", res.Info.Video, res.Width, res.Height)
	}
}

func TestProbe(t *testing.T) {
	info, err := Probe(context.Background(), srcH264(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	v, a := info.Video, info.Audio
	if !strings.HasPrefix(info.Format, "mov,mp4") || math.Abs(info.Duration.Seconds()-6) > 0.1 || info.Size <= 0 {
		t.Errorf("Info %+v", info)
	}
	if v == nil || v.Codec != "h264" || v.Profile != "Main" || v.Width != 1280 || v.Height != 720 || v.Rotation != 0 ||
		v.FPS != 25 || v.BFrames || v.PixFmt != "yuv420p" || v.BitRate <= 0 {
		t.Errorf("Info.Video %+v", v)
	}
	if a == nil || a.Codec != "aac" || a.SampleRate != 44100 || a.Channels != 1 {
		t.Errorf("Info.Audio %+v", a)
	}

	info, err = Probe(context.Background(), srcHEVC(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Video.Codec != "hevc" || info.Video.Profile != "Main" {
		t.Errorf("HEVC Info.Video %+v", info.Video)
	}

	// A limit below the picture refuses it.
	_, err = Probe(context.Background(), srcH264(t), 480)
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "1280x720") {
		t.Errorf("Probe with max height 480: %v", err)
	}
}

func TestLadderAbove1080p(t *testing.T) {
	// 1440p is too large to copy: the top rung is encoded, and the lower
	// rungs scale from it (720p from 1080p, 480p and 360p from 720p).
	src := media(t, "h264_1440p.mp4", append(lavfi("2560x1440", 3),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")...)
	res, out := runLadder(t, src, Options{Preset: "ultrafast"})
	checkLadder(t, res, out, wantLadder{
		rungs: []wantRung{
			{"1080p", 1920, 1080, false},
			{"720p", 1280, 720, false},
			{"480p", 854, 480, false},
			{"360p", 640, 360, false},
		},
		audio:    true,
		duration: 3,
	})
}

func TestLadderTenBit(t *testing.T) {
	// 10-bit H.265 with non-square pixels (720x576 shown as 16:9):
	// encoded to 8-bit 4:2:0 with square pixels.
	src := media(t, "hevc10.mkv", append(lavfi("720x576", 3),
		"-vf", "setsar=64/45", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
		"-pix_fmt", "yuv420p10le", "-c:a", "libopus")...)
	info, err := Probe(context.Background(), src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Video.PixFmt != "yuv420p10le" || info.Video.Profile != "Main 10" || info.Audio.Codec != "opus" {
		t.Errorf("Probe: video %+v audio %+v", info.Video, info.Audio)
	}
	res, out := runLadder(t, src, Options{})
	checkLadder(t, res, out, wantLadder{
		rungs: []wantRung{
			{"720p", 1024, 576, false},
			{"480p", 854, 480, false},
			{"360p", 640, 360, false},
		},
		audio:    true,
		duration: 3,
	})
}
