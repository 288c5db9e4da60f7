package record

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/classcast/classcast/media/stream"
)

// checkRecording asserts what a viewer of the finalized file gets.
func checkRecording(t *testing.T, in Info, wantDur float64, wantFrames int, vcodec, acodec string) probe {
	t.Helper()
	if in.File == "" || !strings.HasSuffix(in.File, "recording.mp4") {
		t.Fatalf("finalized recording has no file: %+v", in)
	}
	p := ffprobe(t, in.File)
	t.Logf("%s: %.3f s, %d video frames (%s), %d audio frames (%s), %d segments, %d bytes", in.ID, p.Duration, p.VideoFrames, p.VideoCodec, p.AudioFrames, p.AudioCodec, in.Segments, in.Bytes)
	if p.VideoCodec != vcodec || p.AudioCodec != acodec {
		t.Errorf("codecs %q/%q, want %q/%q", p.VideoCodec, p.AudioCodec, vcodec, acodec)
	}
	if !near(p.Duration, wantDur, 0.5) {
		t.Errorf("ffprobe duration %.3f s, want %.1f ± 0.5 s", p.Duration, wantDur)
	}
	if wantFrames >= 0 && p.VideoFrames != wantFrames {
		t.Errorf("%d video frames decoded, want %d", p.VideoFrames, wantFrames)
	}
	// Sound for all the media (not the gaps where the publisher was away).
	mediaSec := wantDur
	if wantFrames >= 0 {
		mediaSec = float64(wantFrames) / 25
	}
	if acodec == "aac" && p.AudioFrames < int(mediaSec*48000/1024*0.95) {
		t.Errorf("%d audio frames for %.1f s of media", p.AudioFrames, mediaSec)
	}
	if !near(in.Duration.Seconds(), p.Duration, 0.2) {
		t.Errorf("Info.Duration %s, ffprobe says %.3f s", in.Duration, p.Duration)
	}
	if in.VideoCodec != vcodec || in.AudioCodec != acodec {
		t.Errorf("Info codecs %q/%q, want %q/%q", in.VideoCodec, in.AudioCodec, vcodec, acodec)
	}
	st, err := os.Stat(in.File)
	if err != nil || st.Size() != in.Bytes {
		t.Errorf("Info.Bytes %d, file: %v %v", in.Bytes, st, err)
	}
	return p
}

func TestRecordH264AAC(t *testing.T) {
	m := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 100 * time.Millisecond}, time.Minute)

	publish(t, h.reg, "school-a/room-101", m, 0, 100, 5, false)
	in := h.waitFinalized(10 * time.Second)

	if in.Path != "school-a/room-101" || in.Recovered || in.Segments < 5 || in.Ended.Sub(in.Started) != in.Duration {
		t.Errorf("info %+v", in)
	}
	if !idPattern.MatchString(in.ID) || !strings.HasPrefix(in.ID, "r") {
		t.Errorf("ID %q", in.ID)
	}
	p := checkRecording(t, in, 6, m.videoFrames, "h264", "aac")
	if p.Width != 320 || p.Height != 240 {
		t.Errorf("picture %dx%d", p.Width, p.Height)
	}
	h.mu.Lock()
	if len(h.started) != 1 || h.started[0].ID != in.ID {
		t.Errorf("OnStart calls: %+v", h.started)
	}
	h.mu.Unlock()

	// Only the final file and meta.json stay; meta.json says finalized.
	ents, _ := os.ReadDir(filepath.Dir(in.File))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "meta.json,recording.mp4" {
		t.Errorf("recording dir holds %v", names)
	}
	md, err := readMeta(filepath.Dir(in.File))
	if err != nil || md.State != stateFinalized || md.ID != in.ID {
		t.Errorf("meta %+v %v", md, err)
	}
	if len(h.rec.Active()) != 0 {
		t.Errorf("still active: %+v", h.rec.Active())
	}

	// Release deletes it; a second release finds nothing.
	if err := h.rec.Release(in.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(in.File)); !os.IsNotExist(err) {
		t.Errorf("released dir still there: %v", err)
	}
	if err := h.rec.Release(in.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second release: %v", err)
	}
	if err := h.rec.Release("../etc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("release of a bad id: %v", err)
	}
}

