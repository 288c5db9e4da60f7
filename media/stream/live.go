package stream

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/media/codec"
)

// liveTranscoders runs a hub's live conversions: AAC to Opus, and H.264 with B-frames or
// H.265 to browser-safe H.264. Each runs once per stream in its own goroutine, reading
// the source track through a reader like any other, so a slow conversion drops and
// resyncs instead of holding up the publisher.
type liveTranscoders struct {
	hub    *Hub
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Guarded by hub.mu.
	audio, video *liveJob

	keyframe atomic.Bool
}

type liveJob struct {
	src, out *Track
	reason   string
	config   []byte
	stop     context.CancelFunc
	errors   atomic.Uint64
}

func newLiveTranscoders(h *Hub) *liveTranscoders {
	ctx, cancel := context.WithCancel(context.Background())
	return &liveTranscoders{hub: h, ctx: ctx, cancel: cancel}
}

func (l *liveTranscoders) videoActive() bool { return l.video != nil }

// addDerivedLocked appends a track the hub makes itself.
func (l *liveTranscoders) addDerivedLocked(t Track) (*Track, error) {
	h := l.hub
	t.ID = len(h.tracks)
	t.Derived = true
	pk, err := newPacketizer(&t)
	if err != nil {
		return nil, err
	}
	h.tracks = append(h.tracks, &t)
	h.pack = append(h.pack, pk)
	h.timeline = append(h.timeline, timeline{})
	return &t, nil
}

// startAudioLocked makes Opus from src for browsers. A restarted publisher with a new
// AAC configuration restarts the conversion; the Opus track stays the same.
func (l *liveTranscoders) startAudioLocked(src *Track) {
	h := l.hub
	if j := l.audio; j != nil {
		if j.src == src && bytes.Equal(j.config, src.Config) {
			return
		}
		j.stop()
	}
	var out *Track
	if l.audio != nil {
		out = l.audio.out
	} else {
		var err error
		out, err = l.addDerivedLocked(Track{Kind: Audio, Codec: Opus, ClockRate: 48000, Channels: 2})
		if err != nil {
			h.log.Error("cannot add Opus track", "error", err)
			return
		}
	}
	in := codec.AudioInput{Codec: "aac", SampleRate: src.ClockRate, Channels: src.Channels, Config: src.Config}
	ctx, stop := context.WithCancel(l.ctx)
	j := &liveJob{src: src, out: out, config: src.Config, stop: stop, reason: "AAC to Opus for browsers"}
	l.audio = j
	h.webAudio = out
	r := l.readerLocked(src, "transcode-audio")
	metrics.Transcoders.WithLabelValues("audio").Inc()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer metrics.Transcoders.WithLabelValues("audio").Dec()
		defer r.Close()
		tr, err := codec.NewAudioTranscoder(in)
		if err != nil {
			h.log.Error("cannot start AAC to Opus transcoder; viewers get no sound", "error", err)
			metrics.Errors.WithLabelValues("transcode", "audio_init").Inc()
			return
		}
		defer tr.Close()
		h.log.Info("transcoding audio live for browsers", "from", src.Codec, "to", "Opus", "sample_rate", src.ClockRate, "channels", src.Channels)
		for {
			u, _, err := r.Read(ctx)
			if err != nil {
				return
			}
			// A transcoder may return output and an error together: keep the output.
			pkts, err := tr.Transcode(u.Frame, u.PTS)
			if err != nil {
				l.noteError(j, "audio", err)
			}
			for _, p := range pkts {
				h.write(nil, &Unit{Track: out, Frame: p.Data, Received: u.Received}, p.PTS)
			}
		}
	}()
}

// startVideoLocked makes browser-safe H.264 from src and switches browsers to it.
func (l *liveTranscoders) startVideoLocked(src *Track, reason string) {
	h := l.hub
	if j := l.video; j != nil {
		if j.src == src {
			return
		}
		j.stop()
	}
	var out *Track
	if l.video != nil {
		out = l.video.out
	} else {
		var err error
		out, err = l.addDerivedLocked(Track{Kind: Video, Codec: H264, ClockRate: 90000})
		if err != nil {
			h.log.Error("cannot add transcoded video track", "error", err)
			return
		}
	}
	in := codec.VideoInput{Codec: strings.ToLower(string(src.Codec)), Params: src.Params}
	ctx, stop := context.WithCancel(l.ctx)
	j := &liveJob{src: src, out: out, stop: stop, reason: reason}
	l.video = j
	r := l.readerLocked(src, "transcode-video")
	h.setWebVideoLocked(out)
	metrics.Transcoders.WithLabelValues("video").Inc()
	h.log.Warn("transcoding video live to browser-safe H.264 (costs CPU once per stream)", "reason", reason, "from", src.Codec)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer metrics.Transcoders.WithLabelValues("video").Dec()
		defer r.Close()
		tr, err := codec.NewVideoTranscoder(in, codec.VideoOutput{})
		if err != nil {
			h.log.Error("cannot start live video transcoder; viewers get no picture", "error", err)
			metrics.Errors.WithLabelValues("transcode", "video_init").Inc()
			return
		}
		defer tr.Close()
		for {
			u, _, err := r.Read(ctx)
			if err != nil {
				return
			}
			if l.keyframe.Swap(false) {
				tr.RequestKeyframe()
			}
			frames, err := tr.Transcode(u.NALUs, u.PTS)
			if err != nil {
				l.noteError(j, "video", err)
			}
			for _, f := range frames {
				h.write(nil, &Unit{Track: out, NALUs: f.AU, Key: f.Key, Received: u.Received}, f.PTS)
			}
		}
	}()
}

// readerLocked subscribes a transcoder to its source track while hub.mu is held. Its
// queue is deep: a transcoder that falls behind briefly (an encoder start-up, a complex
// scene) should catch up, not drop.
func (l *liveTranscoders) readerLocked(src *Track, name string) *Reader {
	r := newReader(l.hub, ReaderOptions{Name: name, Only: src, QueueSize: 1024})
	if src.Kind == Video {
		// Start from the source's cached GOP, so the transcode begins at once instead of
		// at the source's next keyframe (a whole GOP, seconds with some encoders, of no
		// picture for viewers).
		for _, u := range l.hub.gop {
			if u.Track == src && r.n < len(r.buf) {
				r.buf[r.n] = u
				r.n++
			}
		}
		r.resync = r.n == 0
	}
	l.hub.readers[r] = struct{}{}
	return r
}

func (l *liveTranscoders) noteError(j *liveJob, kind string, err error) {
	n := j.errors.Add(1)
	metrics.Errors.WithLabelValues("transcode", kind+"_decode").Inc()
	// Corrupt input comes in bursts; a line per power of two keeps the log readable.
	if n&(n-1) == 0 {
		l.hub.log.Warn("live transcoder skipped a bad access unit", "kind", kind, "errors", n, "error", err)
	}
}

func (l *liveTranscoders) requestKeyframe() {
	l.keyframe.Store(true)
}

func (l *liveTranscoders) describe() []string {
	var out []string
	for _, j := range []*liveJob{l.audio, l.video} {
		if j != nil {
			out = append(out, fmt.Sprintf("%s → %s (%s)", j.src, j.out, j.reason))
		}
	}
	return out
}

func (l *liveTranscoders) close() {
	l.cancel()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		l.hub.log.Warn("live transcoders did not stop within 5 s")
	}
}
