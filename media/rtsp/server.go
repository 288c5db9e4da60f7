package rtsp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/media/stream"
)

// Credentials says who may publish to a path. ok is false when the path has no
// credentials of its own.
type Credentials func(path string) (user, pass string, ok bool)

// ServerOptions configure the RTSP server.
type ServerOptions struct {
	// Address is the TCP listen address, e.g. ":8554".
	Address string
	// UDPRTPAddress and UDPRTCPAddress enable UDP transport (e.g. ":8000", ":8001");
	// empty disables it.
	UDPRTPAddress, UDPRTCPAddress string
	// Credentials looks up a path's publish credentials.
	Credentials Credentials
	// AnonymousLoopback lets publishers on 127.0.0.1/::1 publish without credentials to
	// paths that have none (development, the demo stream).
	AnonymousLoopback bool
	// Takeover lets a new publisher replace a live one instead of being refused.
	Takeover bool
	// ReadTimeout closes publishers that send nothing for this long.
	ReadTimeout time.Duration
}

// Server takes RTSP publishers and writes their media into the registry's hubs.
type Server struct {
	opts     ServerOptions
	log      *slog.Logger
	registry *stream.Registry
	srv      *gortsplib.Server

	mu       sync.Mutex
	sessions map[*gortsplib.ServerSession]*publishing
}

type publishing struct {
	path      string
	conn      *gortsplib.ServerConn
	publisher *stream.Publisher
	feeder    *feeder
	byMedia   map[*description.Media]*track
	recording bool
}

// NewServer starts listening; it returns once the ports are bound.
func NewServer(opts ServerOptions, registry *stream.Registry, log *slog.Logger) (*Server, error) {
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 10 * time.Second
	}
	s := &Server{opts: opts, log: log.With("component", "rtsp"), registry: registry,
		sessions: map[*gortsplib.ServerSession]*publishing{}}
	s.srv = &gortsplib.Server{
		Handler:        s,
		RTSPAddress:    opts.Address,
		UDPRTPAddress:  opts.UDPRTPAddress,
		UDPRTCPAddress: opts.UDPRTCPAddress,
		ReadTimeout:    opts.ReadTimeout,
		WriteTimeout:   10 * time.Second,
		// Large enough for a 1080p keyframe at a high bitrate arriving in one burst.
		WriteQueueSize:    1024,
		UDPReadBufferSize: 4 << 20,
	}
	if err := s.srv.Start(); err != nil {
		return nil, fmt.Errorf("rtsp: listen on %s: %w", opts.Address, err)
	}
	s.log.Info("RTSP server listening", "address", opts.Address, "udp_rtp", opts.UDPRTPAddress, "udp_rtcp", opts.UDPRTCPAddress)
	return s, nil
}

// Close stops the server and every session. Safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// OnConnOpen implements gortsplib.ServerHandlerOnConnOpen.
func (s *Server) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	s.log.Debug("connection opened", "remote", ctx.Conn.NetConn().RemoteAddr())
}

// OnConnClose implements gortsplib.ServerHandlerOnConnClose. A publisher whose control
// connection is gone has crashed or been unplugged: over UDP its session would
// otherwise live on until the read timeout, holding the path against the encoder's own
// restart.
func (s *Server) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	s.mu.Lock()
	var orphans []*gortsplib.ServerSession
	for sess, p := range s.sessions {
		if p.conn == ctx.Conn {
			orphans = append(orphans, sess)
		}
	}
	s.mu.Unlock()
	for _, sess := range orphans {
		sess.Close()
	}
	var terr liberrors.ErrServerTerminated
	if ctx.Error != nil && !errors.As(ctx.Error, &terr) && !errors.Is(ctx.Error, net.ErrClosed) {
		s.log.Info("connection closed", "remote", ctx.Conn.NetConn().RemoteAddr(), "reason", ctx.Error)
		if strings.Contains(ctx.Error.Error(), "unable to") || strings.Contains(ctx.Error.Error(), "invalid") ||
			strings.Contains(ctx.Error.Error(), "malformed") || strings.Contains(ctx.Error.Error(), "unexpected") {
			metrics.Errors.WithLabelValues("rtsp", "bad_request").Inc()
		}
	}
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (s *Server) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s.mu.Lock()
	p := s.sessions[ctx.Session]
	delete(s.sessions, ctx.Session)
	s.mu.Unlock()
	if p == nil {
		return
	}
	if p.recording {
		metrics.Publishers.WithLabelValues("rtsp-publish").Dec()
	}
	p.publisher.Close()
	s.log.Info("publisher left", "stream", p.path, "reason", ctx.Error)
}

func reply(code base.StatusCode, msg string) *base.Response {
	return &base.Response{StatusCode: code, StatusMessage: msg}
}

// statusConflict is not in the RTSP table, but its HTTP meaning is exactly ours, and
// encoders print the status line, so the reason reaches the operator.
const statusConflict base.StatusCode = 409

