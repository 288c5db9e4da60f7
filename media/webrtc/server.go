// Package webrtc is classcast's WebRTC egress: WHEP viewers fed from the hub. All peers
// share one UDP port and ICE-TCP on the same port number, so a school firewall needs one
// rule. H.264 goes out as the hub packetized it, once per stream; each viewer only
// rewrites headers (munger.go) and encrypts.
package webrtc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/media/stream"
)

// Errors Offer returns; the HTTP layer maps them to WHEP status codes.
var (
	// ErrNotFound: no such stream, or nothing a browser can play in it yet (404).
	ErrNotFound = errors.New("stream not found")
	// ErrBadOffer: the SDP offer is malformed or has nothing we can send (400).
	ErrBadOffer = errors.New("unusable SDP offer")
	// ErrSessionNotFound: DELETE of an unknown session (404).
	ErrSessionNotFound = errors.New("session not found")
	// ErrTooManyViewers: the node's viewer limit is reached (503).
	ErrTooManyViewers = errors.New("too many viewers on this node")
)

// Options configure the WebRTC egress.
type Options struct {
	// Port is the one UDP port all peers share, and the ICE-TCP port (8189).
	Port int
	// DisableTCP turns ICE-TCP off.
	DisableTCP bool
	// PublicIPs replace the host candidates' addresses, for a server behind 1:1 NAT.
	PublicIPs []string
	// AdditionalHosts are extra host candidate addresses to offer besides the local
	// interfaces (a second public address, a VPN address).
	AdditionalHosts []string
	// IPv6 offers IPv6 candidates too.
	IPv6 bool
	// Loopback offers loopback candidates (tests, a viewer on the same machine).
	Loopback bool
	// MaxViewers caps viewers on this node; 0 means no cap.
	MaxViewers int
	// ConnectTimeout is how long a new viewer has to complete ICE and DTLS.
	ConnectTimeout time.Duration
}

// Server answers WHEP offers.
type Server struct {
	opts     Options
	log      *slog.Logger
	registry *stream.Registry
	api      *webrtc.API
	udpMux   ice.UDPMux
	tcpLis   net.Listener

	// cert is shared by every PeerConnection: making an ECDSA key and a certificate per
	// viewer is wasted work at join time, and the fingerprint needs no per-viewer secret.
	certMu   sync.Mutex
	cert     webrtc.Certificate
	certMade time.Time

	mu      sync.Mutex
	viewers map[string]*Viewer
	closed  bool
	wg      sync.WaitGroup
}

// NewServer binds the shared ports and builds the pion API used for every viewer.
func NewServer(opts Options, registry *stream.Registry, log *slog.Logger) (*Server, error) {
	if opts.Port == 0 {
		opts.Port = 8189
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 15 * time.Second
	}
	s := &Server{opts: opts, log: log.With("component", "webrtc"), registry: registry, viewers: map[string]*Viewer{}}

	networks := []ice.NetworkType{ice.NetworkTypeUDP4}
	wnets := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if opts.IPv6 {
		networks = append(networks, ice.NetworkTypeUDP6)
		wnets = append(wnets, webrtc.NetworkTypeUDP6)
	}
	bn, err := newBatchNet()
	if err != nil {
		return nil, err
	}
	muxOpts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithNetworks(networks...), ice.UDPMuxFromPortWithNet(bn),
		ice.UDPMuxFromPortWithReadBufferSize(4 << 20), ice.UDPMuxFromPortWithWriteBufferSize(4 << 20)}
	if opts.Loopback {
		muxOpts = append(muxOpts, ice.UDPMuxFromPortWithLoopback())
	}
	udpMux, err := ice.NewMultiUDPMuxFromPort(opts.Port, muxOpts...)
	if err != nil {
		return nil, fmt.Errorf("webrtc: listen on UDP port %d: %w", opts.Port, err)
	}
	s.udpMux = udpMux

	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(udpMux)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(opts.Loopback)
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	if !opts.DisableTCP {
		network := "tcp4"
		if opts.IPv6 {
			network = "tcp"
		}
		lis, err := net.Listen(network, ":"+strconv.Itoa(opts.Port))
		if err != nil {
			udpMux.Close()
			return nil, fmt.Errorf("webrtc: listen on TCP port %d: %w", opts.Port, err)
		}
		s.tcpLis = lis
		se.SetICETCPMux(webrtc.NewICETCPMux(nil, lis, 64))
		wnets = append(wnets, webrtc.NetworkTypeTCP4)
		if opts.IPv6 {
			wnets = append(wnets, webrtc.NetworkTypeTCP6)
		}
	}
	se.SetNetworkTypes(wnets)
	// Behind 1:1 NAT the local addresses are useless to viewers: replace them. Extra
	// hosts (a second uplink, a VPN address) are offered besides whatever else we have.
	switch {
	case len(opts.PublicIPs) > 0:
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        append(append([]string(nil), opts.PublicIPs...), opts.AdditionalHosts...),
			AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			udpMux.Close()
			return nil, fmt.Errorf("webrtc.public_ips: %w", err)
		}
	case len(opts.AdditionalHosts) > 0:
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: opts.AdditionalHosts, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteAppend,
		}); err != nil {
			udpMux.Close()
			return nil, fmt.Errorf("webrtc.additional_hosts: %w", err)
		}
	}

	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		s.closeListeners()
		return nil, err
	}
	ir := &interceptor.Registry{}
	// NACK responder with a short history: enough for a rural link's retransmissions
	// (about 1 s of 1.5 Mbit/s video) without holding megabytes per viewer.
	responder, err := nack.NewResponderInterceptor(nack.ResponderSize(256))
	if err != nil {
		s.closeListeners()
		return nil, err
	}
	ir.Add(responder)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		s.closeListeners()
		return nil, err
	}
	ir.Add(sr)
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		s.closeListeners()
		return nil, err
	}
	ir.Add(rr)
	if _, err := s.certificate(); err != nil {
		s.closeListeners()
		return nil, err
	}
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir))
	s.log.Info("WebRTC egress ready", "udp_port", opts.Port, "ice_tcp", !opts.DisableTCP, "public_ips", opts.PublicIPs, "ipv6", opts.IPv6)
	return s, nil
}

