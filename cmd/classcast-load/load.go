package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/classcast/classcast/media/sei"
	"github.com/classcast/classcast/media/whep"
)

// loadRun holds what the viewers of one run measure. Counters are atomics:
// they are bumped from every session's reading goroutines.
type loadRun struct {
	cfg        runConfig
	log        *slog.Logger
	httpClient *http.Client
	latency    *histogram

	mu     sync.Mutex
	errors map[string]int
	ttffMs []float64

	launched, connected, failed          atomic.Int64
	frames, audio, catchup, noSEI        atomic.Uint64
	videoPackets, videoLost, nacks, plis atomic.Uint64
}

func (l *loadRun) addError(key string) {
	l.mu.Lock()
	l.errors[key]++
	l.mu.Unlock()
}

// errorKey turns an error into a report key that groups alike failures:
// HTTP errors by status and code, time-outs together.
func errorKey(prefix string, err error) string {
	var he *whep.HTTPError
	switch {
	case errors.As(err, &he):
		if he.Code != "" {
			return fmt.Sprintf("%s: HTTP %d %s", prefix, he.Status, he.Code)
		}
		return fmt.Sprintf("%s: HTTP %d", prefix, he.Status)
	case errors.Is(err, context.DeadlineExceeded):
		return prefix + ": timeout"
	case errors.Is(err, context.Canceled):
		return prefix + ": interrupted"
	}
	msg := err.Error()
	if len(msg) > 160 {
		msg = msg[:160]
	}
	return prefix + ": " + msg
}

// viewer runs one WHEP session until ctx ends. settled is called once,
// when the viewer has its first keyframe or has failed, so the hold can
// start when every viewer has settled.
func (l *loadRun) viewer(ctx context.Context, id int, settled func()) {
	var once sync.Once
	settle := func() { once.Do(settled) }
	defer settle()
	l.launched.Add(1)

	// Frames whose SEI was stamped before the viewer asked to join come
	// from the server's GOP cache: they show how fast a viewer starts, not
	// how far behind live it is, so they are counted apart.
	join := time.Now()
	dctx, cancel := context.WithTimeout(ctx, time.Duration(l.cfg.DialTimeout))
	defer cancel()
	s, err := whep.Dial(dctx, l.cfg.WHEP, whep.Options{
		Token:      l.cfg.Token,
		HTTPClient: l.httpClient,
		Logger:     l.log.With("viewer", id),
		OnVideoFrame: func(f whep.VideoFrame) {
			l.frames.Add(1)
			t, _, ok := sei.Find(f.AU)
			switch {
			case !ok:
				l.noSEI.Add(1)
			case t.Before(join):
				l.catchup.Add(1)
			default:
				l.latency.add(f.ReceivedAt.Sub(t))
			}
		},
		OnAudioPacket: func(whep.AudioPacket) { l.audio.Add(1) },
	})
	if err != nil {
		l.failed.Add(1)
		l.addError(errorKey("dial", err))
		return
	}
	defer func() {
		if err := s.Close(); err != nil {
			l.addError(errorKey("close", err))
		}
		st := s.Stats()
		l.videoPackets.Add(st.Video.Packets)
		l.videoLost.Add(st.Video.Lost)
		l.nacks.Add(st.NACKsSent)
		l.plis.Add(st.PLIsSent)
	}()

	select {
	case <-s.FirstKeyframe():
	case <-dctx.Done():
		l.failed.Add(1)
		l.addError(errorKey("first keyframe", dctx.Err()))
		return
	case <-s.Done():
		l.failed.Add(1)
		l.addError(errorKey("before first keyframe", s.Err()))
		return
	}
	tm := s.Timing()
	l.mu.Lock()
	l.ttffMs = append(l.ttffMs, ms(tm.FirstKeyframe.Sub(tm.POST)))
	l.mu.Unlock()
	l.connected.Add(1)
	settle()

	select {
	case <-ctx.Done():
	case <-s.Done():
		l.addError(errorKey("disconnected", s.Err()))
	}
}