// OnDescribe implements gortsplib.ServerHandlerOnDescribe. Reading over RTSP is not
// offered: viewers watch over WebRTC.
func (s *Server) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	path := strings.TrimPrefix(ctx.Path, "/")
	return reply(base.StatusNotFound, "RTSP playback is not offered; watch /live/"+path), nil, nil
}

// OnAnnounce implements gortsplib.ServerHandlerOnAnnounce: the publisher claims a path.
func (s *Server) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	path := strings.TrimPrefix(ctx.Path, "/")
	remote := ctx.Conn.NetConn().RemoteAddr().String()
	log := s.log.With("stream", path, "remote", remote)
	if err := stream.ValidatePath(path); err != nil {
		log.Warn("publish refused: bad path", "error", err)
		metrics.Errors.WithLabelValues("rtsp", "bad_path").Inc()
		return reply(base.StatusBadRequest, "Bad Request: "+err.Error()), nil
	}
	if res, err := s.authorize(ctx.Conn, ctx.Request, path, log); res != nil {
		return res, err
	}
	tracks, infos := tracksFromDescription(ctx.Description, log)
	if len(tracks) == 0 {
		log.Warn("publish refused: no supported track", "medias", len(ctx.Description.Medias))
		metrics.Errors.WithLabelValues("rtsp", "unsupported_codec").Inc()
		return reply(base.StatusUnsupportedMediaType, "Unsupported Media Type: no H.264, H.265, AAC, Opus or G.711 track"), nil
	}
	session := ctx.Session
	pub, err := s.registry.Publish(path, stream.PublishInfo{
		Protocol: "rtsp-publish", Remote: remote, Tracks: infos, Takeover: s.opts.Takeover,
		OnKick: func() { session.Close() },
	})
	if err != nil {
		log.Warn("publish refused", "error", err)
		switch {
		case errors.Is(err, stream.ErrPublisherBusy):
			metrics.Errors.WithLabelValues("rtsp", "busy").Inc()
			return reply(statusConflict, "Conflict: "+err.Error()), nil
		case errors.Is(err, stream.ErrNoTracks):
			return reply(base.StatusUnsupportedMediaType, "Unsupported Media Type: "+err.Error()), nil
		}
		return reply(base.StatusServiceUnavailable, "Service Unavailable: "+err.Error()), nil
	}
	p := &publishing{path: path, conn: ctx.Conn, publisher: pub, byMedia: map[*description.Media]*track{},
		feeder: &feeder{log: log, publisher: pub, protocol: "rtsp-publish"}}
	for _, t := range tracks {
		p.byMedia[t.medi] = t
	}
	s.mu.Lock()
	s.sessions[session] = p
	s.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// authorize checks publish credentials; it returns nil when the publisher may go on.
func (s *Server) authorize(conn *gortsplib.ServerConn, req *base.Request, path string, log *slog.Logger) (*base.Response, error) {
	user, pass, ok := "", "", false
	if s.opts.Credentials != nil {
		user, pass, ok = s.opts.Credentials(path)
	}
	if !ok {
		if s.opts.AnonymousLoopback && isLoopback(conn.NetConn().RemoteAddr()) {
			return nil, nil
		}
		log.Warn("publish refused: path has no publish credentials and the publisher is not on loopback")
		metrics.Errors.WithLabelValues("rtsp", "forbidden").Inc()
		return reply(base.StatusForbidden, "Forbidden: no publish key is configured for this path"), nil
	}
	if !conn.VerifyCredentials(req, user, pass) {
		if req.Header["Authorization"] != nil {
			log.Warn("publish refused: wrong credentials")
			metrics.Errors.WithLabelValues("rtsp", "unauthorized").Inc()
		}
		return reply(base.StatusUnauthorized, "Unauthorized"), liberrors.ErrServerAuth{}
	}
	return nil, nil
}

func isLoopback(a net.Addr) bool {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.IsLoopback()
	}
	return false
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (s *Server) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s.mu.Lock()
	p := s.sessions[ctx.Session]
	s.mu.Unlock()
	if p == nil {
		return reply(base.StatusNotFound, "RTSP playback is not offered; watch over WebRTC"), nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, nil, nil
}

// OnRecord implements gortsplib.ServerHandlerOnRecord: media starts flowing.
func (s *Server) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	s.mu.Lock()
	p := s.sessions[ctx.Session]
	if p != nil {
		p.recording = true
	}
	s.mu.Unlock()
	if p == nil {
		return reply(base.StatusBadRequest, "Bad Request: RECORD without ANNOUNCE"), nil
	}
	metrics.Publishers.WithLabelValues("rtsp-publish").Inc()
	session := ctx.Session
	session.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
		t := p.byMedia[medi]
		if t == nil {
			return
		}
		pts, ok := session.PacketPTS2(medi, pkt)
		if !ok {
			return
		}
		p.feeder.onPacket(t, pkt, pts)
	})
	s.log.Info("publisher recording", "stream", p.path, "transport", session.SetuppedTransport())
	return &base.Response{StatusCode: base.StatusOK}, nil
}
