package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/media/sei"
	"github.com/classcast/classcast/media/whep/wheptest"
)

// ---- report maths ----

func TestPercentile(t *testing.T) {
	vals := []float64{15, 20, 35, 40, 50}
	for _, c := range []struct{ p, want float64 }{
		{5, 15}, {30, 20}, {40, 20}, {50, 35}, {95, 50}, {100, 50},
	} {
		if got := percentile(vals, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("empty: %v", got)
	}
	s := summarizeTTFF([]float64{300, 100, 200})
	if s != (ttffSummary{P50: 200, P95: 300, Max: 300}) {
		t.Errorf("summarizeTTFF = %+v", s)
	}
}

// The histogram's nearest-rank quantiles must match the exact ones on the
// raw samples to within half a bucket.
func TestHistogramMatchesExact(t *testing.T) {
	h := &histogram{}
	var exact []float64
	// A skewed, deterministic spread: 1 ms to about 2 s, plus outliers.
	for i := 1; i <= 10000; i++ {
		d := time.Duration(math.Pow(float64(i), 1.6)) * time.Microsecond
		h.add(d)
		exact = append(exact, float64(d))
	}
	h.add(15 * time.Second) // beyond the last bucket
	exact = append(exact, float64(15*time.Second))
	h.add(-time.Millisecond) // counts as 0
	exact = append(exact, 0)
	sort.Float64s(exact)

	for _, p := range []float64{1, 50, 90, 95, 99, 99.9, 100} {
		got := h.quantile(p)
		want := time.Duration(percentile(exact, p))
		if diff := got - want; diff < -histBucket/2 || diff > histBucket/2 {
			t.Errorf("p%v = %v, exact %v", p, got, want)
		}
	}
	if got := h.summary().Max; got != 15000 {
		t.Errorf("max %v ms, want 15000", got)
	}
	if (&histogram{}).quantile(50) != 0 {
		t.Error("empty histogram quantile not 0")
	}
}

func TestLossAndServerMaths(t *testing.T) {
	if got := lossPct(990, 10); got != 1 {
		t.Errorf("lossPct = %v, want 1", got)
	}
	if got := lossPct(0, 0); got != 0 {
		t.Errorf("lossPct(0,0) = %v", got)
	}
	// 30 CPU seconds over 2 minutes for 50 viewers: 0.3 s per viewer-minute;
	// RSS grew from 100 MiB to 150 MiB: 1024 kB per viewer.
	r := serverUsage(42,
		procSample{cpuSeconds: 10, rssKB: 110 * 1024},
		procSample{cpuSeconds: 40, rssKB: 150 * 1024},
		100*1024, 160*1024, 50, 2*time.Minute)
	want := &serverReport{PID: 42, CPUSeconds: 30, CPUSecPerViewerMin: 0.3, RSSMBBefore: 100, RSSMBMax: 160, RSSKBPerViewer: 1024}
	if *r != *want {
		t.Errorf("serverUsage = %+v, want %+v", r, want)
	}
	if r := serverUsage(1, procSample{}, procSample{cpuSeconds: 1}, 0, 0, 0, time.Minute); r.CPUSecPerViewerMin != 0 {
		t.Errorf("no viewers: %+v", r)
	}
}

// ---- /proc ----

func TestParseProc(t *testing.T) {
	stat := []byte("1234 (classcast (srv) x) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 75 0 0 20 0 12 0 100 1000000 2500 18446744073709551615\n")
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3.25 {
		t.Fatalf("parseStatCPU = %v, %v; want 3.25", cpu, err)
	}
	rss, err := parseStatusRSS([]byte("Name:\tclasscast\nVmPeak:\t  9999 kB\nVmRSS:\t   51234 kB\nThreads:\t12\n"))
	if err != nil || rss != 51234 {
		t.Fatalf("parseStatusRSS = %v, %v", rss, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Error("parseStatCPU accepted garbage")
	}

	// A fake /proc: pid 777 holds the socket listening on 8080 (0x1F90).
	root := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "net"), 0o755))
	must(os.WriteFile(filepath.Join(root, "net", "tcp"), []byte(
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"+
			"   0: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000     0        0 11111 1\n"+
			"   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22222 1\n"+
			"   2: 00000000:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 33333 1\n"), 0o644))
	for pid, inode := range map[string]string{"555": "33333", "777": "22222"} {
		must(os.MkdirAll(filepath.Join(root, pid, "fd"), 0o755))
		must(os.Symlink("socket:["+inode+"]", filepath.Join(root, pid, "fd", "3")))
	}
	must(os.WriteFile(filepath.Join(root, "777", "stat"), stat, 0o644))
	must(os.WriteFile(filepath.Join(root, "777", "status"), []byte("VmRSS:\t 2048 kB\n"), 0o644))
	pid, err := findListener(root, 8080)
	if err != nil || pid != 777 {
		t.Fatalf("findListener = %d, %v; want 777", pid, err)
	}
	s, err := readProc(root, pid)
	if err != nil || s.cpuSeconds != 3.25 || s.rssKB != 2048 {
		t.Fatalf("readProc = %+v, %v", s, err)
	}
	if _, err := findListener(root, 9999); err == nil {
		t.Error("found a listener on a port nobody listens on")
	}

	// Drops are summed over pid 777's own UDP sockets only.
	must(os.MkdirAll(filepath.Join(root, "777", "net"), 0o755))
	must(os.Symlink("socket:[44444]", filepath.Join(root, "777", "fd", "4")))
	must(os.WriteFile(filepath.Join(root, "777", "net", "udp"), []byte(
		"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"+
			" 1323: 0100007F:DC0C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 44444 2 000000004427630c 7\n"+
			" 1324: 0100007F:DC0D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 55555 2 000000004427630c 100\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "777", "net", "udp6"), []byte(
		"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"+
			"  5: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 22222 2 0000000000000000 3\n"), 0o644))
	if d, err := socketDrops(root, 777); err != nil || d != 10 {
		t.Errorf("socketDrops = %d, %v; want 10", d, err)
	}
	if _, err := socketDrops("/proc", os.Getpid()); err != nil {
		t.Errorf("socketDrops on this process: %v", err)
	}
}

