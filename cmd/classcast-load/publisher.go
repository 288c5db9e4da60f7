package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/media/sei"
)

// publisher pushes looped test media to an RTSP server (ANNOUNCE/RECORD) in
// real time, with a fresh timestamp SEI as the first NAL unit of every video
// access unit. If the connection drops, it reconnects after a second, with
// timestamps and SEI sequence numbers continuing.
type publisher struct {
	url       string
	transport gortsplib.Transport
	timeout   time.Duration // connect, read and write
	media     *loadMedia
	log       *slog.Logger

	// ready is closed after the first successful RECORD.
	ready chan struct{}

	videoAUs    atomic.Uint64
	audioFrames atomic.Uint64
	reconnects  atomic.Uint64
	dropped     atomic.Uint64
	lastErr     atomic.Pointer[string]

	// state that lasts across reconnects, used by the run goroutine only
	vIndex, aIndex uint64 // access units / audio frames sent in total
	seiSeq         uint32
	vTSBase        uint32 // random RTP timestamp origins (RFC 3550 5.1)
	aTSBase        uint32
}

// publisherStats is the publisher's part of the report.
type publisherStats struct {
	URL         string `json:"url"`
	VideoAUs    uint64 `json:"video_aus_sent"`
	AudioFrames uint64 `json:"audio_frames_sent"`
	Reconnects  uint64 `json:"reconnects"`
	Dropped     uint64 `json:"packets_dropped"`
	LastError   string `json:"last_error,omitempty"`
}

func newPublisher(url, transport string, timeout time.Duration, m *loadMedia, log *slog.Logger) (*publisher, error) {
	p := &publisher{
		url: url, timeout: timeout, media: m, log: log, ready: make(chan struct{}),
		vTSBase: rand.Uint32(), aTSBase: rand.Uint32(),
	}
	switch transport {
	case "tcp":
		p.transport = gortsplib.TransportTCP
	case "udp":
		p.transport = gortsplib.TransportUDP
	default:
		return nil, fmt.Errorf("transport %q: want tcp or udp", transport)
	}
	return p, nil
}

func (p *publisher) stats() publisherStats {
	s := publisherStats{
		URL:         redactURL(p.url),
		VideoAUs:    p.videoAUs.Load(),
		AudioFrames: p.audioFrames.Load(),
		Reconnects:  p.reconnects.Load(),
		Dropped:     p.dropped.Load(),
	}
	if e := p.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// run publishes until ctx ends, reconnecting on failure.
func (p *publisher) run(ctx context.Context) {
	for first := true; ; first = false {
		if !first {
			p.reconnects.Add(1)
		}
		err := p.session(ctx)
		if ctx.Err() != nil {
			return
		}
		msg := err.Error()
		p.lastErr.Store(&msg)
		p.log.Warn("publisher disconnected; reconnecting in 1 s", "url", redactURL(p.url), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// session runs one RTSP connection until ctx ends or the connection fails.
func (p *publisher) session(ctx context.Context) error {
	m := p.media
	videoFormat := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: m.sps, PPS: m.pps}
	cfg := m.audioConfig
	audioFormat := &format.MPEG4Audio{
		PayloadTyp:       97,
		Config:           &cfg,
		SizeLength:       13,
		IndexLength:      3,
		IndexDeltaLength: 3,
	}
	desc := &description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeVideo, Formats: []format.Format{videoFormat}},
		{Type: description.MediaTypeAudio, Formats: []format.Format{audioFormat}},
	}}
	videoEnc, err := videoFormat.CreateEncoder()
	if err != nil {
		return fmt.Errorf("H.264 RTP encoder: %w", err)
	}
	audioEnc, err := audioFormat.CreateEncoder()
	if err != nil {
		return fmt.Errorf("AAC RTP encoder: %w", err)
	}

	transport := p.transport
	dialer := &net.Dialer{Timeout: p.timeout}
	c := &gortsplib.Client{
		Transport:    &transport,
		ReadTimeout:  p.timeout,
		WriteTimeout: p.timeout,
		// A keyframe is a burst of a hundred packets or more.
		WriteQueueSize: 2048,
		UserAgent:      "classcast-load",
		DialContext: func(_ context.Context, network, address string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, address)
		},
	}
	// StartRecording blocks for the RTSP exchange; its steps are bounded by
	// the timeouts above.
	if err := c.StartRecording(p.url, desc); err != nil {
		return fmt.Errorf("publish %s: %w", redactURL(p.url), err)
	}
	defer c.Close()
	select {
	case <-p.ready:
	default:
		close(p.ready)
		p.log.Info("publishing", "url", redactURL(p.url), "transport", transport.String(),
			"video_aus", len(m.video), "audio_frames", len(m.audio))
	}

	// Wait returns when the client fails (or after Close, on return).
	failed := make(chan error, 1)
	go func() { failed <- c.Wait() }()

	s := &pacedSender{
		c: c, p: p, m: m,
		videoMedia: desc.Medias[0], audioMedia: desc.Medias[1],
		videoEnc: videoEnc, audioEnc: audioEnc,
		sampleRate: cfg.SampleRate,
	}
	return s.loop(ctx, failed)
}

