package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sendDelayMetric is the server's own histogram of the latency it adds: hub arrival to
// the packet leaving for one viewer. The client-side latency includes this tool's own
// scheduling on a loaded machine; this one does not.
const sendDelayMetric = "classcast_viewer_send_delay_seconds_bucket"

// bucketCounts maps a histogram's upper bounds (seconds) to cumulative counts.
type bucketCounts map[float64]float64

// scrapeSendDelay reads the send-delay histogram from the server's /metrics, found
// next to the WHEP URL.
func scrapeSendDelay(ctx context.Context, whepURL string) (bucketCounts, error) {
	u, err := url.Parse(whepURL)
	if err != nil {
		return nil, err
	}
	metricsURL := u.Scheme + "://" + u.Host + "/metrics"
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", metricsURL, res.Status)
	}
	out := bucketCounts{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, sendDelayMetric+"{") {
			continue
		}
		i := strings.Index(line, `le="`)
		j := strings.Index(line, `"}`)
		if i < 0 || j < i {
			continue
		}
		le := line[i+4 : j]
		bound := math.Inf(1)
		if le != "+Inf" {
			if bound, err = strconv.ParseFloat(le, 64); err != nil {
				continue
			}
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[j+2:]), 64)
		if err != nil {
			continue
		}
		out[bound] = v
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no %s", metricsURL, sendDelayMetric)
	}
	return out, sc.Err()
}

// delayQuantiles returns p50/p95/p99 in milliseconds of the observations between two
// scrapes, interpolating linearly inside a bucket as Prometheus does.
func delayQuantiles(before, after bucketCounts) (*quantiles, uint64) {
	bounds := make([]float64, 0, len(after))
	for b := range after {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	cum := make([]float64, len(bounds))
	for i, b := range bounds {
		cum[i] = after[b] - before[b]
	}
	if len(cum) == 0 || cum[len(cum)-1] <= 0 {
		return nil, 0
	}
	total := cum[len(cum)-1]
	q := func(p float64) float64 {
		rank := p * total
		lower, prev := 0.0, 0.0
		for i, b := range bounds {
			if cum[i] >= rank {
				if math.IsInf(b, 1) {
					return lower * 1000
				}
				frac := 0.0
				if cum[i] > prev {
					frac = (rank - prev) / (cum[i] - prev)
				}
				return round3((lower + (b-lower)*frac) * 1000)
			}
			lower, prev = b, cum[i]
		}
		return lower * 1000
	}
	return &quantiles{P50: q(0.50), P95: q(0.95), P99: q(0.99)}, uint64(total)
}

// quantiles are histogram percentiles in milliseconds (a histogram has no exact max).
type quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}
