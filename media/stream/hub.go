package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/media/codec"
)

// Errors a publisher or reader gets from a hub; the API maps them to status codes.
var (
	// ErrPublisherBusy means the stream already has a live publisher and takeover is off.
	ErrPublisherBusy = errors.New("stream already has a publisher")
	// ErrHubClosed means the hub closed (idle too long, or server shutdown).
	ErrHubClosed = errors.New("stream closed")
	// ErrNoTracks means the publisher offered nothing the hub can carry.
	ErrNoTracks = errors.New("no supported tracks")
)

// Limits of the GOP cache: a GOP longer than this (a 10 s GOP at a high bitrate) is not
// cached; new readers then wait for the next keyframe instead of holding memory.
const (
	maxGOPUnits = 600
	maxGOPBytes = 16 << 20
)

// Hub is one stream: its tracks, its current publisher, its readers and the cache of the
// current GOP. Create hubs through a Registry.
type Hub struct {
	path     string
	log      *slog.Logger
	registry *Registry

	mu        sync.Mutex
	tracks    []*Track
	pack      []*packetizer
	timeline  []timeline
	readers   map[*Reader]struct{}
	webVideo  *Track
	webAudio  *Track
	gop       []*Unit
	gopBytes  int
	publisher *Publisher
	since     time.Time // when the current publisher started, or the hub went idle
	pubSeq    uint64    // counts publisher changes, for PublisherEvent.Seq
	closed    bool
	idleTimer *time.Timer
	live      *liveTranscoders

	bytesIn uint64
	unitsIn uint64
}

// timeline rebases a track's publisher timestamps onto the hub's continuous one.
type timeline struct {
	started  bool
	offset   int64 // hub PTS = publisher PTS + offset
	lastPTS  int64 // hub PTS of the last unit
	lastWall time.Time
}

func newHub(r *Registry, path string) *Hub {
	h := &Hub{
		path: path, registry: r, readers: map[*Reader]struct{}{},
		log: r.log.With("stream", path), since: time.Now(),
	}
	h.live = newLiveTranscoders(h)
	return h
}

// Path is the stream path, e.g. "school-a/room-101".
func (h *Hub) Path() string { return h.path }

// Tracks returns the hub's tracks.
func (h *Hub) Tracks() []*Track {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Track(nil), h.tracks...)
}

// WebTracks returns the tracks a browser receives: H.264 video and Opus or G.711
// audio; either may be nil when the stream has none.
func (h *Hub) WebTracks() (video, audio *Track) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.webVideo, h.webAudio
}

// PublishInfo describes a publisher.
type PublishInfo struct {
	// Protocol is "rtsp-publish", "rtsp-pull", "relay", ...
	Protocol string
	// Remote is the publisher's address, for logs and the API.
	Remote string
	// Tracks are the tracks the publisher will write, indexed by position.
	Tracks []Track
	// Takeover closes an existing publisher instead of refusing this one.
	Takeover bool
	// OnKick is called (once, from another goroutine) when a later publisher takes over.
	OnKick func()
}

// Publisher writes a source's units into a hub. It is used by one goroutine.
type Publisher struct {
	hub    *Hub
	info   PublishInfo
	tracks []*Track // hub track for each publisher track index; nil where unsupported
	closed bool
	bframe bool // a B-frame was seen on the H.264 video track
	// params are the latest parameter sets per publisher track, from the SDP and then
	// from the bitstream, so every keyframe we pass on carries them in-band.
	params [][][]byte
}

