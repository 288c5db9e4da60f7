package record

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiskFull records onto a tiny tmpfs: the recording stops cleanly when the disk
// fills, the server goes on, and once space is freed a restart recovers what was
// written.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })

	m := clip(t, "h264_aac", 6, "libx264", "aac", "-g", "25", "-bf", "0")
	h := newHarness(t, dir, Options{SegmentDuration: time.Second, Grace: 100 * time.Millisecond}, time.Minute)
	publish(t, h.reg, "room/full", m, 0, 100, 5, false)
	var logs string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		logs = h.logs.String()
		if strings.Contains(logs, "recording stopped: cannot write to disk") && strings.Contains(logs, "no space left on device") &&
			(strings.Contains(logs, "cannot finalize recording") || strings.Contains(logs, "recording finalized")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no disk-full error in the logs:\n%s", logs)
		}
	}
	if !strings.Contains(logs, "dir="+dir) {
		t.Errorf("the error does not name the recording's directory")
	}
	if act := h.rec.Active(); len(act) != 0 {
		t.Errorf("recording still active after the disk filled: %+v", act)
	}
	h.rec.Close() // the recording has stopped, and the recorder closes cleanly
	// The segments written before the disk filled are kept on disk for recovery.
	dirs, _ := filepath.Glob(filepath.Join(dir, "r*"))
	if len(dirs) != 1 {
		t.Fatalf("recording dirs: %v", dirs)
	}
	if strings.Count(h.logs.String(), "recording started") != 1 {
		t.Errorf("a new recording was tried at once after the disk error")
	}
	segs, frames := segmentFrames(t, dirs[0])
	if segs == 0 {
		t.Fatal("no segment written before the disk filled")
	}
	h.mu.Lock()
	nfin := len(h.finalized)
	h.mu.Unlock()
	if nfin == 0 {
		// Not enough room to join the segments: meta.json still says recording.
		if md, err := readMeta(dirs[0]); err != nil || md.State != stateRecording {
			t.Fatalf("unfinalized recording's meta: %+v %v", md, err)
		}
	}

	// Free space; the next start finalizes it.
	if out, err := exec.Command("mount", "-o", "remount,size=16m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	h2 := newHarness(t, dir, Options{}, time.Minute)
	h2.mu.Lock()
	got := append([]Info(nil), h2.finalized...)
	h2.mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("after freeing space: %d finalized, logs:\n%s", len(got), h2.logs)
	}
	checkRecording(t, got[0], float64(frames)/25, frames, "h264", "aac")
	if nfin == 0 && !got[0].Recovered {
		t.Error("recording finalized at restart not marked recovered")
	}
	h2.rec.Close()
}
