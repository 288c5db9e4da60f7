package whep

import (
	"net"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"
)

// udpReadBuffer is the receive buffer asked for on each session's UDP
// sockets. A 720p keyframe arrives as a burst of 100 KB or more; with
// Linux's default of 208 KB (which counts kernel overhead too) part of
// the burst is dropped before pion reads it, and the loss is ours, not the
// network's. The kernel caps the request at net.core.rmem_max: raise that
// for large loads.
const udpReadBuffer = 4 << 20

// newDefaultAPI builds the API a session uses when Options.API is nil. It is
// built per session so that the RTCP counter belongs to that session; the
// cost is a MediaEngine and a registry, small next to a PeerConnection.
func newDefaultAPI(counts *rtcpCounts) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	// The same codecs a browser offers, so the server sees a realistic
	// offer; classcast answers with H.264 and Opus.
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	// First in the chain, so it sits closest to the wire and sees the RTCP
	// written by the NACK generator and the report interceptors.
	ir.Add(&rtcpCounterFactory{counts: counts})
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}

	se := webrtc.SettingEngine{}
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	se.SetNet(bufferedNet{n})
	// Servers under test and origins on the same host are reached over
	// loopback, which pion leaves out by default.
	se.SetIncludeLoopbackCandidate(true)
	// mDNS would open a multicast socket per session for nothing: servers
	// send IP candidates.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)

	return webrtc.NewAPI(
		webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se),
	), nil
}

// rtcpCounts counts the NACKs a session sends. PLIs are counted where the
// session writes them.
type rtcpCounts struct {
	nacks atomic.Uint64
}

type rtcpCounterFactory struct{ counts *rtcpCounts }

func (f *rtcpCounterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &rtcpCounter{counts: f.counts}, nil
}

// rtcpCounter counts outgoing NACK packets and passes everything on.
type rtcpCounter struct {
	interceptor.NoOp
	counts *rtcpCounts
}

func (c *rtcpCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, attrs interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if _, ok := p.(*rtcp.TransportLayerNack); ok {
				c.counts.nacks.Add(1)
			}
		}
		return w.Write(pkts, attrs)
	})
}

// bufferedNet is the standard network with larger UDP receive buffers.
type bufferedNet struct{ *stdnet.Net }

func (n bufferedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		_ = c.SetReadBuffer(udpReadBuffer) // best effort: capped by the kernel
	}
	return c, err
}

func (n bufferedNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if u, ok := c.(*net.UDPConn); ok && err == nil {
		_ = u.SetReadBuffer(udpReadBuffer)
	}
	return c, err
}