// findListener against the real /proc finds this test process.
func TestFindListenerReal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	pid, err := resolvePID("auto", fmt.Sprintf("http://127.0.0.1:%d/whep/x", port))
	if err != nil {
		t.Skipf("cannot scan /proc here: %v", err)
	}
	if pid != os.Getpid() {
		t.Fatalf("pid %d, want %d", pid, os.Getpid())
	}
	if _, err := readProc("/proc", pid); err != nil {
		t.Fatal(err)
	}
}

// ---- media parsing ----

func TestGroupAccessUnits(t *testing.T) {
	sc4 := []byte{0, 0, 0, 1}
	sc3 := []byte{0, 0, 1}
	var stream []byte
	add := func(sc []byte, nalu ...byte) { stream = append(append(stream, sc...), nalu...) }
	add(sc4, 0x09, 0xf0)             // AUD: dropped
	add(sc4, 0x67, 0x4d, 0x00, 0x1f) // SPS
	add(sc3, 0x68, 0xee)             // PPS
	add(sc3, 0x06, 0x05, 0x01, 0x80) // SEI
	add(sc3, 0x65, 0x88, 0x01)       // IDR slice, first_mb 0
	add(sc3, 0x65, 0x44, 0x02)       // IDR slice, first_mb != 0: same picture
	add(sc4, 0x41, 0x9a, 0x03)       // P slice, first_mb 0: new AU
	add(sc3, 0x41, 0x9a, 0x04, 0, 0) // P slice, new AU; trailing zeros trimmed
	add(sc4, 0x67, 0x4d, 0x00, 0x1f) // SPS: new AU
	add(sc3, 0x65, 0x88, 0x05)

	aus := groupAccessUnits(splitAnnexB(stream))
	if len(aus) != 4 {
		t.Fatalf("%d access units, want 4: %x", len(aus), aus)
	}
	want := [][][]byte{
		{{0x67, 0x4d, 0x00, 0x1f}, {0x68, 0xee}, {0x06, 0x05, 0x01, 0x80}, {0x65, 0x88, 0x01}, {0x65, 0x44, 0x02}},
		{{0x41, 0x9a, 0x03}},
		{{0x41, 0x9a, 0x04}},
		{{0x67, 0x4d, 0x00, 0x1f}, {0x65, 0x88, 0x05}},
	}
	for i := range want {
		if fmt.Sprintf("%x", aus[i]) != fmt.Sprintf("%x", want[i]) {
			t.Errorf("AU %d = %x, want %x", i, aus[i], want[i])
		}
	}
}

