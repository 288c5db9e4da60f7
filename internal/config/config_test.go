package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "classcast.yml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValid(t *testing.T) {
	c, err := Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Address != ":8080" || c.RTSP.Address != ":8554" || c.WebRTC.Port != 8189 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFileEnvFlagPrecedence(t *testing.T) {
	p := writeFile(t, "http:\n  address: \":9000\"\nhub:\n  idle_timeout: 5s\nstreams:\n  - path: school-a/room-101\n    publish_user: u\n    publish_pass: p\n")
	t.Setenv("CLASSCAST_HUB_IDLE_TIMEOUT", "7s")
	t.Setenv("CLASSCAST_WEBRTC_PUBLIC_IPS", "203.0.113.5,198.51.100.7")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("http.address", ":8080", "")
	fs.String("config", "", "") // not a config key: ignored
	if err := fs.Parse([]string{"--http.address=:9100", "--config=x"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, true, fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Address != ":9100" {
		t.Errorf("flag did not override the file: %q", c.HTTP.Address)
	}
	if c.Hub.IdleTimeout != 7*time.Second {
		t.Errorf("env did not override the file: %s", c.Hub.IdleTimeout)
	}
	if len(c.WebRTC.PublicIPs) != 2 || c.WebRTC.PublicIPs[1] != "198.51.100.7" {
		t.Errorf("list from env: %v", c.WebRTC.PublicIPs)
	}
	if s, ok := c.StreamConfig("school-a/room-101"); !ok || s.PublishUser != "u" {
		t.Errorf("stream config: %+v", s)
	}
	if r := c.Redacted(); r.Streams[0].PublishPass != "xxxxx" || c.Streams[0].PublishPass != "p" {
		t.Error("Redacted must mask the copy only")
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	cases := map[string]string{
		"rtsp:\n  adress: \":1\"\n":                          "adress",
		"webrtc:\n  port: 70000\n":                           "webrtc.port",
		"log:\n  level: loud\n":                              "log.level",
		"rtsp:\n  udp_rtp_address: \":8001\"\n":              "rtsp.udp_rtp_address",
		"streams:\n  - path: \"../etc\"\n":                   "streams[0].path",
		"streams:\n  - path: a\n    source: http://x/\n":     "streams[0].source",
		"hub:\n  idle_timeout: soon\n":                       "idle_timeout",
		"streams:\n  - path: a\n  - path: a\n":               "streams[1].path",
		"webrtc:\n  public_ips: [not-an-ip]\n":               "webrtc.public_ips[0]",
		"streams:\n  - path: a\n    publish_user: only-me\n": "streams[0].publish_user",
	}
	for body, key := range cases {
		_, err := Load(writeFile(t, body), true, nil)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: error %v does not name %s", body, err, key)
		}
	}
}

func TestUnknownEnvIsAnError(t *testing.T) {
	t.Setenv("CLASSCAST_RTSP_ADRESS", ":1")
	if _, err := Load("", false, nil); err == nil || !strings.Contains(err.Error(), "CLASSCAST_RTSP_ADRESS") {
		t.Fatalf("got %v", err)
	}
}

func TestMissingExplicitFile(t *testing.T) {
	if _, err := Load("/nonexistent/classcast.yml", true, nil); err == nil {
		t.Fatal("a missing explicit config file must be an error")
	}
	if _, err := Load("/nonexistent/classcast.yml", false, nil); err != nil {
		t.Fatalf("the default file may be missing: %v", err)
	}
}
