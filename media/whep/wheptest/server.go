// Package wheptest runs a small in-process WHEP server for tests, the way
// net/http/httptest runs an HTTP server: one stream, H.264 video and Opus
// audio written by the test, a GOP cache so that a new viewer starts on a
// keyframe, bearer-token checks, classcast's JSON errors, and hooks to drop
// packets. It stands in for classcast's server in tests of the WHEP client
// and the load tool; it is not a media server.
package wheptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Config configures a Server.
type Config struct {
	// Path is the one stream served, at /whep/<Path>. Other paths get 404.
	Path string
	// Token, when set, must come as "Authorization: Bearer <Token>":
	// missing gives 401, wrong gives 403.
	Token string
	// DropVideo, when set, is asked about every video packet for every
	// viewer (numbered from 0 in order of arrival); true drops it before
	// pion sees it, so a NACK cannot recover it. It must not modify pkt.
	DropVideo func(viewer int, pkt *rtp.Packet) bool
}

// Server is a running test WHEP server. Its methods are safe for concurrent
// use.
type Server struct {
	cfg  Config
	http *httptest.Server
	api  *webrtc.API

	mu      sync.Mutex
	enc     *rtph264.Encoder
	gop     []*rtp.Packet // packets since the last keyframe
	viewers map[string]*viewer
	nextID  int
	closed  bool

	wg      sync.WaitGroup
	deletes atomic.Int64
	plis    atomic.Int64
}

type viewer struct {
	n     int
	pc    *webrtc.PeerConnection
	video *webrtc.TrackLocalStaticRTP
	audio *webrtc.TrackLocalStaticRTP
	live  bool // connected and caught up: gets packets as they are written
}

// NewServer starts a server on 127.0.0.1. Close it when done.
func NewServer(cfg Config) (*Server, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// Only the loopback interface: tests stay on this machine.
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })

	enc := &rtph264.Encoder{PayloadMaxSize: 1200, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		api:     webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)),
		enc:     enc,
		viewers: map[string]*viewer{},
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s, nil
}

// Endpoint is the WHEP URL of the stream.
func (s *Server) Endpoint() string { return s.http.URL + "/whep/" + s.cfg.Path }

// URL is the server's base URL, http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.http.URL }

// Viewers returns how many sessions exist (created and not deleted).
func (s *Server) Viewers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.viewers)
}

// Deletes returns how many sessions were ended by DELETE.
func (s *Server) Deletes() int { return int(s.deletes.Load()) }

// PLIs returns how many picture loss indications viewers sent.
func (s *Server) PLIs() int { return int(s.plis.Load()) }

// WriteVideo packetizes one H.264 access unit (NAL units without start
// codes) with RTP timestamp ts and sends it to every live viewer.
func (s *Server) WriteVideo(au [][]byte, ts uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pkts, err := s.enc.Encode(au)
	if err != nil {
		return err
	}
	for _, p := range pkts {
		p.Timestamp = ts
	}
	if h264.IsRandomAccess(au) {
		s.gop = append(s.gop[:0:0], pkts...)
	} else if s.gop != nil {
		s.gop = append(s.gop, pkts...)
	}
	for _, v := range s.viewers {
		if v.live {
			s.sendVideo(v, pkts)
		}
	}
	return nil
}

// WriteAudio sends one Opus packet to every live viewer.
func (s *Server) WriteAudio(payload []byte, seq uint16, ts uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pkt := &rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: true},
		Payload: payload,
	}
	for _, v := range s.viewers {
		if v.live {
			_ = v.audio.WriteRTP(pkt)
		}
	}
}

// sendVideo is called with s.mu held.
func (s *Server) sendVideo(v *viewer, pkts []*rtp.Packet) {
	for _, p := range pkts {
		if s.cfg.DropVideo != nil && s.cfg.DropVideo(v.n, p) {
			continue
		}
		_ = v.video.WriteRTP(p)
	}
}

// Close ends every session and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	vs := s.viewers
	s.viewers = map[string]*viewer{}
	s.mu.Unlock()
	for _, v := range vs {
		_ = v.pc.GracefulClose()
	}
	s.http.Close()
	s.wg.Wait()
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Token != "" {
		auth := r.Header.Get("Authorization")
		switch {
		case auth == "":
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token")
			return
		case auth != "Bearer "+s.cfg.Token:
			writeError(w, http.StatusForbidden, "forbidden", "token does not allow this stream")
			return
		}
	}
	switch {
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/whep/sessions/"):
		s.serveDelete(w, strings.TrimPrefix(r.URL.Path, "/whep/sessions/"))
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/whep/"):
		if strings.TrimPrefix(r.URL.Path, "/whep/") != s.cfg.Path {
			writeError(w, http.StatusNotFound, "stream_not_found", "no stream at "+r.URL.Path)
			return
		}
		s.servePost(w, r)
	default:
		writeError(w, http.StatusNotFound, "not_found", r.Method+" "+r.URL.Path)
	}
}

func (s *Server) servePost(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/sdp" {
		writeError(w, http.StatusUnsupportedMediaType, "bad_content_type", "want application/sdp, got "+ct)
		return
	}
	offer, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	id, answer, err := s.newViewer(r.Context(), string(offer))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_offer", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whep/sessions/"+id) // relative, as servers may send
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (s *Server) serveDelete(w http.ResponseWriter, id string) {
	s.mu.Lock()
	v, ok := s.viewers[id]
	delete(s.viewers, id)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "session_not_found", "no session "+id)
		return
	}
	s.deletes.Add(1)
	_ = v.pc.GracefulClose()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) newViewer(ctx context.Context, offer string) (id, answer string, err error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", "", err
	}
	fail := func(err error) (string, string, error) {
		_ = pc.GracefulClose()
		return "", "", err
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType:    webrtc.MimeTypeH264,
		ClockRate:   90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "video", "wheptest")
	if err != nil {
		return fail(err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	}, "audio", "wheptest")
	if err != nil {
		return fail(err)
	}

	var idb [8]byte
	_, _ = rand.Read(idb[:])
	id = hex.EncodeToString(idb[:])

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fail(errors.New("server closed"))
	}
	v := &viewer{n: s.nextID, pc: pc, video: video, audio: audio}
	s.nextID++
	s.mu.Unlock()

	for _, t := range []*webrtc.TrackLocalStaticRTP{video, audio} {
		sender, err := pc.AddTrack(t)
		if err != nil {
			return fail(err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if _, ok := p.(*rtcp.PictureLossIndication); ok {
						s.plis.Add(1)
					}
				}
			}
		}()
	}

	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st != webrtc.PeerConnectionStateConnected {
			return
		}
		// Catch up from the GOP cache, then go live, under one lock so that
		// no packet is missed or sent twice.
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.viewers[id]; !ok || v.live {
			return
		}
		s.sendVideo(v, s.gop)
		v.live = true
	})

	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("set offer: %w", err))
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("create answer: %w", err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return fail(fmt.Errorf("set answer: %w", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(ctx.Err())
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fail(errors.New("server closed"))
	}
	s.viewers[id] = v
	s.mu.Unlock()
	return id, pc.LocalDescription().SDP, nil
}
