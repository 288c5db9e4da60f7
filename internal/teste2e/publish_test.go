package teste2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/classcast/classcast/media/codec"
	"github.com/classcast/classcast/media/sei"
	"github.com/classcast/classcast/media/whep"
)

// frameInfo is what a test keeps of one video access unit a viewer received.
type frameInfo struct {
	at      time.Time // when the viewer had the whole access unit
	ts      uint32    // RTP timestamp (90 kHz)
	key     bool
	sps     []byte // the first SPS in the access unit, if any
	pps     []byte
	bSlices bool
	sent    time.Time // the publisher's timestamp SEI; zero without one
	// skipped is the session's count of access units dropped while waiting for
	// a keyframe, when this frame came. The client hides frames before the first
	// keyframe, so a rising count is the only trace of a server that started a
	// viewer (or resumed it) on a non-keyframe.
	skipped uint64
}

// audioInfo is what a test keeps of one Opus packet.
type audioInfo struct {
	at  time.Time
	ts  uint32
	seq uint16
}

// viewer is a pion WHEP session that records everything it receives.
type viewer struct {
	s    *whep.Session
	join time.Time // just before the POST's ICE gathering began

	mu     sync.Mutex
	frames []frameInfo
	audio  []audioInfo
}

// watch dials a WHEP viewer of url and records what it receives until the test
// ends. The session is closed (DELETE) in t.Cleanup.
func watch(t *testing.T, url string) *viewer {
	t.Helper()
	v := &viewer{}
	var sess atomic.Pointer[whep.Session]
	onVideo := func(f whep.VideoFrame) {
		fi := frameInfo{at: f.ReceivedAt, ts: f.RTPTimestamp, key: f.Keyframe, bSlices: codec.H264HasBFrames(f.AU)}
		fi.sps, fi.pps = codec.H264Params(f.AU)
		if sent, _, ok := sei.Find(f.AU); ok {
			fi.sent = sent
		}
		if s := sess.Load(); s != nil {
			fi.skipped = s.Stats().Video.Skipped
		}
		v.mu.Lock()
		v.frames = append(v.frames, fi)
		v.mu.Unlock()
	}
	onAudio := func(p whep.AudioPacket) {
		v.mu.Lock()
		v.audio = append(v.audio, audioInfo{at: p.ReceivedAt, ts: p.RTPTimestamp, seq: p.SequenceNumber})
		v.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v.join = time.Now()
	s, err := whep.Dial(ctx, url, whep.Options{OnVideoFrame: onVideo, OnAudioPacket: onAudio})
	if err != nil {
		t.Fatalf("WHEP dial %s: %v", url, err)
	}
	sess.Store(s)
	v.s = s
	t.Cleanup(func() { _ = s.Close() })
	return v
}

// snapshot returns copies of what was received so far.
func (v *viewer) snapshot() ([]frameInfo, []audioInfo) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]frameInfo(nil), v.frames...), append([]audioInfo(nil), v.audio...)
}

// since counts frames and audio packets received after t0.
func (v *viewer) since(t0 time.Time) (frames, audio int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, f := range v.frames {
		if f.at.After(t0) {
			frames++
		}
	}
	for _, a := range v.audio {
		if a.at.After(t0) {
			audio++
		}
	}
	return frames, audio
}

// waitKeyframe waits for the viewer's first keyframe, failing the test if the
// session ends or none comes in time.
func (v *viewer) waitKeyframe(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-v.s.FirstKeyframe():
	case <-v.s.Done():
		t.Fatalf("WHEP session ended before its first keyframe: %v", v.s.Err())
	case <-time.After(timeout):
		t.Fatalf("no keyframe within %s; stats %+v", timeout, v.s.Stats())
	}
}

// eventually polls cond every 50 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkMonotonic reports the first RTP timestamp that goes backwards (wrap-aware)
// in a sequence, or "" when none does.
func checkMonotonic(ts []uint32) string {
	for i := 1; i < len(ts); i++ {
		if d := int32(ts[i] - ts[i-1]); d < 0 {
			return fmt.Sprintf("index %d: %d after %d (%d ticks back)", i, ts[i], ts[i-1], -d)
		}
	}
	return ""
}

