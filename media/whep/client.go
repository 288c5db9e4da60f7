// Package whep is a WHEP (RFC 9725) client on pion: it POSTs an SDP offer for
// recvonly H.264 video and Opus audio, waits for the answer, and hands the
// received media to callbacks as H.264 access units and Opus packets.
//
// It is used by the load tool (cmd/classcast-load), by end-to-end tests, and by
// edge nodes that pull a stream from the origin. It is built to run hundreds
// of sessions in one process: no session polls, each track is read by one
// goroutine, and per-packet work is a sequence check and a depacketization.
package whep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Errors a Session ends with; Err returns one of them, wrapped.
var (
	// ErrClosed means Close was called.
	ErrClosed = errors.New("whep: session closed")
	// ErrConnectionFailed means ICE or DTLS failed, or the peer closed the
	// connection.
	ErrConnectionFailed = errors.New("whep: connection failed")
)

// maxBody bounds what is read from a WHEP response: an SDP answer or a JSON
// error is a few kilobytes.
const maxBody = 1 << 20

// deleteTimeout bounds the DELETE that Close sends, so that a server that
// has gone away cannot hold Close up.
const deleteTimeout = 5 * time.Second

// Options configures Dial. The zero value works.
type Options struct {
	// Token, when set, is sent as "Authorization: Bearer <Token>" on the POST
	// and on the DELETE.
	Token string

	// HTTPClient sends the POST and the DELETE. Nil means
	// http.DefaultClient. Dial bounds the POST with its ctx; give the client a
	// Timeout as well if requests must never hang.
	HTTPClient *http.Client

	// API builds the PeerConnection. Nil means a default one per session:
	// pion's default codecs and interceptors (NACK, RTCP reports, TWCC,
	// stats), loopback candidates included, mDNS off. Share one API between
	// sessions to share a SettingEngine (for example a UDP mux); the
	// NACKsSent counter then comes from pion's stats, so the API should
	// register webrtc.ConfigureStatsInterceptor (RegisterDefaultInterceptors
	// does).
	API *webrtc.API

	// ICEServers are passed to the PeerConnection (STUN/TURN). Nil is fine on
	// a LAN or loopback.
	ICEServers []webrtc.ICEServer

	// ReorderWait is how long a video packet that arrives after a gap waits
	// for the missing one (a reordered or NACK-retransmitted packet) before
	// the gap counts as lost and the decoder waits for the next keyframe.
	// Zero means 200 ms; negative means never wait.
	ReorderWait time.Duration

	// OnVideoFrame and OnAudioPacket are set before any media can arrive, so
	// no frame is missed; Session.OnVideoFrame and Session.OnAudioPacket
	// replace them later.
	OnVideoFrame  func(VideoFrame)
	OnAudioPacket func(AudioPacket)

	// Logger receives the session's log lines. Nil means slog.Default().
	Logger *slog.Logger
}

// Client dials sessions with shared Options: for example one per origin an
// edge node pulls from, or one per load run. The zero value works.
type Client struct {
	Options Options
}

// Dial is Dial with the client's options.
func (c *Client) Dial(ctx context.Context, endpoint string) (*Session, error) {
	return Dial(ctx, endpoint, c.Options)
}

// HTTPError is returned by Dial when the server does not answer 201 Created.
// Code and Message come from classcast's JSON error body
// {"error":{"code":"...","message":"..."}}; with another body, Message holds
// its beginning.
type HTTPError struct {
	Status  int
	Code    string
	Message string
}

