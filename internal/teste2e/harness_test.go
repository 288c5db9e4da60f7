// Package teste2e drives the real classcast binary with real peers: the ffmpeg CLI and
// GStreamer publish over RTSP, a pion WHEP client and headless Chromium watch.
package teste2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// repoRoot is the module root, found from this file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// binary returns the classcast binary: $TEST_CLASSCAST_BIN (make test builds it with the
// player embedded) or a fresh build.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("TEST_CLASSCAST_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "classcast-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "classcast")
		out, err := exec.Command("go", "build", "-o", binPath, "./cmd/classcast").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build (run `make build` first: the player is embedded): %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func init() {
	// go build above runs in the module root.
	_ = os.Chdir(repoRoot())
}

// syncBuffer collects a process's output for assertions and failure reports.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running classcast process.
type server struct {
	t        *testing.T
	cmd      *exec.Cmd
	dir      string
	cfgPath  string
	env      []string
	HTTP     string // http://127.0.0.1:PORT
	RTSPPort int
	RTPPort  int
	ICEPort  int
	Redis    string       // the embedded Redis address
	viewer   *http.Cookie // the session the asset listings are read with, if any
	log      *syncBuffer
	exited   chan struct{}
}

// RTSP returns the publish URL of path.
func (s *server) RTSP(path string) string {
	return fmt.Sprintf("rtsp://127.0.0.1:%d/%s", s.RTSPPort, path)
}

// WHEP returns the WHEP URL of path.
func (s *server) WHEP(path string) string { return s.HTTP + "/whep/" + path }

// Log is everything the server logged so far.
func (s *server) Log() string { return s.log.String() }

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeUDPTCPPort finds a port free for both UDP and TCP (WebRTC uses the same number).
func freeUDPTCPPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freeTCPPort(t)
		u, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
		if err == nil {
			u.Close()
			return p
		}
	}
	t.Fatal("no free UDP+TCP port")
	return 0
}

// freeRTPPair finds an even UDP port whose successor is free too.
func freeRTPPair(t *testing.T) int {
	t.Helper()
	for range 100 {
		u, err := net.ListenPacket("udp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		p := u.LocalAddr().(*net.UDPAddr).Port
		u.Close()
		p &^= 1
		a, err1 := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
		b, err2 := net.ListenPacket("udp", fmt.Sprintf(":%d", p+1))
		if a != nil {
			a.Close()
		}
		if b != nil {
			b.Close()
		}
		if err1 == nil && err2 == nil {
			return p
		}
	}
	t.Fatal("no free RTP port pair")
	return 0
}

// startServer runs classcast with a config made of the test's ports plus extraYAML
// (top-level keys, e.g. a streams: list) and env (CLASSCAST_*=... overrides), and
// waits until it is ready. Recording is off unless extraYAML configures record:, so
// live-path tests do not queue transcodes.
func startServer(t *testing.T, extraYAML string, env ...string) *server {
	t.Helper()
	s := &server{t: t, dir: t.TempDir(), log: &syncBuffer{}, env: env}
	httpPort := freeTCPPort(t)
	s.RTSPPort = freeTCPPort(t)
	s.RTPPort = freeRTPPair(t)
	s.ICEPort = freeUDPTCPPort(t)
	s.Redis = fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	s.HTTP = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	if !strings.Contains("\n"+extraYAML, "\nrecord:") {
		extraYAML += "\nrecord: {enabled: false}\n"
	}
	cfg := fmt.Sprintf(`data_dir: %s
log: {level: debug, format: text}
http: {address: "127.0.0.1:%d"}
rtsp: {address: ":%d", udp_rtp_address: ":%d", udp_rtcp_address: ":%d"}
webrtc: {port: %d, loopback: true}
hub: {idle_timeout: 20s}
redis: {embedded_address: "%s"}
%s`, filepath.Join(s.dir, "data"), httpPort, s.RTSPPort, s.RTPPort, s.RTPPort+1, s.ICEPort, s.Redis, extraYAML)
	s.cfgPath = filepath.Join(s.dir, "classcast.yml")
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", tail(s.Log(), 80))
		}
		if strings.Contains(s.Log(), "panic:") || strings.Contains(s.Log(), "DATA RACE") {
			t.Errorf("server crashed:\n%s", tail(s.Log(), 80))
		}
	})
	s.start()
	return s
}

// start runs the server process on the saved config and waits until it is ready.
func (s *server) start() {
	t := s.t
	t.Helper()
	s.exited = make(chan struct{})
	s.cmd = exec.Command(binary(t), "serve", "-c", s.cfgPath)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.Env = append(cleanEnv(), s.env...)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := s.exited
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			t.Fatalf("server exited at start:\n%s", s.Log())
		default:
		}
		res, err := http.Get(s.HTTP + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready in 20 s:\n%s", s.Log())
}

// kill9 kills the server the way a power cut would, leaving no chance to clean up.
func (s *server) kill9() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	fmt.Fprintf(s.log, "\n----- killed with SIGKILL -----\n")
}