// checkLeaps reports the first frame whose RTP timestamp runs ahead of the previous
// one by more than a second beyond the time between their arrivals, or "" when none
// does: a browser's jitter buffer would hold such a frame back for that long.
func checkLeaps(frames []frameInfo) string {
	for i := 1; i < len(frames); i++ {
		step := time.Duration(float64(int32(frames[i].ts-frames[i-1].ts)) / 90000 * float64(time.Second))
		if arrival := frames[i].at.Sub(frames[i-1].at); step > arrival+time.Second {
			return fmt.Sprintf("frame %d is %v after frame %d on the RTP clock but arrived %v after it",
				i, step.Round(time.Millisecond), i-1, arrival.Round(time.Millisecond))
		}
	}
	return ""
}

// percentiles returns the nearest-rank p50, p95 and p99 of ds, and the max.
func percentiles(ds []time.Duration) (p50, p95, p99, maxD time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(p float64) time.Duration {
		r := int(math.Ceil(p / 100 * float64(len(s))))
		return s[min(max(r, 1), len(s))-1]
	}
	return at(50), at(95), at(99), s[len(s)-1]
}

// waitFlowing waits until the stream has taken in media, not only been announced.
func waitFlowing(t *testing.T, s *server, path string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "media flowing into "+path, func() bool { return streamUnits(t, s, path) > 0 })
}

// longestGap returns the longest time between two consecutive frames and when,
// after the first frame, it began.
func longestGap(frames []frameInfo) (at, gap time.Duration) {
	if i := maxGapIndex(frames); i > 0 {
		return frames[i-1].at.Sub(frames[0].at), frames[i].at.Sub(frames[i-1].at)
	}
	return 0, 0
}

// maxGapIndex is the index of the frame that ended the longest gap, or 0.
func maxGapIndex(frames []frameInfo) int {
	best := 0
	var gap time.Duration
	for i := 1; i < len(frames); i++ {
		if d := frames[i].at.Sub(frames[i-1].at); d > gap {
			best, gap = i, d
		}
	}
	return best
}

// countSince counts the frames received after t0.
func countSince(frames []frameInfo, t0 time.Time) int {
	n := 0
	for _, f := range frames {
		if f.at.After(t0) {
			n++
		}
	}
	return n
}

// loadAverage is the host's 1, 5 and 15 minute load averages, for failure reports:
// latency thresholds mean little on a machine that is busy with something else.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ") + fmt.Sprintf(" on %d CPUs", runtime.NumCPU())
}

// logLinesFor returns the server's log lines that mention stream path.
func logLinesFor(s *server, path string) []string {
	var out []string
	for _, l := range strings.Split(s.Log(), "\n") {
		if strings.Contains(l, "stream="+path+" ") || strings.HasSuffix(l, "stream="+path) {
			out = append(out, l)
		}
	}
	return out
}