func (e *HTTPError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("whep: HTTP %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("whep: HTTP %d: %s", e.Status, e.Message)
}

// Timing holds when each step of a session's start happened; a zero time
// means the step has not happened (yet).
type Timing struct {
	// POST is when the offer was sent (after ICE gathering).
	POST time.Time
	// Answer is when the 201 response arrived.
	Answer time.Time
	// ICEConnected is when ICE first reached connected.
	ICEConnected time.Time
	// FirstRTP is when the first RTP packet of any track was read.
	FirstRTP time.Time
	// FirstKeyframe is when the first complete keyframe access unit was
	// assembled.
	FirstKeyframe time.Time
}

// Session is one WHEP viewer: a PeerConnection receiving a stream. Its methods
// are safe for concurrent use.
type Session struct {
	pc         *webrtc.PeerConnection
	location   string
	token      string
	httpClient *http.Client
	log        *slog.Logger
	rtcpCounts *rtcpCounts // nil when the caller supplied the API

	reorderWait time.Duration
	onVideo     atomic.Pointer[func(VideoFrame)]
	onAudio     atomic.Pointer[func(AudioPacket)]

	video, audio trackCounters
	plisSent     atomic.Uint64

	mu        sync.Mutex
	timing    Timing
	closed    bool // no more goroutines may start
	wg        sync.WaitGroup
	done      chan struct{}
	err       error
	connected chan struct{}
	keyframe  chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Dial starts a WHEP session: it creates a recvonly PeerConnection, waits
// for ICE gathering to complete (no trickle), POSTs the offer to endpoint and
// applies the answer. ctx bounds gathering and the POST; once Dial returns,
// the session runs until Close. A non-201 answer is returned as *HTTPError.
//
// Dial returns before ICE connects: wait on Connected or FirstKeyframe, or
// on Done for failure.
func Dial(ctx context.Context, endpoint string, opts Options) (*Session, error) {
	s := &Session{
		token:       opts.Token,
		httpClient:  opts.HTTPClient,
		log:         opts.Logger,
		reorderWait: opts.ReorderWait,
		done:        make(chan struct{}),
		connected:   make(chan struct{}),
		keyframe:    make(chan struct{}),
	}
	if s.httpClient == nil {
		s.httpClient = http.DefaultClient
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("whep", endpointPath(endpoint))
	if s.reorderWait == 0 {
		s.reorderWait = 200 * time.Millisecond
	}
	if opts.OnVideoFrame != nil {
		s.onVideo.Store(&opts.OnVideoFrame)
	}
	if opts.OnAudioPacket != nil {
		s.onAudio.Store(&opts.OnAudioPacket)
	}

	api := opts.API
	if api == nil {
		s.rtcpCounts = &rtcpCounts{}
		var err error
		if api, err = newDefaultAPI(s.rtcpCounts); err != nil {
			return nil, fmt.Errorf("whep: build API: %w", err)
		}
	}

	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: opts.ICEServers})
	if err != nil {
		return nil, fmt.Errorf("whep: new peer connection: %w", err)
	}
	s.pc = pc

	if err := s.negotiate(ctx, endpoint); err != nil {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		_ = pc.GracefulClose()
		s.wg.Wait()
		return nil, err
	}
	return s, nil
}

func (s *Session) negotiate(ctx context.Context, endpoint string) error {
	pc := s.pc
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionRecvonly,
		}); err != nil {
			return fmt.Errorf("whep: add %s transceiver: %w", kind, err)
		}
	}

	pc.OnTrack(s.handleTrack)
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected {
			s.mu.Lock()
			if s.timing.ICEConnected.IsZero() {
				s.timing.ICEConnected = time.Now()
				close(s.connected)
			}
			s.mu.Unlock()
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			s.finish(fmt.Errorf("%w: peer connection %s", ErrConnectionFailed, st))
		}
	})

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("whep: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("whep: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("whep: ICE gathering: %w", ctx.Err())
	}

	answer, location, err := s.post(ctx, endpoint, pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	s.location = location

	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		// The server holds a session for us already; tell it to drop it.
		s.sendDelete()
		return fmt.Errorf("whep: set remote description: %w", err)
	}

	// Read RTCP on every receiver so that the interceptors see the
	// server's sender reports (for the LSR/DLSR of our receiver reports).
	for _, tr := range pc.GetTransceivers() {
		if r := tr.Receiver(); r != nil && s.startGoroutine() {
			go func() {
				defer s.wg.Done()
				for {
					if _, _, err := r.ReadRTCP(); err != nil {
						return
					}
				}
			}()
		}
	}
	return nil
}

