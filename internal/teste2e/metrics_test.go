package teste2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/classcast/classcast/media/whep"
)

func scrape(t *testing.T, s *server) string {
	t.Helper()
	res, err := http.Get(s.HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("metric %s missing", series)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestMetricsCountWhatHappens: an operator's dashboard sees the stream, its publisher,
// its viewer and the bytes moving.
func TestMetricsCountWhatHappens(t *testing.T) {
	s := startServer(t, "")
	const path = "school-a/metrics"
	publishFFmpeg(t, s.RTSP(path), ffmpegOptions{Size: "320x240"})
	waitLive(t, s, path, 15*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	sess, err := whep.Dial(ctx, s.WHEP(path), whep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	select {
	case <-sess.FirstKeyframe():
	case <-ctx.Done():
		t.Fatal("no keyframe")
	}
	time.Sleep(2 * time.Second)
	text := scrape(t, s)
	for series, min := range map[string]float64{
		`classcast_streams{state="live"}`:                   1,
		`classcast_publishers{protocol="rtsp-publish"}`:     1,
		`classcast_viewers{protocol="webrtc"}`:              1,
		`classcast_bytes_in_total{protocol="rtsp-publish"}`: 10000,
		`classcast_bytes_out_total{protocol="webrtc"}`:      10000,
		`classcast_live_transcoders{kind="audio"}`:          1,
		`classcast_viewer_send_delay_seconds_count`:         50,
	} {
		if v := metricValue(t, text, series); v < min {
			t.Errorf("%s = %v, want at least %v", series, v, min)
		}
	}
	sess.Close()
	time.Sleep(time.Second)
	if v := metricValue(t, scrape(t, s), `classcast_viewers{protocol="webrtc"}`); v != 0 {
		t.Errorf("viewers after the viewer left: %v", v)
	}
}
