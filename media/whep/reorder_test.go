package whep

import (
	"reflect"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestUnwrap(t *testing.T) {
	var u seqUnwrapper
	seqs := []uint16{65530, 65535, 0, 1, 65534, 2, 40000, 10, 20}
	var got []int64
	base := int64(u.unwrap(seqs[0]))
	for _, s := range seqs[1:] {
		got = append(got, int64(u.unwrap(s))-base)
	}
	// 40000 is 25538 back from 65546, which is less than half a cycle, so it
	// counts as a (very) late packet; 10 and 20 then follow the highest.
	want := []int64{5, 6, 7, 4, 8, 40000 - 65530 + 65536 - 65536, 16, 26}
	want[5] = int64(40000) - 65530
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("unwrap = %v, want %v", got, want)
	}
}

type delivered struct {
	seq      uint16
	afterGap bool
}

func run(r *reorderer, seqs []uint16, at []time.Duration) []delivered {
	var out []delivered
	t0 := time.Unix(1000, 0)
	for i, s := range seqs {
		now := t0
		if at != nil {
			now = t0.Add(at[i])
		}
		r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: s}}, now, func(p *rtp.Packet, gap bool) {
			out = append(out, delivered{p.SequenceNumber, gap})
		})
	}
	return out
}

func seqsOf(d []delivered) []uint16 {
	var s []uint16
	for _, x := range d {
		s = append(s, x.seq)
	}
	return s
}

func TestReorderInOrderAcrossWrap(t *testing.T) {
	r := newReorderer(8, 100*time.Millisecond)
	in := []uint16{65533, 65534, 65535, 0, 1, 2}
	got := run(r, in, nil)
	if !reflect.DeepEqual(seqsOf(got), in) || r.lost != 0 || r.late != 0 {
		t.Fatalf("got %v lost %d late %d", got, r.lost, r.late)
	}
}

func TestReorderFillsGapInTime(t *testing.T) {
	r := newReorderer(8, 100*time.Millisecond)
	ms := time.Millisecond
	got := run(r, []uint16{65534, 0, 1, 65535, 2, 1}, []time.Duration{0, 1 * ms, 2 * ms, 50 * ms, 51 * ms, 52 * ms})
	want := []delivered{{65534, false}, {65535, false}, {0, false}, {1, false}, {2, false}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if r.lost != 0 || r.late != 1 { // the second 1 is a duplicate
		t.Fatalf("lost %d late %d, want 0 1", r.lost, r.late)
	}
}

func TestReorderGivesUpAfterWait(t *testing.T) {
	r := newReorderer(8, 100*time.Millisecond)
	ms := time.Millisecond
	// 11 and 12 never come; 13 waits until a packet arrives 100 ms later.
	got := run(r, []uint16{10, 13, 14, 15, 11}, []time.Duration{0, 10 * ms, 20 * ms, 110 * ms, 120 * ms})
	want := []delivered{{10, false}, {13, true}, {14, false}, {15, false}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if r.lost != 2 || r.late != 1 {
		t.Fatalf("lost %d late %d, want 2 1", r.lost, r.late)
	}
}

func TestReorderOverflow(t *testing.T) {
	r := newReorderer(4, time.Hour)
	// 1 is missing; 2..5 fill the buffer, 6 forces 1 out.
	got := run(r, []uint16{0, 2, 3, 4, 5, 6}, nil)
	want := []delivered{{0, false}, {2, true}, {3, false}, {4, false}, {5, false}, {6, false}}
	if !reflect.DeepEqual(got, want) || r.lost != 1 {
		t.Fatalf("got %v lost %d, want %v lost 1", got, r.lost, want)
	}
}

func TestReorderHugeJump(t *testing.T) {
	r := newReorderer(4, time.Hour)
	got := run(r, []uint16{0, 2, 1000, 1001}, nil)
	want := []delivered{{0, false}, {2, true}, {1000, true}, {1001, false}}
	if !reflect.DeepEqual(got, want) || r.lost != 1+997 {
		t.Fatalf("got %v lost %d", got, r.lost)
	}
}

func TestReorderNoWait(t *testing.T) {
	r := newReorderer(1, 0)
	got := run(r, []uint16{65535, 1, 0, 2, 2, 5}, nil)
	want := []delivered{{65535, false}, {1, true}, {2, false}, {5, true}}
	if !reflect.DeepEqual(got, want) || r.lost != 3 || r.late != 2 {
		t.Fatalf("got %v lost %d late %d", got, r.lost, r.late)
	}
}

func TestReorderSenderRestart(t *testing.T) {
	r := newReorderer(4, time.Hour)
	in := []uint16{30000, 30001}
	// The sender restarts 20000 below: everything now looks old, until the
	// reorderer gives up on the old numbering.
	for s := uint16(10000); s < 10000+4+64+2; s++ {
		in = append(in, s)
	}
	got := run(r, in, nil)
	if len(got) < 4 || !got[2].afterGap || got[2].seq < 10000 {
		t.Fatalf("got %v", got)
	}
	for i := 3; i < len(got); i++ {
		if got[i].seq != got[i-1].seq+1 || got[i].afterGap {
			t.Fatalf("not following the new numbering: %v", got)
		}
	}
	if got[len(got)-1].seq != in[len(in)-1] {
		t.Fatalf("last packet not handed on: %v", got)
	}
}
