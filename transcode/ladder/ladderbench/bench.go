// Package ladderbench measures the VOD ladder (transcode/ladder, in
// process) against the ffmpeg CLI making the same ladder the usual way,
// side by side in one run, on a generated 1080p25 H.264 + AAC source. It
// backs the VOD section of BENCHMARKS.md (scripts/bench) and
// scripts/benchvod.
package ladderbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/classcast/classcast/transcode/ladder"
)

// Config sets up a run.
type Config struct {
	// WorkDir holds the source (kept between runs of the same length, so
	// a rerun skips generating it) and the outputs (removed).
	WorkDir string
	// Minutes of source media.
	Minutes int
	// Preset is the x264 preset of both pipelines; ladder.DefaultPreset when empty.
	Preset string
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

// rung is one step of the ladder both pipelines make for a 1080p source:
// what transcode/ladder plans, spelled out for the CLI.
type rung struct {
	name    string
	w, h    int
	kbps    int // 0: stream copy
	profile string
}

var rungs = []rung{
	{"1080p", 1920, 1080, 0, ""},
	{"720p", 1280, 720, 2500, "high"},
	{"480p", 854, 480, 1000, "high"},
	{"360p", 640, 360, 600, "high"},
}

// Measurement is one pipeline's cost.
type Measurement struct {
	Wall     time.Duration
	CPU      time.Duration // user + system
	MaxRSS   int64         // bytes
	Segs     int           // media segments written, all renditions
	Realtime float64       // media seconds per wall second
}

// Report is what Run measured.
type Report struct {
	Machine    string
	LoadBefore string
	LoadAfter  string
	Source     string
	SourceGen  time.Duration
	SourceCmd  string
	Media      time.Duration
	Ladder     Measurement
	CLI        Measurement
	CLICmd     string
	Preset     string
	Renditions []ladder.Rendition
}

// Run generates the source (unless already there), runs the ladder, then
// the ffmpeg CLI, and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Minutes <= 0 {
		return nil, errors.New("ladderbench: minutes must be positive")
	}
	if cfg.Preset == "" {
		cfg.Preset = ladder.DefaultPreset
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	r := &Report{Machine: machine(), Preset: cfg.Preset}

	// The source: 1080p25 H.264 with a 2 s GOP at 4.5 Mbit/s (what a
	// recording room encoder sends), AAC stereo. x264 ultrafast makes it
	// quickly; its Constrained Baseline is browser-safe, so the ladder
	// copies the top rung, as the CLI does.
	src := filepath.Join(cfg.WorkDir, fmt.Sprintf("source_%dmin_1080p25.mp4", cfg.Minutes))
	secs := strconv.Itoa(cfg.Minutes * 60)
	genArgs := []string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", secs, "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4500k", "-maxrate", "4500k", "-bufsize", "9000k",
		"-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", src + ".tmp.mp4"}
	r.SourceCmd = "ffmpeg " + strings.Join(genArgs[4:len(genArgs)-1], " ") + " source.mp4"
	if _, err := os.Stat(src); err != nil {
		logf("vod: generating a %d min 1080p25 source", cfg.Minutes)
		start := time.Now()
		if _, err := runCmd(ctx, "ffmpeg", genArgs...); err != nil {
			return nil, fmt.Errorf("ladderbench: generating the source: %w", err)
		}
		if err := os.Rename(src+".tmp.mp4", src); err != nil {
			return nil, err
		}
		r.SourceGen = time.Since(start)
		logf("vod: source made in %v", r.SourceGen.Round(time.Second))
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	r.Source = fmt.Sprintf("%d min 1080p25 H.264 (x264 ultrafast, 4.5 Mbit/s, 2 s GOP) + AAC 128 kbit/s stereo, testsrc2 + sine, %.0f MB", cfg.Minutes, float64(st.Size())/1e6)
	r.Media = time.Duration(cfg.Minutes) * time.Minute

	// Warm the page cache for both runs alike.
	if f, err := os.Open(src); err == nil {
		io.Copy(io.Discard, f)
		f.Close()
	}

	r.LoadBefore = loadavg()
	out := filepath.Join(cfg.WorkDir, "ladder_out")
	os.RemoveAll(out)
	defer os.RemoveAll(out)
	logf("vod: transcode/ladder, preset %s", cfg.Preset)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	res, err := ladder.Run(ctx, src, out, ladder.Options{Preset: cfg.Preset})
	r.Ladder.Wall = time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if err != nil {
		return nil, fmt.Errorf("ladderbench: ladder: %w", err)
	}
	r.Ladder.CPU = cpu(ru1) - cpu(ru0)
	r.Ladder.MaxRSS = ru1.Maxrss * 1024
	r.Ladder.Segs = countSegments(res.Files)
	r.Ladder.Realtime = r.Media.Seconds() / r.Ladder.Wall.Seconds()
	r.Renditions = res.Renditions
	if err := checkLadder(res); err != nil {
		return nil, err
	}
	logf("vod: ladder %v (%.2fx realtime, %v CPU)", r.Ladder.Wall.Round(time.Millisecond), r.Ladder.Realtime, r.Ladder.CPU.Round(time.Millisecond))
	os.RemoveAll(out)

	cliOut := filepath.Join(cfg.WorkDir, "cli_out")
	os.RemoveAll(cliOut)
	defer os.RemoveAll(cliOut)
	args := cliArgs(src, cliOut, cfg.Preset)
	r.CLICmd = "ffmpeg " + strings.Join(args, " ")
	logf("vod: ffmpeg CLI")
	start = time.Now()
	var peak int64
	ps, err := runCmdPeak(ctx, &peak, "ffmpeg", args...)
	r.CLI.Wall = time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("ladderbench: ffmpeg CLI: %w", err)
	}
	r.CLI.CPU = ps.UserTime() + ps.SystemTime()
	r.CLI.MaxRSS = peak
	r.CLI.Realtime = r.Media.Seconds() / r.CLI.Wall.Seconds()
	var files []string
	filepath.WalkDir(cliOut, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	r.CLI.Segs = countSegments(files)
	if _, err := os.Stat(filepath.Join(cliOut, "master.m3u8")); err != nil {
		return nil, fmt.Errorf("ladderbench: the ffmpeg CLI wrote no master playlist")
	}
	logf("vod: ffmpeg CLI %v (%.2fx realtime, %v CPU)", r.CLI.Wall.Round(time.Millisecond), r.CLI.Realtime, r.CLI.CPU.Round(time.Millisecond))
	r.LoadAfter = loadavg()
	return r, nil
}

