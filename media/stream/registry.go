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