// publish attaches a publisher, matching its tracks to the hub's existing ones by kind
// and codec so that readers continue without renegotiating.
func (h *Hub) publish(info PublishInfo) (*Publisher, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrHubClosed
	}
	if old := h.publisher; old != nil {
		if !info.Takeover {
			h.mu.Unlock()
			return nil, fmt.Errorf("%w (from %s since %s)", ErrPublisherBusy, old.info.Remote, h.since.Format(time.TimeOnly))
		}
		old.closed = true
		h.publisher = nil
		if old.info.OnKick != nil {
			go old.info.OnKick()
		}
		h.log.Info("publisher taken over", "old", old.info.Remote, "new", info.Remote)
	}
	p := &Publisher{hub: h, info: info, tracks: make([]*Track, len(info.Tracks)), params: make([][][]byte, len(info.Tracks))}
	for i, t := range info.Tracks {
		p.params[i] = append([][]byte(nil), t.Params...)
	}
	used := map[*Track]bool{}
	supported := 0
	for i, t := range info.Tracks {
		if !supportedCodec(t.Codec) {
			h.log.Warn("ignoring track with unsupported codec", "codec", t.Codec, "track", i)
			continue
		}
		var ht *Track
		for _, existing := range h.tracks {
			if !existing.Derived && !used[existing] && existing.Kind == t.Kind && existing.Codec == t.Codec {
				ht = existing
				break
			}
		}
		if ht == nil {
			if h.countKind(t.Kind) > 0 {
				// Classrooms send one picture and one sound; a second video or audio
				// track would only confuse viewers.
				h.log.Warn("ignoring extra track", "kind", t.Kind, "codec", t.Codec, "track", i)
				continue
			}
			nt := t
			nt.ID = len(h.tracks)
			nt.Derived = false
			pk, err := newPacketizer(&nt)
			if err != nil {
				h.mu.Unlock()
				return nil, fmt.Errorf("track %d: %w", i, err)
			}
			ht = &nt
			h.tracks = append(h.tracks, ht)
			h.pack = append(h.pack, pk)
			h.timeline = append(h.timeline, timeline{})
		} else {
			// Same codec, maybe new parameters (a restarted encoder).
			ht.Config, ht.Params, ht.Channels, ht.ClockRate = t.Config, t.Params, t.Channels, t.ClockRate
		}
		used[ht] = true
		p.tracks[i] = ht
		supported++
	}
	if supported == 0 {
		h.mu.Unlock()
		return nil, ErrNoTracks
	}
	// A new publisher's timestamps start anywhere: rebase them on the first unit.
	for i := range h.timeline {
		h.timeline[i].started = false
	}
	h.publisher = p
	h.since = time.Now()
	h.pubSeq++
	ev := PublisherEvent{Hub: h, Live: true, Seq: h.pubSeq, At: h.since}
	if h.idleTimer != nil {
		h.idleTimer.Stop()
		h.idleTimer = nil
	}
	h.chooseWebTracksLocked()
	h.mu.Unlock()
	h.registry.updateGauges()
	h.log.Info("publisher started", "protocol", info.Protocol, "remote", info.Remote, "tracks", p.describe())
	h.registry.notify(ev)
	return p, nil
}

func (p *Publisher) describe() string {
	s := ""
	for _, t := range p.tracks {
		if t != nil {
			s += t.String() + " "
		}
	}
	return s
}

func supportedCodec(c Codec) bool {
	switch c {
	case H264, H265, AAC, Opus, PCMU, PCMA:
		return true
	}
	return false
}

func (h *Hub) countKind(k Kind) int {
	n := 0
	for _, t := range h.tracks {
		if t.Kind == k && !t.Derived {
			n++
		}
	}
	return n
}

// chooseWebTracksLocked picks what browsers receive and starts the live transcoders the
// choice needs: once per stream, never per viewer.
func (h *Hub) chooseWebTracksLocked() {
	for _, t := range h.tracks {
		if t.Derived {
			continue
		}
		switch t.Kind {
		case Video:
			if t.Codec == H264 && !h.live.videoActive() {
				h.setWebVideoLocked(t)
			} else if t.Codec == H265 {
				h.live.startVideoLocked(t, "H.265 is not playable in browsers over WebRTC")
			}
		case Audio:
			switch t.Codec {
			case Opus, PCMU, PCMA:
				h.webAudio = t
			case AAC:
				h.live.startAudioLocked(t)
			}
		}
	}
}

func (h *Hub) setWebVideoLocked(t *Track) {
	if h.webVideo == t {
		return
	}
	h.webVideo = t
	h.gop, h.gopBytes = nil, 0
}

