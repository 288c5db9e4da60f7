package main

import (
	"math"
	"sort"
	"sync/atomic"
	"time"
)

// report is the one JSON object the tool prints.
type report struct {
	ViewersRequested int            `json:"viewers_requested"`
	ViewersConnected int            `json:"viewers_connected"`
	ViewersFailed    int            `json:"viewers_failed"`
	Errors           map[string]int `json:"errors"`
	TTFFMs           ttffSummary    `json:"ttff_ms"`
	LatencyMs        latencySummary `json:"latency_ms"`
	// LossPct is video RTP packets lost (not recovered in time) over
	// packets expected, in percent.
	LossPct       float64 `json:"loss_pct"`
	VideoFrames   uint64  `json:"video_frames"`
	AudioPackets  uint64  `json:"audio_packets"`
	CatchupFrames uint64  `json:"catchup_frames"`
	// Extra detail: frames without a timestamp SEI, video packets lost,
	// feedback sent.
	FramesWithoutSEI uint64 `json:"frames_without_sei"`
	VideoPacketsLost uint64 `json:"video_packets_lost"`
	NACKsSent        uint64 `json:"nacks_sent"`
	PLIsSent         uint64 `json:"plis_sent"`
	// ClientUDPDrops counts packets the kernel dropped at this tool's own
	// sockets: loss that is the load tool's, not the server's.
	ClientUDPDrops uint64 `json:"client_udp_drops"`

	Server      *serverReport   `json:"server"`
	Publisher   *publisherStats `json:"publisher,omitempty"`
	DurationS   float64         `json:"duration_s"`
	Interrupted bool            `json:"interrupted"`
	Config      runConfig       `json:"config"`
}

type ttffSummary struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

type latencySummary struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// serverReport is what /proc says about the server during the run.
type serverReport struct {
	PID                int     `json:"pid"`
	CPUSeconds         float64 `json:"cpu_seconds"`
	CPUSecPerViewerMin float64 `json:"cpu_sec_per_viewer_min"`
	RSSMBBefore        float64 `json:"rss_mb_before"`
	RSSMBMax           float64 `json:"rss_mb_max"`
	RSSKBPerViewer     float64 `json:"rss_kb_per_viewer"`
	// AddedLatencyMs is the server's own measure of the latency it adds (hub arrival to
	// send, per unit per viewer) during the hold, from its /metrics histogram.
	AddedLatencyMs *quantiles `json:"added_latency_ms,omitempty"`
	// AddedLatencySamples is how many units that histogram counted.
	AddedLatencySamples uint64 `json:"added_latency_samples,omitempty"`
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted values: the smallest value with at least p% of values at or below
// it. Zero for no values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func summarizeTTFF(ms []float64) ttffSummary {
	s := append([]float64(nil), ms...)
	sort.Float64s(s)
	return ttffSummary{P50: percentile(s, 50), P95: percentile(s, 95), Max: percentile(s, 100)}
}

// Latency samples go into a fixed histogram rather than a slice, so memory
// stays bounded however many viewers and however long the run: 100 µs
// buckets up to 10 s (800 KB), anything above in the last bucket. Max is
// kept exactly.
const (
	histBucket  = 100 * time.Microsecond
	histBuckets = int(10*time.Second/histBucket) + 1
)

// histogram counts durations; add is safe for concurrent use.
type histogram struct {
	buckets [histBuckets]atomic.Uint64
	count   atomic.Uint64
	maxNs   atomic.Int64
}

func (h *histogram) add(d time.Duration) {
	if d < 0 {
		d = 0 // sender and viewer share a clock; tiny negatives are rounding
	}
	i := int(d / histBucket)
	if i >= histBuckets {
		i = histBuckets - 1
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
	for {
		m := h.maxNs.Load()
		if int64(d) <= m || h.maxNs.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// quantile returns the nearest-rank p-th percentile, as the middle of its
// bucket (so within 50 µs of the exact value), capped at the exact max; the
// top rank is the exact max.
func (h *histogram) quantile(p float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	if rank == n {
		return time.Duration(h.maxNs.Load())
	}
	var cum uint64
	for i := range h.buckets {
		cum += h.buckets[i].Load()
		if cum >= rank {
			if i == histBuckets-1 { // the overflow bucket: only max is known
				return time.Duration(h.maxNs.Load())
			}
			v := time.Duration(i)*histBucket + histBucket/2
			return min(v, time.Duration(h.maxNs.Load()))
		}
	}
	return time.Duration(h.maxNs.Load())
}

func (h *histogram) summary() latencySummary {
	return latencySummary{
		P50: ms(h.quantile(50)),
		P95: ms(h.quantile(95)),
		P99: ms(h.quantile(99)),
		Max: ms(time.Duration(h.maxNs.Load())),
	}
}

// ms converts to milliseconds rounded to microseconds, for readable JSON.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// lossPct is lost over expected (received + lost), in percent.
func lossPct(received, lost uint64) float64 {
	if received+lost == 0 {
		return 0
	}
	return math.Round(float64(lost)/float64(received+lost)*100*1000) / 1000
}

// serverUsage computes the server figures from two CPU samples taken at
// the start and end of the hold, the RSS before any viewer joined, the
// largest RSS seen, and the RSS at the end.
func serverUsage(pid int, cpuStart, cpuEnd procSample, rssBeforeKB, rssMaxKB int64, viewers int, hold time.Duration) *serverReport {
	r := &serverReport{
		PID:         pid,
		CPUSeconds:  round3(cpuEnd.cpuSeconds - cpuStart.cpuSeconds),
		RSSMBBefore: round3(float64(rssBeforeKB) / 1024),
		RSSMBMax:    round3(float64(rssMaxKB) / 1024),
	}
	if viewers > 0 && hold > 0 {
		r.CPUSecPerViewerMin = round3(r.CPUSeconds / (float64(viewers) * hold.Minutes()))
		r.RSSKBPerViewer = round3(float64(cpuEnd.rssKB-rssBeforeKB) / float64(viewers))
	}
	return r
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