// TestPublishMatrix: every encoder a recording room may run (ffmpeg and GStreamer,
// RTSP over TCP and UDP, H.264 with and without B-frames, H.265) reaches a WebRTC
// viewer as what a browser can play: B-frame-free H.264 starting on a keyframe with
// its parameter sets, at the source's size, plus Opus. Sources a browser cannot
// play must be transcoded (and say so in the log); the others must pass through.
func TestPublishMatrix(t *testing.T) {
	s := startServer(t, "")
	ff := func(o ffmpegOptions) func(*testing.T, string) *publisher {
		return func(t *testing.T, url string) *publisher { return publishFFmpeg(t, url, o) }
	}
	gst := func(transport string) func(*testing.T, string) *publisher {
		return func(t *testing.T, url string) *publisher { return publishGStreamer(t, url, transport) }
	}
	cases := []struct {
		name      string
		publish   func(*testing.T, string) *publisher
		transcode bool
	}{
		{"ffmpeg-tcp-h264", ff(ffmpegOptions{Transport: "tcp"}), false},
		{"ffmpeg-udp-h264", ff(ffmpegOptions{Transport: "udp"}), false},
		{"ffmpeg-tcp-h264-bframes", ff(ffmpegOptions{Transport: "tcp", BFrames: 2}), true},
		{"ffmpeg-udp-h264-bframes", ff(ffmpegOptions{Transport: "udp", BFrames: 2}), true},
		{"ffmpeg-tcp-h265", ff(ffmpegOptions{Transport: "tcp", Codec: "h265"}), true},
		{"ffmpeg-udp-h265", ff(ffmpegOptions{Transport: "udp", Codec: "h265"}), true},
		{"gstreamer-tcp", gst("tcp"), false},
		{"gstreamer-udp", gst("udp"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := "matrix/" + c.name
			pub := c.publish(t, s.RTSP(path))
			// Subtests run one after another on a small machine: free the CPU.
			defer pub.stop()
			waitLive(t, s, path, 20*time.Second)
			// GStreamer's RECORD comes ~2 s after its ANNOUNCE (gortsplib holds
			// each SETUP from a GStreamer user agent for 1 s), and the stream is
			// reported live from the ANNOUNCE; measure the media, not that wait.
			waitFlowing(t, s, path, 10*time.Second)

			v := watch(t, s.WHEP(path))
			v.waitKeyframe(t, 5*time.Second)
			time.Sleep(4 * time.Second)
			s.alive()
			select {
			case <-v.s.Done():
				t.Fatalf("WHEP session ended: %v", v.s.Err())
			default:
			}
			frames, audio := v.snapshot()
			st := v.s.Stats()
			tm := v.s.Timing()
			t.Logf("%d frames, %d Opus packets in %.1f s; first keyframe %v after the POST; stats %+v",
				len(frames), len(audio), time.Since(v.join).Seconds(), tm.FirstKeyframe.Sub(tm.POST).Round(time.Millisecond), st)

			if len(frames) < 50 {
				t.Fatalf("%d video frames, want >= 50 (25 fps for 4 s)", len(frames))
			}
			// The media is flowing when the viewer dials: the GOP cache (or a
			// transcoder that is already running) must start it at once.
			if ttff := tm.FirstKeyframe.Sub(tm.POST); ttff > time.Second {
				t.Errorf("first keyframe %v after the POST, want < 1 s", ttff.Round(time.Millisecond))
			}
			first := frames[0]
			if !first.key || first.skipped != 0 {
				t.Errorf("first frame: keyframe %v, %d access units skipped before it; a viewer must start on a keyframe", first.key, first.skipped)
			}
			if first.sps == nil || first.pps == nil {
				t.Errorf("first keyframe has SPS %v, PPS %v; a decoder cannot start without both", first.sps != nil, first.pps != nil)
			} else {
				var sps h264.SPS
				if err := sps.Unmarshal(first.sps); err != nil {
					t.Errorf("SPS of the first keyframe does not parse: %v", err)
				} else if sps.Width() != 640 || sps.Height() != 360 {
					t.Errorf("SPS says %dx%d, want the source's 640x360", sps.Width(), sps.Height())
				} else {
					pl, _ := codec.H264ProfileLevelID(first.sps)
					t.Logf("SPS: %dx%d profile-level-id %s", sps.Width(), sps.Height(), pl)
				}
			}
			bFrames, ts := 0, make([]uint32, 0, len(frames))
			for _, f := range frames {
				if f.bSlices {
					bFrames++
				}
				ts = append(ts, f.ts)
			}
			if bFrames > 0 {
				t.Errorf("%d of %d frames hold B slices; browsers play H.264 without reordering", bFrames, len(frames))
			}
			// Frames in decode order with B-frames would carry RTP timestamps that go
			// back and forth.
			if bad := checkMonotonic(ts); bad != "" {
				t.Errorf("video RTP timestamps go backwards: %s", bad)
			}
			if bad := checkLeaps(frames); bad != "" {
				t.Errorf("video RTP timestamps leap ahead of the clock: %s", bad)
			}
			if len(audio) < 100 {
				t.Errorf("%d Opus packets, want >= 100 (20 ms each, for 4 s)", len(audio))
			}
			// A viewer that got its first picture must not freeze: the GOP-cache
			// burst comes at once, then frames every 40 ms.
			if at, gap := longestGap(frames); gap > 500*time.Millisecond {
				t.Errorf("video froze for %v, %v after the first frame (frame %d of %d)",
					gap.Round(time.Millisecond), at.Round(time.Millisecond), maxGapIndex(frames), len(frames))
			}
			if n := countSince(frames, time.Now().Add(-2*time.Second)); n < 40 {
				t.Errorf("%d frames in the last 2 s, want >= 40 (25 fps)", n)
			}

			transcoding := false
			for _, l := range logLinesFor(s, path) {
				if strings.Contains(l, "transcoding video live") {
					transcoding = true
					t.Logf("server: %s", l)
				}
			}
			if c.transcode && !transcoding {
				t.Errorf("no \"transcoding video live\" line for %s in the server log", path)
			}
			if !c.transcode && transcoding {
				t.Errorf("browser-safe H.264 from %s was transcoded; it must pass through untouched", c.name)
			}
		})
	}
}

