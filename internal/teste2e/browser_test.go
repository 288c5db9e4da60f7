package teste2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// browserSample is one line of player/scripts/watch.mjs: what the viewer sees.
type browserSample struct {
	T                    int     `json:"t"`
	State                string  `json:"state"`
	FramesDecoded        int     `json:"framesDecoded"`
	TotalSamplesReceived int     `json:"totalSamplesReceived"`
	Width                int     `json:"width"`
	Height               int     `json:"height"`
	VideoCodec           string  `json:"videoCodec"`
	AudioCodec           string  `json:"audioCodec"`
	CurrentTime          float64 `json:"currentTime"`
	PageError            string  `json:"pageerror"`
	Console              string  `json:"console"`
}

// watchInBrowser opens url in headless Chromium for the given time and streams samples.
func watchInBrowser(t *testing.T, url string, d time.Duration) <-chan browserSample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	script := filepath.Join(repoRoot(), "player", "scripts", "watch.mjs")
	cmd := exec.CommandContext(ctx, "node", script, url, itoa(int(d.Seconds())))
	cmd.Dir = filepath.Join(repoRoot(), "player")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("node: %v", err)
	}
	out := make(chan browserSample, 256)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var s browserSample
			if json.Unmarshal(sc.Bytes(), &s) == nil {
				out <- s
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() && stderr.String() != "" {
			t.Logf("watch.mjs stderr:\n%s", tail(stderr.String(), 30))
		}
	})
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestBrowserPlaysLiveClass: Chromium opens /live/<path>, decodes H.264 and receives
// Opus samples; the publisher drops and returns, and the same session plays on
// without renegotiating.
func TestBrowserPlaysLiveClass(t *testing.T) {
	s := startServer(t, "")
	const path = "school-a/room-101"
	pub := publishFFmpeg(t, s.RTSP(path), ffmpegOptions{})
	waitLive(t, s, path, 15*time.Second)

	samples := watchInBrowser(t, s.HTTP+"/live/"+path, 30*time.Second)
	var first, live browserSample
	deadline := time.After(40 * time.Second)
	restartedAt := -1
	var atRestart browserSample
	for {
		var smp browserSample
		var ok bool
		select {
		case smp, ok = <-samples:
		case <-deadline:
			t.Fatalf("timed out; last sample %+v", live)
		}
		if !ok {
			t.Fatalf("browser ended early; last sample %+v", live)
		}
		if smp.PageError != "" {
			t.Fatalf("page error: %s", smp.PageError)
		}
		if smp.Console != "" {
			t.Logf("console: %s", smp.Console)
			continue
		}
		live = smp
		if first.FramesDecoded == 0 && smp.FramesDecoded > 0 {
			first = smp
			t.Logf("first frame decoded %d ms after the page opened (%dx%d %s/%s)", smp.T, smp.Width, smp.Height, smp.VideoCodec, smp.AudioCodec)
		}
		if restartedAt < 0 && smp.FramesDecoded >= first.FramesDecoded+50 && smp.TotalSamplesReceived > 48000 {
			if smp.State != "live" || smp.Width != 640 || smp.Height != 360 {
				t.Fatalf("playing but the page says %+v", smp)
			}
			if !strings.EqualFold(smp.VideoCodec, "H264") || !strings.EqualFold(smp.AudioCodec, "opus") {
				t.Fatalf("codecs %s/%s, want H264/opus", smp.VideoCodec, smp.AudioCodec)
			}
			// The class's encoder reboots.
			pub.stop()
			time.Sleep(2 * time.Second)
			pub = publishFFmpeg(t, s.RTSP(path), ffmpegOptions{})
			restartedAt = smp.T
			atRestart = smp
			continue
		}
		if restartedAt >= 0 && smp.T > restartedAt+3000 &&
			smp.FramesDecoded >= atRestart.FramesDecoded+75 && smp.TotalSamplesReceived > atRestart.TotalSamplesReceived+48000 {
			t.Logf("after the publisher restart: %d more frames, %d more audio samples", smp.FramesDecoded-atRestart.FramesDecoded,
				smp.TotalSamplesReceived-atRestart.TotalSamplesReceived)
			break
		}
	}
	if first.T > 5000 {
		t.Errorf("first frame took %d ms", first.T)
	}
	if n := strings.Count(s.Log(), "viewer connected"); n != 1 {
		t.Errorf("viewer connected %d times; the publisher restart must not make the browser renegotiate", n)
	}
}