// Write adds one unit from the publisher. trackIndex is the publisher's track index;
// pts is in that track's clock rate on the publisher's own timeline. Units on tracks
// the hub ignores are dropped silently.
func (p *Publisher) Write(trackIndex int, pts int64, nalus [][]byte, frame []byte) {
	if trackIndex < 0 || trackIndex >= len(p.tracks) || p.tracks[trackIndex] == nil {
		return
	}
	t := p.tracks[trackIndex]
	u := &Unit{Track: t, NALUs: nalus, Frame: frame, Received: time.Now()}
	switch t.Codec {
	case H264:
		u.Key = h264Keyframe(nalus)
		if u.Key {
			u.NALUs = p.withParams(trackIndex, nalus, func(n []byte) int {
				switch n[0] & 0x1f {
				case 7:
					return 0
				case 8:
					return 1
				}
				return -1
			}, 2)
		}
		if !p.bframe && codec.H264HasBFrames(nalus) {
			p.bframe = true
			p.hub.log.Warn("source H.264 has B-frames, which browsers cannot play over WebRTC: transcoding this stream live to browser-safe H.264", "track", t.ID)
			p.hub.mu.Lock()
			p.hub.live.startVideoLocked(t, "H.264 with B-frames")
			p.hub.mu.Unlock()
		}
	case H265:
		u.Key = h265Keyframe(nalus)
		if u.Key {
			u.NALUs = p.withParams(trackIndex, nalus, func(n []byte) int {
				if typ := (n[0] >> 1) & 0x3f; typ >= 32 && typ <= 34 {
					return int(typ - 32)
				}
				return -1
			}, 3)
		}
	}
	p.hub.write(p, u, pts)
}

// withParams makes sure a keyframe carries its parameter sets in-band: a browser or a
// late reader cannot decode an IDR without them, and many encoders send them only in
// the SDP. slot maps a NAL unit to its parameter-set index, or -1.
func (p *Publisher) withParams(i int, nalus [][]byte, slot func([]byte) int, count int) [][]byte {
	have := make([]bool, count)
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		if s := slot(n); s >= 0 {
			if len(p.params[i]) != count {
				p.params[i] = make([][]byte, count)
			}
			p.params[i][s] = n
			have[s] = true
		}
	}
	if len(p.params[i]) != count {
		return nalus
	}
	var missing [][]byte
	for s, ok := range have {
		if !ok && p.params[i][s] != nil {
			missing = append(missing, p.params[i][s])
		}
	}
	if len(missing) == 0 {
		return nalus
	}
	return append(missing, nalus...)
}

// Close detaches the publisher. The hub stays for its idle timeout, keeping its readers,
// so a publisher that comes back continues the same stream for every viewer.
func (p *Publisher) Close() {
	h := p.hub
	h.mu.Lock()
	if p.closed {
		h.mu.Unlock()
		return
	}
	p.closed = true
	var ev *PublisherEvent
	if h.publisher == p {
		h.publisher = nil
		h.since = time.Now()
		h.pubSeq++
		ev = &PublisherEvent{Hub: h, Live: false, Seq: h.pubSeq, At: h.since}
		// A viewer joining while the class waits for its encoder must not be shown a
		// stale picture as if it were live.
		h.gop, h.gopBytes = nil, 0
		h.startIdleTimerLocked()
	}
	h.mu.Unlock()
	h.registry.updateGauges()
	h.log.Info("publisher stopped", "protocol", p.info.Protocol, "remote", p.info.Remote)
	if ev != nil {
		h.registry.notify(*ev)
	}
}

func (h *Hub) startIdleTimerLocked() {
	if h.idleTimer != nil {
		h.idleTimer.Stop()
	}
	h.idleTimer = time.AfterFunc(h.registry.idleTimeout, func() {
		h.mu.Lock()
		idle := h.publisher == nil && !h.closed
		h.mu.Unlock()
		if idle {
			h.log.Info("stream closed after idle timeout", "timeout", h.registry.idleTimeout)
			h.registry.remove(h)
			h.close()
		}
	})
}

// write rebases, packetizes, caches and fans out one unit. from is nil for units the hub
// makes itself (live transcoders).
func (h *Hub) write(from *Publisher, u *Unit, pts int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || (from != nil && (from.closed || h.publisher != from)) {
		return
	}
	t := u.Track
	tl := &h.timeline[t.ID]
	if !tl.started {
		tl.started = true
		if tl.lastWall.IsZero() {
			tl.offset = -pts
		} else {
			// Continue the previous publisher's timeline, leaving the real gap.
			gap := time.Since(tl.lastWall).Seconds() * float64(t.ClockRate)
			tl.offset = tl.lastPTS + int64(gap) + 1 - pts
		}
	}
	u.PTS = pts + tl.offset
	tl.lastPTS, tl.lastWall = u.PTS, u.Received
	if err := h.pack[t.ID].packetize(u); err != nil {
		h.log.Warn("dropping unit that cannot be packetized", "track", t.ID, "error", err)
		metrics.Errors.WithLabelValues("stream", "packetize").Inc()
		return
	}
	size := u.Size()
	h.bytesIn += uint64(size)
	h.unitsIn++

	if t == h.webVideo {
		if u.Key {
			h.gop, h.gopBytes = h.gop[:0:0], 0
		}
		if (u.Key || len(h.gop) > 0) && len(h.gop) < maxGOPUnits && h.gopBytes+size < maxGOPBytes {
			h.gop = append(h.gop, u)
			h.gopBytes += size
		} else if !u.Key {
			h.gop, h.gopBytes = nil, 0
		}
	}
	for r := range h.readers {
		if r.wants(u) {
			r.push(u)
		}
	}
}