// certificate returns the shared DTLS certificate, renewed weekly: pion's certificates
// are valid for a month.
func (s *Server) certificate() (webrtc.Certificate, error) {
	s.certMu.Lock()
	defer s.certMu.Unlock()
	if time.Since(s.certMade) < 7*24*time.Hour {
		return s.cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return webrtc.Certificate{}, err
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return webrtc.Certificate{}, err
	}
	s.cert, s.certMade = *cert, time.Now()
	return s.cert, nil
}

// The H.264 profiles we answer with, most compatible first. The bitstream goes out as
// the encoder made it whatever profile is negotiated: browsers' software decoders
// handle High profile even when the SDP says Constrained Baseline, and refusing a viewer
// over a label would be worse.
var h264Profiles = []string{"42e01f", "42001f", "4d001f", "640c1f", "64001f", "f4001f"}

func registerCodecs(me *webrtc.MediaEngine) error {
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	for i, p := range h264Profiles {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
				SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + p,
			},
			PayloadType: webrtc.PayloadType(102 + 2*i),
		}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	audio := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, Channels: 1}, PayloadType: 8},
	}
	for _, c := range audio {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return err
		}
	}
	return nil
}

func capabilityFor(t *stream.Track) webrtc.RTPCodecCapability {
	switch t.Codec {
	case stream.H264:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	case stream.Opus:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"}
	case stream.PCMU:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}
	case stream.PCMA:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, Channels: 1}
	}
	return webrtc.RTPCodecCapability{}
}

// checkOffer parses the offer and says what it can receive, so an unusable offer gets
// a clear 400 instead of a silent black screen.
func checkOffer(offer string) (video, audio map[string]bool, err error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	video, audio = map[string]bool{}, map[string]bool{}
	for _, m := range sd.MediaDescriptions {
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			f := strings.Fields(a.Value)
			if len(f) < 2 {
				continue
			}
			name := strings.ToUpper(strings.SplitN(f[1], "/", 2)[0])
			switch m.MediaName.Media {
			case "video":
				video[name] = true
			case "audio":
				audio[name] = true
			}
		}
	}
	if len(video) == 0 && len(audio) == 0 {
		return nil, nil, fmt.Errorf("%w: no audio or video media sections", ErrBadOffer)
	}
	return video, audio, nil
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Offer answers a WHEP offer for the stream at path and starts sending to the new
// viewer. It returns the SDP answer and the session id for the Location URL.
func (s *Server) Offer(ctx context.Context, path, offer, remote string) (answer, id string, err error) {
	hub := s.registry.Hub(path)
	if hub == nil {
		return "", "", fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	vt, at := hub.WebTracks()
	if vt == nil && at == nil {
		return "", "", fmt.Errorf("%w: %s has nothing a browser can play yet", ErrNotFound, path)
	}
	videoOK, audioOK, err := checkOffer(offer)
	if err != nil {
		return "", "", err
	}
	if vt != nil && !videoOK["H264"] {
		return "", "", fmt.Errorf("%w: the offer does not receive H.264 video", ErrBadOffer)
	}
	if at != nil && !audioOK[strings.ToUpper(string(at.Codec))] {
		// Video alone is still a class; say so in the log.
		s.log.Info("viewer cannot receive the stream's audio codec; sending video only", "stream", path, "codec", at.Codec)
		at = nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", "", stream.ErrHubClosed
	}
	if s.opts.MaxViewers > 0 && len(s.viewers) >= s.opts.MaxViewers {
		s.mu.Unlock()
		return "", "", ErrTooManyViewers
	}
	s.mu.Unlock()

	v, answer, err := s.newViewer(ctx, hub, vt, at, offer, remote)
	if err != nil {
		return "", "", err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		v.close("server closing")
		return "", "", stream.ErrHubClosed
	}
	s.viewers[v.id] = v
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		v.run()
		s.mu.Lock()
		delete(s.viewers, v.id)
		s.mu.Unlock()
	}()
	return answer, v.id, nil
}

// Delete ends a viewer's session.
func (s *Server) Delete(id string) error {
	// Forget the session at once: its teardown finishes in the background, and a
	// second DELETE meanwhile must already find it gone.
	s.mu.Lock()
	v := s.viewers[id]
	delete(s.viewers, id)
	s.mu.Unlock()
	if v == nil {
		return ErrSessionNotFound
	}
	v.close("viewer left (DELETE)")
	return nil
}

// Viewers is the number of connected viewers.
func (s *Server) Viewers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.viewers)
}

func (s *Server) closeListeners() {
	if s.udpMux != nil {
		s.udpMux.Close()
	}
	if s.tcpLis != nil {
		s.tcpLis.Close()
	}
}

// Close ends every viewer session and releases the ports. Safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	viewers := make([]*Viewer, 0, len(s.viewers))
	for _, v := range s.viewers {
		viewers = append(viewers, v)
	}
	s.mu.Unlock()
	for _, v := range viewers {
		v.close("server shutting down")
	}
	s.wg.Wait()
	s.closeListeners()
}