// resolvePID reads -server-pid: a number, or "auto" for the process that
// listens on the WHEP URL's TCP port.
func resolvePID(flagValue, whepURL string) (int, error) {
	if flagValue != "auto" {
		pid, err := strconv.Atoi(flagValue)
		if err != nil || pid <= 0 {
			return 0, fmt.Errorf("-server-pid %q: want a pid or auto", flagValue)
		}
		return pid, nil
	}
	u, err := url.Parse(whepURL)
	if err != nil {
		return 0, err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0, fmt.Errorf("-server-pid auto: no port in %s", whepURL)
	}
	return findListener("/proc", p)
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// run carries out one load run and returns its report, also when it ends
// early; err is set when the run could not do what was asked (no media, no
// publisher connection).
func run(parent context.Context, cfg runConfig, log *slog.Logger) (*report, error) {
	ctx, cancel := context.WithTimeout(parent, cfg.hardLimit())
	defer cancel()

	echo := cfg
	echo.Publish = redactURL(cfg.Publish)
	rep := &report{ViewersRequested: cfg.Viewers, Errors: map[string]int{}, Config: echo}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	transport.DialContext = (&net.Dialer{Timeout: time.Duration(cfg.DialTimeout)}).DialContext
	l := &loadRun{
		cfg: cfg,
		log: log,
		// The client timeout bounds the DELETEs too; dials are also bounded
		// by their context.
		httpClient: &http.Client{Transport: transport, Timeout: time.Duration(cfg.DialTimeout)},
		latency:    &histogram{},
		errors:     rep.Errors,
	}
	defer transport.CloseIdleConnections()

	// The server process, if asked for.
	pid := 0
	if cfg.ServerPID != "" {
		var err error
		if pid, err = resolvePID(cfg.ServerPID, cfg.WHEP); err != nil {
			l.addError(errorKey("server-pid", err))
			log.Warn("no server figures", "err", err)
		}
	}

	// The publisher runs until the end of the run.
	var (
		pub   *publisher
		pubWG sync.WaitGroup
	)
	pubCtx, stopPub := context.WithCancel(ctx)
	defer func() { stopPub(); pubWG.Wait() }()
	if !cfg.NoPublish {
		log.Info("generating media with ffmpeg", "seconds", cfg.Media.Seconds, "size", cfg.Media.Size,
			"fps", cfg.Media.FPS, "bitrate", cfg.Media.Bitrate, "gop", cfg.Media.GOP)
		m, err := generateMedia(ctx, cfg.Media)
		if err != nil {
			l.addError(errorKey("media", err))
			return rep, err
		}
		if pub, err = newPublisher(cfg.Publish, cfg.Transport, time.Duration(cfg.DialTimeout), m, log); err != nil {
			return rep, err
		}
		pubWG.Add(1)
		go func() { defer pubWG.Done(); pub.run(pubCtx) }()
		defer func() { s := pub.stats(); rep.Publisher = &s }()

		select {
		case <-pub.ready:
		case <-time.After(time.Duration(cfg.DialTimeout)):
			s := pub.stats()
			err := fmt.Errorf("publisher did not connect within %v: %s", time.Duration(cfg.DialTimeout), s.LastError)
			l.addError(errorKey("publish", err))
			return rep, err
		case <-ctx.Done():
			rep.Interrupted = true
			return rep, nil
		}
		if !sleep(ctx, time.Duration(cfg.Warmup)) {
			rep.Interrupted = true
			return rep, nil
		}
	}

	// Server memory before any viewer, and its peak, sampled every second.
	var (
		before    procSample
		rssMax    atomic.Int64
		samplerWG sync.WaitGroup
	)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer func() { stopSampling(); samplerWG.Wait() }()
	if pid != 0 {
		var err error
		if before, err = readProc("/proc", pid); err != nil {
			l.addError(errorKey("server", err))
			pid = 0
		} else {
			rssMax.Store(before.rssKB)
			samplerWG.Add(1)
			go func() {
				defer samplerWG.Done()
				t := time.NewTicker(time.Second)
				defer t.Stop()
				for {
					select {
					case <-sampleCtx.Done():
						return
					case <-t.C:
					}
					if s, err := readProc("/proc", pid); err == nil && s.rssKB > rssMax.Load() {
						rssMax.Store(s.rssKB)
					}
				}
			}()
		}
	}

	if m, err := rmemMax("/proc"); err == nil && m < 1<<20 && cfg.Viewers > 0 {
		log.Warn("net.core.rmem_max is small: keyframe bursts may be dropped in this host's kernel, not by the server; see client_udp_drops",
			"rmem_max", m, "suggest", "sysctl -w net.core.rmem_max=4194304")
	}

	// Progress on stderr.
	progressCtx, stopProgress := context.WithCancel(ctx)
	var progressWG sync.WaitGroup
	progressWG.Add(1)
	go func() {
		defer progressWG.Done()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-progressCtx.Done():
				return
			case <-t.C:
			}
			log.Info("progress", "launched", l.launched.Load(), "connected", l.connected.Load(),
				"failed", l.failed.Load(), "frames", l.frames.Load(),
				"latency_p50_ms", ms(l.latency.quantile(50)), "latency_p95_ms", ms(l.latency.quantile(95)))
		}
	}()
	defer func() { stopProgress(); progressWG.Wait() }()

	// Ramp up.
	viewersCtx, stopViewers := context.WithCancel(ctx)
	var viewersWG, settledWG sync.WaitGroup
	defer func() { stopViewers(); viewersWG.Wait() }()
	if cfg.Viewers > 0 {
		log.Info("ramping up viewers", "viewers", cfg.Viewers, "per_second", cfg.Ramp)
		interval := time.Duration(float64(time.Second) / cfg.Ramp)
		tick := time.NewTicker(interval)
	ramp:
		for i := 0; i < cfg.Viewers; i++ {
			if i > 0 {
				select {
				case <-tick.C:
				case <-ctx.Done():
					break ramp
				}
			}
			viewersWG.Add(1)
			settledWG.Add(1)
			go func() {
				defer viewersWG.Done()
				l.viewer(viewersCtx, i, settledWG.Done)
			}()
		}
		tick.Stop()
		settled := make(chan struct{})
		go func() { settledWG.Wait(); close(settled) }() // ends: every viewer settles, at worst on cancel
		select {
		case <-settled:
		case <-ctx.Done():
		}
	}

	// Hold.
	holdStart := time.Now()
	var cpuStart procSample
	if pid != 0 {
		cpuStart, _ = readProc("/proc", pid)
	}
	delayBefore, delayErr := scrapeSendDelay(ctx, cfg.WHEP)
	active := int(l.connected.Load())
	log.Info("holding", "connected", active, "failed", l.failed.Load(), "duration", time.Duration(cfg.Duration))
	if ctx.Err() == nil && !sleep(ctx, time.Duration(cfg.Duration)) {
		rep.Interrupted = true
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
	}
	hold := time.Since(holdStart)
	// Before the viewers close their sockets.
	if drops, err := socketDrops("/proc", os.Getpid()); err == nil {
		rep.ClientUDPDrops = drops
	}
	if pid != 0 {
		if cpuEnd, err := readProc("/proc", pid); err != nil {
			l.addError(errorKey("server", err))
		} else {
			rep.Server = serverUsage(pid, cpuStart, cpuEnd, before.rssKB, max(rssMax.Load(), cpuEnd.rssKB), active, hold)
		}
	}
	if delayErr == nil {
		if delayAfter, err := scrapeSendDelay(context.Background(), cfg.WHEP); err == nil {
			if rep.Server == nil {
				rep.Server = &serverReport{}
			}
			rep.Server.AddedLatencyMs, rep.Server.AddedLatencySamples = delayQuantiles(delayBefore, delayAfter)
		}
	}

	// Leave: every viewer sends its DELETE.
	log.Info("closing viewers")
	stopViewers()
	viewersWG.Wait()

	l.mu.Lock()
	defer l.mu.Unlock()
	rep.ViewersConnected = int(l.connected.Load())
	rep.ViewersFailed = cfg.Viewers - rep.ViewersConnected
	if notStarted := cfg.Viewers - int(l.launched.Load()); notStarted > 0 {
		rep.Errors["not started: interrupted"] += notStarted
	}
	rep.TTFFMs = summarizeTTFF(l.ttffMs)
	rep.LatencyMs = l.latency.summary()
	rep.LossPct = lossPct(l.videoPackets.Load(), l.videoLost.Load())
	rep.VideoFrames = l.frames.Load()
	rep.AudioPackets = l.audio.Load()
	rep.CatchupFrames = l.catchup.Load()
	rep.FramesWithoutSEI = l.noSEI.Load()
	rep.VideoPacketsLost = l.videoLost.Load()
	rep.NACKsSent = l.nacks.Load()
	rep.PLIsSent = l.plis.Load()
	rep.DurationS = round3(hold.Seconds())
	return rep, nil
}