func (r *Reader) wants(u *Unit) bool {
	if r.opts.Only != nil {
		return u.Track == r.opts.Only
	}
	if r.opts.Select == SelectSource {
		return !u.Track.Derived
	}
	return u.Track == r.hub.webVideo || u.Track == r.hub.webAudio
}

// Subscribe attaches a reader. A web or source reader starts with the cached GOP, so its
// first video unit is a keyframe at once instead of up to a GOP later.
func (h *Hub) Subscribe(opts ReaderOptions) (*Reader, error) {
	r := newReader(h, opts)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	if !opts.SkipGOP && opts.Only == nil {
		for _, u := range h.gop {
			if r.wants(u) && r.n < len(r.buf) {
				r.buf[r.n] = u
				r.n++
			}
		}
		r.catchup = r.n
	}
	if r.n == 0 {
		// No cache to start from: wait for a keyframe.
		r.resync = true
	}
	h.readers[r] = struct{}{}
	return r, nil
}

func (h *Hub) removeReader(r *Reader) {
	h.mu.Lock()
	delete(h.readers, r)
	h.mu.Unlock()
}

func (h *Hub) countDrop(reader string) {
	metrics.QueueDrops.WithLabelValues(reader).Inc()
}

// RequestKeyframe asks whoever makes the web video for a keyframe soon (a viewer sent a
// PLI). Only a live transcoder can honour it; a passed-through source keyframe comes on
// the encoder's own schedule.
func (h *Hub) RequestKeyframe() {
	h.live.requestKeyframe()
}

// close ends the hub: every reader's Read returns ErrClosed.
func (h *Hub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	readers := h.readers
	h.readers = map[*Reader]struct{}{}
	if h.idleTimer != nil {
		h.idleTimer.Stop()
	}
	h.gop = nil
	h.mu.Unlock()
	for r := range readers {
		r.markClosed()
	}
	h.live.close()
}

// Info is a snapshot of a hub for the API.
type Info struct {
	Path      string    `json:"path"`
	Live      bool      `json:"live"`
	Source    string    `json:"source,omitempty"`
	Remote    string    `json:"remote,omitempty"`
	Since     time.Time `json:"since"`
	Tracks    []Track   `json:"tracks"`
	Readers   int       `json:"readers"`
	Viewers   int       `json:"viewers"`
	BytesIn   uint64    `json:"bytes_in"`
	UnitsIn   uint64    `json:"units_in"`
	WebVideo  string    `json:"web_video,omitempty"`
	WebAudio  string    `json:"web_audio,omitempty"`
	Transcode []string  `json:"live_transcoding,omitempty"`
}

// Info returns a snapshot of the hub.
func (h *Hub) Info() Info {
	h.mu.Lock()
	defer h.mu.Unlock()
	in := Info{Path: h.path, Live: h.publisher != nil, Since: h.since, Readers: len(h.readers),
		BytesIn: h.bytesIn, UnitsIn: h.unitsIn}
	if h.publisher != nil {
		in.Source, in.Remote = h.publisher.info.Protocol, h.publisher.info.Remote
	}
	for _, t := range h.tracks {
		in.Tracks = append(in.Tracks, *t)
	}
	for r := range h.readers {
		if r.opts.Select == SelectWeb && r.opts.Only == nil {
			in.Viewers++
		}
	}
	if h.webVideo != nil {
		in.WebVideo = h.webVideo.String()
	}
	if h.webAudio != nil {
		in.WebAudio = h.webAudio.String()
	}
	in.Transcode = h.live.describe()
	return in
}

func h264Keyframe(nalus [][]byte) bool {
	for _, n := range nalus {
		if len(n) > 0 && n[0]&0x1f == 5 {
			return true
		}
	}
	return false
}

func h265Keyframe(nalus [][]byte) bool {
	for _, n := range nalus {
		if len(n) > 0 {
			if typ := (n[0] >> 1) & 0x3f; typ >= 16 && typ <= 21 {
				return true
			}
		}
	}
	return false
}