var (
	loadOnce sync.Once
	loadPath string
	loadErr  error
)

// loadBinary builds cmd/classcast-load once per test run.
func loadBinary(t *testing.T) string {
	t.Helper()
	loadOnce.Do(func() {
		dir, err := os.MkdirTemp("", "classcast-load-e2e")
		if err != nil {
			loadErr = err
			return
		}
		loadPath = filepath.Join(dir, "classcast-load")
		out, err := exec.Command("go", "build", "-o", loadPath, "./cmd/classcast-load").CombinedOutput()
		if err != nil {
			loadErr = fmt.Errorf("go build classcast-load: %v\n%s", err, out)
		}
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loadPath
}

// loadReport is the part of classcast-load's JSON report the tests check.
type loadReport struct {
	ViewersRequested int            `json:"viewers_requested"`
	ViewersConnected int            `json:"viewers_connected"`
	ViewersFailed    int            `json:"viewers_failed"`
	Errors           map[string]int `json:"errors"`
	TTFFMs           struct {
		P50, P95, Max float64
	} `json:"ttff_ms"`
	LatencyMs struct {
		P50, P95, P99, Max float64
	} `json:"latency_ms"`
	LossPct          float64 `json:"loss_pct"`
	VideoFrames      uint64  `json:"video_frames"`
	AudioPackets     uint64  `json:"audio_packets"`
	FramesWithoutSEI uint64  `json:"frames_without_sei"`
	ClientUDPDrops   uint64  `json:"client_udp_drops"`
	Server           *struct {
		// The server's own send-delay histogram (hub arrival to the WebRTC
		// write), when the load tool could scrape it.
		AddedLatencyMs *struct {
			P50, P95, P99 float64
		} `json:"added_latency_ms"`
	} `json:"server"`
}

// TestLatencyAndLateJoiner: a viewer who joins mid-GOP starts at once on the cached
// keyframe and then runs live, well under a tenth of a second behind the publisher
// on loopback; twenty viewers at once get the same.
func TestLatencyAndLateJoiner(t *testing.T) {
	s := startServer(t, "")
	load := loadBinary(t)

	t.Run("late joiner", func(t *testing.T) {
		const path = "latency/late"
		// classcast-load's publisher puts a timestamp SEI in every access unit
		// (GOP 2 s); with no viewers it only publishes.
		pub := startProcess(t, load, "-publish", s.RTSP(path), "-viewers", "0", "-warmup", "0s",
			"-duration", "60s", "-size", "640x360", "-bitrate", "800k", "-media-seconds", "4", "-log-level", "warn")
		defer pub.stop()
		waitLive(t, s, path, 30*time.Second)
		// 3.5 s after going live is about 1.5 s into the second GOP: a viewer that
		// waited for the next keyframe instead of getting the cached one would
		// take some 500 ms.
		time.Sleep(3500 * time.Millisecond)

		v := watch(t, s.WHEP(path))
		v.waitKeyframe(t, 5*time.Second)
		time.Sleep(5 * time.Second)
		s.alive()

		frames, audio := v.snapshot()
		tm := v.s.Timing()
		ttff := tm.FirstKeyframe.Sub(tm.POST)
		if len(frames) < 100 {
			t.Fatalf("%d frames in 5 s, want >= 100; stats %+v", len(frames), v.s.Stats())
		}
		first := frames[0]
		if !first.key || first.skipped != 0 {
			t.Errorf("first frame: keyframe %v, %d skipped before it", first.key, first.skipped)
		}
		var lat []time.Duration
		catchup, noSEI := 0, 0
		for _, f := range frames {
			switch {
			case f.sent.IsZero():
				noSEI++
			case f.sent.Before(v.join):
				catchup++
			default:
				lat = append(lat, f.at.Sub(f.sent))
			}
		}
		p50, p95, p99, mx := percentiles(lat)
		t.Logf("late joiner: POST→answer %v, POST→ICE %v, POST→first keyframe (TTFF) %v; first keyframe sent %v before the join; %d catch-up frames from the GOP cache, %d live frames, %d without SEI, %d Opus packets",
			tm.Answer.Sub(tm.POST).Round(time.Millisecond), tm.ICEConnected.Sub(tm.POST).Round(time.Millisecond),
			ttff.Round(time.Millisecond), v.join.Sub(first.sent).Round(time.Millisecond), catchup, len(lat), noSEI, len(audio))
		t.Logf("late joiner latency (receive − SEI send) over %d frames: p50 %v p95 %v p99 %v max %v",
			len(lat), p50.Round(10*time.Microsecond), p95.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), mx.Round(10*time.Microsecond))

		if ttff > 300*time.Millisecond {
			t.Errorf("first keyframe %v after the POST, want < 300 ms (the GOP cache should start a viewer at once; load average %s)", ttff, loadAverage())
		}
		if noSEI > 0 {
			t.Errorf("%d frames lost their timestamp SEI; H.264 must pass through untouched", noSEI)
		}
		// The join was timed mid-GOP: the first keyframe must be the cached one
		// of the current GOP, sent before the join but less than a GOP ago.
		if age := v.join.Sub(first.sent); first.sent.IsZero() || age <= 0 || age > 2100*time.Millisecond {
			t.Errorf("first keyframe was sent %v before the join; want the current GOP's (0 < age <= 2 s)", age)
		}
		if catchup == 0 {
			t.Errorf("no frames from the GOP cache; the viewer did not start mid-GOP")
		}
		if len(lat) < 100 {
			t.Errorf("%d live frames with a send time after the join, want >= 100", len(lat))
		}
		if p95 >= 100*time.Millisecond {
			t.Errorf("latency p95 %v, want < 100 ms on loopback (load average %s)", p95, loadAverage())
		}
		if len(audio) < 200 {
			t.Errorf("%d Opus packets in 5 s, want >= 200", len(audio))
		}
	})

	t.Run("twenty viewers", func(t *testing.T) {
		const path = "latency/twenty"
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, load, "-publish", s.RTSP(path), "-whep", s.WHEP(path),
			"-viewers", "20", "-duration", "10s", "-warmup", "3s", "-size", "640x360", "-bitrate", "800k",
			"-media-seconds", "4", "-server-pid", fmt.Sprint(s.cmd.Process.Pid))
		var stdout bytes.Buffer
		stderr := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = &stdout, stderr
		err := cmd.Run()
		s.alive()
		if err != nil {
			t.Errorf("classcast-load: %v\n%s", err, tail(stderr.String(), 30))
		}
		t.Logf("classcast-load report:\n%s", stdout.String())
		var rep loadReport
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("classcast-load report is not JSON: %v\nstderr:\n%s", err, tail(stderr.String(), 30))
		}
		// Thresholds are for loopback on an idle machine; when one fails, say
		// whether the server's own share of the delay was the cause.
		context := fmt.Sprintf("load average %s", loadAverage())
		if rep.Server != nil && rep.Server.AddedLatencyMs != nil {
			a := rep.Server.AddedLatencyMs
			context += fmt.Sprintf("; latency the server adds p50 %.1f p95 %.1f p99 %.1f ms", a.P50, a.P95, a.P99)
		}
		t.Log(context)
		if rep.ViewersConnected != 20 {
			t.Errorf("viewers_connected %d, want 20; errors %v", rep.ViewersConnected, rep.Errors)
		}
		if rep.LossPct >= 0.5 {
			t.Errorf("loss_pct %.3f, want < 0.5 (client_udp_drops %d)", rep.LossPct, rep.ClientUDPDrops)
		}
		if rep.TTFFMs.P95 >= 300 {
			t.Errorf("ttff_ms.p95 %.1f, want < 300 (%s)", rep.TTFFMs.P95, context)
		}
		if rep.LatencyMs.P99 >= 100 {
			t.Errorf("latency_ms.p99 %.1f, want < 100 (%s)", rep.LatencyMs.P99, context)
		}
		// 20 viewers × 25 fps × 10 s; half of it is already a badly broken run.
		if rep.VideoFrames < 20*25*10/2 || rep.AudioPackets < 20*50*10/2 {
			t.Errorf("%d video frames and %d audio packets over 20 viewers in 10 s: too few", rep.VideoFrames, rep.AudioPackets)
		}
		if rep.FramesWithoutSEI > 0 {
			t.Errorf("%d frames without the timestamp SEI", rep.FramesWithoutSEI)
		}
	})
}

