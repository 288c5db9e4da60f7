package teste2e

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/classcast/classcast/media/whep"
)

// clientAPI is a viewer's WebRTC stack limited to some network types, as a school
// firewall would limit it.
func clientAPI(t *testing.T, networks ...webrtc.NetworkType) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes(networks)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// watchFrames dials a viewer with api and waits for n video frames.
func watchFrames(t *testing.T, url string, api *webrtc.API, n int64) {
	t.Helper()
	var frames atomic.Int64
	got := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := whep.Dial(ctx, url, whep.Options{API: api, OnVideoFrame: func(whep.VideoFrame) {
		if frames.Add(1) == n {
			close(got)
		}
	}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer sess.Close()
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatalf("only %d of %d frames arrived", frames.Load(), n)
	}
}

// TestViewerBehindFirewall: a viewer that may only use TCP reaches the stream over
// ICE-TCP on the WebRTC port; an IPv6-only viewer over UDP on ::1.
func TestViewerBehindFirewall(t *testing.T) {
	s := startServer(t, "", "CLASSCAST_WEBRTC_IPV6=true")
	const path = "school-a/ice"
	publishFFmpeg(t, s.RTSP(path), ffmpegOptions{Size: "320x240"})
	waitLive(t, s, path, 15*time.Second)

	t.Run("ICE-TCP only", func(t *testing.T) {
		watchFrames(t, s.WHEP(path), clientAPI(t, webrtc.NetworkTypeTCP4), 50)
	})
	t.Run("IPv6 only", func(t *testing.T) {
		watchFrames(t, s.WHEP(path), clientAPI(t, webrtc.NetworkTypeUDP6), 50)
	})
}

// TestAnswerAdvertisesConfiguredAddresses: behind NAT the answer carries the public
// address and the extra hosts, on the one WebRTC port, for UDP and TCP.
func TestAnswerAdvertisesConfiguredAddresses(t *testing.T) {
	s := startServer(t, "", "CLASSCAST_WEBRTC_PUBLIC_IPS=203.0.113.5", "CLASSCAST_WEBRTC_ADDITIONAL_HOSTS=198.51.100.7")
	const path = "school-a/nat"
	publishFFmpeg(t, s.RTSP(path), ffmpegOptions{Size: "320x240"})
	waitLive(t, s, path, 15*time.Second)
	status, e, _ := post(t, s.WHEP(path), "application/sdp", browserLikeOffer(t), nil)
	if status != 201 {
		t.Fatalf("offer: %d %v", status, e)
	}
	answer := lastAnswer
	port := itoa(s.ICEPort)
	for _, want := range []string{"203.0.113.5 " + port + " typ host", "198.51.100.7 " + port + " typ host"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks candidate %q:\n%s", want, answer)
		}
	}
	if !strings.Contains(answer, " tcp ") {
		t.Errorf("answer has no ICE-TCP candidate:\n%s", answer)
	}
	if strings.Contains(answer, "127.0.0.1 "+port) {
		t.Errorf("with public_ips set, local addresses should be replaced:\n%s", answer)
	}
}