// post sends the offer and returns the answer SDP and the absolute session URL.
func (s *Session) post(ctx context.Context, endpoint, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
	if err != nil {
		return "", "", fmt.Errorf("whep: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}

	s.setTiming(func(t *Timing) { t.POST = time.Now() })
	res, err := s.httpClient.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("whep: POST: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return "", "", fmt.Errorf("whep: read answer: %w", err)
	}
	s.setTiming(func(t *Timing) { t.Answer = time.Now() })

	if res.StatusCode != http.StatusCreated {
		return "", "", parseHTTPError(res.StatusCode, body)
	}
	loc := res.Header.Get("Location")
	if loc == "" {
		return "", "", fmt.Errorf("whep: 201 without Location header")
	}
	u, err := res.Request.URL.Parse(loc) // resolves a relative Location
	if err != nil {
		return "", "", fmt.Errorf("whep: bad Location %q: %w", loc, err)
	}
	return string(body), u.String(), nil
}

func parseHTTPError(status int, body []byte) *HTTPError {
	e := &HTTPError{Status: status}
	var parsed struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &parsed) == nil && (parsed.Error.Code != "" || parsed.Error.Message != "") {
		e.Code, e.Message = parsed.Error.Code, parsed.Error.Message
		return e
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	e.Message = msg
	return e
}

// Location is the absolute URL of the session resource on the server.
func (s *Session) Location() string { return s.location }

// OnVideoFrame sets the function called for every complete video access
// unit, in order, starting with a keyframe. It runs on the video track's
// reading goroutine: a slow callback delays that session's video (and its
// NACKs), so hand heavy work elsewhere.
func (s *Session) OnVideoFrame(f func(VideoFrame)) { s.onVideo.Store(&f) }

// OnAudioPacket sets the function called for every audio RTP packet, in
// arrival order, duplicates and late packets dropped. Same rules as
// OnVideoFrame.
func (s *Session) OnAudioPacket(f func(AudioPacket)) { s.onAudio.Store(&f) }

// Timing returns when the steps of the session's start happened.
func (s *Session) Timing() Timing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timing
}

func (s *Session) setTiming(f func(*Timing)) {
	s.mu.Lock()
	f(&s.timing)
	s.mu.Unlock()
}

// Connected is closed when ICE first connects.
func (s *Session) Connected() <-chan struct{} { return s.connected }

// FirstKeyframe is closed when the first complete keyframe has been
// assembled (and handed to OnVideoFrame).
func (s *Session) FirstKeyframe() <-chan struct{} { return s.keyframe }

// Done is closed when the session ends: the connection failed or was closed
// by the peer, or Close was called. Err then says why. Call Close in any
// case to release the session.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended, or nil while it runs.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Session) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		close(s.done)
	}
}

// startGoroutine registers a goroutine with the session's WaitGroup unless
// the session is closing; the caller must then call s.wg.Done when it ends.
func (s *Session) startGoroutine() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// Close sends DELETE to the session's Location, closes the PeerConnection and
// waits for every goroutine the session started. It returns the DELETE's
// error, if any; calling it again returns the same.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.finish(ErrClosed)
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()

		s.closeErr = s.sendDelete()
		if err := s.pc.GracefulClose(); err != nil {
			s.log.Debug("close peer connection", "err", err)
		}
		s.wg.Wait()
	})
	return s.closeErr
}

// sendDelete ends the session on the server, bounded by deleteTimeout.
func (s *Session) sendDelete() error {
	if s.location == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.location, nil)
	if err != nil {
		return fmt.Errorf("whep: DELETE %s: %w", s.location, err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	res, err := s.httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("whep: DELETE %s: %w", s.location, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("whep: DELETE %s: %w", s.location, parseHTTPError(res.StatusCode, bytes.TrimSpace(body)))
	}
	return nil
}

// endpointPath is used in log lines and errors without query strings, which
// may hold tokens.
func endpointPath(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	u.RawQuery = ""
	u.User = nil
	return u.String()
}
