package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/classcast/classcast/media/stream"
)

// mediaDir holds media generated once per test binary run.
var (
	mediaDir   string
	mediaMu    sync.Mutex
	mediaCache = map[string]*media{}
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("RECORD_CRASH_CHILD_DIR"); dir != "" {
		crashChild(dir, os.Getenv("RECORD_CRASH_CHILD_MEDIA"))
		return
	}
	dir, err := os.MkdirTemp("", "classcast-record-test")
	if err != nil {
		panic(err)
	}
	mediaDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// unit is one demuxed access unit in file order; pts is in the track's clock rate.
type unit struct {
	video bool
	pts   int64
	nalus [][]byte
	frame []byte
}

// media is a test clip demuxed into what an RTSP publisher hands the hub.
type media struct {
	file         string
	video, audio stream.Track
	units        []unit
	videoFrames  int
	fps          float64
}

// clip generates (once) a clip with the ffmpeg CLI: testsrc2 video and a sine tone,
// muxed in MPEG-TS, and demuxes it. vcodec is libx264 or libx265, acodec aac or
// libopus; extra are more ffmpeg output arguments (B-frames, GOP).
func clip(t testing.TB, name string, seconds int, vcodec, acodec string, extra ...string) *media {
	t.Helper()
	mediaMu.Lock()
	defer mediaMu.Unlock()
	if m, ok := mediaCache[name]; ok {
		return m
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("the ffmpeg CLI is needed to make test media")
	}
	out := filepath.Join(mediaDir, name+".ts")
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds), "-c:v", vcodec, "-pix_fmt", "yuv420p", "-c:a", acodec, "-ac", "2"}
	if vcodec == "libx264" {
		args = append(args, "-preset", "veryfast")
	} else {
		args = append(args, "-preset", "ultrafast", "-x265-params", "log-level=error")
	}
	args = append(args, extra...)
	args = append(args, "-f", "mpegts", out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
	m, err := demux(out)
	if err != nil {
		t.Fatal(err)
	}
	mediaCache[name] = m
	return m
}

// demux reads a TS file with FFmpeg's demuxer into access units, in file order (the
// order a publisher sends them: video in decode order, audio interleaved).
func demux(path string) (*media, error) {
	fc := astiav.AllocFormatContext()
	defer fc.Free()
	if err := fc.OpenInput(path, nil, nil); err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer fc.CloseInput()
	if err := fc.FindStreamInfo(nil); err != nil {
		return nil, err
	}
	m := &media{file: path}
	var vs, as *astiav.Stream
	for _, s := range fc.Streams() {
		cp := s.CodecParameters()
		switch cp.MediaType() {
		case astiav.MediaTypeVideo:
			vs = s
			m.video = stream.Track{Kind: stream.Video, Codec: stream.H264, ClockRate: 90000}
			if cp.CodecID() == astiav.CodecIDHevc {
				m.video.Codec = stream.H265
			}
			m.fps = s.AvgFrameRate().Float64()
		case astiav.MediaTypeAudio:
			as = s
			m.audio = stream.Track{Kind: stream.Audio, ClockRate: cp.SampleRate(), Channels: cp.ChannelLayout().NbChannels()}
			if cp.CodecID() == astiav.CodecIDOpus {
				m.audio.Codec, m.audio.ClockRate = stream.Opus, 48000
			} else {
				m.audio.Codec = stream.AAC
			}
		}
	}
	if vs == nil || as == nil {
		return nil, fmt.Errorf("%s: want video and audio", path)
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	tb90k := astiav.NewRational(1, 90000)
	arate := astiav.NewRational(1, m.audio.ClockRate)
	for {
		if err := fc.ReadFrame(pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				break
			}
			return nil, err
		}
		data := append([]byte(nil), pkt.Data()...)
		switch pkt.StreamIndex() {
		case vs.Index():
			var a h264.AnnexB // the start code syntax is the same for H.265
			if err := a.Unmarshal(data); err != nil {
				return nil, fmt.Errorf("splitting Annex-B: %w", err)
			}
			m.units = append(m.units, unit{video: true, nalus: a, pts: astiav.RescaleQ(pkt.Pts(), vs.TimeBase(), tb90k)})
			m.videoFrames++
		case as.Index():
			pts := astiav.RescaleQ(pkt.Pts(), as.TimeBase(), arate)
			if m.audio.Codec == stream.Opus {
				m.units = append(m.units, unit{pts: pts, frame: data})
				break
			}
			var pkts mpeg4audio.ADTSPackets
			if err := pkts.Unmarshal(data); err != nil {
				return nil, fmt.Errorf("parsing ADTS: %w", err)
			}
			for i, p := range pkts {
				if m.audio.Config == nil {
					c := mpeg4audio.AudioSpecificConfig{Type: p.Type, SampleRate: p.SampleRate, ChannelCount: p.ChannelCount}
					conf, err := c.Marshal()
					if err != nil {
						return nil, err
					}
					m.audio.Config = conf
				}
				m.units = append(m.units, unit{pts: pts + int64(i*1024), frame: p.AU})
			}
		}
		pkt.Unref()
	}
	return m, nil
}

// firstVideoPTS is the PTS of the first video unit in decode order.
func (m *media) firstVideoPTS() int64 {
	for _, u := range m.units {
		if u.video {
			return u.pts
		}
	}
	return 0
}

