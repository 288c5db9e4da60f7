package record

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/media/stream"
)

const (
	// readerQueue is deep because the recorder fsyncs on its own goroutine: about 30 s
	// of a 25 fps stream with audio may wait while a slow disk catches up.
	readerQueue = 2048
	// audioOnlyAfter is how long audio waits for a video keyframe before a stream
	// whose video does not come is recorded without picture.
	audioOnlyAfter = 5 * time.Second
	// Retry delays after a disk error.
	minRetry, maxRetry = 10 * time.Second, 5 * time.Minute
)

// session records one stream path. It follows the path's hub (and the next one, if
// the hub closed while its publisher was away) and owns the path's current recording.
type session struct {
	r    *Recorder
	path string
	log  *slog.Logger
	wake chan struct{}

	mu        sync.Mutex
	ev        stream.PublisherEvent // the newest event
	evPending bool                  // ev is not handled yet
	subHub    *stream.Hub           // hub of the newest reader
	newReader *stream.Reader        // subscribed by notify, taken by run
	snap      *Info                 // the current recording, for Active

	// Owned by run.
	hub      *stream.Hub
	reader   *stream.Reader
	units    chan *stream.Unit
	held     chan *stream.Unit // the unit the pump held when it was stopped
	stopPump context.CancelFunc
	pumpDone chan struct{}
	drops    uint64
	live     bool
	boundary time.Time            // a new publisher started: units received after it are its own
	tracks   map[int]stream.Track // copies of the hub's source tracks, by hub track ID
	grace    *time.Timer
	rec      *recording
	vShift   int64 // recording video time = hub PTS + vShift (90 kHz)
	aShift   int64 // the same for audio, in its clock rate
	dts      dtsExtractor
	waitKey  bool // drop video until a keyframe
	reanchor bool // a new hub restarted the timeline: shift again on the next anchor
	lastRecv time.Time
	lastVid  time.Time // when the last video unit arrived
	audioAt  time.Time // first audio unit seen while waiting for a video keyframe
	retryAt  time.Time
	retry    time.Duration
	warned   map[string]bool
	dtsErrs  int
}

type dtsExtractor interface {
	Extract(au [][]byte, pts int64) (int64, error)
}

// ptsAsDTS is the fallback for streams the extractors cannot read: right for streams
// without B-frames, and still decodable (in decode order) for the others.
type ptsAsDTS struct{}

func (ptsAsDTS) Extract(_ [][]byte, pts int64) (int64, error) { return pts, nil }

func newSession(r *Recorder, path string) *session {
	return &session{r: r, path: path, log: r.log.With("stream", path), wake: make(chan struct{}, 1),
		warned: map[string]bool{}}
}

// notify records ev for run and, when the stream has a new hub, subscribes to it at
// once: a new publisher writes nothing before the registry's callback returns, so the
// recording starts with its very first unit. Called with r.mu held.
func (s *session) notify(ev stream.PublisherEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case ev.Live && ev.Hub != s.subHub:
		// A new hub: subscribe below.
	case ev.Hub != s.subHub:
		return // about a hub we no longer read
	case ev.Hub == s.ev.Hub && ev.Seq <= s.ev.Seq:
		return // an older change reaching us late
	}
	if ev.Live && ev.Hub != s.subHub {
		rd, err := ev.Hub.Subscribe(stream.ReaderOptions{Name: "record", Select: stream.SelectSource, QueueSize: readerQueue})
		if err != nil {
			s.log.Warn("cannot read stream for recording", "error", err)
			return
		}
		if s.newReader != nil {
			s.newReader.Close()
		}
		s.newReader, s.subHub = rd, ev.Hub
	}
	s.ev, s.evPending = ev, true
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *session) hasPending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evPending
}

func (s *session) snapshot() (Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap == nil {
		return Info{}, false
	}
	return *s.snap, true
}