// restart starts the server again on the same data directory and ports.
func (s *server) restart() {
	s.t.Helper()
	fmt.Fprintf(s.log, "\n----- restart -----\n")
	s.start()
}

// startWorker runs `classcast worker` on the server's config (its embedded Redis,
// object store and catalog).
func (s *server) startWorker(t *testing.T, env ...string) *publisher {
	t.Helper()
	p := &publisher{out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary(t), "worker", "-c", s.cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(append(cleanEnv(), s.env...), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("worker log:\n%s", tail(p.out.String(), 60))
		}
	})
	return p
}

// stop sends SIGTERM and expects a clean exit within the shutdown timeout.
func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			s.t.Errorf("server exited with %d after SIGTERM", code)
		}
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		s.t.Errorf("server did not stop within 15 s of SIGTERM")
	}
}

// alive fails the test if the server process has exited.
func (s *server) alive() {
	s.t.Helper()
	select {
	case <-s.exited:
		s.t.Fatalf("server died:\n%s", tail(s.Log(), 60))
	default:
	}
}

func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "CLASSCAST_") {
			env = append(env, e)
		}
	}
	return env
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// publisher is a real RTSP client (ffmpeg or GStreamer) publishing until stopped.
type publisher struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

func (p *publisher) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func startProcess(t *testing.T, name string, args ...string) *publisher {
	t.Helper()
	p := &publisher{out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	return p
}

// ffmpegOptions describe a publisher a recording room might run.
type ffmpegOptions struct {
	Transport string // tcp or udp
	Codec     string // h264 (default) or h265
	BFrames   int
	Size      string // default 640x360
	User      string
	Pass      string
	Extra     []string // extra output options (e.g. a corrupting bitstream filter)
	Audio     string   // aac (default), opus, pcmu or pcma
}

// publishFFmpeg publishes a live test picture and a tone with the ffmpeg CLI.
func publishFFmpeg(t *testing.T, url string, o ffmpegOptions) *publisher {
	t.Helper()
	if o.Transport == "" {
		o.Transport = "tcp"
	}
	if o.Size == "" {
		o.Size = "640x360"
	}
	if o.User != "" {
		url = strings.Replace(url, "rtsp://", "rtsp://"+o.User+":"+o.Pass+"@", 1)
	}
	args := []string{"-hide_banner", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=" + o.Size + ":rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"}
	switch o.Codec {
	case "h265":
		args = append(args, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", fmt.Sprintf("keyint=50:bframes=%d:log-level=error", o.BFrames))
	default:
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-bf", fmt.Sprint(o.BFrames), "-pix_fmt", "yuv420p")
		if o.BFrames == 0 {
			args = append(args, "-tune", "zerolatency")
		} else {
			args = append(args, "-profile:v", "high")
		}
	}
	args = append(args, "-b:v", "800k")
	switch o.Audio {
	case "opus":
		args = append(args, "-c:a", "libopus", "-b:a", "48k", "-ar", "48000")
	case "pcmu":
		args = append(args, "-c:a", "pcm_mulaw", "-ar", "8000", "-ac", "1")
	case "pcma":
		args = append(args, "-c:a", "pcm_alaw", "-ar", "8000", "-ac", "1")
	default:
		args = append(args, "-c:a", "aac", "-b:a", "64k")
	}
	args = append(args, o.Extra...)
	args = append(args, "-f", "rtsp", "-rtsp_transport", o.Transport, url)
	return startProcess(t, "ffmpeg", args...)
}

// publishGStreamer publishes with GStreamer's rtspclientsink: another real encoder
// stack, with its own RTSP client.
func publishGStreamer(t *testing.T, url, transport string) *publisher {
	t.Helper()
	proto := "tcp"
	if transport == "udp" {
		proto = "udp"
	}
	pipeline := fmt.Sprintf("rtspclientsink name=s location=%s protocols=%s latency=0 "+
		"videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=25/1 ! "+
		"x264enc tune=zerolatency speed-preset=ultrafast key-int-max=50 bitrate=800 ! video/x-h264,profile=baseline ! s. "+
		"audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! avenc_aac ! s.", url, proto)
	return startProcess(t, "gst-launch-1.0", append([]string{"-q"}, strings.Fields(pipeline)...)...)
}

// waitLive waits until the server reports the stream live with the given number of
// tracks.
func waitLive(t *testing.T, s *server, path string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for ctx.Err() == nil {
		res, err := http.Get(s.HTTP + "/api/v1/streams/" + path)
		if err == nil {
			var b bytes.Buffer
			_, _ = b.ReadFrom(res.Body)
			res.Body.Close()
			// Live and flowing: the API says live from ANNOUNCE on, media comes after RECORD.
			if res.StatusCode == 200 && strings.Contains(b.String(), `"live": true`) && strings.Contains(b.String(), `"web_video"`) &&
				!strings.Contains(b.String(), `"units_in": 0,`) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("stream %s not live within %s\nserver log:\n%s", path, timeout, tail(s.Log(), 40))
}