func TestParseBitrate(t *testing.T) {
	for in, want := range map[string]int{"1500k": 1500000, "2M": 2000000, "800000": 800000} {
		if got, err := parseBitrate(in); err != nil || got != want {
			t.Errorf("parseBitrate(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "k", "-5k", "fast"} {
		if _, err := parseBitrate(in); err == nil {
			t.Errorf("parseBitrate(%q) accepted", in)
		}
	}
}

func TestFlags(t *testing.T) {
	c, _, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Viewers != 10 || c.Ramp != 50 || time.Duration(c.Duration) != 30*time.Second ||
		time.Duration(c.DialTimeout) != 10*time.Second || c.Transport != "tcp" || c.Media.GOP != 50 ||
		c.Media.FPS != 25 || c.Media.Size != "1280x720" || c.Media.Bitrate != "1500k" || c.Media.Seconds != 10 {
		t.Errorf("defaults: %+v", c)
	}
	for _, args := range [][]string{
		{"-viewers", "-1"}, {"-ramp", "0"}, {"-duration", "0s"}, {"-transport", "sctp"},
		{"-duration", "48h"}, {"-no-publish", "-viewers", "1", "-whep", ""},
	} {
		if _, _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%v) accepted", args)
		}
	}
	var out bytes.Buffer
	if code := realMain([]string{"-viewers", "x"}, &out, io.Discard); code != 2 || out.Len() != 0 {
		t.Errorf("bad flag: exit %d, stdout %q", code, out.String())
	}
}

// ---- publisher and whole runs, against in-test servers ----

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// rtspRecorder is a real RTSP server (gortsplib's) that accepts one
// publisher with credentials, decodes its H.264 access units and checks
// every timestamp SEI as it arrives. With a WHEP test server attached it
// also forwards the stream to WHEP viewers, standing in for classcast.
type rtspRecorder struct {
	t          *testing.T
	user, pass string
	whep       *wheptest.Server
	server     *gortsplib.Server
	url        string

	mu         sync.Mutex
	aus        int
	keyframes  int
	noSEI      int
	lastSeq    uint32
	seqErrors  int
	timeErrors int
	maxAge     time.Duration
	tsErrors   int
	lastTS     uint32
	audioPkts  int
	audioSeq   uint16
	announced  *description.Session
}

func newRTSPRecorder(t *testing.T, whep *wheptest.Server) *rtspRecorder {
	r := &rtspRecorder{t: t, user: "encoder", pass: "p@ss", whep: whep}
	port := freePort(t)
	r.server = &gortsplib.Server{Handler: r, RTSPAddress: fmt.Sprintf("127.0.0.1:%d", port)}
	if err := r.server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.server.Close)
	r.url = fmt.Sprintf("rtsp://%s:%s@127.0.0.1:%d/load/test", r.user, "p%40ss", port)
	return r
}

func (r *rtspRecorder) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	if !ctx.Conn.VerifyCredentials(ctx.Request, r.user, r.pass) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
	r.mu.Lock()
	r.announced = ctx.Description
	r.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (r *rtspRecorder) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil, nil
}