func (s *session) updateSnapshot() {
	var in *Info
	if s.rec != nil {
		v := s.rec.info()
		in = &v
	}
	s.mu.Lock()
	s.snap = in
	s.mu.Unlock()
}

func (s *session) run(stop <-chan struct{}) {
	defer func() {
		s.detach()
		if s.grace != nil {
			s.grace.Stop()
		}
		s.mu.Lock()
		if s.newReader != nil {
			s.newReader.Close()
			s.newReader = nil
		}
		s.mu.Unlock()
	}()
	for {
		if !s.live && s.grace == nil {
			// No publisher and no wait running (the session is new, or an event turned
			// out stale): make sure the session ends unless one comes.
			s.grace = time.NewTimer(s.r.opt.Grace)
		}
		var graceC <-chan time.Time
		if s.grace != nil {
			graceC = s.grace.C
		}
		select {
		case <-stop:
			s.drain()
			s.finish("recorder closing")
			return
		case <-s.wake:
			s.handleEvent()
		case u, ok := <-s.units:
			if !ok {
				s.hubClosed()
				continue
			}
			s.handleUnit(u)
		case <-graceC:
			s.grace = nil
			if s.live {
				continue
			}
			if s.r.retire(s) {
				if s.rec != nil {
					s.log.Info("publisher did not return within the grace period", "grace", s.r.opt.Grace)
				}
				s.finish("publisher gone")
				return
			}
		}
	}
}

func (s *session) handleEvent() {
	s.mu.Lock()
	ev, pending := s.ev, s.evPending
	rd := s.newReader
	s.evPending, s.newReader = false, nil
	s.mu.Unlock()
	if !pending {
		return
	}
	if rd != nil {
		s.attach(rd)
	}
	if ev.Hub != s.hub {
		return // about a hub we no longer read
	}
	if ev.Live {
		if s.grace != nil {
			s.grace.Stop()
			s.grace = nil
		}
		if !s.live && s.rec != nil {
			s.log.Info("publisher is back; continuing the recording", "recording", s.rec.meta.ID)
		}
		s.live = true
		s.boundary = ev.At
		s.refreshTracks()
		return
	}
	s.publisherLeft()
}

// publisherLeft writes what the recording holds and waits out the grace period.
func (s *session) publisherLeft() {
	s.live = false
	if s.grace != nil {
		s.grace.Stop()
	}
	s.grace = time.NewTimer(s.r.opt.Grace)
	if s.rec != nil {
		s.log.Info("publisher left; keeping the recording open", "recording", s.rec.meta.ID, "grace", s.r.opt.Grace)
		if err := s.rec.flush(); err != nil {
			s.diskError(err)
		}
		s.updateSnapshot()
	}
}

func (s *session) attach(rd *stream.Reader) {
	s.detach()
	s.hub, s.reader, s.drops = rd.Hub(), rd, 0
	ctx, cancel := context.WithCancel(context.Background())
	units, done := make(chan *stream.Unit), make(chan struct{})
	held := make(chan *stream.Unit, 1)
	s.units, s.stopPump, s.pumpDone, s.held = units, cancel, done, held
	go func() {
		defer close(done)
		defer close(units)
		for {
			u, _, err := rd.Read(ctx)
			if err != nil {
				return
			}
			select {
			case units <- u:
			case <-ctx.Done():
				held <- u // for drain
				return
			}
		}
	}()
	s.tracks = nil
	s.resetVideo()
	if s.rec != nil {
		// A new hub starts its timeline at zero.
		s.reanchor = true
	}
}

