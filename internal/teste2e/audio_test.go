package teste2e

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/classcast/classcast/media/whep"
)

// TestEncoderAudioCodecs: encoders that send Opus or G.711 instead of AAC are heard
// too; Opus and G.711 go to the browser as they are, without a transcoder.
func TestEncoderAudioCodecs(t *testing.T) {
	s := startServer(t, "")
	for _, c := range []struct {
		audio, webAudio string
		packetsPerSec   int
	}{
		{"opus", "Opus", 50},
		{"pcmu", "PCMU", 25},
		{"pcma", "PCMA", 25},
	} {
		t.Run(c.audio, func(t *testing.T) {
			path := "codecs/" + c.audio
			pub := publishFFmpeg(t, s.RTSP(path), ffmpegOptions{Size: "320x240", Audio: c.audio})
			defer pub.stop()
			waitLive(t, s, path, 15*time.Second)

			res, err := http.Get(s.HTTP + "/api/v1/streams/" + path)
			if err != nil {
				t.Fatal(err)
			}
			var info struct {
				WebAudio  string   `json:"web_audio"`
				Transcode []string `json:"live_transcoding"`
			}
			_ = json.NewDecoder(res.Body).Decode(&info)
			res.Body.Close()
			if want := "1:audio/" + c.webAudio; info.WebAudio != want {
				t.Errorf("web audio %q, want %q", info.WebAudio, want)
			}
			if len(info.Transcode) != 0 {
				t.Errorf("%s should pass through, but the server transcodes: %v", c.audio, info.Transcode)
			}

			var audio, video atomic.Int64
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			sess, err := whep.Dial(ctx, s.WHEP(path), whep.Options{
				OnAudioPacket: func(whep.AudioPacket) { audio.Add(1) },
				OnVideoFrame:  func(whep.VideoFrame) { video.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			time.Sleep(3 * time.Second)
			// ffmpeg's G.711 packets carry 40 ms, so fewer packets than Opus's 20 ms.
			if a := audio.Load(); a < int64(c.packetsPerSec)*2 {
				t.Errorf("%d audio packets in 3 s", a)
			}
			if v := video.Load(); v < 40 {
				t.Errorf("%d video frames in 3 s", v)
			}
		})
	}
}