// TestViewerSurvivesPublisherRestart: the recording room's encoder restarts, or
// crashes and another encoder takes over. The viewer's WHEP session stays up (no new
// Dial), resumes on a keyframe with sound, and its RTP timestamps keep going forward,
// so a browser's jitter buffer is not confused.
func TestViewerSurvivesPublisherRestart(t *testing.T) {
	s := startServer(t, "")
	ff := func(transport string) func(*testing.T, string) *publisher {
		return func(t *testing.T, url string) *publisher {
			return publishFFmpeg(t, url, ffmpegOptions{Transport: transport, Size: "320x240"})
		}
	}
	gst := func(t *testing.T, url string) *publisher { return publishGStreamer(t, url, "tcp") }
	cases := []struct {
		name          string
		first, second func(*testing.T, string) *publisher
		crash         bool // SIGKILL: no TEARDOWN, the connection just drops
	}{
		{"ffmpeg stops and starts again", ff("tcp"), ff("tcp"), false},
		// Another encoder: other SSRCs, RTP timestamp origins, AAC sample rate
		// (44.1 kHz mono instead of 48 kHz) and picture size.
		{"ffmpeg crashes and GStreamer takes over", ff("tcp"), gst, true},
		// Over UDP the RTSP session does not end with its TCP connection: the
		// crashed publisher must still not lock the path against its successor.
		{"ffmpeg over UDP crashes and restarts", ff("udp"), ff("udp"), true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := fmt.Sprintf("restart/room-%d", i)
			pub := c.first(t, s.RTSP(path))
			waitLive(t, s, path, 15*time.Second)
			waitFlowing(t, s, path, 10*time.Second)

			v := watch(t, s.WHEP(path))
			v.waitKeyframe(t, 5*time.Second)
			eventually(t, 10*time.Second, "50 frames and 100 Opus packets before the restart", func() bool {
				f, a := v.since(time.Time{})
				return f >= 50 && a >= 100
			})
			statsBefore := v.s.Stats()

			if c.crash {
				_ = pub.cmd.Process.Kill()
				<-pub.exited
			} else {
				pub.stop()
			}
			stopped := time.Now()
			time.Sleep(2 * time.Second)
			restarted := time.Now()
			pub = c.second(t, s.RTSP(path))
			defer pub.stop()

			eventually(t, 20*time.Second, "50 frames and 100 Opus packets after the restart", func() bool {
				select {
				case <-v.s.Done():
					t.Fatalf("the WHEP session ended at the publisher restart: %v", v.s.Err())
				case <-pub.exited:
					// Encoders such as ffmpeg and GStreamer do not retry a refused
					// ANNOUNCE. The server's log comes through a pipe: let it catch up.
					time.Sleep(200 * time.Millisecond)
					var refused []string
					for _, l := range logLinesFor(s, path) {
						if strings.Contains(l, "refused") || strings.Contains(l, "publisher left") {
							refused = append(refused, l)
						}
					}
					t.Fatalf("the new publisher exited %v after the old one was gone:\n%s\nserver:\n%s",
						time.Since(stopped).Round(time.Millisecond), tail(pub.out.String(), 5), strings.Join(refused, "\n"))
				default:
				}
				f, a := v.since(restarted)
				return f >= 50 && a >= 100
			})
			s.alive()
			statsAfter := v.s.Stats()
			frames, audio := v.snapshot()

			// Frames that arrive just after the stop were already on their way.
			var after []frameInfo
			var vts, ats []uint32
			lastBefore := -1
			for i, f := range frames {
				vts = append(vts, f.ts)
				if f.at.After(stopped.Add(500 * time.Millisecond)) {
					after = append(after, f)
				} else {
					lastBefore = i
				}
			}
			for _, a := range audio {
				ats = append(ats, a.ts)
			}
			if len(after) == 0 || lastBefore < 0 {
				t.Fatalf("no frames on one side of the restart")
			}
			gap := after[0].at.Sub(frames[lastBefore].at)
			tsStep := int32(after[0].ts - frames[lastBefore].ts)
			t.Logf("video gap %v (publisher away %v, then its start-up); RTP timestamp step across it %d (%.2f s); video stats before %+v, after %+v",
				gap.Round(time.Millisecond), restarted.Sub(stopped).Round(time.Millisecond), tsStep, float64(tsStep)/90000, statsBefore.Video, statsAfter.Video)
			if !after[0].key {
				t.Errorf("first frame after the restart is not a keyframe")
			}
			if d := after[0].skipped - statsBefore.Video.Skipped; d != 0 {
				t.Errorf("the viewer dropped %d access units waiting for a keyframe around the restart; the server should resume on one", d)
			}
			if bad := checkMonotonic(vts); bad != "" {
				t.Errorf("video RTP timestamps go backwards across the restart: %s", bad)
			}
			if bad := checkLeaps(frames); bad != "" {
				t.Errorf("video RTP timestamps leap ahead across the restart: %s", bad)
			}
			if bad := checkMonotonic(ats); bad != "" {
				t.Errorf("audio RTP timestamps go backwards across the restart: %s", bad)
			}
			// The step should reflect the real gap, not restart from zero nor leap.
			if step := time.Duration(float64(tsStep) / 90000 * float64(time.Second)); step < gap/2 || step > gap+2*time.Second {
				t.Errorf("RTP timestamp step %v across a %v gap", step.Round(time.Millisecond), gap.Round(time.Millisecond))
			}
			if st := v.s.Stats(); st.Video.Lost != 0 || st.Audio.Lost != 0 {
				t.Errorf("the viewer saw RTP sequence gaps across the restart (video %d, audio %d lost): it would send NACKs for packets that never existed", st.Video.Lost, st.Audio.Lost)
			}
			connected := 0
			for _, l := range logLinesFor(s, path) {
				if strings.Contains(l, "viewer connected") {
					connected++
				}
			}
			if connected != 1 {
				t.Errorf("%d \"viewer connected\" lines; the restart must not need a new session", connected)
			}
		})
	}
}