// drain records the units already waiting in the reader's queue (at shutdown: they
// were received, so they belong in the recording). It reads at most one queue's worth,
// so a publisher still sending cannot hold the shutdown up.
func (s *session) drain() {
	if s.reader == nil {
		return
	}
	s.stopPump()
	<-s.pumpDone
	var queued []*stream.Unit
	select {
	case u := <-s.held:
		queued = append(queued, u)
	default:
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Read still returns queued units; it only stops waiting for new ones
	for range readerQueue {
		u, _, err := s.reader.Read(ctx)
		if err != nil {
			break
		}
		queued = append(queued, u)
	}
	for _, u := range queued {
		s.handleUnit(u)
	}
}

func (s *session) detach() {
	if s.reader == nil {
		return
	}
	s.stopPump()
	s.reader.Close()
	<-s.pumpDone
	s.reader, s.units, s.hub = nil, nil, nil
}

// hubClosed: the hub went away (idle timeout, shutdown); its publisher is gone too.
func (s *session) hubClosed() {
	s.detach()
	if s.live {
		s.publisherLeft()
	}
}

func (s *session) refreshTracks() {
	if s.hub == nil {
		return
	}
	s.tracks = map[int]stream.Track{}
	for _, t := range s.hub.Info().Tracks {
		if !t.Derived {
			s.tracks[t.ID] = t
		}
	}
}

// sourceTracks are the tracks a recording takes: the first H.264/H.265 video and the
// first AAC/Opus audio.
func (s *session) sourceTracks() (video, audio *stream.Track) {
	ids := make([]int, 0, len(s.tracks))
	for id := range s.tracks {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		t := s.tracks[id]
		switch {
		case video == nil && (t.Codec == stream.H264 || t.Codec == stream.H265):
			video = &t
		case audio == nil && (t.Codec == stream.AAC || t.Codec == stream.Opus):
			audio = &t
		}
	}
	return video, audio
}

func (s *session) warnOnce(key, msg string, args ...any) {
	if !s.warned[key] {
		s.warned[key] = true
		s.log.Warn(msg, args...)
	}
}

func (s *session) resetVideo() {
	s.dts = nil
	s.waitKey = true
}

func (s *session) handleUnit(u *stream.Unit) {
	if u.Track.Derived {
		return
	}
	if !s.boundary.IsZero() && u.Received.After(s.boundary) {
		s.boundary = time.Time{}
		s.publisherChanged()
	}
	tr, ok := s.tracks[u.Track.ID]
	if !ok {
		s.refreshTracks()
		if tr, ok = s.tracks[u.Track.ID]; !ok {
			return
		}
	}
	if d := s.reader.Drops(); d != s.drops {
		s.log.Warn("recorder fell behind and dropped media: the recording has a gap", "dropped", d-s.drops)
		metrics.Errors.WithLabelValues("record", "dropped").Inc()
		s.drops = d
		s.resetVideo()
	}
	switch tr.Codec {
	case stream.H264, stream.H265:
		s.handleVideo(u, tr)
	case stream.AAC, stream.Opus:
		s.handleAudio(u, tr)
	case stream.PCMU, stream.PCMA:
		s.warnOnce("g711", "G.711 audio is not recorded: the recording has no sound", "codec", tr.Codec)
	}
}

// publisherChanged runs on the first unit of a new publisher (the first one, or one
// that came back). Its encoder starts over: video waits for a keyframe, and audio with
// new parameters needs a new init segment, so a new recording.
func (s *session) publisherChanged() {
	s.resetVideo()
	s.refreshTracks()
	if s.rec == nil {
		return
	}
	_, at := s.sourceTracks()
	if at == nil {
		return
	}
	ap := audioParamsOf(*at)
	switch {
	case ap == nil:
	case s.rec.ap == nil && s.rec.video != nil:
		s.finish("the stream now has sound")
	case s.rec.ap != nil && !s.rec.ap.same(ap):
		s.finish("audio parameters changed")
	}
}

func (s *session) handleVideo(u *stream.Unit, tr stream.Track) {
	s.lastVid = u.Received
	if s.waitKey && !u.Key {
		return
	}
	au := cleanAU(u.NALUs, tr.Codec)
	if len(au) == 0 {
		return
	}
	if s.dts == nil {
		if tr.Codec == stream.H265 {
			var d h265.DTSExtractor
			d.Initialize()
			s.dts = &d
		} else {
			var d h264.DTSExtractor
			d.Initialize()
			s.dts = &d
		}
	}
	dts, err := s.dts.Extract(au, u.PTS)
	if err != nil && u.Key {
		// Even a keyframe fails (an H.264 SPS with pic_order_cnt_type 1, which the
		// extractor does not support): record with DTS = PTS rather than lose the picture.
		s.warnOnce("ptsdts", "cannot compute video decode times; recording them equal to presentation times", "error", err)
		s.dts, dts, err = ptsAsDTS{}, u.PTS, nil
	}
	if err != nil {
		s.dtsErrs++
		if s.dtsErrs&(s.dtsErrs-1) == 0 { // 1, 2, 4, 8...: bursts stay readable
			s.log.Warn("cannot compute video decode times; skipping to the next keyframe", "errors", s.dtsErrs, "error", err)
		}
		s.resetVideo()
		return
	}
	s.waitKey = false

	if s.rec != nil && u.Key {
		vp := videoParamsOf(tr, au)
		switch {
		case s.rec.video == nil:
			s.finish("the stream now has video")
		case vp != nil && !vp.sameStream(s.rec.vp):
			s.log.Info("video format changed", "from", describeVideo(s.rec.vp), "to", describeVideo(vp))
			s.finish("video format changed")
		case s.rec.duration() >= s.r.opt.MaxDuration:
			s.finish("maximum duration reached")
		case s.reanchor:
			s.anchor(u.Received, dts, 90000)
		}
	}
	if s.rec == nil {
		if !u.Key || !s.start(u, tr, au, dts) {
			return
		}
	}
	if s.rec.video == nil || s.reanchor {
		return
	}
	rdts, rpts := dts+s.vShift, u.PTS+s.vShift
	if last := s.rec.video.lastDTS(); rdts <= last {
		rdts = last + 1
	}
	s.write(u.Received, func() error { return s.rec.writeVideo(rdts, rpts, au, u.Key) })
}

func (s *session) handleAudio(u *stream.Unit, tr stream.Track) {
	if len(u.Frame) == 0 {
		return
	}
	if s.rec == nil {
		vt, _ := s.sourceTracks()
		if vt != nil {
			// Wait for the picture, unless no video comes at all.
			if s.audioAt.IsZero() {
				s.audioAt = u.Received
			}
			if u.Received.Sub(s.audioAt) < audioOnlyAfter || u.Received.Sub(s.lastVid) < audioOnlyAfter {
				return
			}
			s.warnOnce("novideo", "no video keyframe yet: recording sound only", "waited", u.Received.Sub(s.audioAt).Round(time.Second))
		}
		if !s.start(u, tr, nil, u.PTS) {
			return
		}
	}
	a := s.rec.audio
	if a == nil || int(s.rec.ap.rate) != tr.ClockRate {
		return
	}
	if s.reanchor {
		if s.rec.video != nil {
			return // the video keyframe anchors the new hub's timeline
		}
		s.anchor(u.Received, u.PTS, int64(tr.ClockRate))
	}
	dts := u.PTS + s.aShift
	if dts < 0 || dts <= a.lastDTS() {
		return // before the recording's first frame, or out of order
	}
	s.write(u.Received, func() error { return s.rec.writeAudio(dts, u.Frame) })
}

// write runs one write on the recording and handles what it reports.
func (s *session) write(received time.Time, fn func() error) {
	segs := s.rec.segCount
	if err := fn(); err != nil {
		s.diskError(err)
		return
	}
	s.lastRecv = received
	if s.rec.segCount != segs {
		s.updateSnapshot()
	}
}

// anchor places the first unit of a new hub (timestamps from zero again) after the
// recording's end, leaving the real time the stream was away.
func (s *session) anchor(received time.Time, dts int64, rate int64) {
	s.reanchor = false
	gap := received.Sub(s.lastRecv)
	if gap < 0 {
		gap = 0
	}
	at := s.rec.duration() + gap // recording time of this unit
	shift := int64(at.Seconds()*float64(rate)) - dts
	s.setShift(shift, rate)
	s.log.Info("stream continues on a new hub", "recording", s.rec.meta.ID, "gap", gap.Round(time.Millisecond))
}

// setShift maps hub time to recording time for both tracks, given the shift in one
// track's clock rate.
func (s *session) setShift(shift int64, rate int64) {
	secs := float64(shift) / float64(rate)
	s.vShift = int64(secs * 90000)
	if s.rec != nil && s.rec.ap != nil {
		s.aShift = int64(secs * float64(s.rec.ap.rate))
	}
	if rate == 90000 {
		s.vShift = shift
	} else {
		s.aShift = shift
	}
}

// start begins a new recording whose time zero is the unit u (a video keyframe with
// decode time dts, or an audio frame for a recording without picture).
func (s *session) start(u *stream.Unit, tr stream.Track, au [][]byte, dts int64) bool {
	if time.Now().Before(s.retryAt) {
		return false
	}
	if !s.r.enabled(s.path) {
		s.warnOnce("disabled", "recording is off for this stream")
		return false
	}
	var vp *videoParams
	var ap *audioParams
	_, at := s.sourceTracks()
	if tr.Kind == stream.Video {
		if vp = videoParamsOf(tr, au); vp == nil {
			s.warnOnce("noparams", "video keyframe without usable parameter sets; waiting for the next one")
			return false
		}
		if at != nil {
			ap = audioParamsOf(*at)
		}
	} else {
		if ap = audioParamsOf(tr); ap == nil {
			s.warnOnce("noaudioconf", "audio without a usable configuration cannot be recorded")
			return false
		}
	}
	id := NewID("r")
	dir := filepath.Join(s.r.opt.Dir, id)
	m := meta{ID: id, Path: s.path, Started: u.Received}
	log := s.log.With("recording", id)
	rec, err := createRecording(dir, m, vp, ap, s.r.opt.SegmentDuration, log)
	if err != nil {
		log.Error("cannot start recording", "dir", dir, "error", err)
		metrics.Errors.WithLabelValues("record", "disk").Inc()
		os.RemoveAll(dir)
		s.backoff()
		return false
	}
	s.rec = rec
	s.retry = 0
	s.reanchor = false
	s.audioAt = time.Time{}
	if tr.Kind == stream.Video {
		s.setShift(-dts, 90000)
	} else {
		s.setShift(-dts, int64(tr.ClockRate))
	}
	metrics.Recordings.Inc()
	log.Info("recording started", "video", describeVideo(vp), "audio", rec.meta.AudioCodec, "dir", dir)
	s.updateSnapshot()
	if s.r.opt.OnStart != nil {
		s.r.opt.OnStart(rec.info())
	}
	return true
}

func (s *session) backoff() {
	if s.retry == 0 {
		s.retry = minRetry
	} else if s.retry *= 2; s.retry > maxRetry {
		s.retry = maxRetry
	}
	s.retryAt = time.Now().Add(s.retry)
}

// diskError stops the recording cleanly: what is on disk is kept and finalized if the
// disk allows, and a new recording is tried after a while.
func (s *session) diskError(err error) {
	if s.rec == nil {
		return
	}
	s.log.Error("recording stopped: cannot write to disk", "recording", s.rec.meta.ID, "dir", s.rec.dir, "error", err)
	metrics.Errors.WithLabelValues("record", "disk").Inc()
	s.finish("disk error")
	s.backoff()
}

// finish ends the current recording: flush, finalize, hand it to the owner.
func (s *session) finish(reason string) {
	rec := s.rec
	if rec == nil {
		return
	}
	s.rec = nil
	s.reanchor = false
	s.updateSnapshot()
	metrics.Recordings.Dec()
	log := rec.log
	if err := rec.flush(); err != nil {
		log.Error("cannot write the last segment", "dir", rec.dir, "error", err)
		metrics.Errors.WithLabelValues("record", "disk").Inc()
	}
	m, err := finalizeDir(rec.dir, rec.meta, log)
	if errors.Is(err, errEmpty) {
		log.Warn("recording ended before its first segment; nothing kept", "reason", reason)
		if err := os.RemoveAll(rec.dir); err != nil {
			log.Error("cannot delete empty recording", "dir", rec.dir, "error", err)
		}
		return
	}
	if err != nil {
		log.Error("cannot finalize recording; it will be finalized at the next start", "dir", rec.dir, "error", err)
		metrics.Errors.WithLabelValues("record", "disk").Inc()
		return
	}
	log.Info("recording finalized", "reason", reason, "duration", time.Duration(m.DurationMS)*time.Millisecond,
		"segments", m.Segments, "bytes", m.Bytes)
	s.r.finalized(m.info(rec.dir))
}

// cleanAU drops empty NAL units and access unit delimiters, which MP4 does not carry.
func cleanAU(nalus [][]byte, c stream.Codec) [][]byte {
	out := nalus[:0:0]
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		if c == stream.H265 {
			if len(n) < 2 || (n[0]>>1)&0x3f == 35 {
				continue
			}
		} else if n[0]&0x1f == 9 {
			continue
		}
		out = append(out, n)
	}
	return out
}

