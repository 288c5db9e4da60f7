package teste2e

import (
	"fmt"
	"sync"
	"testing"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// camera is an "IP camera" for pull tests: a small RTSP server (gortsplib, like the
// one in its examples/server) that takes one publisher (ffmpeg, standing in for the
// camera's encoder) and serves the same stream to any DESCRIBE/PLAY reader, over TCP
// or UDP. Stopping the publisher ends the stream and drops every reader, as a camera
// that reboots does.
type camera struct {
	t       *testing.T
	Port    int // RTSP
	RTPPort int // UDP RTP; RTCP is the next one
	srv     *gortsplib.Server

	mu      sync.RWMutex
	stream  *gortsplib.ServerStream
	pub     *gortsplib.ServerSession
	closed  bool
	readers []string // transport of each PLAY, e.g. "TCP" or "UDP"
}

// startCamera listens on the given ports (0 picks free ones). Closing it and starting a
// new one on the same ports is a camera coming back at the same address.
func startCamera(t *testing.T, port, rtpPort int) *camera {
	t.Helper()
	if port == 0 {
		port = freeTCPPort(t)
	}
	if rtpPort == 0 {
		rtpPort = freeRTPPair(t)
	}
	c := &camera{t: t, Port: port, RTPPort: rtpPort}
	c.srv = &gortsplib.Server{
		Handler:        c,
		RTSPAddress:    fmt.Sprintf("127.0.0.1:%d", port),
		UDPRTPAddress:  fmt.Sprintf("127.0.0.1:%d", rtpPort),
		UDPRTCPAddress: fmt.Sprintf("127.0.0.1:%d", rtpPort+1),
	}
	if err := c.srv.Start(); err != nil {
		t.Fatalf("camera: listen on %d: %v", port, err)
	}
	t.Cleanup(c.Close)
	return c
}

// URL is where the camera serves its stream (and where its encoder publishes).
func (c *camera) URL() string { return fmt.Sprintf("rtsp://127.0.0.1:%d/cam", c.Port) }

// Live reports whether the camera's encoder is publishing.
func (c *camera) Live() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stream != nil
}

// Close stops the server: every connection, publisher and reader, is dropped.
func (c *camera) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.srv.Close()
}

// OnSessionClose ends the stream when its publisher leaves, which disconnects readers.
func (c *camera) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stream != nil && ctx.Session == c.pub {
		c.stream.Close()
		c.stream, c.pub = nil, nil
	}
}

// OnDescribe serves the published stream, or 404 while there is none.
func (c *camera) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.stream == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// OnAnnounce takes a publisher, replacing any previous one.
func (c *camera) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stream != nil {
		c.stream.Close()
		c.pub.Close()
	}
	st := &gortsplib.ServerStream{Server: c.srv, Desc: ctx.Description}
	if err := st.Initialize(); err != nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	c.stream, c.pub = st, ctx.Session
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSetup accepts the publisher's tracks and gives readers the stream.
func (c *camera) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.stream == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// OnPlay lets a reader start, noting the transport it set up.
func (c *camera) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	tr := "?"
	if t := ctx.Session.SetuppedTransport(); t != nil {
		tr = t.String()
	}
	c.mu.Lock()
	c.readers = append(c.readers, tr)
	c.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// Readers returns the transports of the readers that started playing.
func (c *camera) Readers() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.readers...)
}

// OnRecord forwards the publisher's packets to every reader.
func (c *camera) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	c.mu.RLock()
	st := c.stream
	c.mu.RUnlock()
	ctx.Session.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
		_ = st.WritePacketRTP(medi, pkt)
	})
	return &base.Response{StatusCode: base.StatusOK}, nil
}
