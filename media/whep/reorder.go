package whep

import (
	"time"

	"github.com/pion/rtp"
)

// seqUnwrapper extends 16-bit RTP sequence numbers to 64 bits so that
// comparisons survive the wrap from 65535 to 0.
type seqUnwrapper struct {
	started bool
	highest uint64
}

// unwrap returns the extended sequence number of seq: the value closest to
// the highest one seen so far.
func (u *seqUnwrapper) unwrap(seq uint16) uint64 {
	if !u.started {
		u.started = true
		// Start one cycle up so that packets from just before the first one
		// (reordered) do not underflow.
		u.highest = 1<<16 | uint64(seq)
		return u.highest
	}
	diff := int16(seq - uint16(u.highest))
	ext := uint64(int64(u.highest) + int64(diff))
	if ext > u.highest {
		u.highest = ext
	}
	return ext
}

// reorderer hands RTP packets on in sequence order. A packet that arrives
// ahead of a gap waits, so that a late or retransmitted (NACKed) packet can
// still fill it; after maxWait, or when more than the buffer holds arrive, the
// gap is given up and counted as lost. With maxWait 0 nothing waits: gaps are
// lost at once and late packets dropped, which suits audio, where each packet
// stands alone.
//
// Timing is checked only when packets arrive, so no timer or goroutine is
// needed: a stream that stops mid-gap keeps its buffered packets until the
// next one arrives, which is fine for live media.
type reorderer struct {
	maxWait time.Duration
	mask    uint64
	slots   []*rtp.Packet
	exts    []uint64

	unwrap   seqUnwrapper
	started  bool
	next     uint64 // extended sequence number to hand on next
	buffered int
	gapSince time.Time // when the current gap began to hold packets back
	behind   int       // packets in a row that came from before next
	afterGap bool      // the next packet handed on follows lost ones

	lost uint64 // sequence numbers given up
	late uint64 // packets that came after their place was given up, or twice
}

// newReorderer returns a reorderer that holds up to size packets (rounded up
// to a power of two) for at most maxWait.
func newReorderer(size int, maxWait time.Duration) *reorderer {
	n := 1
	for n < size {
		n <<= 1
	}
	r := &reorderer{maxWait: maxWait, mask: uint64(n - 1)}
	if maxWait > 0 {
		r.slots = make([]*rtp.Packet, n)
		r.exts = make([]uint64, n)
	}
	return r
}

// push takes a packet that arrived at now and calls out for every packet
// that can now be handed on, in order. afterGap tells out that packets were
// lost just before this one.
func (r *reorderer) push(pkt *rtp.Packet, now time.Time, out func(pkt *rtp.Packet, afterGap bool)) {
	ext := r.unwrap.unwrap(pkt.SequenceNumber)
	if !r.started {
		r.started = true
		r.next = ext
	}
	if ext >= r.next {
		r.behind = 0
	}

	switch {
	case ext < r.next:
		r.late++
		r.behind++
		if r.behind > int(r.mask)+64 {
			// A long run of "old" packets is a sender that restarted its
			// sequence numbers: start over from this one.
			r.flushBuffered(out)
			r.unwrap = seqUnwrapper{}
			r.behind = 0
			r.next = r.unwrap.unwrap(pkt.SequenceNumber)
			r.afterGap = true
			r.emit(pkt, out)
		}
		return

	case ext == r.next && r.buffered == 0:
		// The common case: in order, nothing waiting.
		r.emit(pkt, out)
		return

	case r.maxWait == 0:
		r.lost += ext - r.next
		r.afterGap = true
		r.next = ext
		r.emit(pkt, out)
		return
	}

	size := r.mask + 1
	if ext-r.next >= 2*size {
		// Far beyond anything a retransmission could fill (a burst of loss
		// or a source restart): hand on what waits and jump.
		r.flushBuffered(out)
		r.lost += ext - r.next
		r.afterGap = true
		r.next = ext
		r.emit(pkt, out)
		return
	}
	if ext-r.next >= size {
		// Too far ahead to buffer: give up the oldest places until it fits.
		for target := ext - size + 1; r.next < target; {
			r.giveUpOne(out)
		}
	}

	i := ext & r.mask
	if r.slots[i] != nil {
		r.late++ // duplicate of a packet still waiting
		return
	}
	r.slots[i], r.exts[i] = pkt, ext
	if r.buffered == 0 {
		r.gapSince = now
	}
	r.buffered++
	r.drain(out)

	// Give up gaps that have waited too long.
	for r.buffered > 0 && now.Sub(r.gapSince) >= r.maxWait {
		for r.slots[r.next&r.mask] == nil {
			r.lost++
			r.afterGap = true
			r.next++
		}
		r.drain(out)
		r.gapSince = now
	}
}

// emit hands one in-order packet on.
func (r *reorderer) emit(pkt *rtp.Packet, out func(*rtp.Packet, bool)) {
	gap := r.afterGap
	r.afterGap = false
	r.next++
	out(pkt, gap)
}

// drain hands on buffered packets from next while there is no gap.
func (r *reorderer) drain(out func(*rtp.Packet, bool)) {
	for r.buffered > 0 {
		i := r.next & r.mask
		pkt := r.slots[i]
		if pkt == nil || r.exts[i] != r.next {
			return
		}
		r.slots[i] = nil
		r.buffered--
		r.emit(pkt, out)
	}
}

// giveUpOne moves next on by one place, handing on its packet if present
// and counting it lost if not.
func (r *reorderer) giveUpOne(out func(*rtp.Packet, bool)) {
	i := r.next & r.mask
	if pkt := r.slots[i]; pkt != nil && r.exts[i] == r.next {
		r.slots[i] = nil
		r.buffered--
		r.emit(pkt, out)
		return
	}
	r.lost++
	r.afterGap = true
	r.next++
}

// flushBuffered hands on every buffered packet in order, counting the places
// between them as lost.
func (r *reorderer) flushBuffered(out func(*rtp.Packet, bool)) {
	for r.buffered > 0 {
		r.giveUpOne(out)
	}
}
