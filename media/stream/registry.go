package stream

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/classcast/classcast/internal/metrics"
)

// Registry holds the hubs of one node, by stream path.
type Registry struct {
	log         *slog.Logger
	idleTimeout time.Duration

	mu     sync.Mutex
	hubs   map[string]*Hub
	closed bool

	watchMu  sync.Mutex
	watchers map[int]func(PublisherEvent)
	nextWID  int
}

// PublisherEvent tells a watcher that a hub gained or lost its publisher.
type PublisherEvent struct {
	Hub *Hub
	// Live is true when the hub has a publisher after this change.
	Live bool
	// Seq numbers the changes of one hub's publisher, from 1. Callbacks for one hub can
	// run concurrently, and so out of order, when publishers race (a takeover): a
	// watcher keeps the event with the highest Seq.
	Seq uint64
	// At is when the change happened. The units a new publisher writes are received
	// (Unit.Received) after At; the units of the publisher it replaced, before.
	At time.Time
}

// OnPublisher registers fn to be called after a hub of this registry gains or loses its
// publisher (a takeover is one event: Live stays true). fn runs on the publisher's
// goroutine with no lock held, so it must not block; a new publisher writes no unit
// before fn returns. Hubs that already have a publisher are not announced: use List.
// The returned function unregisters fn.
func (r *Registry) OnPublisher(fn func(PublisherEvent)) (remove func()) {
	r.watchMu.Lock()
	defer r.watchMu.Unlock()
	if r.watchers == nil {
		r.watchers = map[int]func(PublisherEvent){}
	}
	id := r.nextWID
	r.nextWID++
	r.watchers[id] = fn
	return func() {
		r.watchMu.Lock()
		delete(r.watchers, id)
		r.watchMu.Unlock()
	}
}

func (r *Registry) notify(ev PublisherEvent) {
	r.watchMu.Lock()
	fns := make([]func(PublisherEvent), 0, len(r.watchers))
	for _, fn := range r.watchers {
		fns = append(fns, fn)
	}
	r.watchMu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}

// NewRegistry makes an empty registry. idleTimeout is how long a hub keeps its viewers
// after its publisher leaves, waiting for it to come back.
func NewRegistry(log *slog.Logger, idleTimeout time.Duration) *Registry {
	if idleTimeout <= 0 {
		idleTimeout = time.Minute
	}
	return &Registry{log: log, idleTimeout: idleTimeout, hubs: map[string]*Hub{}}
}

// Publish attaches a publisher to the stream at path, creating its hub if needed.
func (r *Registry) Publish(path string, info PublishInfo) (*Publisher, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrHubClosed
	}
	h := r.hubs[path]
	created := h == nil
	if created {
		h = newHub(r, path)
		r.hubs[path] = h
	}
	r.mu.Unlock()
	p, err := h.publish(info)
	if err != nil {
		if created {
			r.remove(h)
			h.close()
		}
		return nil, fmt.Errorf("stream %s: %w", path, err)
	}
	return p, nil
}

// Hub returns the hub at path, or nil when the stream is unknown.
func (r *Registry) Hub(path string) *Hub {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hubs[path]
}

// List returns every hub's info, sorted by path.
func (r *Registry) List() []Info {
	r.mu.Lock()
	hubs := make([]*Hub, 0, len(r.hubs))
	for _, h := range r.hubs {
		hubs = append(hubs, h)
	}
	r.mu.Unlock()
	out := make([]Info, 0, len(hubs))
	for _, h := range hubs {
		out = append(out, h.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func (r *Registry) remove(h *Hub) {
	r.mu.Lock()
	if r.hubs[h.path] == h {
		delete(r.hubs, h.path)
	}
	r.mu.Unlock()
	r.updateGauges()
}

func (r *Registry) updateGauges() {
	r.mu.Lock()
	hubs := make([]*Hub, 0, len(r.hubs))
	for _, h := range r.hubs {
		hubs = append(hubs, h)
	}
	r.mu.Unlock()
	live := 0
	for _, h := range hubs {
		h.mu.Lock()
		if h.publisher != nil {
			live++
		}
		h.mu.Unlock()
	}
	metrics.Streams.WithLabelValues("live").Set(float64(live))
	metrics.Streams.WithLabelValues("idle").Set(float64(len(hubs) - live))
}

// Close closes every hub; later publishes fail with ErrHubClosed.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	hubs := r.hubs
	r.hubs = map[string]*Hub{}
	r.mu.Unlock()
	for _, h := range hubs {
		h.close()
	}
	r.updateGauges()
}
