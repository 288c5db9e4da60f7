package clip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/transcode/ladder"
)

// lesson is a ready lesson in a local store, shared by the tests of this package
// (building it is most of their time).
type lesson struct {
	src   string // the source file
	store storage.Store
	res   ladder.Result
	err   error
}

var (
	lessonOnce sync.Once
	shared     lesson
)

const lessonID = "lesson-1"

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// readyLesson makes a 24 s 720p25 lesson (H.264 with B-frames and 1 s GOPs, so the
// top rung is a copy whose segments hold two GOPs; AAC), runs the ladder and
// publishes it under vod/lesson-1/.
func readyLesson(t *testing.T) *lesson {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	lessonOnce.Do(func() {
		dir, err := os.MkdirTemp("", "clip-lesson-")
		if err != nil {
			shared.err = err
			return
		}
		shared.src = filepath.Join(dir, "src.mp4")
		cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
			"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-t", "24", "-c:v", "libx264", "-preset", "superfast", "-profile:v", "main", "-g", "25", "-keyint_min", "25",
			"-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", shared.src)
		if b, err := cmd.CombinedOutput(); err != nil {
			shared.err = fmt.Errorf("ffmpeg: %v: %s", err, b)
			return
		}
		out := filepath.Join(dir, "ladder")
		shared.res, err = ladder.Run(context.Background(), shared.src, out, ladder.Options{Preset: "ultrafast"})
		if err != nil {
			shared.err = err
			return
		}
		st, err := storage.NewLocal(filepath.Join(dir, "store"))
		if err != nil {
			shared.err = err
			return
		}
		for _, f := range shared.res.Files {
			b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f)))
			if err == nil {
				err = st.Put(context.Background(), "vod/"+lessonID+"/"+f, bytes.NewReader(b), int64(len(b)), "")
			}
			if err != nil {
				shared.err = err
				return
			}
		}
		shared.store = st
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return &shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.src != "" {
		os.RemoveAll(filepath.Dir(shared.src))
	}
	os.Exit(code)
}