// cliArgs is the ffmpeg command making the same ladder: one decode, a
// split and a scale per encoded rung, the top rung copied, x264 with the
// same preset, bitrates and 2 s closed GOPs without scene cuts, AAC 96k
// per variant and an audio-only variant, HLS fMP4 with 2 s segments and a
// master playlist.
func cliArgs(src, out, preset string) []string {
	var encoded []rung
	for _, r := range rungs {
		if r.kbps > 0 {
			encoded = append(encoded, r)
		}
	}
	var fc strings.Builder
	fmt.Fprintf(&fc, "[0:v]split=%d", len(encoded))
	for i := range encoded {
		fmt.Fprintf(&fc, "[s%d]", i)
	}
	for i, r := range encoded {
		fmt.Fprintf(&fc, ";[s%d]scale=%d:%d[v%d]", i, r.w, r.h, i)
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-y", "-i", src, "-filter_complex", fc.String()}
	vi := 0
	var streamMap []string
	for i, r := range rungs {
		if r.kbps == 0 {
			args = append(args, "-map", "0:v")
		} else {
			args = append(args, "-map", fmt.Sprintf("[v%d]", vi))
			vi++
		}
		streamMap = append(streamMap, fmt.Sprintf("v:%d,a:%d,name:%s", i, i, r.name))
	}
	for range len(rungs) + 1 {
		args = append(args, "-map", "0:a")
	}
	streamMap = append(streamMap, fmt.Sprintf("a:%d,name:audio", len(rungs)))
	for i, r := range rungs {
		if r.kbps == 0 {
			args = append(args, fmt.Sprintf("-c:v:%d", i), "copy")
			continue
		}
		k := strconv.Itoa(r.kbps) + "k"
		args = append(args, fmt.Sprintf("-c:v:%d", i), "libx264",
			fmt.Sprintf("-b:v:%d", i), k, fmt.Sprintf("-maxrate:v:%d", i), k,
			fmt.Sprintf("-bufsize:v:%d", i), strconv.Itoa(2*r.kbps)+"k",
			fmt.Sprintf("-profile:v:%d", i), r.profile)
	}
	args = append(args,
		"-preset", preset, "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-x264-params", "open-gop=0",
		"-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2",
		"-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
		"-hls_flags", "independent_segments", "-hls_segment_filename", filepath.Join(out, "%v", "seg_%05d.m4s"),
		"-master_pl_name", "master.m3u8", "-var_stream_map", strings.Join(streamMap, " "),
		filepath.Join(out, "%v", "index.m3u8"))
	return args
}

// checkLadder makes sure the ladder made what the CLI is asked to make.
func checkLadder(res ladder.Result) error {
	if len(res.Renditions) != len(rungs)+1 {
		return fmt.Errorf("ladderbench: the ladder made %d renditions, want %d", len(res.Renditions), len(rungs)+1)
	}
	for i, r := range rungs {
		got := res.Renditions[i]
		if got.Name != r.name || got.Width != r.w || got.Height != r.h || got.Copy != (r.kbps == 0) {
			return fmt.Errorf("ladderbench: rendition %d is %s %dx%d copy=%v, want %s %dx%d", i, got.Name, got.Width, got.Height, got.Copy, r.name, r.w, r.h)
		}
	}
	return nil
}

func countSegments(files []string) (n int) {
	for _, f := range files {
		if strings.HasSuffix(f, ".m4s") {
			n++
		}
	}
	return n
}

func cpu(ru syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runCmd(ctx context.Context, name string, args ...string) (*os.ProcessState, error) {
	return runCmdPeak(ctx, nil, name, args...)
}

// runCmdPeak runs a command; when peak is set it receives the command's
// peak resident memory (bytes), read from /proc while it runs: the
// rusage of a child also counts the parent's memory at fork.
func runCmdPeak(ctx context.Context, peak *int64, name string, args ...string) (*os.ProcessState, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			if peak != nil {
				if b, err := os.ReadFile(status); err == nil {
					for _, l := range strings.Split(string(b), "\n") {
						if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
							if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
								*peak = max(*peak, kb*1024)
							}
						}
					}
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-polled
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return cmd.ProcessState, fmt.Errorf("%w: %s", err, msg)
	}
	return cmd.ProcessState, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	ff := "ffmpeg unknown"
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-version").Output(); err == nil {
		ff = strings.SplitN(string(out), "\n", 2)[0]
		ff = strings.Fields(ff + " x x")[2]
		ff = "FFmpeg " + ff
	}
	return fmt.Sprintf("%s, %d cores, %s, %s, libx264 from the FFmpeg build", model, runtime.NumCPU(), ff, runtime.Version())
}

