package teste2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// sourceStatus is one entry of GET /api/v1/sources.
type sourceStatus struct {
	Path        string    `json:"path"`
	Source      string    `json:"source"`
	State       string    `json:"state"`
	Since       time.Time `json:"since"`
	LastError   string    `json:"last_error"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// sources returns the server's pull sources by path.
func sources(t *testing.T, s *server) map[string]sourceStatus {
	t.Helper()
	res, err := http.Get(s.HTTP + "/api/v1/sources")
	if err != nil {
		t.Fatalf("GET /api/v1/sources: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/sources: status %d", res.StatusCode)
	}
	var body struct {
		Sources []sourceStatus `json:"sources"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("GET /api/v1/sources: %v", err)
	}
	out := map[string]sourceStatus{}
	for _, st := range body.Sources {
		out[st.Path] = st
	}
	return out
}

// waitSources waits until every path's pull source is in state, and returns them.
func waitSources(t *testing.T, s *server, paths []string, state string, timeout time.Duration) map[string]sourceStatus {
	t.Helper()
	var last map[string]sourceStatus
	deadline := time.Now().Add(timeout)
	for {
		last = sources(t, s)
		all := true
		for _, p := range paths {
			if last[p].State != state {
				all = false
			}
		}
		if all {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("pull sources not %q within %s: %+v\nserver log:\n%s", state, timeout, last, tail(s.Log(), 30))
		}
		s.alive()
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPullSource: classcast pulls an IP camera (a real RTSP server fed by a real
// encoder) over TCP and over UDP. Viewers get the picture and sound; when the camera
// goes away the API says so, and when it comes back at the same address the server
// finds it again on its own, within its backoff, and the viewers who stayed get the
// picture back without reconnecting.
func TestPullSource(t *testing.T) {
	cam := startCamera(t, 0, 0)
	camOpts := ffmpegOptions{Size: "320x240"}
	camPub := publishFFmpeg(t, cam.URL(), camOpts)
	eventually(t, 15*time.Second, "the camera's encoder publishing", cam.Live)

	paths := []string{"cam/one", "cam/udp"}
	s := startServer(t, fmt.Sprintf(`streams:
  - path: cam/one
    source: %s
    source_transport: tcp
  - path: cam/udp
    source: %s
    source_transport: udp
`, cam.URL(), cam.URL()))
	for _, p := range paths {
		waitLive(t, s, p, 15*time.Second)
	}
	waitSources(t, s, paths, "live", 5*time.Second)
	// One reader per transport: the UDP source really pulls over UDP.
	if r := strings.Join(sortedCopy(cam.Readers()), ","); r != "TCP,UDP" {
		t.Errorf("the camera's readers used %q, want one TCP and one UDP", r)
	}

	viewers := map[string]*viewer{}
	for _, p := range paths {
		viewers[p] = watch(t, s.WHEP(p))
	}
	for _, p := range paths {
		v := viewers[p]
		v.waitKeyframe(t, 5*time.Second)
		eventually(t, 10*time.Second, p+": 50 frames and 100 Opus packets", func() bool {
			f, a := v.since(time.Time{})
			return f >= 50 && a >= 100
		})
		frames, _ := v.snapshot()
		if !frames[0].key || frames[0].skipped != 0 {
			t.Errorf("%s: first frame keyframe %v, %d skipped before it", p, frames[0].key, frames[0].skipped)
		}
	}

	// The camera reboots: its encoder stops and its RTSP server goes away.
	camPub.stop()
	cam.Close()
	down := time.Now()
	st := waitSources(t, s, paths, "backoff", 15*time.Second)
	for _, p := range paths {
		t.Logf("%s %v after the camera went down: %+v", p, time.Since(down).Round(time.Millisecond), st[p])
		if st[p].LastError == "" {
			t.Errorf("%s is in backoff without last_error", p)
		}
		if st[p].NextAttempt.IsZero() {
			t.Errorf("%s is in backoff without next_attempt", p)
		}
	}
	// Let a retry or two fail against the closed port, as happens while a camera boots.
	time.Sleep(1500 * time.Millisecond)
	for p, st := range sources(t, s) {
		t.Logf("%s while the camera is away: state %s, last_error %q, attempts %d", p, st.State, st.LastError, st.Attempts)
	}

	// Back at the same address.
	cam = startCamera(t, cam.Port, cam.RTPPort)
	camPub = publishFFmpeg(t, cam.URL(), camOpts)
	defer camPub.stop()
	eventually(t, 15*time.Second, "the camera's encoder publishing again", cam.Live)
	back := time.Now()
	before := sources(t, s)
	// The server retries after 1, 2, 4, 8 s...: the next retry is at most twice the
	// time the camera was away, here well under 10 s.
	st = waitSources(t, s, paths, "live", 12*time.Second)
	for _, p := range paths {
		t.Logf("%s live again %v after the camera came back (attempts %d → %d, next attempt was %v)",
			p, time.Since(back).Round(time.Millisecond), before[p].Attempts, st[p].Attempts, before[p].NextAttempt.Sub(back).Round(time.Millisecond))
	}

	for _, p := range paths {
		v := viewers[p]
		eventually(t, 10*time.Second, p+": the viewer who stayed gets 50 frames and 100 Opus packets again", func() bool {
			select {
			case <-v.s.Done():
				t.Fatalf("%s: the WHEP session ended while the camera was away: %v", p, v.s.Err())
			default:
			}
			f, a := v.since(back)
			return f >= 50 && a >= 100
		})
		frames, _ := v.snapshot()
		var ts []uint32
		for _, f := range frames {
			ts = append(ts, f.ts)
		}
		if bad := checkMonotonic(ts); bad != "" {
			t.Errorf("%s: video RTP timestamps go backwards across the camera restart: %s", p, bad)
		}
		if bad := checkLeaps(frames); bad != "" {
			t.Errorf("%s: video RTP timestamps leap ahead across the camera restart: %s", p, bad)
		}
		for _, f := range frames {
			if f.at.After(back) {
				if !f.key {
					t.Errorf("%s: the first frame after the camera came back is not a keyframe", p)
				}
				break
			}
		}

		// A viewer who arrives now starts at once.
		nv := watch(t, s.WHEP(p))
		nv.waitKeyframe(t, 5*time.Second)
		tm := nv.s.Timing()
		t.Logf("%s: new viewer's first keyframe %v after its POST", p, tm.FirstKeyframe.Sub(tm.POST).Round(time.Millisecond))
		if d := tm.FirstKeyframe.Sub(tm.POST); d > time.Second {
			t.Errorf("%s: new viewer waited %v for its first keyframe", p, d)
		}
	}
	s.alive()
}
