package ladder

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
)

// mediaDir holds the sources generated once per test binary run.
var (
	mediaDir   string
	mediaMu    sync.Mutex
	mediaCache = map[string]string{}
)

func TestMain(m *testing.M) {
	// x264's banners and statistics would bury the test output.
	astiav.SetLogLevel(astiav.LogLevelError)
	dir, err := os.MkdirTemp("", "classcast-ladder-test")
	if err != nil {
		panic(err)
	}
	mediaDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs a command with a deadline and returns its stdout.
func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// media generates (once) the file name with ffmpeg and the given
// arguments, and returns its path.
func media(t testing.TB, name string, args ...string) string {
	t.Helper()
	mediaMu.Lock()
	defer mediaMu.Unlock()
	if p, ok := mediaCache[name]; ok {
		return p
	}
	p := filepath.Join(mediaDir, name)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	run(t, "ffmpeg", append(full, p)...)
	mediaCache[name] = p
	return p
}

// Sources used by several tests: 6 s of testsrc2 with a 440 Hz tone.
func lavfi(size string, secs int) []string {
	d := strconv.Itoa(secs)
	return []string{"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=25:duration=" + d,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=" + d}
}

// srcH264 is 1280x720 H.264 Main without B-frames, 2 s GOP, AAC, in MP4:
// browser-safe, so its top rung is a copy.
func srcH264(t testing.TB) string {
	return media(t, "h264.mp4", append(lavfi("1280x720", 6),
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-bf", "0", "-g", "50", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k")...)
}

// srcH264B is 854x480 H.264 High with B-frames and 1 s GOP in MPEG-TS
// (Annex B, timestamps starting at 1.4 s): still browser-safe.
func srcH264B(t testing.TB) string {
	return media(t, "h264b.ts", append(lavfi("854x480", 6),
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "3", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k")...)
}

// srcHEVC is 854x480 H.265 with AAC in MP4: not browser-safe.
func srcHEVC(t testing.TB) string {
	return media(t, "hevc.mp4", append(lavfi("854x480", 6),
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p",
		"-tag:v", "hvc1", "-c:a", "aac")...)
}

// srcRotated is a 640x360 H.264 picture stored with a 90 degree display
// matrix: a phone held upright.
func srcRotated(t testing.TB) string {
	plain := media(t, "rot_plain.mp4", append(lavfi("640x360", 4),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")...)
	return media(t, "rotated.mp4", "-i", plain, "-c", "copy", "-metadata:s:v", "rotate=90")
}

// srcVideoOnly is 640x360 H.264 without audio.
func srcVideoOnly(t testing.TB) string {
	return media(t, "video_only.mp4", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=5",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p")
}

// srcAudioOnly is AAC in M4A.
func srcAudioOnly(t testing.TB) string {
	return media(t, "audio_only.m4a", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=5",
		"-c:a", "aac")
}

// probeJSON is the part of ffprobe's JSON we check.
type probeJSON struct {
	Streams []struct {
		CodecType  string `json:"codec_type"`
		CodecName  string `json:"codec_name"`
		Profile    string `json:"profile"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		SampleRate string `json:"sample_rate"`
		Channels   int    `json:"channels"`
		Duration   string `json:"duration"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Packets []struct {
		CodecType string `json:"codec_type"`
		PTSTime   string `json:"pts_time"`
		Pos       string `json:"pos"`
		Flags     string `json:"flags"`
	} `json:"packets"`
}

func ffprobe(t testing.TB, path string, packets bool) probeJSON {
	t.Helper()
	args := []string{"-v", "error", "-of", "json", "-show_streams", "-show_format"}
	if packets {
		args = append(args, "-show_packets")
	}
	var p probeJSON
	if err := json.Unmarshal(run(t, "ffprobe", append(args, path)...), &p); err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return p
}

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// mediaPlaylist is a parsed media playlist.
type mediaPlaylist struct {
	tags     map[string]string
	segments []string
	durs     []float64
}

func parseMediaPlaylist(t testing.TB, path string) mediaPlaylist {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pl := mediaPlaylist{tags: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first && line != "#EXTM3U" {
			t.Fatalf("%s does not start with #EXTM3U", path)
		}
		first = false
		switch {
		case strings.HasPrefix(line, "#EXTINF:"):
			d := strings.TrimSuffix(strings.TrimPrefix(line, "#EXTINF:"), ",")
			pl.durs = append(pl.durs, atof(d))
		case strings.HasPrefix(line, "#"):
			k, v, _ := strings.Cut(line, ":")
			pl.tags[k] = v
		case line != "":
			pl.segments = append(pl.segments, line)
		}
	}
	if len(pl.segments) != len(pl.durs) || len(pl.segments) == 0 {
		t.Fatalf("%s: %d segments, %d EXTINF", path, len(pl.segments), len(pl.durs))
	}
	return pl
}

// variantJSON is one #EXT-X-STREAM-INF of a master playlist.
type variantInfo struct {
	attrs map[string]string
	uri   string
}

var attrRE = regexp.MustCompile(`([A-Z0-9-]+)=("[^"]*"|[^,]*)`)

func parseMaster(t testing.TB, path string) (tags []string, vs []variantInfo) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "#EXT-X-STREAM-INF:") {
			v := variantInfo{attrs: map[string]string{}}
			for _, m := range attrRE.FindAllStringSubmatch(strings.TrimPrefix(line, "#EXT-X-STREAM-INF:"), -1) {
				v.attrs[m[1]] = strings.Trim(m[2], `"`)
			}
			if i+1 < len(lines) {
				v.uri = lines[i+1]
				i++
			}
			vs = append(vs, v)
			continue
		}
		tags = append(tags, line)
	}
	return tags, vs
}

// joinRendition concatenates a rendition's init and media segments into
// one file, as a player feeds them to its decoder, and returns its path
// and the byte offset where each segment starts.
func joinRendition(t testing.TB, dir string, pl mediaPlaylist) (string, []int64) {
	t.Helper()
	var all []byte
	init, err := os.ReadFile(filepath.Join(dir, "init.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, init...)
	var starts []int64
	for _, s := range pl.segments {
		b, err := os.ReadFile(filepath.Join(dir, s))
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, int64(len(all)))
		all = append(all, b...)
	}
	p := filepath.Join(t.TempDir(), "joined.mp4")
	if err := os.WriteFile(p, all, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, starts
}

// segStart is what a segment starts with.
type segStart struct {
	pts      float64 // earliest PTS of the segment's first track of interest
	firstKey bool    // the first video packet is a keyframe
}

// segmentStarts returns, per segment, the earliest PTS of its packets of
// the given type ("video" or "audio") and whether the first video packet
// is a keyframe.
func segmentStarts(t testing.TB, p probeJSON, starts []int64, codecType string) []segStart {
	t.Helper()
	out := make([]segStart, len(starts))
	seen := make([]bool, len(starts))
	for _, pk := range p.Packets {
		if pk.CodecType != codecType {
			continue
		}
		pos, err := strconv.ParseInt(pk.Pos, 10, 64)
		if err != nil {
			t.Fatalf("packet without position: %+v", pk)
		}
		i := sort.Search(len(starts), func(i int) bool { return starts[i] > pos }) - 1
		if i < 0 {
			t.Fatalf("packet at %d before the first segment", pos)
		}
		pts := atof(pk.PTSTime)
		if !seen[i] {
			seen[i] = true
			out[i] = segStart{pts: pts, firstKey: strings.Contains(pk.Flags, "K")}
		} else if pts < out[i].pts {
			out[i].pts = pts
		}
	}
	for i, s := range seen {
		if !s {
			t.Fatalf("segment %d has no %s packet", i+1, codecType)
		}
	}
	return out
}

func readJPEG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a JPEG: %v", path, err)
	}
	return img
}

// vttCue is one storyboard cue.
type vttCue struct {
	start, end float64
	image      string
	x, y, w, h int
}

var cueRE = regexp.MustCompile(`^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)$`)
var xywhRE = regexp.MustCompile(`^([^#]+)#xywh=(\d+),(\d+),(\d+),(\d+)$`)

func parseVTT(t testing.TB, path string) []vttCue {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if lines[0] != "WEBVTT" {
		t.Fatalf("%s does not start with WEBVTT", path)
	}
	secs := func(m []string) float64 {
		h, _ := strconv.Atoi(m[0])
		mi, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		ms, _ := strconv.Atoi(m[3])
		return float64(h*3600+mi*60+s) + float64(ms)/1000
	}
	var cues []vttCue
	for i := 1; i < len(lines); i++ {
		m := cueRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if i+1 >= len(lines) {
			t.Fatalf("cue without payload at line %d", i+1)
		}
		x := xywhRE.FindStringSubmatch(lines[i+1])
		if x == nil {
			t.Fatalf("cue payload %q is not image#xywh=x,y,w,h", lines[i+1])
		}
		c := vttCue{start: secs(m[1:5]), end: secs(m[5:9]), image: x[1]}
		c.x, _ = strconv.Atoi(x[2])
		c.y, _ = strconv.Atoi(x[3])
		c.w, _ = strconv.Atoi(x[4])
		c.h, _ = strconv.Atoi(x[5])
		cues = append(cues, c)
	}
	return cues
}