func TestRecordBFramesMonotonicDTS(t *testing.T) {
	m := clip(t, "h264_bframes", 6, "libx264", "aac", "-g", "25", "-bf", "2", "-profile:v", "high")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 100 * time.Millisecond}, time.Minute)
	publish(t, h.reg, "room/b", m, 0, 100, 5, false)
	in := h.waitFinalized(10 * time.Second)
	checkRecording(t, in, 6, m.videoFrames, "h264", "aac")

	dts, pts := videoTimes(t, in.File)
	if len(dts) != m.videoFrames {
		t.Fatalf("%d video packets, want %d", len(dts), m.videoFrames)
	}
	reordered := 0
	for i := range dts {
		if i > 0 && dts[i] <= dts[i-1] {
			t.Fatalf("packet %d: DTS %.4f after %.4f is not increasing", i, dts[i], dts[i-1])
		}
		if pts[i] < dts[i] {
			t.Fatalf("packet %d: PTS %.4f before DTS %.4f", i, pts[i], dts[i])
		}
		if i > 0 && pts[i] < pts[i-1] {
			reordered++
		}
	}
	if reordered == 0 {
		t.Error("no reordered frames: the clip has no B-frames?")
	}
	// Presentation times are the source's, one frame every 40 ms.
	sorted := append([]float64(nil), pts...)
	sort.Float64s(sorted)
	for i := 1; i < len(sorted); i++ {
		if d := sorted[i] - sorted[i-1]; !near(d, 0.04, 0.002) {
			t.Fatalf("PTS step %.4f s at frame %d, want 0.040", d, i)
		}
	}
}

func TestRecordH265Opus(t *testing.T) {
	m := clip(t, "h265_opus", 4, "libx265", "libopus", "-g", "25")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 100 * time.Millisecond}, time.Minute)
	publish(t, h.reg, "room/hevc", m, 0, 100, 5, false)
	in := h.waitFinalized(10 * time.Second)
	p := checkRecording(t, in, 4, m.videoFrames, "hevc", "opus")
	if p.VideoTag != "hvc1" {
		t.Errorf("H.265 sample entry %q, want hvc1", p.VideoTag)
	}
	if p.AudioFrames < 4*50*9/10 {
		t.Errorf("%d Opus frames for 4 s", p.AudioFrames)
	}
	dts, _ := videoTimes(t, in.File)
	for i := 1; i < len(dts); i++ {
		if dts[i] <= dts[i-1] {
			t.Fatalf("packet %d: DTS %.4f after %.4f", i, dts[i], dts[i-1])
		}
	}
}

func TestGraceContinuesRecording(t *testing.T) {
	m := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 3 * time.Second}, time.Minute)

	publish(t, h.reg, "room/grace", m, 0, 3, 5, false)
	left := time.Now()
	// While the publisher is away the recording stays active, flushed to disk.
	var act []Info
	for deadline := time.Now().Add(1500 * time.Millisecond); ; {
		act = h.rec.Active()
		if len(act) == 1 && act[0].Path == "room/grace" && act[0].Segments >= 3 && near(act[0].Duration.Seconds(), 3, 0.2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("while waiting for the publisher: Active() = %+v", act)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Until(left.Add(800 * time.Millisecond)))
	gap := time.Since(left).Seconds()
	publish(t, h.reg, "room/grace", m, 3, 100, 5, false)
	in := h.waitFinalized(10 * time.Second)
	h.noneFinalized(300 * time.Millisecond)
	if in.ID != act[0].ID {
		t.Errorf("finalized %s, want the recording that started before the gap (%s)", in.ID, act[0].ID)
	}
	// One recording holding both parts, with the time the publisher was away.
	checkRecording(t, in, 6+gap, m.videoFrames, "h264", "aac")
	if !strings.Contains(h.logs.String(), "publisher is back; continuing the recording") {
		t.Error("no log line for the returning publisher")
	}
}

func TestGraceExpiredStartsNewRecording(t *testing.T) {
	m := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 300 * time.Millisecond}, time.Minute)

	publish(t, h.reg, "room/late", m, 0, 3, 5, false)
	first := h.waitFinalized(5 * time.Second)
	publish(t, h.reg, "room/late", m, 3, 100, 5, false)
	second := h.waitFinalized(5 * time.Second)
	if first.ID == second.ID || first.ID[:16] > second.ID[:16] {
		t.Errorf("IDs %s then %s: want two, sorted by time", first.ID, second.ID)
	}
	checkRecording(t, first, 3, 75, "h264", "aac")
	checkRecording(t, second, 3, 75, "h264", "aac")
}

func TestGraceAcrossHubRestart(t *testing.T) {
	// The hub closes (idle) before the grace period ends: the publisher returns to a new
	// hub whose timestamps start over, and the recording still continues.
	m := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 3 * time.Second}, 200*time.Millisecond)

	publish(t, h.reg, "room/hub", m, 0, 3, 5, false)
	left := time.Now()
	for deadline := time.Now().Add(2 * time.Second); h.reg.Hub("room/hub") != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("hub did not close while idle")
		}
	}
	time.Sleep(time.Until(left.Add(700 * time.Millisecond)))
	gap := time.Since(left).Seconds()
	publish(t, h.reg, "room/hub", m, 3, 100, 5, false)
	in := h.waitFinalized(10 * time.Second)
	h.noneFinalized(200 * time.Millisecond)
	checkRecording(t, in, 6+gap, m.videoFrames, "h264", "aac")
}

