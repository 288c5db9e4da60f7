package record

import (
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/classcast/classcast/media/rtsp"
)

// TestRecordRTSPPublish records what the ffmpeg CLI publishes to the real RTSP server:
// H.264 with B-frames and AAC, RTP timestamps and all.
func TestRecordRTSPPublish(t *testing.T) {
	m := clip(t, "h264_bframes_4s", 4, "libx264", "aac", "-g", "25", "-bf", "2", "-profile:v", "high")
	h := newHarness(t, t.TempDir(), Options{SegmentDuration: time.Second, Grace: 200 * time.Millisecond}, time.Minute)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv, err := rtsp.NewServer(rtsp.ServerOptions{Address: addr, AnonymousLoopback: true}, h.reg, h.log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", m.file,
		"-c:v", "copy", "-c:a", "aac", "-f", "rtsp", "-rtsp_transport", "tcp", "rtsp://"+addr+"/school-b/room-7")
	done := make(chan error, 1)
	var out []byte
	go func() {
		var err error
		out, err = cmd.CombinedOutput()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ffmpeg publish: %v\n%s", err, out)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("ffmpeg publish did not end in 20 s")
	}
	in := h.waitFinalized(10 * time.Second)
	if in.Path != "school-b/room-7" {
		t.Errorf("recorded path %q", in.Path)
	}
	checkRecording(t, in, 4, m.videoFrames, "h264", "aac")
	dts, _ := videoTimes(t, in.File)
	for i := 1; i < len(dts); i++ {
		if dts[i] <= dts[i-1] {
			t.Fatalf("packet %d: DTS %.4f after %.4f", i, dts[i], dts[i-1])
		}
	}
}