// grayFrame decodes picture n of a media file (or playlist) as 8-bit luma at w x h.
func grayFrame(t *testing.T, in string, n, w, h int) []byte {
	t.Helper()
	b := run(t, "ffmpeg", "-v", "error", "-i", in, "-vf",
		fmt.Sprintf("select=eq(n\\,%d),scale=%d:%d:flags=bilinear", n, w, h),
		"-vsync", "0", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	if len(b) != w*h {
		t.Fatalf("%s: picture %d: %d bytes of luma, want %d", in, n, len(b), w*h)
	}
	return b
}

// srcFrames decodes pictures n-1, n and n+1 of the 25 fps source as luma at w x h
// (nil for one that does not exist), seeking instead of decoding from the start.
func srcFrames(t *testing.T, src string, n, w, h int) [3][]byte {
	t.Helper()
	first := max(n-1, 0)
	b := run(t, "ffmpeg", "-v", "error", "-ss", fmt.Sprintf("%.3f", float64(first)/25-0.001), "-i", src,
		"-vf", fmt.Sprintf("scale=%d:%d:flags=bilinear", w, h), "-vsync", "0", "-frames:v", "3",
		"-f", "rawvideo", "-pix_fmt", "gray", "-")
	var out [3][]byte
	for i := range 3 {
		k := first + i - (n - 1)
		if k < 3 && len(b) >= (i+1)*w*h {
			out[k] = b[i*w*h : (i+1)*w*h]
		}
	}
	if out[1] == nil {
		t.Fatalf("%s: no picture %d", src, n)
	}
	return out
}

// matchesSource asserts that got is source picture n and not a neighbour.
func matchesSource(t *testing.T, what string, got []byte, src string, n, w, h int) {
	t.Helper()
	f := srcFrames(t, src, n, w, h)
	same := lumaDiff(got, f[1])
	ok := same <= 3
	for _, nb := range []int{0, 2} {
		if f[nb] != nil && lumaDiff(got, f[nb]) <= same {
			ok = false
		}
	}
	if !ok {
		var nbs []string
		for _, nb := range []int{0, 2} {
			if f[nb] != nil {
				nbs = append(nbs, fmt.Sprintf("%.2f", lumaDiff(got, f[nb])))
			}
		}
		t.Errorf("%s vs source picture %d: diff %.2f (neighbours %s)", what, n, same, strings.Join(nbs, ", "))
	}
}

// firstAndLast decodes pictures 0 and n-1 of a playlist as luma at w x h, in one pass.
func firstAndLast(t *testing.T, in string, n, w, h int) [2][]byte {
	t.Helper()
	b := run(t, "ffmpeg", "-v", "error", "-i", in, "-vf",
		fmt.Sprintf("select=eq(n\\,0)+eq(n\\,%d),scale=%d:%d:flags=bilinear", n-1, w, h),
		"-vsync", "0", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	if len(b) != 2*w*h {
		t.Fatalf("%s: %d bytes of luma for pictures 0 and %d, want %d", in, len(b), n-1, 2*w*h)
	}
	return [2][]byte{b[:w*h], b[w*h:]}
}

// lumaDiff is the mean absolute difference of two luma pictures.
func lumaDiff(a, b []byte) float64 {
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return s / float64(len(a))
}

type streamSpan struct {
	start, end float64
	packets    int
}

// spans reads the packets of a playlist with ffprobe: where each stream starts and
// ends (presentation times).
func spans(t *testing.T, playlist string) map[string]*streamSpan {
	t.Helper()
	out := run(t, "ffprobe", "-v", "error", "-show_entries", "packet=codec_type,pts_time,duration_time", "-of", "csv=p=0", playlist)
	m := map[string]*streamSpan{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		pts, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("%s: packet without a time: %q", playlist, line)
		}
		dur, _ := strconv.ParseFloat(f[2], 64) // N/A in some fragments: 0

		s := m[f[0]]
		if s == nil {
			s = &streamSpan{start: pts, end: pts + dur}
			m[f[0]] = s
		}
		s.start, s.end = min(s.start, pts), max(s.end, pts+dur)
		s.packets++
	}
	return m
}

func TestCutFrameAccurate(t *testing.T) {
	l := readyLesson(t)
	in, out := 7360*time.Millisecond, 19520*time.Millisecond
	dir := t.TempDir()
	if d := os.Getenv("CLIP_KEEP"); d != "" {
		dir = d
	}
	start := time.Now()
	var steps []string
	res, err := Cut(t.Context(), l.store, lessonID, in, out, dir, Options{Preset: "ultrafast", Progress: func(step string, pct float64) {
		if len(steps) == 0 || steps[len(steps)-1] != step {
			steps = append(steps, step)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cut in %v: %d segments copied (%d bytes), %d re-made with %d pictures; copy %v, edges %v; steps %v",
		time.Since(start).Round(time.Millisecond), res.CopiedSegments, res.CopiedBytes, res.EdgeSegments, res.EdgeFrames,
		res.CopyTime.Round(time.Millisecond), res.EdgeTime.Round(time.Millisecond), steps)
	if want := out - in; res.Duration != want {
		t.Errorf("duration %v, want %v", res.Duration, want)
	}
	if len(res.Renditions) != len(l.res.Renditions) {
		t.Fatalf("%d renditions, want %d like the lesson", len(res.Renditions), len(l.res.Renditions))
	}
	if res.Width != l.res.Width || res.Height != l.res.Height {
		t.Errorf("size %dx%d, want %dx%d", res.Width, res.Height, l.res.Width, l.res.Height)
	}
	if res.CopiedSegments == 0 || res.EdgeSegments == 0 {
		t.Errorf("copied %d, re-made %d segments: want both", res.CopiedSegments, res.EdgeSegments)
	}
	if !res.Storyboard {
		t.Error("no storyboard")
	}
	for _, f := range res.Files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("listed file %s: %v", f, err)
		}
	}

	// The master playlist has the lesson's attributes and codecs.
	master, err := os.ReadFile(filepath.Join(dir, "master.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	lessonMaster := readObject(t, l.store, "vod/"+lessonID+"/master.m3u8")
	for i, r := range res.Renditions {
		lr := l.res.Renditions[i]
		if r.Codecs != lr.Codecs || r.Name != lr.Name || r.Playlist != lr.Playlist || r.FrameRate != lr.FrameRate || r.Width > 0 && r.FrameRate != 25 {
			t.Errorf("rendition %d: %+v, lesson's %+v", i, r, lr)
		}
		attrs := []string{"BANDWIDTH=", "AVERAGE-BANDWIDTH=", `CODECS="` + r.Codecs + `"`}
		if r.Width > 0 {
			attrs = append(attrs, fmt.Sprintf("RESOLUTION=%dx%d", r.Width, r.Height), "FRAME-RATE=25.000")
		}
		for _, a := range attrs {
			if !strings.Contains(string(master), a) {
				t.Errorf("master.m3u8 lacks %s:\n%s", a, master)
			}
		}
	}
	if strings.Count(string(master), "#EXT-X-STREAM-INF") != strings.Count(lessonMaster, "#EXT-X-STREAM-INF") {
		t.Errorf("master.m3u8:\n%s\nlesson's:\n%s", master, lessonMaster)
	}

	wantFrames := int((out - in) * 25 / time.Second)
	firstSrc := int(in * 25 / time.Second)
	for _, r := range res.Renditions {
		pl := filepath.Join(dir, r.Playlist)
		// Decodes end to end without a single error.
		cmd := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", pl, "-f", "null", "-")
		if b, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
			t.Errorf("%s: ffmpeg decode: %v: %s", r.Name, err, b)
		}
		sp := spans(t, pl)
		a := sp["audio"]
		if a == nil {
			t.Errorf("%s: no audio", r.Name)
			continue
		}
		if r.Width == 0 {
			if d := a.end - a.start; math.Abs(d-(out-in).Seconds()) > 0.05 {
				t.Errorf("audio rendition: %.3f s, want %.3f", d, (out - in).Seconds())
			}
			continue
		}
		v := sp["video"]
		if v == nil || v.packets != wantFrames {
			t.Errorf("%s: %v video packets, want %d", r.Name, v, wantFrames)
			continue
		}
		if math.Abs((v.end-v.start)-(a.end-a.start)) > 0.05 || math.Abs(v.start-a.start) > 0.05 {
			t.Errorf("%s: video %.3f-%.3f, audio %.3f-%.3f: more than 50 ms apart", r.Name, v.start, v.end, a.start, a.end)
		}
		// The first and last pictures are the source's pictures at in and out-1, not
		// their neighbours.
		w, h := r.Width/4*2, r.Height/4*2
		for _, c := range []struct{ clip, src int }{{0, firstSrc}, {wantFrames - 1, firstSrc + wantFrames - 1}} {
			matchesSource(t, fmt.Sprintf("%s: clip picture %d", r.Name, c.clip), grayFrame(t, pl, c.clip, w, h), l.src, c.src, w, h)
		}
	}
	// Every video init segment carries both parameter set pairs.
	for _, r := range res.Renditions {
		if r.Width == 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, r.Name, "init.mp4"))
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := findAVCC(b)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseAVCC(b[x.start+x.hdr : x.end])
		if err != nil || len(c.sps) != 2 || len(c.pps) != 2 {
			t.Errorf("%s: avcC with %d SPS and %d PPS (%v), want 2 and 2", r.Name, len(c.sps), len(c.pps), err)
		}
	}
}

func readObject(t *testing.T, st storage.Store, key string) string {
	t.Helper()
	b, err := getSmall(t.Context(), st, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCutBadInput(t *testing.T) {
	l := readyLesson(t)
	for _, c := range []struct {
		name    string
		id      string
		in, out time.Duration
		want    string
	}{
		{"out before in", lessonID, 5 * time.Second, 4 * time.Second, "not after"},
		{"negative in", lessonID, -time.Second, 4 * time.Second, "before the lesson"},
		{"too short", lessonID, 5 * time.Second, 5500 * time.Millisecond, "shorter"},
		{"too long", lessonID, 0, 2 * time.Hour, "longer"},
		{"past the end", lessonID, 20 * time.Second, 30 * time.Second, "past the lesson's end"},
		{"in past the end", lessonID, 25 * time.Second, 30 * time.Second, "past the lesson's end"},
		{"no such lesson", "lesson-x", 0, 4 * time.Second, "no HLS ladder"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			_, err := Cut(t.Context(), l.store, c.id, c.in, c.out, dir, Options{Preset: "ultrafast"})
			if !errors.Is(err, ladder.ErrBadInput) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrBadInput saying %q", err, c.want)
			}
			if _, err := os.Stat(dir); err == nil {
				left, _ := os.ReadDir(dir)
				if len(left) > 0 {
					t.Errorf("left %d entries in the output directory", len(left))
				}
			}
		})
	}
}

// checkPlays asserts that every rendition of a clip decodes without an error and that
// the video ones hold exactly the pictures of [in, out), the first and last matching
// the source's (checked on the top rendition).
func checkPlays(t *testing.T, l *lesson, dir string, res Result, in, out time.Duration) {
	t.Helper()
	wantFrames := int((out - in) * 25 / time.Second)
	firstSrc := int(in * 25 / time.Second)
	for i, r := range res.Renditions {
		if i > 0 && i < len(res.Renditions)-2 {
			continue // the top, the smallest video and the audio renditions are enough here
		}
		pl := filepath.Join(dir, r.Playlist)
		cmd := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", pl, "-f", "null", "-")
		if b, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
			t.Errorf("%s: ffmpeg decode: %v: %s", r.Name, err, b)
		}
		if r.Width == 0 {
			continue
		}
		if v := spans(t, pl)["video"]; v == nil || v.packets != wantFrames {
			t.Errorf("%s: %+v video packets, want %d", r.Name, v, wantFrames)
		}
		if i > 0 {
			continue
		}
		w, h := r.Width/4*2, r.Height/4*2
		ends := firstAndLast(t, pl, wantFrames, w, h)
		matchesSource(t, r.Name+": first clip picture", ends[0], l.src, firstSrc, w, h)
		matchesSource(t, r.Name+": last clip picture", ends[1], l.src, firstSrc+wantFrames-1, w, h)
	}
	if _, err := os.Stat(filepath.Join(dir, "poster.jpg")); err != nil {
		t.Errorf("poster: %v", err)
	}
}

