package record

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	if p.AudioFrames < int(wantDur*48000/1024*0.9) && acodec == "aac" {
		t.Errorf("%d audio frames for %.1f s", p.AudioFrames, wantDur)
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
