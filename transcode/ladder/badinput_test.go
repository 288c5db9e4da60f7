package ladder

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// writeFile writes data to a new file in dir.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hugeMP4 returns a tiny valid H.264 MP4 whose sample description claims
// a 30000x30000 picture.
func hugeMP4(t *testing.T, dir string) string {
	t.Helper()
	tiny := media(t, "tiny.mp4", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=1",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	b, err := os.ReadFile(tiny)
	if err != nil {
		t.Fatal(err)
	}
	stsd := bytes.Index(b, []byte("stsd"))
	avc1 := bytes.Index(b[max(stsd, 0):], []byte("avc1"))
	if stsd < 0 || avc1 < 0 {
		t.Fatal("no avc1 sample entry in the tiny MP4")
	}
	// VisualSampleEntry: 6 reserved, 2 data reference index, 16 reserved,
	// then width and height (16 bits each).
	at := stsd + avc1 + 4 + 24
	if w, h := int(b[at])<<8|int(b[at+1]), int(b[at+2])<<8|int(b[at+3]); w != 64 || h != 64 {
		t.Fatalf("sample entry says %dx%d, want 64x64", w, h)
	}
	b[at], b[at+1], b[at+2], b[at+3] = 30000>>8, 30000&0xff, 30000>>8, 30000&0xff
	return writeFile(t, dir, "huge.mp4", b)
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(srcH264(t)) // moov at the end, as ffmpeg writes it
	if err != nil {
		t.Fatal(err)
	}
	faststart := media(t, "faststart.mp4", "-i", srcH264(t), "-c", "copy", "-movflags", "+faststart")
	fs, err := os.ReadFile(faststart)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 64<<10)
	rand.Read(garbage)
	png := media(t, "still.png", "-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1")

	// A raw video header is the cheapest way to declare a size. FFmpeg
	// itself refuses 30000x30000; 16000x16000 (384 MB a picture) passes
	// its check and must be stopped by ours before anything is decoded.
	y4m := func(size string) []byte {
		return append([]byte("YUV4MPEG2 W"+strings.Replace(size, "x", " H", 1)+" F25:1 Ip A1:1 C420jpeg\nFRAME\n"), make([]byte, 4096)...)
	}
	cases := []struct {
		name, path, want string
	}{
		{"empty", writeFile(t, dir, "empty.mp4", nil), "the file is empty"},
		{"text", writeFile(t, dir, "notes.txt", []byte(strings.Repeat("Lesson plan: fractions, decimals.\n", 200))), "not a supported audio or video file"},
		{"text named mp4", writeFile(t, dir, "notes.mp4", []byte(strings.Repeat("hello world\n", 500))), "not a supported audio or video file"},
		{"random bytes", writeFile(t, dir, "random.mov", garbage), "not a supported audio or video file"},
		{"image", png, "not a supported audio or video file"},
		{"truncated", writeFile(t, dir, "truncated.mp4", good[:len(good)/2]), "damaged or incomplete"},
		{"truncated faststart", writeFile(t, dir, "truncated_fs.mp4", fs[:len(fs)/2]), "truncated"},
		{"huge y4m", writeFile(t, dir, "huge.y4m", y4m("16000x16000")), "16000x16000"},
		{"huger y4m", writeFile(t, dir, "huger.y4m", y4m("30000x30000")), "not a supported audio or video file"},
		{"huge mp4", hugeMP4(t, dir), "30000x30000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, perr := Probe(context.Background(), c.path, 0)
			// The user learns why from the error text.
			if c.name != "truncated faststart" {
				if !errors.Is(perr, ErrBadInput) || !strings.Contains(perr.Error(), c.want) {
					t.Errorf("Probe: %v, want ErrBadInput saying %q", perr, c.want)
				}
			}
			// Run reads every packet first, so it also finds what Probe
			// (header only) cannot.
			out := filepath.Join(t.TempDir(), "out")
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			keep := writeFile(t, out, "keep.txt", []byte("not ours"))
			_, err := Run(context.Background(), c.path, out, Options{})
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run: %v, want ErrBadInput saying %q", err, c.want)
			}
			t.Logf("%s: %v", c.name, err)
			entries, _ := os.ReadDir(out)
			if _, serr := os.Stat(keep); serr != nil || len(entries) != 1 {
				t.Errorf("after a failed run the output directory holds %d entries (keep.txt: %v)", len(entries), serr)
			}
		})
	}

	// A missing file is not bad media: nothing was there to judge.
	if _, err := Probe(context.Background(), filepath.Join(dir, "missing.mp4"), 0); err == nil || errors.Is(err, ErrBadInput) {
		t.Errorf("Probe of a missing file: %v", err)
	}
	if _, err := Run(context.Background(), srcH264(t), t.TempDir(), Options{Preset: "warp"}); err == nil || errors.Is(err, ErrBadInput) {
		t.Errorf("Run with a bad preset: %v", err)
	}
}

func TestRunCancel(t *testing.T) {
	src := srcH264(t)
	before := runtime.NumGoroutine()
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithCancel(context.Background())
	var canceledAt time.Time
	started := make(chan struct{})
	go func() {
		<-started
		time.Sleep(300 * time.Millisecond)
		canceledAt = time.Now()
		cancel()
	}()
	once := false
	_, err := Run(ctx, src, out, Options{Progress: func(step string, _ float64) {
		if step == "ladder" && !once {
			once = true
			close(started)
		}
	}})
	returned := time.Now()
	if !once {
		t.Fatal("the ladder step never started")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	if d := returned.Sub(canceledAt); d > time.Second {
		t.Errorf("Run returned %v after the cancel", d)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output directory left behind: %v", err)
	}
	// Every goroutine the run started is gone.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the run, %d before", n, before)
	}
}