func TestRecordDisabled(t *testing.T) {
	m := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	dir := t.TempDir()
	h := newHarness(t, dir, Options{SegmentDuration: time.Second, Grace: 100 * time.Millisecond,
		Enabled: func(path string) bool { return path != "private/room" }}, time.Minute)

	publish(t, h.reg, "private/room", m, 0, 2, 5, false)
	h.noneFinalized(500 * time.Millisecond)
	ents, _ := os.ReadDir(dir)
	h.mu.Lock()
	starts := len(h.started)
	h.mu.Unlock()
	if len(ents) != 0 || starts != 0 {
		t.Fatalf("a stream with recording off left %d entries, %d starts", len(ents), starts)
	}
	publish(t, h.reg, "public/room", m, 0, 2, 5, false)
	in := h.waitFinalized(5 * time.Second)
	if in.Path != "public/room" {
		t.Errorf("recorded %s", in.Path)
	}
}

func TestMaxDurationSplits(t *testing.T) {
	m := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 100 * time.Millisecond,
		MaxDuration: 2 * time.Second}, time.Minute)
	publish(t, h.reg, "room/long", m, 0, 100, 5, false)
	var got []Info
	for range 3 {
		got = append(got, h.waitFinalized(5*time.Second))
	}
	h.noneFinalized(300 * time.Millisecond)
	frames := 0
	for i, in := range got {
		p := checkRecording(t, in, 2, -1, "h264", "aac")
		frames += p.VideoFrames
		// IDs sort by their start second; parts started within one second tie.
		if i > 0 && (in.ID == got[i-1].ID || in.ID[:16] < got[i-1].ID[:16]) {
			t.Errorf("IDs out of order: %s after %s", in.ID, got[i-1].ID)
		}
	}
	if frames != m.videoFrames {
		t.Errorf("%d frames over the parts, want %d", frames, m.videoFrames)
	}
}

func TestResolutionChangeStartsNewRecording(t *testing.T) {
	small := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	big := clip(t, "h264_aac_480", 3, "libx264", "aac", "-g", "25", "-bf", "0", "-vf", "scale=480:360")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 2 * time.Second}, time.Minute)

	publish(t, h.reg, "room/res", small, 0, 2, 5, false)
	time.Sleep(100 * time.Millisecond)
	publish(t, h.reg, "room/res", big, 0, 100, 5, false) // the encoder restarts at 480x360
	first := h.waitFinalized(5 * time.Second)
	second := h.waitFinalized(5 * time.Second)
	if p := checkRecording(t, first, 2, 50, "h264", "aac"); p.Width != 320 {
		t.Errorf("first recording is %dx%d", p.Width, p.Height)
	}
	if p := checkRecording(t, second, 3, 75, "h264", "aac"); p.Width != 480 || p.Height != 360 {
		t.Errorf("second recording is %dx%d", p.Width, p.Height)
	}
}

func TestCloseFinalizesActive(t *testing.T) {
	m := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second}, time.Minute)
	p := publish(t, h.reg, "room/live", m, 0, 100, 5, true)
	defer p.Close()
	time.Sleep(200 * time.Millisecond)
	h.rec.Close()
	h.mu.Lock()
	got := append([]Info(nil), h.finalized...)
	h.mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("Close finalized %d recordings, want 1", len(got))
	}
	checkRecording(t, got[0], 6, m.videoFrames, "h264", "aac")
	h.rec.Close() // twice is fine
}

func TestRecordAudioOnly(t *testing.T) {
	m := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 100 * time.Millisecond}, time.Minute)
	p, err := h.reg.Publish("radio/room", stream.PublishInfo{Protocol: "test", Tracks: []stream.Track{m.audio}})
	if err != nil {
		t.Fatal(err)
	}
	writeUnits(p, m, 0, 4, 5, nil, -1, 0)
	p.Close()
	in := h.waitFinalized(5 * time.Second)
	pr := ffprobe(t, in.File)
	if pr.VideoCodec != "" || pr.AudioCodec != "aac" || in.VideoCodec != "" || in.AudioCodec != "aac" {
		t.Errorf("codecs: file %q/%q, info %q/%q", pr.VideoCodec, pr.AudioCodec, in.VideoCodec, in.AudioCodec)
	}
	if !near(pr.Duration, 4, 0.1) || pr.AudioFrames < 4*48000/1024-1 {
		t.Errorf("%.3f s with %d audio frames, want 4 s", pr.Duration, pr.AudioFrames)
	}
	if in.Segments < 3 || in.Segments > 5 {
		t.Errorf("%d segments for 4 s cut by time every second", in.Segments)
	}
}