// Cuts on segment boundaries copy everything; a cut inside one segment re-makes only
// it; a cut to the lesson's end copies its last segment as it is.
func TestCutShapes(t *testing.T) {
	l := readyLesson(t)
	for _, c := range []struct {
		name        string
		in, out     time.Duration
		edges, copy int // per video rendition
	}{
		{"on segment boundaries", 4 * time.Second, 8 * time.Second, 0, 2},
		{"inside one segment", 8200 * time.Millisecond, 9600 * time.Millisecond, 1, 0},
		{"to the end", 20520 * time.Millisecond, 24 * time.Second, 1, 1},
		{"a hair past the end", 20520 * time.Millisecond, 24050 * time.Millisecond, 1, 1},
		{"from the start", 0, 3 * time.Second, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			res, err := Cut(t.Context(), l.store, lessonID, c.in, c.out, dir, Options{Preset: "ultrafast"})
			if err != nil {
				t.Fatal(err)
			}
			n := len(res.Renditions)
			if res.EdgeSegments != c.edges*n || res.CopiedSegments != c.copy*n {
				t.Errorf("%d re-made, %d copied segments, want %d and %d", res.EdgeSegments, res.CopiedSegments, c.edges*n, c.copy*n)
			}
			out := min(c.out, 24*time.Second) // the lesson's 600 pictures
			if res.Duration != out-c.in {
				t.Errorf("duration %v, want %v", res.Duration, out-c.in)
			}
			checkPlays(t, l, dir, res, c.in, out)
		})
	}
}

