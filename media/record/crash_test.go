package record

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"github.com/classcast/classcast/media/stream"
)

// crashChild runs in a child test process: it records a publisher until the parent
// kills it with SIGKILL.
func crashChild(dir, mediaFile string) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	m, err := demux(mediaFile)
	if err != nil {
		log.Error("demux", "error", err)
		os.Exit(2)
	}
	reg := stream.NewRegistry(log, time.Minute)
	rec, err := New(reg, Options{Dir: dir, SegmentDuration: time.Second, Log: log})
	if err != nil {
		log.Error("new", "error", err)
		os.Exit(2)
	}
	if err := rec.Start(context.Background()); err != nil {
		log.Error("start", "error", err)
		os.Exit(2)
	}
	p, err := reg.Publish("crash/room", stream.PublishInfo{Protocol: "test", Tracks: []stream.Track{m.video, m.audio}})
	if err != nil {
		log.Error("publish", "error", err)
		os.Exit(2)
	}
	writeUnits(p, m, 0, 1000, 2, nil, 0, 1)
	time.Sleep(time.Minute) // the parent kills us long before
	os.Exit(3)
}

// segmentFrames counts the video samples in the complete segments of a recording dir.
func segmentFrames(t *testing.T, dir string) (segs, frames int) {
	t.Helper()
	names, err := segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal(b); err != nil {
			t.Fatalf("complete segment %s does not parse: %v", n, err)
		}
		for _, p := range parts {
			for _, tr := range p.Tracks {
				if tr.ID == videoTrackID {
					frames += len(tr.Samples)
				}
			}
		}
	}
	return len(names), frames
}

func TestCrashRecovery(t *testing.T) {
	m := clip(t, "h264_aac_10s", 10, "libx264", "aac", "-g", "25", "-bf", "0")
	dir := t.TempDir()

	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RECORD_CRASH_CHILD_DIR="+dir, "RECORD_CRASH_CHILD_MEDIA="+m.file)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	// Kill -9 once four segments are on disk: mid-stream, mid-segment.
	var recDir string
	deadline := time.Now().Add(20 * time.Second)
	for recDir == "" {
		if time.Now().After(deadline) {
			t.Fatalf("child wrote no 4th segment in 20 s; its log:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
		found, _ := filepath.Glob(filepath.Join(dir, "*", "seg_000004.m4s"))
		if len(found) == 1 {
			recDir = filepath.Dir(found[0])
		}
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed = true

	md, err := readMeta(recDir)
	if err != nil || md.State != stateRecording || md.Path != "crash/room" {
		t.Fatalf("meta after the crash: %+v %v", md, err)
	}
	segs, frames := segmentFrames(t, recDir)
	if segs < 4 || frames < 4*25 || frames >= m.videoFrames {
		t.Fatalf("after the crash: %d segments with %d frames (clip has %d)", segs, frames, m.videoFrames)
	}
	// A segment being written at the crash, and a recording that crashed before its
	// first segment.
	if err := os.WriteFile(filepath.Join(recDir, segmentName(segs+1)+tmpSuffix), []byte("half a segment"), 0o640); err != nil {
		t.Fatal(err)
	}
	emptyDir := filepath.Join(dir, NewID("r"))
	if err := os.Mkdir(emptyDir, 0o750); err != nil {
		t.Fatal(err)
	}
	em := md
	em.ID = filepath.Base(emptyDir)
	if err := writeMeta(emptyDir, em); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(emptyDir, "seg_000001.m4s.tmp"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	// Something that is not a recording stays untouched.
	if err := os.Mkdir(filepath.Join(dir, "lost+found"), 0o750); err != nil {
		t.Fatal(err)
	}

	// Restart: Start recovers before it returns.
	h := newHarness(t, dir, Options{SegmentDuration: time.Second}, time.Minute)
	h.mu.Lock()
	got := append([]Info(nil), h.finalized...)
	h.mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("OnFinalized called %d times, want 1: %+v\nlogs:\n%s", len(got), got, h.logs)
	}
	in := got[0]
	if !in.Recovered || in.ID != md.ID || in.Path != "crash/room" || in.Segments != segs {
		t.Errorf("recovered info %+v, want ID %s with %d segments", in, md.ID, segs)
	}
	checkRecording(t, in, float64(frames)/25, frames, "h264", "aac")
	if _, err := os.Stat(emptyDir); !os.IsNotExist(err) {
		t.Errorf("recording without segments not deleted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lost+found")); err != nil {
		t.Errorf("foreign directory touched: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(recDir, "*"))
	if len(left) != 2 {
		t.Errorf("recovered dir holds %v, want meta.json and recording.mp4", left)
	}
	h.rec.Close()

	// Not released yet: the next start announces it again.
	h2 := newHarness(t, dir, Options{}, time.Minute)
	h2.mu.Lock()
	again := append([]Info(nil), h2.finalized...)
	h2.mu.Unlock()
	if len(again) != 1 || again[0].ID != in.ID || !again[0].Recovered || again[0].File != in.File {
		t.Errorf("second start announced %+v", again)
	}
	if err := h2.rec.Release(in.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(recDir); !os.IsNotExist(err) {
		t.Errorf("released recording still on disk")
	}
}
