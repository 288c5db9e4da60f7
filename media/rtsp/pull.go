package rtsp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/media/stream"
)

// PullState is where a pull source is in its life.
type PullState string

// Pull source states.
const (
	PullConnecting PullState = "connecting"
	PullLive       PullState = "live"
	PullBackoff    PullState = "backoff"
	PullStopped    PullState = "stopped"
)

// PullStatus is a pull source's state for the API.
type PullStatus struct {
	Path        string    `json:"path"`
	Source      string    `json:"source"` // without the password
	State       PullState `json:"state"`
	Since       time.Time `json:"since"`
	LastError   string    `json:"last_error,omitempty"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// PullSource reads an RTSP URL (an IP camera, a recording host) into the hub at path,
// reconnecting with exponential backoff for as long as it runs.
type PullSource struct {
	path      string
	url       string
	transport string
	registry  *stream.Registry
	log       *slog.Logger

	mu     sync.Mutex
	status PullStatus
}

// NewPullSource prepares a pull source; Run starts it.
func NewPullSource(path, sourceURL, transport string, registry *stream.Registry, log *slog.Logger) *PullSource {
	p := &PullSource{path: path, url: sourceURL, transport: transport, registry: registry,
		log: log.With("component", "rtsp-pull", "stream", path)}
	p.status = PullStatus{Path: path, Source: redact(sourceURL), State: PullConnecting, Since: time.Now()}
	return p
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// Status returns the current state.
func (p *PullSource) Status() PullStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

func (p *PullSource) setState(st PullState, err error, next time.Time) {
	p.mu.Lock()
	old := p.status.State
	if st != old {
		p.status.Since = time.Now()
	}
	p.status.State = st
	if err != nil {
		p.status.LastError = err.Error()
	}
	if st == PullConnecting {
		p.status.Attempts++
	}
	p.status.NextAttempt = next
	p.mu.Unlock()
	for _, s := range []PullState{PullConnecting, PullLive, PullBackoff, PullStopped} {
		v := 0.0
		if s == st {
			v = 1
		}
		metrics.PullSourceState.WithLabelValues(p.path, string(s)).Set(v)
	}
}

// Run pulls until ctx ends. Each failed attempt doubles the wait, from 1 s to 30 s; a
// connection that stayed up for a minute resets it.
func (p *PullSource) Run(ctx context.Context) {
	backoff := time.Second
	for {
		p.setState(PullConnecting, nil, time.Time{})
		started := time.Now()
		err := p.pullOnce(ctx)
		if ctx.Err() != nil {
			p.setState(PullStopped, nil, time.Time{})
			return
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		p.log.Warn("pull source disconnected; retrying", "error", err, "in", backoff)
		p.setState(PullBackoff, err, time.Now().Add(backoff))
		select {
		case <-ctx.Done():
			p.setState(PullStopped, nil, time.Time{})
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (p *PullSource) pullOnce(ctx context.Context) error {
	u, err := base.ParseURL(p.url)
	if err != nil {
		return fmt.Errorf("bad source URL: %w", err)
	}
	c := &gortsplib.Client{ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, UDPReadBufferSize: 4 << 20}
	switch p.transport {
	case "tcp":
		t := gortsplib.TransportTCP
		c.Transport = &t
	case "udp":
		t := gortsplib.TransportUDP
		c.Transport = &t
	}
	c.Scheme, c.Host = u.Scheme, u.Host
	if err := c.Start2(); err != nil {
		return err
	}
	defer c.Close()
	// Close the client when ctx ends so Describe/Wait return.
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()

	desc, _, err := c.Describe(u)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	tracks, infos := tracksFromDescription(desc, p.log)
	if len(tracks) == 0 {
		return errors.New("the source has no H.264, H.265, AAC, Opus or G.711 track")
	}
	var medias []*description.Media
	byMedia := map[*description.Media]*track{}
	for _, t := range tracks {
		medias = append(medias, t.medi)
		byMedia[t.medi] = t
	}
	if err := c.SetupAll(desc.BaseURL, medias); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	pub, err := p.registry.Publish(p.path, stream.PublishInfo{Protocol: "rtsp-pull", Remote: redact(p.url), Tracks: infos,
		Takeover: true, OnKick: c.Close})
	if err != nil {
		return err
	}
	defer pub.Close()
	f := &feeder{log: p.log, publisher: pub, protocol: "rtsp-pull"}
	c.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
		t := byMedia[medi]
		if t == nil {
			return
		}
		pts, ok := c.PacketPTS2(medi, pkt)
		if !ok {
			return
		}
		f.onPacket(t, pkt, pts)
	})
	if _, err := c.Play(nil); err != nil {
		return fmt.Errorf("play: %w", err)
	}
	metrics.Publishers.WithLabelValues("rtsp-pull").Inc()
	defer metrics.Publishers.WithLabelValues("rtsp-pull").Dec()
	p.setState(PullLive, nil, time.Time{})
	p.log.Info("pulling", "source", redact(p.url), "tracks", len(tracks))
	if err := c.Wait(); err != nil {
		return fmt.Errorf("the source stopped sending: %w", err)
	}
	return nil
}