// pacedSender sends the media of one connection in real time.
type pacedSender struct {
	c                      *gortsplib.Client
	p                      *publisher
	m                      *loadMedia
	videoMedia, audioMedia *description.Media
	videoEnc               *rtph264.Encoder
	audioEnc               *rtpmpeg4audio.Encoder
	sampleRate             int
}

func (s *pacedSender) videoDur(n uint64) time.Duration {
	return time.Duration(n) * time.Second / time.Duration(s.m.fps)
}

func (s *pacedSender) audioDur(n uint64) time.Duration {
	return time.Duration(n*mpeg4audio.SamplesPerAccessUnit) * time.Second / time.Duration(s.sampleRate)
}

func (s *pacedSender) loop(ctx context.Context, failed <-chan error) error {
	p := s.p
	// Pace from now, continuing the totals of earlier connections so that
	// timestamps stay monotonic. Each stream keeps its own schedule; neither
	// drifts, because due times come from counts, not from sleeps.
	now := time.Now()
	videoBase := now.Add(-s.videoDur(p.vIndex))
	audioBase := now.Add(-s.audioDur(p.aIndex))

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		videoDue := videoBase.Add(s.videoDur(p.vIndex))
		audioDue := audioBase.Add(s.audioDur(p.aIndex))
		next := videoDue
		if audioDue.Before(next) {
			next = audioDue
		}
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case err := <-failed:
				return fmt.Errorf("RTSP connection: %w", err)
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}

		now := time.Now()
		if !now.Before(videoDue) {
			if err := s.sendVideo(videoDue); err != nil {
				return err
			}
		}
		if !now.Before(audioDue) {
			if err := s.sendAudio(audioDue); err != nil {
				return err
			}
		}
	}
}

// sendVideo sends the next access unit with a timestamp SEI made now.
func (s *pacedSender) sendVideo(ntp time.Time) error {
	p := s.p
	src := s.m.video[p.vIndex%uint64(len(s.m.video))]
	au := make([][]byte, 0, len(src)+1)
	au = append(au, sei.New(time.Now(), p.seiSeq))
	au = append(au, src...)

	pkts, err := s.videoEnc.Encode(au)
	if err != nil {
		return fmt.Errorf("packetize H.264: %w", err)
	}
	ts := p.vTSBase + uint32(p.vIndex*90000/uint64(s.m.fps))
	for _, pkt := range pkts {
		pkt.Timestamp += ts
		if err := s.write(s.videoMedia, pkt, ntp); err != nil {
			return fmt.Errorf("write video: %w", err)
		}
	}
	p.vIndex++
	p.seiSeq++
	p.videoAUs.Add(1)
	return nil
}

func (s *pacedSender) sendAudio(ntp time.Time) error {
	p := s.p
	frame := s.m.audio[p.aIndex%uint64(len(s.m.audio))]
	pkts, err := s.audioEnc.Encode([][]byte{frame})
	if err != nil {
		return fmt.Errorf("packetize AAC: %w", err)
	}
	ts := p.aTSBase + uint32(p.aIndex*mpeg4audio.SamplesPerAccessUnit)
	for _, pkt := range pkts {
		pkt.Timestamp += ts
		if err := s.write(s.audioMedia, pkt, ntp); err != nil {
			return fmt.Errorf("write audio: %w", err)
		}
	}
	p.aIndex++
	p.audioFrames.Add(1)
	return nil
}

// write hands a packet to the client. A full write queue (the server or the
// network is not keeping up) drops the packet and counts it rather than
// ending the connection, as an encoder would.
func (s *pacedSender) write(medi *description.Media, pkt *rtp.Packet, ntp time.Time) error {
	err := s.c.WritePacketRTPWithNTP(medi, pkt, ntp)
	var full liberrors.ErrClientWriteQueueFull
	if errors.As(err, &full) {
		s.p.dropped.Add(1)
		return nil
	}
	return err
}