// publish writes the clip's units from second `from` to second `to` (by video PTS
// relative to the first video unit; audio follows in file order) into path as an
// RTSP publisher would, speed times faster than real time, then closes the publisher
// unless keep is set.
func publish(t testing.TB, reg *stream.Registry, path string, m *media, from, to float64, speed float64, keep bool) *stream.Publisher {
	t.Helper()
	p, err := reg.Publish(path, stream.PublishInfo{Protocol: "test", Remote: "ffmpeg-clip",
		Tracks: []stream.Track{m.video, m.audio}})
	if err != nil {
		t.Fatal(err)
	}
	writeUnits(p, m, from, to, speed, nil, 0, 1)
	if !keep {
		p.Close()
	}
	return p
}

// writeUnits writes the clip's units in [from, to) seconds, paced at speed, as
// publisher tracks vi and ai (-1 leaves a track out); it stops early when stop is
// closed.
func writeUnits(p *stream.Publisher, m *media, from, to, speed float64, stop <-chan struct{}, vi, ai int) {
	v0 := m.firstVideoPTS()
	a0 := v0 * int64(m.audio.ClockRate) / 90000
	started := time.Now()
	for _, u := range m.units {
		var sec float64
		if u.video {
			sec = float64(u.pts-v0) / 90000
		} else {
			sec = float64(u.pts-a0) / float64(m.audio.ClockRate)
		}
		if sec < from || sec >= to {
			continue
		}
		if wait := time.Duration((sec-from)/speed*float64(time.Second)) - time.Since(started); wait > 0 {
			select {
			case <-time.After(wait):
			case <-stop:
				return
			}
		}
		if u.video && vi >= 0 {
			p.Write(vi, u.pts, u.nalus, nil)
		} else if !u.video && ai >= 0 {
			p.Write(ai, u.pts, nil, u.frame)
		}
	}
}

// probe is what ffprobe says about a file.
type probe struct {
	Duration    float64
	VideoCodec  string
	AudioCodec  string
	VideoFrames int
	AudioFrames int
	Width       int
	Height      int
	VideoTag    string
}

func ffprobe(t testing.TB, file string) probe {
	t.Helper()
	cmd := exec.Command("ffprobe", "-v", "warning", "-count_frames", "-show_entries",
		"format=duration:stream=codec_type,codec_name,nb_read_frames,width,height,codec_tag_string,start_time", "-of", "json", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if stderr.Len() > 0 {
		// A clean file reads without a single complaint from libavformat or the decoders.
		t.Errorf("ffprobe warnings on %s:\n%s", file, stderr.String())
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("ffprobe %s: %v\n%s", file, err, ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var r struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
			Frames    string `json:"nb_read_frames"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
			Tag       string `json:"codec_tag_string"`
			Start     string `json:"start_time"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	var p probe
	p.Duration, _ = strconv.ParseFloat(r.Format.Duration, 64)
	for _, s := range r.Streams {
		n, _ := strconv.Atoi(s.Frames)
		start, _ := strconv.ParseFloat(s.Start, 64)
		if start < 0 || start > 0.1 {
			t.Errorf("%s stream starts at %.3f s, want 0", s.CodecType, start)
		}
		switch s.CodecType {
		case "video":
			p.VideoCodec, p.VideoFrames, p.Width, p.Height, p.VideoTag = s.CodecName, n, s.Width, s.Height, s.Tag
		case "audio":
			p.AudioCodec, p.AudioFrames = s.CodecName, n
		}
	}
	return p
}

// videoTimes returns the DTS and PTS of every video packet, in file order.
func videoTimes(t testing.TB, file string) (dts, pts []float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
		"packet=pts_time,dts_time", "-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe packets: %v", err)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var p, d float64
		if _, err := fmt.Sscanf(string(line), "%f,%f", &p, &d); err != nil {
			t.Fatalf("ffprobe packet line %q: %v", line, err)
		}
		pts = append(pts, p)
		dts = append(dts, d)
	}
	return dts, pts
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness is a registry and a recorder on a temp dir, with what the callbacks saw.
type harness struct {
	t    testing.TB
	reg  *stream.Registry
	rec  *Recorder
	dir  string
	logs *logBuffer
	log  *slog.Logger

	mu        sync.Mutex
	started   []Info
	finalized []Info
	fin       chan Info
}

func newHarness(t testing.TB, dir string, opt Options, idle time.Duration) *harness {
	t.Helper()
	h := &harness{t: t, dir: dir, logs: &logBuffer{}, fin: make(chan Info, 64)}
	var w io.Writer = h.logs
	if testing.Verbose() {
		w = io.MultiWriter(h.logs, os.Stderr)
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.log = log
	h.reg = stream.NewRegistry(log, idle)
	t.Cleanup(h.reg.Close)
	opt.Dir, opt.Log = dir, log
	opt.OnStart = func(in Info) {
		h.mu.Lock()
		h.started = append(h.started, in)
		h.mu.Unlock()
	}
	opt.OnFinalized = func(in Info) {
		h.mu.Lock()
		h.finalized = append(h.finalized, in)
		h.mu.Unlock()
		h.fin <- in
	}
	rec, err := New(h.reg, opt)
	if err != nil {
		t.Fatal(err)
	}
	h.rec = rec
	t.Cleanup(rec.Close)
	if err := rec.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitFinalized waits for the next OnFinalized.
func (h *harness) waitFinalized(timeout time.Duration) Info {
	h.t.Helper()
	select {
	case in := <-h.fin:
		return in
	case <-time.After(timeout):
		h.t.Fatalf("no recording finalized within %s; logs:\n%s", timeout, h.logs)
		return Info{}
	}
}

// noneFinalized checks that nothing is finalized for d.
func (h *harness) noneFinalized(d time.Duration) {
	h.t.Helper()
	select {
	case in := <-h.fin:
		h.t.Fatalf("unexpected finalized recording %+v", in)
	case <-time.After(d):
	}
}

func near(got, want, tol float64) bool { return got >= want-tol && got <= want+tol }
