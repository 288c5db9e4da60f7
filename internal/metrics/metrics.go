// Package metrics holds classcast's Prometheus collectors. Every package that counts
// something registers nothing itself: it updates the collectors here, so /metrics has
// one consistent set of names whatever roles a node runs.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry is the registry served at /metrics.
var Registry = prometheus.NewRegistry()

var (
	// Streams is the number of streams that have a hub, by state (live, idle).
	Streams = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "classcast", Name: "streams",
		Help: "Streams known to this node, by state (live: a publisher is sending; idle: waiting for one).",
	}, []string{"state"})

	// Publishers is the number of active publishers, by protocol.
	Publishers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "classcast", Name: "publishers",
		Help: "Active publishers (RTSP push, RTSP pull).",
	}, []string{"protocol"})

	// Viewers is the number of connected viewers, by protocol.
	Viewers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "classcast", Name: "viewers",
		Help: "Connected viewers by protocol.",
	}, []string{"protocol"})

	// BytesIn counts media payload bytes received from sources.
	BytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "classcast", Name: "bytes_in_total",
		Help: "Media bytes received from publishers and pull sources.",
	}, []string{"protocol"})

	// BytesOut counts media payload bytes sent to viewers.
	BytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "classcast", Name: "bytes_out_total",
		Help: "Media bytes sent to viewers (RTP payload and header, before SRTP).",
	}, []string{"protocol"})

	// PacketsLost counts RTP packets lost on ingest (sequence gaps).
	PacketsLost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "classcast", Name: "packets_lost_total",
		Help: "RTP packets lost on the way in (sequence gaps seen by the ingest).",
	}, []string{"protocol"})

	// QueueDrops counts access units a slow reader had to drop.
	QueueDrops = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "classcast", Name: "queue_drops_total",
		Help: "Access units dropped because a reader's queue was full (the reader then resyncs on a keyframe).",
	}, []string{"reader"})

	// SendDelay is the time from a unit entering the hub to its last packet being
	// handed to the network for one viewer: the latency the server adds, measured where
	// it happens, whatever load the viewers' machines are under.
	SendDelay = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "classcast", Name: "viewer_send_delay_seconds",
		Help:    "Hub arrival to send, per unit per viewer (GOP-cache catch-up units excluded).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
	})

	// NACKs and PLIs received from viewers.
	NACKs = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "classcast", Name: "webrtc_nacks_total",
		Help: "NACK feedback packets received from WebRTC viewers.",
	})
	PLIs = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "classcast", Name: "webrtc_plis_total",
		Help: "Picture loss indications received from WebRTC viewers.",
	})

	// Transcoders is the number of running live transcoders, by kind.
	Transcoders = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "classcast", Name: "live_transcoders",
		Help: "Live transcoders running, once per stream (audio: AAC/G.711 to Opus; video: to browser-safe H.264).",
	}, []string{"kind"})

	// PullSourceState is 1 for the state each configured pull source is in.
	PullSourceState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "classcast", Name: "pull_source_state",
		Help: "State of each RTSP pull source (1 for the current state).",
	}, []string{"stream", "state"})

	// Recordings is the number of recordings being written (including those waiting
	// for their publisher to return).
	Recordings = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "classcast", Name: "recordings",
		Help: "Recordings of live streams being written to local disk.",
	})

	// RecordBytes counts bytes of recorded segments written to local disk.
	RecordBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "classcast", Name: "record_bytes_total",
		Help: "Bytes of fMP4 segments the recorder wrote to local disk.",
	})

	// Errors counts rejected requests and bad input, by where and why.
	Errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "classcast", Name: "errors_total",
		Help: "Errors by component and reason (bad requests, auth failures, corrupt input).",
	}, []string{"component", "reason"})

	// Tasks counts finished task attempts of the transcoding worker, by task type and
	// result (ok, retry, failed, requeued: handed back at shutdown).
	Tasks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "classcast", Name: "tasks_total",
		Help: "Transcoding task attempts by type and result (ok, retry, failed, requeued).",
	}, []string{"type", "result"})

	// Reclaimed counts the media nothing used any more that the sweeper deleted, by
	// asset kind (upload, clip), and ReclaimedBytes their size in the store.
	Reclaimed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "classcast", Name: "reclaimed_assets_total",
		Help: "Unused media deleted from the object store (deleted lessons' videos, earlier cuts of micro-lectures), by kind.",
	}, []string{"kind"})
	ReclaimedBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "classcast", Name: "reclaimed_bytes_total",
		Help: "Bytes of unused media deleted from the object store.",
	})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		Streams, Publishers, Viewers, BytesIn, BytesOut, PacketsLost, QueueDrops, SendDelay,
		NACKs, PLIs, Transcoders, PullSourceState, Errors, Tasks, Reclaimed, ReclaimedBytes,
	)
}