func (r *rtspRecorder) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	var dec *rtph264.Decoder
	ctx.Session.OnPacketRTPAny(func(_ *description.Media, forma format.Format, pkt *rtp.Packet) {
		now := time.Now()
		switch f := forma.(type) {
		case *format.H264:
			if dec == nil {
				dec, _ = f.CreateDecoder()
			}
			au, err := dec.Decode(pkt)
			if err != nil {
				return
			}
			r.checkAU(au, pkt.Timestamp, now)
			if r.whep != nil {
				_ = r.whep.WriteVideo(au, pkt.Timestamp)
			}
		case *format.MPEG4Audio:
			r.mu.Lock()
			r.audioPkts++
			r.audioSeq++
			seq := r.audioSeq
			r.mu.Unlock()
			if r.whep != nil {
				// Opus silence in place of the AAC frame: this stand-in
				// server does not transcode.
				r.whep.WriteAudio([]byte{0xf8, 0xff, 0xfe}, seq, pkt.Timestamp)
			}
		}
	})
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (r *rtspRecorder) checkAU(au [][]byte, ts uint32, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(au) == 0 || au[0][0]&0x1f != 6 {
		r.noSEI++ // the SEI must be the first NAL unit
	}
	sent, seq, ok := sei.Find(au)
	if !ok {
		r.noSEI++
		return
	}
	if r.aus > 0 {
		if seq != r.lastSeq+1 {
			r.seqErrors++
		}
		if ts-r.lastTS != 3600 { // 25 fps at 90 kHz, across loops too
			r.tsErrors++
		}
	}
	age := now.Sub(sent)
	if age < -time.Millisecond || age > time.Second {
		r.timeErrors++
	}
	r.maxAge = max(r.maxAge, age)
	if h264.IsRandomAccess(au) {
		r.keyframes++
	}
	r.lastSeq, r.lastTS = seq, ts
	r.aus++
}

func testMedia() mediaConfig {
	return mediaConfig{Seconds: 2, Size: "320x240", FPS: 25, Bitrate: "300k", GOP: 25, Profile: "baseline"}
}

func TestPublisher(t *testing.T) {
	needFFmpeg(t)
	rec := newRTSPRecorder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	m, err := generateMedia(ctx, testMedia())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.video) != 50 || len(m.audio) < 90 {
		t.Fatalf("media: %d video AUs, %d audio frames", len(m.video), len(m.audio))
	}

	p, err := newPublisher(rec.url, "tcp", 5*time.Second, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.run(runCtx) }()
	select {
	case <-p.ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("publisher did not connect: %+v", p.stats())
	}
	// 3 s of 2 s media: the loop wraps once.
	time.Sleep(3 * time.Second)
	stop()
	wg.Wait()
	time.Sleep(200 * time.Millisecond) // let the last packets land

	st := p.stats()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	t.Logf("publisher %+v; server got %d AUs (%d keyframes), %d audio packets, max SEI age %v",
		st, rec.aus, rec.keyframes, rec.audioPkts, rec.maxAge)
	if st.VideoAUs < 70 || st.VideoAUs > 80 {
		t.Errorf("%d AUs sent in 3 s at 25 fps", st.VideoAUs)
	}
	if st.AudioFrames < 135 || st.AudioFrames > 146 {
		t.Errorf("%d audio frames sent in 3 s at 46.875/s", st.AudioFrames)
	}
	if diff := int(st.VideoAUs) - rec.aus; diff < 0 || diff > 1 {
		t.Errorf("sent %d AUs, server decoded %d", st.VideoAUs, rec.aus)
	}
	if rec.noSEI != 0 || rec.seqErrors != 0 || rec.timeErrors != 0 || rec.tsErrors != 0 {
		t.Errorf("no SEI first %d, seq errors %d, SEI time errors %d, RTP timestamp errors %d",
			rec.noSEI, rec.seqErrors, rec.timeErrors, rec.tsErrors)
	}
	if rec.keyframes < 3 {
		t.Errorf("%d keyframes in 3 s with a 1 s GOP", rec.keyframes)
	}
	if rec.audioPkts < 130 {
		t.Errorf("%d audio packets", rec.audioPkts)
	}
	if st.Reconnects != 0 || st.LastError != "" {
		t.Errorf("publisher: %+v", st)
	}
	if rec.announced == nil || len(rec.announced.Medias) != 2 {
		t.Fatalf("announced %+v", rec.announced)
	}
	vf, ok := rec.announced.Medias[0].Formats[0].(*format.H264)
	if !ok || !bytes.Equal(vf.SPS, m.sps) || !bytes.Equal(vf.PPS, m.pps) || vf.PacketizationMode != 1 {
		t.Errorf("video format %+v", rec.announced.Medias[0].Formats[0])
	}
	af, ok := rec.announced.Medias[1].Formats[0].(*format.MPEG4Audio)
	if !ok || af.Config.SampleRate != 48000 || af.Config.ChannelCount != 2 {
		t.Errorf("audio format %+v", rec.announced.Medias[1].Formats[0])
	}
}

