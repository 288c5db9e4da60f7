package stream

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by Reader.Read once the reader or its hub is closed.
var ErrClosed = errors.New("stream: reader closed")

// Selection says which of a hub's tracks a reader receives.
type Selection int

const (
	// SelectWeb delivers what a browser can play: the hub's current web video track
	// (the source H.264, or the browser-safe transcode) and web audio track (Opus or
	// G.711, transcoded from AAC where needed).
	SelectWeb Selection = iota
	// SelectSource delivers every track the publisher sends, as sent (recording,
	// relaying, transcoding).
	SelectSource
)

// ReaderOptions configure a reader.
type ReaderOptions struct {
	// Name labels the reader in logs and metrics ("webrtc", "record", "transcode").
	Name string
	// Select picks the tracks the reader receives.
	Select Selection
	// QueueSize bounds the units waiting for the reader; 0 means DefaultQueueSize.
	// When the queue is full the reader drops its backlog and resumes video on the
	// next keyframe (audio at once), so a slow reader never holds up the others.
	QueueSize int
	// Only, when set, restricts the reader to this one track, whatever Select says
	// (a live transcoder reads just the track it converts).
	Only *Track
	// SkipGOP starts the reader at the next keyframe instead of the cached GOP.
	SkipGOP bool
}

// DefaultQueueSize holds about 3 s of a 25 fps stream with audio.
const DefaultQueueSize = 256

// Reader receives a hub's units through a bounded queue. It is read by one goroutine.
type Reader struct {
	hub  *Hub
	opts ReaderOptions

	mu      sync.Mutex
	buf     []*Unit // ring
	head    int
	n       int
	closed  bool
	resync  bool // dropped: discard video until the next keyframe
	drops   uint64
	catchup int // units at the head of the queue that came from the GOP cache
	wake    chan struct{}
}

func newReader(h *Hub, opts ReaderOptions) *Reader {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	return &Reader{hub: h, opts: opts, buf: make([]*Unit, opts.QueueSize), wake: make(chan struct{}, 1)}
}

// push is called by the hub's writer with the hub lock held; it never blocks.
func (r *Reader) push(u *Unit) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	if r.resync && u.Track.Kind == Video {
		if !u.Key {
			r.drops++
			r.mu.Unlock()
			r.hub.countDrop(r.opts.Name)
			return
		}
		r.resync = false
	}
	if r.n == len(r.buf) {
		// Full: the reader is not keeping up. Drop the whole backlog rather than the
		// newest unit, so that when it does read again it reads live media, and make
		// video wait for a keyframe so the decoder never sees a broken reference chain.
		dropped := r.n
		for i := 0; i < r.n; i++ {
			r.buf[(r.head+i)%len(r.buf)] = nil
		}
		r.head, r.n, r.catchup = 0, 0, 0
		r.drops += uint64(dropped)
		r.resync = true
		r.mu.Unlock()
		for range dropped {
			r.hub.countDrop(r.opts.Name)
		}
		r.push(u)
		return
	}
	r.buf[(r.head+r.n)%len(r.buf)] = u
	r.n++
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Read returns the next unit, blocking until one arrives, ctx ends or the reader closes.
// catchup is true for units replayed from the GOP cache to a new reader: they are older
// than live and a player should show them as fast as it can decode them.
func (r *Reader) Read(ctx context.Context) (u *Unit, catchup bool, err error) {
	for {
		r.mu.Lock()
		if r.n > 0 {
			u = r.buf[r.head]
			r.buf[r.head] = nil
			r.head = (r.head + 1) % len(r.buf)
			r.n--
			if r.catchup > 0 {
				r.catchup--
				catchup = true
			}
			r.mu.Unlock()
			return u, catchup, nil
		}
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return nil, false, ErrClosed
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// Drops is the number of units this reader has dropped because it fell behind.
func (r *Reader) Drops() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drops
}

// Close detaches the reader from its hub. Safe to call more than once.
func (r *Reader) Close() {
	r.hub.removeReader(r)
	r.markClosed()
}

func (r *Reader) markClosed() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		for i := 0; i < r.n; i++ {
			r.buf[(r.head+i)%len(r.buf)] = nil
		}
		r.n = 0
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Hub is the hub the reader reads from.
func (r *Reader) Hub() *Hub { return r.hub }
