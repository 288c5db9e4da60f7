package teste2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// browserLikeOffer makes a real recvonly offer, as a WHEP player would.
func browserLikeOffer(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return pc.LocalDescription().SDP
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// lastAnswer is the body of the last 201 from post (tests run one at a time).
var lastAnswer string

// post sends a WHEP request and returns the status and the JSON error, if any.
func post(t *testing.T, url, contentType, body string, header map[string]string) (int, apiError, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusCreated {
		lastAnswer = string(b)
	}
	var e apiError
	if res.StatusCode >= 400 {
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("%s: status %d without a JSON error body: %q", url, res.StatusCode, b)
		}
	}
	return res.StatusCode, e, res.Header
}

func streamUnits(t *testing.T, s *server, path string) int {
	t.Helper()
	res, err := http.Get(s.HTTP + "/api/v1/streams/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var in struct {
		UnitsIn int  `json:"units_in"`
		Live    bool `json:"live"`
	}
	_ = json.NewDecoder(res.Body).Decode(&in)
	return in.UnitsIn
}

// TestBadInputOnEveryDoor: garbage and half requests on the RTSP port, malformed
// offers, unknown streams, wrong credentials and tokens, a second publisher and a
// corrupt bitstream. Each gets a clear error; the server and the healthy stream go on.
func TestBadInputOnEveryDoor(t *testing.T) {
	s := startServer(t, `streams:
  - path: secure/room
    publish_user: room
    publish_pass: right-pass
  - path: private/room
    view_token: letmein
`)
	const healthy = "healthy/room"
	publishFFmpeg(t, s.RTSP(healthy), ffmpegOptions{Size: "320x240"})
	waitLive(t, s, healthy, 15*time.Second)
	before := streamUnits(t, s, healthy)

	t.Run("rtsp garbage and half requests", func(t *testing.T) {
		payloads := [][]byte{
			[]byte("\x00\x01\x02garbage\xff\xfe\r\n\r\n"),
			[]byte("OPTIONS rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: 1\r\n"), // never finished
			[]byte("ANNOUNCE rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\nv=0"),
			[]byte("SETUP rtsp://127.0.0.1/x/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: garbage\r\n\r\n"),
			[]byte("RECORD rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: 3\r\n\r\n"),
			[]byte("ANNOUNCE rtsp://127.0.0.1/a/b RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: 20\r\n\r\nthis is not an sdp!!"),
			bytes.Repeat([]byte("A"), 70000),
		}
		for i, p := range payloads {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.RTSPPort))
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(3 * time.Second))
			_, _ = c.Write(p)
			buf := make([]byte, 512)
			n, _ := c.Read(buf)
			if i == 5 && !bytes.Contains(buf[:n], []byte("400")) {
				t.Errorf("an ANNOUNCE with a broken SDP should get 400, got %q", buf[:n])
			}
			c.Close()
		}
		s.alive()
	})

	t.Run("whep errors", func(t *testing.T) {
		offer := browserLikeOffer(t)
		cases := []struct {
			name, path, ctype, body string
			header                  map[string]string
			status                  int
		}{
			{"unknown stream", "nobody/here", "application/sdp", offer, nil, 404},
			{"malformed offer", healthy, "application/sdp", "v=0\r\nthis is not sdp", nil, 400},
			{"offer without media", healthy, "application/sdp", "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", nil, 400},
			{"offer without H.264", healthy, "application/sdp", strings.ReplaceAll(offer, "H264", "XXXX"), nil, 400},
			{"wrong content type", healthy, "text/plain", offer, nil, 415},
			{"bad path", "a%20b", "application/sdp", offer, nil, 400},
			{"private without token", "private/room", "application/sdp", offer, nil, 401},
			{"private with a wrong token", "private/room", "application/sdp", offer, map[string]string{"Authorization": "Bearer nope"}, 403},
		}
		for _, c := range cases {
			status, e, h := post(t, s.WHEP(c.path), c.ctype, c.body, c.header)
			if status != c.status {
				t.Errorf("%s: status %d (%s: %s), want %d", c.name, status, e.Error.Code, e.Error.Message, c.status)
			}
			if c.status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: no WWW-Authenticate: Bearer", c.name)
			}
		}
		// The healthy stream answers a good offer.
		if status, e, h := post(t, s.WHEP(healthy), "application/sdp", offer, nil); status != 201 || h.Get("Location") == "" {
			t.Errorf("good offer: %d %v", status, e)
		} else {
			req, _ := http.NewRequest(http.MethodDelete, s.HTTP+h.Get("Location"), nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != 200 {
				t.Errorf("DELETE session: %v %v", err, res)
			}
			req, _ = http.NewRequest(http.MethodDelete, s.HTTP+h.Get("Location"), nil)
			if res, _ := http.DefaultClient.Do(req); res == nil || res.StatusCode != 404 {
				t.Errorf("DELETE of an ended session should be 404")
			}
		}
	})

	t.Run("publish credentials", func(t *testing.T) {
		wrong := publishFFmpeg(t, s.RTSP("secure/room"), ffmpegOptions{Size: "320x240", User: "room", Pass: "wrong"})
		select {
		case <-wrong.exited:
		case <-time.After(10 * time.Second):
			t.Fatal("ffmpeg with a wrong password was not refused")
		}
		if !strings.Contains(wrong.out.String(), "401") {
			t.Errorf("ffmpeg should report 401, said: %s", wrong.out.String())
		}
		if !strings.Contains(s.Log(), "wrong credentials") {
			t.Error("no log line for the wrong credentials")
		}
		right := publishFFmpeg(t, s.RTSP("secure/room"), ffmpegOptions{Size: "320x240", User: "room", Pass: "right-pass"})
		waitLive(t, s, "secure/room", 15*time.Second)
		right.stop()
	})

	t.Run("second publisher", func(t *testing.T) {
		second := publishFFmpeg(t, s.RTSP(healthy), ffmpegOptions{Size: "320x240"})
		select {
		case <-second.exited:
		case <-time.After(10 * time.Second):
			t.Fatal("a second publisher on a live path was not refused")
		}
		if !strings.Contains(second.out.String(), "409") {
			t.Errorf("ffmpeg should report 409 Conflict, said: %s", second.out.String())
		}
	})

	t.Run("corrupt bitstream", func(t *testing.T) {
		bad := publishFFmpeg(t, s.RTSP("corrupt/room"), ffmpegOptions{Size: "320x240",
			Extra: []string{"-bsf:v", "noise=amount=200", "-bsf:a", "noise=amount=50"}})
		waitLive(t, s, "corrupt/room", 15*time.Second)
		offer := browserLikeOffer(t)
		if status, e, _ := post(t, s.WHEP("corrupt/room"), "application/sdp", offer, nil); status != 201 {
			t.Errorf("viewer of a corrupt stream: %d %v", status, e)
		}
		time.Sleep(5 * time.Second)
		bad.stop()
		s.alive()
	})

	after := streamUnits(t, s, healthy)
	if after <= before+100 {
		t.Errorf("the healthy stream stalled while the others misbehaved: %d → %d units", before, after)
	}
	s.alive()
}