// copyLesson publishes the lesson again as id, with the object named broken replaced
// by junk.
func copyLesson(t *testing.T, l *lesson, id, broken string) {
	t.Helper()
	objs, err := l.store.List(t.Context(), "vod/"+lessonID)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, "vod/"+lessonID+"/")
		b := []byte(readObject(t, l.store, o.Key))
		if rel == broken {
			b = bytes.Repeat([]byte("not a segment "), 1000)
		}
		if err := l.store.Put(t.Context(), "vod/"+id+"/"+rel, bytes.NewReader(b), int64(len(b)), ""); err != nil {
			t.Fatal(err)
		}
	}
}

// A corrupt segment, copied or re-made, fails the cut with ErrBadInput naming it.
func TestCutCorruptSegment(t *testing.T) {
	l := readyLesson(t)
	for id, broken := range map[string]string{
		"broken-middle": "480p/seg_00006.m4s", // copied for [7.36, 19.52)
		"broken-edge":   "360p/seg_00004.m4s", // holds 7.36 s: re-made
		"broken-init":   "720p/init.mp4",
	} {
		copyLesson(t, l, id, broken)
		dir := filepath.Join(t.TempDir(), "out")
		_, err := Cut(t.Context(), l.store, id, 7360*time.Millisecond, 19520*time.Millisecond, dir, Options{Preset: "ultrafast"})
		if !errors.Is(err, ladder.ErrBadInput) || !strings.Contains(err.Error(), broken) {
			t.Errorf("%s: err = %v, want ErrBadInput naming %s", id, err, broken)
		}
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("%s: %d entries left in the output directory", id, len(left))
		}
	}
}

// A lesson without sound (a screen recording) cuts the same way, without audio.
func TestCutVideoOnly(t *testing.T) {
	readyLesson(t) // skips without the tools
	dir := t.TempDir()
	src := filepath.Join(dir, "src.mp4")
	run(t, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "10",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", src)
	res, err := ladder.Run(t.Context(), src, filepath.Join(dir, "ladder"), ladder.Options{Preset: "ultrafast"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.NewLocal(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		b, err := os.ReadFile(filepath.Join(dir, "ladder", filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(t.Context(), "vod/silent/"+f, bytes.NewReader(b), int64(len(b)), ""); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "clip")
	c, err := Cut(t.Context(), st, "silent", 1080*time.Millisecond, 6960*time.Millisecond, out, Options{Preset: "ultrafast"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Renditions) != 1 || c.Renditions[0].Codecs != res.Renditions[0].Codecs || c.Duration != 5880*time.Millisecond {
		t.Fatalf("clip %+v, duration %v", c.Renditions, c.Duration)
	}
	checkPlays(t, &lesson{src: src}, out, c, 1080*time.Millisecond, 6960*time.Millisecond)
	if sp := spans(t, filepath.Join(out, c.Renditions[0].Playlist)); sp["audio"] != nil {
		t.Error("the clip of a silent lesson has audio")
	}
}