// Markdown renders the report as a BENCHMARKS.md section.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("## VOD ladder: transcode/ladder against the ffmpeg CLI\n\n")
	fmt.Fprintf(&b, "- Machine: %s; load average %s before, %s after (the machine is shared: wall times move with it, CPU times much less)\n", r.Machine, r.LoadBefore, r.LoadAfter)
	fmt.Fprintf(&b, "- Source: %s", r.Source)
	if r.SourceGen > 0 {
		fmt.Fprintf(&b, ", generated in %v (not counted)", r.SourceGen.Round(time.Second))
	}
	b.WriteString("\n")
	var names []string
	for _, x := range r.Renditions {
		n := fmt.Sprintf("%s %dx%d", x.Name, x.Width, x.Height)
		if x.Copy {
			n += " (copy)"
		}
		if x.Width == 0 {
			n = x.Name + " (AAC only)"
		}
		names = append(names, n)
	}
	fmt.Fprintf(&b, "- Ladder: %s; x264 preset %s, 2500/1000/600 kbit/s with VBV, 2 s closed GOPs, HLS fMP4 with 2 s segments, AAC 96 kbit/s stereo 48 kHz\n\n", strings.Join(names, ", "), r.Preset)
	b.WriteString("| pipeline | wall | realtime | CPU (user+sys) | CPU s per media s | peak RSS | segments |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	row := func(name string, m Measurement) {
		fmt.Fprintf(&b, "| %s | %.1f s | %.2fx | %.1f s | %.3f | %.0f MB | %d |\n", name, m.Wall.Seconds(), m.Realtime,
			m.CPU.Seconds(), m.CPU.Seconds()/r.Media.Seconds(), float64(m.MaxRSS)/1e6, m.Segs)
	}
	row("transcode/ladder (in process, go-astiav)", r.Ladder)
	row("ffmpeg CLI (filter_complex split/scale, hls muxer)", r.CLI)
	b.WriteString("\n")
	fmt.Fprintf(&b, "The ladder's time includes reading the whole source once more before decoding (exact duration, truncation check, keyframes for the segment cuts), the poster and the storyboard, which the CLI run does not make. Speed-up over the CLI: %.2fx wall, %.2fx CPU. Goal: at least 4x realtime on 2 cores and no slower than the CLI.\n\n",
		r.CLI.Wall.Seconds()/r.Ladder.Wall.Seconds(), r.CLI.CPU.Seconds()/r.Ladder.CPU.Seconds())
	b.WriteString("Source:\n\n```\n" + r.SourceCmd + "\n```\n\nffmpeg CLI ladder:\n\n```\n" + r.CLICmd + "\n```\n")
	return b.String()
}
