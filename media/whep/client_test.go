package whep_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/classcast/classcast/media/sei"
	"github.com/classcast/classcast/media/whep"
	"github.com/classcast/classcast/media/whep/wheptest"
)

// feeder writes a synthetic stream into a test server: 25 fps H.264 with a
// keyframe every gop frames, each access unit led by a timestamp SEI, and
// 50 Opus packets a second.
type feeder struct {
	srv *wheptest.Server
	gop int

	stop chan struct{}
	wg   sync.WaitGroup
}

func keyframe(seq uint32) [][]byte {
	return [][]byte{
		sei.New(time.Now(), seq),
		{0x67, 0x42, 0xe0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8},
		{0x68, 0xce, 0x3c, 0x80},
		append([]byte{0x65, 0x88}, bytes.Repeat([]byte{0xab}, 6000)...), // several FU-A packets
	}
}

func pframe(seq uint32) [][]byte {
	return [][]byte{
		sei.New(time.Now(), seq),
		append([]byte{0x41, 0x9a}, bytes.Repeat([]byte{0xcd}, 1500)...),
	}
}

func startFeeder(t *testing.T, srv *wheptest.Server, gop int) *feeder {
	f := &feeder{srv: srv, gop: gop, stop: make(chan struct{})}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-f.stop:
				return
			case <-tick.C:
			}
			srv.WriteAudio([]byte{0xfc, 0xff, 0xfe}, uint16(i), uint32(i*960))
			if i%2 == 0 {
				n := uint32(i / 2)
				au := pframe(n)
				if int(n)%f.gop == 0 {
					au = keyframe(n)
				}
				if err := srv.WriteVideo(au, n*3600); err != nil {
					t.Errorf("write video: %v", err)
					return
				}
			}
		}
	}()
	t.Cleanup(f.close)
	return f
}

func (f *feeder) close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	f.wg.Wait()
}

func newServer(t *testing.T, cfg wheptest.Config) *wheptest.Server {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = "school-a/room-101"
	}
	srv, err := wheptest.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// checkNoLeak waits for the goroutine count to come back to base; pion's