// videoParamsOf reads the parameter sets of a keyframe (in-band first, then the SDP's).
func videoParamsOf(tr stream.Track, au [][]byte) *videoParams {
	p := &videoParams{codec: tr.Codec}
	switch tr.Codec {
	case stream.H264:
		for _, n := range au {
			switch n[0] & 0x1f {
			case 7:
				p.sps = n
			case 8:
				p.pps = n
			}
		}
		if p.sps == nil && len(tr.Params) == 2 {
			p.sps, p.pps = tr.Params[0], tr.Params[1]
		}
		if p.sps == nil || p.pps == nil {
			return nil
		}
		var sps h264.SPS
		if err := sps.Unmarshal(p.sps); err != nil {
			return nil
		}
		p.width, p.height, p.profile = sps.Width(), sps.Height(), int(sps.ProfileIdc)
	case stream.H265:
		for _, n := range au {
			switch (n[0] >> 1) & 0x3f {
			case 32:
				p.vps = n
			case 33:
				p.sps = n
			case 34:
				p.pps = n
			}
		}
		if p.sps == nil && len(tr.Params) == 3 {
			p.vps, p.sps, p.pps = tr.Params[0], tr.Params[1], tr.Params[2]
		}
		if p.vps == nil || p.sps == nil || p.pps == nil {
			return nil
		}
		var sps h265.SPS
		if err := sps.Unmarshal(p.sps); err != nil {
			return nil
		}
		p.width, p.height, p.profile = sps.Width(), sps.Height(), int(sps.ProfileTierLevel.GeneralProfileIdc)
	default:
		return nil
	}
	return p
}

func describeVideo(p *videoParams) string {
	if p == nil {
		return ""
	}
	return p.name() + " " + strconv.Itoa(p.width) + "x" + strconv.Itoa(p.height)
}

func audioParamsOf(t stream.Track) *audioParams {
	switch t.Codec {
	case stream.AAC:
		if len(t.Config) == 0 || t.ClockRate <= 0 {
			return nil
		}
		return &audioParams{codec: t.Codec, rate: t.ClockRate, channels: t.Channels, config: t.Config}
	case stream.Opus:
		ch := t.Channels
		if ch <= 0 {
			ch = 2
		}
		return &audioParams{codec: t.Codec, rate: 48000, channels: ch}
	}
	return nil
}
