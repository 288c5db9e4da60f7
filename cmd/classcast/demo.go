package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/classcast/classcast/internal/config"
)

const cjkFont = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"

// runDemo publishes a synthetic class with the ffmpeg CLI: a test picture with the
// time of day and a tone, H.264 + AAC over RTSP like a recording room's encoder. It is
// restarted if it exits, until ctx ends.
func runDemo(ctx context.Context, c config.Config, log *slog.Logger) {
	log = log.With("component", "demo", "stream", c.Demo.Path)
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		log.Warn("demo stream disabled: the ffmpeg CLI is not installed (make deps installs it)")
		return
	}
	_, port, _ := net.SplitHostPort(c.RTSP.Address)
	target := "rtsp://127.0.0.1:" + port + "/" + c.Demo.Path
	// The Chinese title needs a CJK font (make deps installs WenQuanYi Zen Hei);
	// without one, an English title instead of boxes.
	title, font := "classcast demo class", ""
	if _, err := os.Stat(cjkFont); err == nil {
		title, font = "classcast 演示课堂 demo", ":fontfile="+cjkFont
	}
	text := "drawtext=text='" + title + " %{localtime\\:%H\\\\\\:%M\\\\\\:%S}'" + font +
		":fontsize=40:fontcolor=white:box=1:boxcolor=black@0.6:x=40:y=40"
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:beep_factor=4",
		"-vf", text,
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline",
		"-g", "50", "-bf", "0", "-b:v", "1500k", "-maxrate", "1500k", "-bufsize", "1500k", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-ac", "2",
		"-f", "rtsp", "-rtsp_transport", "tcp", target}
	backoff := time.Second
	for ctx.Err() == nil {
		cmd := exec.CommandContext(ctx, "ffmpeg", args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		started := time.Now()
		err := cmd.Run()
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		log.Warn("demo publisher exited; restarting", "error", err, "ffmpeg", lastLine(stderr.String()), "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
