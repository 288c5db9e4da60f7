package webrtc

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchNet is a transport.Net whose UDP sockets send in batches. With hundreds of
// viewers, one sendto per packet per viewer is most of the egress CPU (a profile at
// 150 viewers showed 39 % in the syscall); queueing packets and sending them with
// sendmmsg turns that into one syscall per batch.
type batchNet struct {
	*stdnet.Net
}

func newBatchNet() (*batchNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &batchNet{Net: n}, nil
}

// ListenUDP implements transport.Net.
func (n *batchNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	raw, ok := c.(*net.UDPConn)
	if !ok {
		return c, nil
	}
	return newBatchConn(raw), nil
}

// batchWriter is the part of x/net's ipv4 and ipv6 PacketConns we use.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

type ipv6Writer struct{ *ipv6.PacketConn }

func (w ipv6Writer) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	return w.PacketConn.WriteBatch(ms, flags)
}

const (
	// flushAt is the queue length at which a writer sends the batch itself. Below it a
	// background flusher sends whatever is queued as soon as it runs, so a packet never
	// waits for a batch to fill; above it the work is spread over the writing
	// goroutines instead of piling up behind one flusher.
	flushAt = 32
	// maxQueued bounds the queue: past it packets are dropped, as a full socket buffer
	// would drop them, and NACK/PLI recover.
	maxQueued = 8192
)

// batchConn sends through a queue drained with sendmmsg; everything else (reads,
// deadlines, addresses) goes straight to the socket. Batches are sent one at a time,
// in queue order, so one viewer's packets never overtake each other.
type batchConn struct {
	*net.UDPConn
	w    batchWriter
	pool sync.Pool

	mu     sync.Mutex
	queue  []ipv4.Message
	bufs   []*[]byte // pool entries of queue's buffers, in the same order
	closed bool

	sendMu sync.Mutex // held while a batch is sent; owns spare*
	spare  []ipv4.Message
	spareB []*[]byte

	wake    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
}

func newBatchConn(c *net.UDPConn) *batchConn {
	b := &batchConn{UDPConn: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil && !a.IP.IsUnspecified() {
		b.w = ipv6Writer{ipv6.NewPacketConn(c)}
	} else {
		b.w = ipv4.NewPacketConn(c)
	}
	b.pool.New = func() any { s := make([]byte, 0, 1500); return &s }
	go b.flusher()
	return b
}

// WriteTo queues a copy of p for addr. Network errors are not reported to the caller:
// like a full socket buffer, a failed send is a lost packet.
func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	bufp := b.pool.Get().(*[]byte)
	*bufp = append((*bufp)[:0], p...)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.pool.Put(bufp)
		return 0, net.ErrClosed
	}
	if len(b.queue) >= maxQueued {
		b.mu.Unlock()
		b.pool.Put(bufp)
		b.dropped.Add(1)
		return len(p), nil
	}
	b.queue = append(b.queue, ipv4.Message{Buffers: [][]byte{*bufp}, Addr: addr})
	b.bufs = append(b.bufs, bufp)
	n := len(b.queue)
	b.mu.Unlock()
	if n >= flushAt {
		b.drain()
	} else if n == 1 {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// drain sends everything queued so far.
func (b *batchConn) drain() {
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	b.mu.Lock()
	batch, bufs := b.queue, b.bufs
	b.queue, b.bufs = b.spare[:0], b.spareB[:0]
	b.mu.Unlock()
	rest := batch
	for len(rest) > 0 {
		n := min(len(rest), 64)
		sent, err := b.w.WriteBatch(rest[:n], 0)
		if err != nil || sent <= 0 {
			sent = 1 // skip the message that failed
		}
		rest = rest[sent:]
	}
	for i := range batch {
		batch[i] = ipv4.Message{}
	}
	for i, bp := range bufs {
		b.pool.Put(bp)
		bufs[i] = nil
	}
	b.spare, b.spareB = batch[:0], bufs[:0]
}

func (b *batchConn) flusher() {
	defer close(b.done)
	for range b.wake {
		b.drain()
	}
}

// Close stops the flusher and closes the socket; queued packets are dropped.
func (b *batchConn) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.wake)
	})
	<-b.done
	return b.UDPConn.Close()
}
