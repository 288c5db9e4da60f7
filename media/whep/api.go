package whep

import (
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

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
