// Command classcast-load measures what viewers of a classcast stream see:
// it publishes test media over RTSP with a timestamp SEI in every video
// access unit, starts N WHEP viewers, and reports time to first frame,
// end-to-end latency (receive time minus the SEI's send time), loss, and the
// server's CPU and memory per viewer, as one JSON object on stdout.
//
//	classcast-load -viewers 200 -duration 60s -server-pid auto
//
// Progress goes to stderr. SIGINT stops the run early and still prints the
// report of what was measured.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// runConfig is everything a run needs; it is echoed in the report.
type runConfig struct {
	Publish     string      `json:"publish,omitempty"`
	NoPublish   bool        `json:"no_publish"`
	Transport   string      `json:"transport"`
	WHEP        string      `json:"whep"`
	Token       string      `json:"-"`
	Viewers     int         `json:"viewers"`
	Ramp        float64     `json:"ramp_per_s"`
	Duration    jsonSeconds `json:"duration_s"`
	Warmup      jsonSeconds `json:"warmup_s"`
	DialTimeout jsonSeconds `json:"dial_timeout_s"`
	ServerPID   string      `json:"server_pid,omitempty"`
	Media       mediaConfig `json:"media"`
}

// jsonSeconds is a duration that reads as a Go duration on the command line
// and writes as seconds in JSON.
type jsonSeconds time.Duration

func (d jsonSeconds) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

// Limits that keep a mistyped flag from running all night.
const (
	maxViewers  = 10000
	maxDuration = 24 * time.Hour
)

func (c *runConfig) validate() error {
	switch {
	case c.Viewers < 0 || c.Viewers > maxViewers:
		return fmt.Errorf("-viewers %d: want 0..%d", c.Viewers, maxViewers)
	case c.Ramp <= 0:
		return fmt.Errorf("-ramp %v: want > 0", c.Ramp)
	case c.Duration <= 0 || time.Duration(c.Duration) > maxDuration:
		return fmt.Errorf("-duration %v: want > 0 and <= %v", time.Duration(c.Duration), maxDuration)
	case c.DialTimeout <= 0:
		return fmt.Errorf("-dial-timeout must be > 0")
	case c.Warmup < 0:
		return fmt.Errorf("-warmup must be >= 0")
	case c.Transport != "tcp" && c.Transport != "udp":
		return fmt.Errorf("-transport %q: want tcp or udp", c.Transport)
	case c.Viewers > 0 && c.WHEP == "":
		return fmt.Errorf("-whep is required with viewers")
	case !c.NoPublish && c.Publish == "":
		return fmt.Errorf("-publish is required (or -no-publish)")
	case c.Media.Seconds <= 0 || c.Media.FPS <= 0 || c.Media.GOP <= 0:
		return fmt.Errorf("-media-seconds, -fps and -gop must be > 0")
	}
	if c.WHEP != "" {
		if _, err := url.Parse(c.WHEP); err != nil {
			return fmt.Errorf("-whep: %w", err)
		}
	}
	return nil
}

// hardLimit bounds the whole run, whatever hangs: warm-up, ramp, dials,
// hold, and time to close.
func (c *runConfig) hardLimit() time.Duration {
	ramp := time.Duration(float64(c.Viewers) / c.Ramp * float64(time.Second))
	return 5*time.Minute /* media generation */ + time.Duration(c.Warmup) + ramp +
		3*time.Duration(c.DialTimeout) + time.Duration(c.Duration) + 30*time.Second
}

func parseFlags(args []string, stderr io.Writer) (runConfig, string, error) {
	var c runConfig
	fs := flag.NewFlagSet("classcast-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Publish, "publish", "rtsp://127.0.0.1:8554/load/test", "RTSP URL to publish to (ANNOUNCE/RECORD); user:pass@ allowed")
	fs.BoolVar(&c.NoPublish, "no-publish", false, "do not publish; only watch an existing stream")
	fs.StringVar(&c.Transport, "transport", "tcp", "RTSP transport: tcp or udp")
	fs.StringVar(&c.WHEP, "whep", "http://127.0.0.1:8080/whep/load/test", "WHEP endpoint of the stream")
	fs.StringVar(&c.Token, "token", "", "bearer token for WHEP")
	fs.IntVar(&c.Viewers, "viewers", 10, "number of WHEP viewers")
	fs.Float64Var(&c.Ramp, "ramp", 50, "viewers started per second")
	duration := fs.Duration("duration", 30*time.Second, "how long to hold all viewers")
	warmup := fs.Duration("warmup", 3*time.Second, "publish this long before the first viewer joins (fills the server's GOP cache)")
	dialTimeout := fs.Duration("dial-timeout", 10*time.Second, "timeout of the RTSP connect, of each WHEP dial, and of each viewer's first keyframe")
	fs.StringVar(&c.ServerPID, "server-pid", "", `server process to sample from /proc: a pid, or "auto" for the process listening on the WHEP URL's port`)
	fs.IntVar(&c.Media.Seconds, "media-seconds", 10, "seconds of media to generate (then looped)")
	fs.StringVar(&c.Media.Size, "size", "1280x720", "video size WxH")
	fs.IntVar(&c.Media.FPS, "fps", 25, "video frame rate")
	fs.StringVar(&c.Media.Bitrate, "bitrate", "1500k", "video bitrate (also maxrate; bufsize is twice it)")
	fs.IntVar(&c.Media.GOP, "gop", 50, "frames from one keyframe to the next")
	fs.StringVar(&c.Media.Profile, "profile", "main", "H.264 profile: main or baseline")
	logLevel := fs.String("log-level", "info", "stderr log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return c, "", err
	}
	if fs.NArg() > 0 {
		return c, "", fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c.Duration, c.Warmup, c.DialTimeout = jsonSeconds(*duration), jsonSeconds(*warmup), jsonSeconds(*dialTimeout)
	if c.NoPublish {
		c.Publish = ""
	}
	return c, *logLevel, c.validate()
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	cfg, level, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "classcast-load:", err)
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		fmt.Fprintln(stderr, "classcast-load: -log-level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep, err := run(ctx, cfg, log)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if encErr := enc.Encode(rep); encErr != nil {
		fmt.Fprintln(stderr, "classcast-load: write report:", encErr)
		return 1
	}
	if err != nil {
		log.Error("run failed", "err", err)
		return 1
	}
	return 0
}

// redactURL hides a password in a URL for logs and the report.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}