// goroutines end shortly after Close returns, so it polls. Kept-alive HTTP
// connections belong to the HTTP client, not to a session: they are closed
// first.
func checkNoLeak(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		http.DefaultClient.CloseIdleConnections()
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want <= %d:\n%s", n, base, buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestDialReceiveClose(t *testing.T) {
	srv := newServer(t, wheptest.Config{Token: "s3cret"})
	feed := startFeeder(t, srv, 25)
	time.Sleep(100 * time.Millisecond) // let the GOP cache fill
	base := runtime.NumGoroutine()

	var (
		mu       sync.Mutex
		frames   []whep.VideoFrame
		lastSEI  uint32
		audio    atomic.Int64
		seiCount int
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := whep.Dial(ctx, srv.Endpoint(), whep.Options{
		Token: "s3cret",
		OnVideoFrame: func(f whep.VideoFrame) {
			mu.Lock()
			defer mu.Unlock()
			frames = append(frames, f)
			if _, seq, ok := sei.Find(f.AU); ok {
				if seiCount > 0 && seq != lastSEI+1 {
					t.Errorf("SEI seq %d after %d", seq, lastSEI)
				}
				lastSEI = seq
				seiCount++
			}
		},
		OnAudioPacket: func(p whep.AudioPacket) {
			if len(p.Payload) != 3 {
				t.Errorf("audio payload %x", p.Payload)
			}
			audio.Add(1)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Location(), srv.URL()+"/whep/sessions/") {
		t.Fatalf("Location %q not resolved against %s", s.Location(), srv.URL())
	}
	wait(t, s.Connected(), "ICE connected")
	wait(t, s.FirstKeyframe(), "first keyframe")
	time.Sleep(1500 * time.Millisecond)

	mu.Lock()
	if len(frames) < 30 {
		t.Errorf("%d frames in 1.5 s, want >= 30", len(frames))
	}
	if len(frames) > 0 {
		f := frames[0]
		if !f.Keyframe || len(f.AU) != 4 || len(f.AU[3]) != 6002 || f.AU[3][0] != 0x65 {
			t.Errorf("first frame: keyframe %v, %d NAL units", f.Keyframe, len(f.AU))
		}
		if f.ReceivedAt.IsZero() {
			t.Error("ReceivedAt not set")
		}
	}
	if seiCount != len(frames) {
		t.Errorf("%d SEIs in %d frames", seiCount, len(frames))
	}
	mu.Unlock()
	if audio.Load() < 50 {
		t.Errorf("%d audio packets, want >= 50", audio.Load())
	}

	tm := s.Timing()
	if tm.POST.IsZero() || tm.Answer.Before(tm.POST) || tm.ICEConnected.Before(tm.Answer) ||
		tm.FirstRTP.Before(tm.ICEConnected) || tm.FirstKeyframe.Before(tm.FirstRTP) {
		t.Errorf("timing out of order: %+v", tm)
	}
	st := s.Stats()
	if st.Video.Packets == 0 || st.Video.Bytes < st.Video.Packets*100 || st.Video.Lost != 0 || st.Audio.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
	if st.Video.Frames == 0 || st.Audio.Packets == 0 {
		t.Errorf("stats %+v", st)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if srv.Deletes() != 1 || srv.Viewers() != 0 {
		t.Fatalf("server saw %d DELETEs, has %d viewers", srv.Deletes(), srv.Viewers())
	}
	<-s.Done()
	if !errors.Is(s.Err(), whep.ErrClosed) {
		t.Fatalf("Err = %v", s.Err())
	}
	feed.close()
	checkNoLeak(t, base)
}

func TestHTTPErrors(t *testing.T) {
	srv := newServer(t, wheptest.Config{Token: "s3cret"})
	base := runtime.NumGoroutine()
	cases := []struct {
		name, url, token string
		status           int
		code             string
	}{
		{"no token", srv.Endpoint(), "", 401, "unauthorized"},
		{"wrong token", srv.Endpoint(), "nope", 403, "forbidden"},
		{"unknown stream", srv.URL() + "/whep/nobody/here", "s3cret", 404, "stream_not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := whep.Dial(ctx, c.url, whep.Options{Token: c.token})
			if err == nil {
				s.Close()
				t.Fatal("Dial succeeded")
			}
			var he *whep.HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("error %T %v, want *HTTPError", err, err)
			}
			if he.Status != c.status || he.Code != c.code || he.Message == "" {
				t.Fatalf("got %+v, want %d %s", he, c.status, c.code)
			}
		})
	}
	checkNoLeak(t, base)
}

func TestDialCancelled(t *testing.T) {
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := whep.Dial(ctx, "http://127.0.0.1:1/whep/x", whep.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	checkNoLeak(t, base)
}

func TestNonJSONError(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream is down", http.StatusBadGateway)
	})
	hs := &http.Server{Handler: mux}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = whep.Dial(ctx, "http://"+ln.Addr().String()+"/whep/x", whep.Options{})
	var he *whep.HTTPError
	if !errors.As(err, &he) || he.Status != 502 || he.Code != "" || he.Message != "upstream is down" {
		t.Fatalf("err = %v", err)
	}
}

// A packet lost for good: the frame it belongs to and those after it are
// skipped until the next keyframe, a PLI goes out, and the loss is counted.
func TestLossSkipsToKeyframe(t *testing.T) {
	var dropped atomic.Int64
	srv := newServer(t, wheptest.Config{DropVideo: func(_ int, pkt *rtp.Packet) bool {
		// Drop the SEI packet of the fourth frame of a GOP, once: that
		// frame and the six after it cannot be decoded.
		if _, seq, ok := sei.Parse(pkt.Payload); ok && seq%10 == 3 && seq > 10 && dropped.Load() == 0 {
			dropped.Add(1)
			return true
		}
		return false
	}})
	startFeeder(t, srv, 10)
	var frames, keyframes atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := whep.Dial(ctx, srv.Endpoint(), whep.Options{
		ReorderWait: 50 * time.Millisecond,
		OnVideoFrame: func(f whep.VideoFrame) {
			frames.Add(1)
			if f.Keyframe {
				keyframes.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(10 * time.Second)
	for dropped.Load() == 0 || keyframes.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("dropped %d, keyframes %d", dropped.Load(), keyframes.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	st := s.Stats()
	if st.Video.Lost != 1 {
		t.Errorf("lost %d, want 1: %+v", st.Video.Lost, st)
	}
	if st.PLIsSent == 0 || srv.PLIs() == 0 {
		t.Errorf("PLIs sent %d, received by server %d", st.PLIsSent, srv.PLIs())
	}
	if st.Video.Skipped != 7 {
		t.Errorf("no frame skipped after loss: %+v", st)
	}
	if st.NACKsSent == 0 {
		t.Errorf("no NACK sent for the lost packet: %+v", st)
	}
	if got := frames.Load(); got != int64(st.Video.Frames) {
		t.Errorf("callback saw %d frames, stats %d", got, st.Video.Frames)
	}
}

// Many sessions in one process, as the load tool runs them.
func TestManySessions(t *testing.T) {
	const n = 20
	srv := newServer(t, wheptest.Config{})
	feed := startFeeder(t, srv, 25)
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()

	sessions := make([]*whep.Session, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := whep.Dial(ctx, srv.Endpoint(), whep.Options{})
			if err != nil {
				errs <- err
				return
			}
			sessions[i] = s
			select {
			case <-s.FirstKeyframe():
			case <-ctx.Done():
				errs <- fmt.Errorf("session %d: no keyframe", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Both ends of each session run in this process: this counts client and
	// test-server goroutines together.
	t.Logf("%.1f goroutines per session, client and server together", float64(runtime.NumGoroutine()-base)/n)
	for _, s := range sessions {
		if s != nil {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		}
	}
	if srv.Viewers() != 0 {
		t.Errorf("%d viewers left on the server", srv.Viewers())
	}
	feed.close()
	checkNoLeak(t, base)
}