func TestPublisherWrongPassword(t *testing.T) {
	needFFmpeg(t)
	rec := newRTSPRecorder(t, nil)
	m := &loadMedia{fps: 25, sps: []byte{0x67, 0x42, 0xc0, 0x0d}, pps: []byte{0x68, 0xce}, video: [][][]byte{{{0x65, 1}}}, audio: [][]byte{{1}}}
	m.audioConfig.Type, m.audioConfig.SampleRate, m.audioConfig.ChannelCount = 2, 48000, 2
	p, _ := newPublisher(strings.Replace(rec.url, "p%40ss", "wrong", 1), "tcp", 5*time.Second, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	err := p.session(context.Background())
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want 401", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("password in error: %v", err)
	}
}

// The whole tool: publisher → RTSP server → WHEP server → viewers, with
// the server figures taken from this very process.
func TestRunEndToEnd(t *testing.T) {
	needFFmpeg(t)
	ws, err := wheptest.NewServer(wheptest.Config{Path: "load/test", Token: "t0k"})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	rec := newRTSPRecorder(t, ws)

	cfg, _, err := parseFlags([]string{
		"-publish", rec.url,
		"-whep", ws.Endpoint(),
		"-token", "t0k",
		"-viewers", "4",
		"-ramp", "8",
		"-duration", "3s",
		"-warmup", "1500ms",
		"-server-pid", strconv.Itoa(os.Getpid()),
		"-media-seconds", "2", "-size", "320x240", "-bitrate", "300k", "-gop", "25", "-profile", "baseline",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	rep, err := run(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	out, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("report:\n%s", out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}

	if rep.ViewersConnected != 4 || rep.ViewersFailed != 0 || len(rep.Errors) != 0 {
		t.Errorf("connected %d failed %d errors %v", rep.ViewersConnected, rep.ViewersFailed, rep.Errors)
	}
	if rep.TTFFMs.P50 <= 0 || rep.TTFFMs.Max > 2000 {
		t.Errorf("ttff %+v", rep.TTFFMs)
	}
	if rep.LatencyMs.P50 <= 0 || rep.LatencyMs.P95 > 500 || rep.LatencyMs.Max < rep.LatencyMs.P99 {
		t.Errorf("latency %+v", rep.LatencyMs)
	}
	// 4 viewers for at least 3 s at 25 fps.
	if rep.VideoFrames < 4*70 || rep.AudioPackets < 4*130 || rep.FramesWithoutSEI != 0 {
		t.Errorf("frames %d audio %d without SEI %d", rep.VideoFrames, rep.AudioPackets, rep.FramesWithoutSEI)
	}
	// Each viewer starts from the GOP cache: frames from before it joined.
	if rep.CatchupFrames == 0 {
		t.Errorf("no catch-up frames")
	}
	if rep.LossPct != 0 || rep.ClientUDPDrops != 0 {
		t.Errorf("loss %v%%, client socket drops %d on loopback", rep.LossPct, rep.ClientUDPDrops)
	}
	if rep.Server == nil || rep.Server.PID != os.Getpid() || rep.Server.RSSMBMax <= 0 || rep.Server.CPUSeconds <= 0 {
		t.Errorf("server %+v", rep.Server)
	}
	if rep.Publisher == nil || rep.Publisher.VideoAUs < 100 || strings.Contains(rep.Publisher.URL, "p%40ss") {
		t.Errorf("publisher %+v", rep.Publisher)
	}
	if strings.Contains(string(out), "t0k") || strings.Contains(string(out), "p%40ss") {
		t.Errorf("secret in report")
	}
	if ws.Viewers() != 0 || ws.Deletes() != 4 {
		t.Errorf("server has %d viewers, saw %d DELETEs", ws.Viewers(), ws.Deletes())
	}
	if rep.DurationS < 3 || rep.Interrupted {
		t.Errorf("duration %v interrupted %v", rep.DurationS, rep.Interrupted)
	}
}

// Stopping early (SIGINT) still reports what was measured.
func TestRunInterrupted(t *testing.T) {
	ws, err := wheptest.NewServer(wheptest.Config{Path: "load/test"})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	cfg, _, err := parseFlags([]string{"-no-publish", "-whep", ws.Endpoint(), "-viewers", "2", "-duration", "1h", "-dial-timeout", "1s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	rep, err := run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v to stop", time.Since(start))
	}
	// Nothing is published, so no viewer gets a keyframe.
	if !rep.Interrupted || rep.ViewersConnected != 0 || rep.ViewersFailed != 2 || rep.Errors["first keyframe: timeout"] != 2 {
		t.Errorf("report %+v", rep)
	}
	if ws.Deletes() != 2 {
		t.Errorf("%d DELETEs, want 2", ws.Deletes())
	}
}

// TestScaleInProcess runs the tool at full 720p with many viewers against the
// in-test servers, all in this one process. Opt in with
// CLASSCAST_LOAD_TEST_VIEWERS=N (50 takes about 20 s on two cores): it shows
// the client side keeps up (no loss, no socket drops) before blaming a server.
func TestScaleInProcess(t *testing.T) {
	n := os.Getenv("CLASSCAST_LOAD_TEST_VIEWERS")
	if n == "" {
		t.Skip("set CLASSCAST_LOAD_TEST_VIEWERS to run")
	}
	needFFmpeg(t)
	ws, err := wheptest.NewServer(wheptest.Config{Path: "load/test"})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	rec := newRTSPRecorder(t, ws)
	cfg, _, err := parseFlags([]string{"-publish", rec.url, "-whep", ws.Endpoint(), "-viewers", n,
		"-duration", "10s", "-server-pid", strconv.Itoa(os.Getpid())}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := run(context.Background(), cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	out, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("report:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ViewersFailed != 0 || rep.LossPct != 0 || rep.ClientUDPDrops != 0 {
		t.Errorf("failed %d, loss %v%%, client drops %d", rep.ViewersFailed, rep.LossPct, rep.ClientUDPDrops)
	}
}

func TestDelayQuantiles(t *testing.T) {
	before := bucketCounts{0.001: 10, 0.01: 20, math.Inf(1): 20}
	// 100 new observations: 50 under 1 ms, 40 in (1 ms, 10 ms], 10 above.
	after := bucketCounts{0.001: 60, 0.01: 100, math.Inf(1): 120}
	q, n := delayQuantiles(before, after)
	if n != 100 {
		t.Fatalf("samples %d, want 100", n)
	}
	if q.P50 != 1 {
		t.Errorf("p50 %.3f ms, want 1 (the 50th of 100 sits at the top of the first bucket)", q.P50)
	}
	if q.P95 != 10 {
		t.Errorf("p95 %.3f ms, want 10 (beyond the last finite bucket reports its bound)", q.P95)
	}
}
