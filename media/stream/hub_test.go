package stream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"
)

func testRegistry(t *testing.T) *Registry {
	t.Helper()
	r := NewRegistry(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Second)
	t.Cleanup(r.Close)
	return r
}

// videoOnly publishes one H.264 track; frames are tiny fake AUs with a valid NAL
// header: the hub only looks at NAL types, never decodes.
func videoOnly(t *testing.T, r *Registry, path string) *Publisher {
	t.Helper()
	p, err := r.Publish(path, PublishInfo{Protocol: "test", Remote: "test",
		Tracks: []Track{{Kind: Video, Codec: H264, ClockRate: 90000, Params: [][]byte{{0x67, 0x42, 0xc0, 0x1f}, {0x68, 0xce}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeGOP writes one keyframe and n-1 P frames of size bytes each.
func writeGOP(p *Publisher, pts *int64, n, size int) {
	for i := range n {
		nal := make([]byte, size)
		nal[0] = 0x41 // non-IDR slice
		if i == 0 {
			nal[0] = 0x65 // IDR
		}
		p.Write(0, *pts, [][]byte{nal}, nil)
		*pts += 3600
	}
}

func TestNewReaderStartsOnCachedKeyframe(t *testing.T) {
	r := testRegistry(t)
	p := videoOnly(t, r, "a/b")
	var pts int64
	writeGOP(p, &pts, 10, 100)
	writeGOP(p, &pts, 7, 100) // the cache now holds this GOP only

	rd, err := r.Hub("a/b").Subscribe(ReaderOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for i := range 7 {
		u, catchup, err := rd.Read(ctx)
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
		if !catchup {
			t.Fatalf("unit %d from the cache not marked catch-up", i)
		}
		if i == 0 {
			if !u.Key {
				t.Fatal("first unit is not a keyframe")
			}
			// The SDP's parameter sets were put in front of the IDR.
			if len(u.NALUs) != 3 || u.NALUs[0][0]&0x1f != 7 || u.NALUs[1][0]&0x1f != 8 {
				t.Fatalf("keyframe lacks in-band SPS/PPS: %d NAL units", len(u.NALUs))
			}
		}
	}
	// Live after the cache.
	writeGOP(p, &pts, 1, 100)
	u, catchup, err := rd.Read(ctx)
	if err != nil || catchup || !u.Key {
		t.Fatalf("live unit: err=%v catchup=%v key=%v", err, catchup, u != nil && u.Key)
	}
}

func TestRTPContinuousAcrossPublisherRestart(t *testing.T) {
	r := testRegistry(t)
	p := videoOnly(t, r, "a/b")
	rd, _ := r.Hub("a/b").Subscribe(ReaderOptions{Name: "test"})
	defer rd.Close()
	var pts int64 = 1_000_000
	writeGOP(p, &pts, 3, 3000) // 3 packets per frame
	p.Close()
	p2 := videoOnly(t, r, "a/b")
	pts = 5 // a new encoder starts its clock anywhere
	writeGOP(p2, &pts, 3, 3000)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var lastSeq uint16
	var lastTS uint32
	for i := range 6 {
		u, _, err := rd.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for j, pkt := range u.RTP {
			if (i > 0 || j > 0) && pkt.SequenceNumber != lastSeq+1 {
				t.Fatalf("unit %d packet %d: sequence %d after %d", i, j, pkt.SequenceNumber, lastSeq)
			}
			if len(pkt.Payload) > MaxRTPPayload {
				t.Fatalf("payload %d > %d", len(pkt.Payload), MaxRTPPayload)
			}
			lastSeq = pkt.SequenceNumber
		}
		ts := u.RTP[0].Timestamp
		if i > 0 && int32(ts-lastTS) <= 0 {
			t.Fatalf("unit %d: timestamp %d not after %d (the restart must continue the timeline)", i, ts, lastTS)
		}
		lastTS = ts
	}
}

// A reader that stops reading must not slow the publisher or the other readers, and
// must not hold more than its queue.
func TestStalledReaderDoesNotSlowOthers(t *testing.T) {
	r := testRegistry(t)
	p := videoOnly(t, r, "a/b")
	h := r.Hub("a/b")
	stalled, _ := h.Subscribe(ReaderOptions{Name: "stalled", QueueSize: 64})
	defer stalled.Close()

	const readers = 20
	const gops, gopLen = 40, 50
	var wg sync.WaitGroup
	got := make([]int, readers)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range readers {
		rd, _ := h.Subscribe(ReaderOptions{Name: "ok", QueueSize: 4096})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer rd.Close()
			for got[i] < gops*gopLen {
				if _, _, err := rd.Read(ctx); err != nil {
					return
				}
				got[i]++
			}
		}()
	}
	var pts int64
	start := time.Now()
	for range gops {
		writeGOP(p, &pts, gopLen, 2000)
	}
	writeDur := time.Since(start)
	wg.Wait()
	for i, n := range got {
		if n != gops*gopLen {
			t.Fatalf("reader %d got %d of %d units", i, n, gops*gopLen)
		}
	}
	if d := stalled.Drops(); d < uint64(gops*gopLen-64) {
		t.Fatalf("stalled reader dropped only %d units", d)
	}
	stalled.mu.Lock()
	queued := stalled.n
	stalled.mu.Unlock()
	if queued > 64 {
		t.Fatalf("stalled reader holds %d units, more than its queue", queued)
	}
	t.Logf("wrote %d units to %d readers + 1 stalled in %s", gops*gopLen, readers, writeDur)

	// It resumes on a keyframe once it reads again.
	writeGOP(p, &pts, 2, 100)
	for {
		u, _, err := stalled.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u.Size() < 200 { // the small GOP written just now (the key carries SPS/PPS too)
			if !u.Key {
				// The backlog's first entry after a resync must be a keyframe.
				t.Fatal("stalled reader resumed on a non-keyframe")
			}
			break
		}
	}
}

func TestSecondPublisherRefusedUnlessTakeover(t *testing.T) {
	r := testRegistry(t)
	videoOnly(t, r, "a/b")
	_, err := r.Publish("a/b", PublishInfo{Tracks: []Track{{Kind: Video, Codec: H264, ClockRate: 90000}}})
	if !errors.Is(err, ErrPublisherBusy) {
		t.Fatalf("second publisher: got %v, want ErrPublisherBusy", err)
	}
	kicked := make(chan struct{})
	first := r.Hub("a/b").publisher
	first.info.OnKick = func() { close(kicked) }
	_, err = r.Publish("a/b", PublishInfo{Tracks: []Track{{Kind: Video, Codec: H264, ClockRate: 90000}},
		Takeover: true})
	if err != nil {
		t.Fatalf("takeover: %v", err)
	}
	select {
	case <-kicked:
	case <-time.After(time.Second):
		t.Fatal("the replaced publisher was not told")
	}
}

func TestIdleHubClosesReaders(t *testing.T) {
	r := testRegistry(t) // 1 s idle timeout
	p := videoOnly(t, r, "a/b")
	rd, _ := r.Hub("a/b").Subscribe(ReaderOptions{})
	p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := rd.Read(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after idle timeout: %v, want ErrClosed", err)
	}
	if r.Hub("a/b") != nil {
		t.Fatal("idle hub still registered")
	}
}

func TestValidatePath(t *testing.T) {
	for _, ok := range []string{"a", "school-a/room-101", "x_y/z.1"} {
		if err := ValidatePath(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", "../x", "a/../b", "a b", "a?b", "学校", string(make([]byte, 129))} {
		if ValidatePath(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func BenchmarkFanout400(b *testing.B) {
	r := NewRegistry(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Second)
	defer r.Close()
	p, _ := r.Publish("a", PublishInfo{Tracks: []Track{{Kind: Video, Codec: H264, ClockRate: 90000}}})
	h := r.Hub("a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 400 {
		rd, _ := h.Subscribe(ReaderOptions{})
		go func() {
			for {
				if _, _, err := rd.Read(ctx); err != nil {
					return
				}
			}
		}()
	}
	nal := make([]byte, 7000)
	nal[0] = 0x65
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p.Write(0, int64(i)*3600, [][]byte{nal}, nil)
	}
	b.StopTimer()
	runtime.GC()
}

func TestNoStalePictureAfterPublisherLeaves(t *testing.T) {
	r := testRegistry(t)
	p := videoOnly(t, r, "a/b")
	var pts int64
	writeGOP(p, &pts, 5, 100)
	p.Close()
	rd, err := r.Hub("a/b").Subscribe(ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if u, _, err := rd.Read(ctx); err == nil {
		t.Fatalf("a reader joining an idle stream got a cached unit (key=%v)", u.Key)
	}
}

func TestOnPublisherEvents(t *testing.T) {
	r := testRegistry(t)
	var mu sync.Mutex
	var got []PublisherEvent
	remove := r.OnPublisher(func(ev PublisherEvent) {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	})
	before := time.Now()
	p1 := videoOnly(t, r, "a/b")
	var pts int64
	writeGOP(p1, &pts, 3, 10)
	p2, err := r.Publish("a/b", PublishInfo{Protocol: "test", Remote: "second", Takeover: true,
		Tracks: []Track{{Kind: Video, Codec: H264, ClockRate: 90000}}})
	if err != nil {
		t.Fatal(err)
	}
	p1.Close() // already replaced: no event
	p2.Close()
	p2.Close()
	remove()
	p3 := videoOnly(t, r, "a/b")
	defer p3.Close()

	mu.Lock()
	defer mu.Unlock()
	want := []bool{true, true, false}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(got), len(want), got)
	}
	hub := r.Hub("a/b")
	for i, ev := range got {
		if ev.Live != want[i] || ev.Seq != uint64(i+1) || ev.Hub != hub {
			t.Errorf("event %d: live=%v seq=%d hub=%p, want live=%v seq=%d hub=%p", i, ev.Live, ev.Seq, ev.Hub, want[i], i+1, hub)
		}
		if ev.At.Before(before) || (i > 0 && ev.At.Before(got[i-1].At)) {
			t.Errorf("event %d: At %v goes backwards", i, ev.At)
		}
	}
}
