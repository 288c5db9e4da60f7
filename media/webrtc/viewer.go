package webrtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/internal/metrics"
	"github.com/classcast/classcast/media/stream"
)

// Viewer is one WHEP session: a PeerConnection fed by a hub reader.
type Viewer struct {
	id     string
	log    *slog.Logger
	hub    *stream.Hub
	pc     *webrtc.PeerConnection
	video  *webrtc.TrackLocalStaticRTP
	audio  *webrtc.TrackLocalStaticRTP
	server *Server

	ctx       context.Context
	cancel    context.CancelFunc
	connected chan struct{}
	closeOnce sync.Once
	reason    string
	wg        sync.WaitGroup
}

func (s *Server) newViewer(ctx context.Context, hub *stream.Hub, vt, at *stream.Track, offer, remote string) (*Viewer, string, error) {
	cert, err := s.certificate()
	if err != nil {
		return nil, "", err
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
	if err != nil {
		return nil, "", fmt.Errorf("new peer connection: %w", err)
	}
	vctx, cancel := context.WithCancel(context.Background())
	v := &Viewer{id: newID(), hub: hub, pc: pc, server: s, ctx: vctx, cancel: cancel, connected: make(chan struct{})}
	v.log = s.log.With("stream", hub.Path(), "viewer", v.id, "remote", remote)
	fail := func(err error) (*Viewer, string, error) {
		cancel()
		_ = pc.Close()
		return nil, "", err
	}
	if vt != nil {
		v.video, err = webrtc.NewTrackLocalStaticRTP(capabilityFor(vt), "video", "classcast")
		if err != nil {
			return fail(err)
		}
		sender, err := pc.AddTrack(v.video)
		if err != nil {
			return fail(err)
		}
		v.readRTCP(sender)
	}
	if at != nil {
		v.audio, err = webrtc.NewTrackLocalStaticRTP(capabilityFor(at), "audio", "classcast")
		if err != nil {
			return fail(err)
		}
		sender, err := pc.AddTrack(v.audio)
		if err != nil {
			return fail(err)
		}
		v.readRTCP(sender)
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			select {
			case <-v.connected:
			default:
				close(v.connected)
			}
		case webrtc.PeerConnectionStateFailed:
			v.close("connection failed")
		case webrtc.PeerConnectionStateClosed:
			v.close("connection closed")
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	// Host candidates on a mux gather at once; the bound only guards a broken host.
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(3 * time.Second):
	}
	return v, pc.LocalDescription().SDP, nil
}

// readRTCP drains a sender's RTCP (the interceptors only run when it is read) and
// turns picture-loss reports into keyframe requests.
func (v *Viewer) readRTCP(sender *webrtc.RTPSender) {
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					metrics.PLIs.Inc()
					v.hub.RequestKeyframe()
				case *rtcp.TransportLayerNack:
					metrics.NACKs.Inc()
				}
			}
		}
	}()
}

// run waits for the connection, then forwards the hub's units until the viewer leaves
// or the hub closes.
func (v *Viewer) run() {
	defer v.close("")
	metrics.Viewers.WithLabelValues("webrtc").Inc()
	defer metrics.Viewers.WithLabelValues("webrtc").Dec()

	select {
	case <-v.connected:
	case <-v.ctx.Done():
		return
	case <-time.After(v.server.opts.ConnectTimeout):
		v.log.Info("viewer did not connect in time", "timeout", v.server.opts.ConnectTimeout)
		return
	}
	// Subscribe only once connected: the GOP cache is then current, and nothing sent
	// before DTLS completes would reach the browser anyway.
	r, err := v.hub.Subscribe(stream.ReaderOptions{Name: "webrtc", Select: stream.SelectWeb})
	if err != nil {
		v.log.Info("stream closed before the viewer connected")
		return
	}
	defer r.Close()
	v.log.Info("viewer connected")

	bytesOut := metrics.BytesOut.WithLabelValues("webrtc")
	var vm, am munger
	headers := make([]rtp.Header, 0, 64)
	var sent int
	var pkt rtp.Packet
	for {
		u, catchup, err := r.Read(v.ctx)
		if err != nil {
			if errors.Is(err, stream.ErrClosed) {
				v.log.Info("stream ended")
			}
			return
		}
		var track *webrtc.TrackLocalStaticRTP
		var m *munger
		switch u.Track.Kind {
		case stream.Video:
			track, m = v.video, &vm
		case stream.Audio:
			track, m = v.audio, &am
		}
		if track == nil {
			continue
		}
		var ok bool
		headers, ok = m.rewrite(u, catchup, headers[:0])
		if !ok {
			continue
		}
		sent = 0
		for i, h := range headers {
			pkt.Header = h
			pkt.Payload = u.RTP[i].Payload
			if err := track.WriteRTP(&pkt); err != nil {
				if errors.Is(err, io.ErrClosedPipe) {
					return
				}
			}
			sent += 12 + len(pkt.Payload)
		}
		bytesOut.Add(float64(sent))
		if !catchup {
			metrics.SendDelay.Observe(time.Since(u.Received).Seconds())
		}
	}
}

// close ends the session once; reason is logged when not empty.
func (v *Viewer) close(reason string) {
	v.closeOnce.Do(func() {
		v.reason = reason
		v.cancel()
		go func() {
			_ = v.pc.Close()
			v.wg.Wait()
			if reason != "" {
				v.log.Info("viewer session ended", "reason", reason)
			}
		}()
	})
}
