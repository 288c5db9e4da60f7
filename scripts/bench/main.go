// Command bench runs classcast's benchmarks and writes BENCHMARKS.md: it starts the
// built server, drives it with bin/classcast-load at growing viewer counts, and records
// the machine, the commands and the numbers. Run it with `make bench`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

type quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// loadReport is the part of classcast-load's JSON report the table shows.
type loadReport struct {
	ViewersRequested int            `json:"viewers_requested"`
	ViewersConnected int            `json:"viewers_connected"`
	Errors           map[string]int `json:"errors"`
	TTFF             quantiles      `json:"ttff_ms"`
	Latency          quantiles      `json:"latency_ms"`
	LossPct          float64        `json:"loss_pct"`
	ClientUDPDrops   uint64         `json:"client_udp_drops"`
	Server           struct {
		CPUSecPerViewerMin float64    `json:"cpu_sec_per_viewer_min"`
		CPUSeconds         float64    `json:"cpu_seconds"`
		RSSMBMax           float64    `json:"rss_mb_max"`
		RSSKBPerViewer     float64    `json:"rss_kb_per_viewer"`
		Added              *quantiles `json:"added_latency_ms"`
	} `json:"server"`
	DurationS float64 `json:"duration_s"`
}

func main() {
	viewers := flag.String("viewers", "1,50,100,200,400", "viewer counts, in order")
	duration := flag.Duration("duration", 30*time.Second, "hold time per step")
	ramp := flag.Int("ramp", 20, "viewers started per second")
	out := flag.String("out", "BENCHMARKS.md", "report file")
	live := flag.Bool("live", true, "run the live (WebRTC viewers) benchmark")
	vodMinutes := flag.Int("vod-minutes", 10, "length of the VOD ladder benchmark's source in minutes (0 skips it)")
	catalogBench := flag.Bool("catalog", true, "run the catalog search benchmark (100,000 lessons, SQLite and PostgreSQL)")
	clipBench := flag.Bool("clip", true, "run the micro-lecture clip benchmark (5 min cut out of a 45-minute 1080p lesson; the lesson is cached in $TMPDIR/classcast-bench-clip)")
	flag.Parse()
	log.SetFlags(0)

	// A part that is not run keeps its section from the existing report.
	old, _ := os.ReadFile(*out)
	liveSection, vodSection := section(string(old), "## Live"), section(string(old), "## VOD")
	catalogSection := section(string(old), "## Catalog")
	clipSection := section(string(old), "## Micro-lecture clip")
	if *live {
		liveSection = benchLive(*viewers, *duration, *ramp)
	}
	if *vodMinutes > 0 {
		work, err := os.MkdirTemp("", "classcast-bench-vod")
		if err != nil {
			log.Fatal(err)
		}
		md, err := benchVOD(context.Background(), work, *vodMinutes)
		os.RemoveAll(work)
		if err != nil {
			log.Fatalf("VOD benchmark: %v", err)
		}
		vodSection = md
	}
	if *clipBench {
		md, err := benchClip(context.Background(), filepath.Join(os.TempDir(), "classcast-bench-clip"))
		if err != nil {
			log.Fatalf("clip benchmark: %v", err)
		}
		clipSection = md
	}
	if *catalogBench {
		md, err := benchCatalog(context.Background())
		if err != nil {
			log.Fatalf("catalog benchmark: %v", err)
		}
		catalogSection = md
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# classcast benchmarks\n\nWritten by `make bench` (scripts/bench) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "## Machine\n\n%s\n\n", machine())
	b.WriteString(strings.TrimRight(liveSection, "\n") + "\n\n")
	b.WriteString(strings.TrimRight(vodSection, "\n") + "\n\n")
	if clipSection != "" {
		b.WriteString(strings.TrimRight(clipSection, "\n") + "\n\n")
	}
	b.WriteString(strings.TrimRight(catalogSection, "\n") + "\n")
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s", *out)
}

// section returns the part of a markdown report from the line starting with header to
// the next "## " heading.
func section(doc, header string) string {
	i := strings.Index(doc, "\n"+header)
	if i < 0 {
		return ""
	}
	rest := doc[i+1:]
	if j := strings.Index(rest[len(header):], "\n## "); j >= 0 {
		return rest[:len(header)+j+1]
	}
	return rest
}

// benchLive runs classcast-load against a fresh server for each viewer count and
// returns the report section.
func benchLive(viewers string, duration time.Duration, ramp int) string {
	root, _ := os.Getwd()
	server := filepath.Join(root, "bin", "classcast")
	load := filepath.Join(root, "bin", "classcast-load")
	for _, b := range []string{server, load} {
		if _, err := os.Stat(b); err != nil {
			log.Fatalf("%s missing: run make build first", b)
		}
	}
	dir, err := os.MkdirTemp("", "classcast-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "classcast.yml")
	cfgText := fmt.Sprintf(`data_dir: %s
log: {level: warn, format: text}
http: {address: "127.0.0.1:18080"}
rtsp: {address: "127.0.0.1:18554", udp_rtp_address: ":18000", udp_rtcp_address: ":18001"}
webrtc: {port: 18189, loopback: true}
redis: {embedded_address: "127.0.0.1:18390"}
record: {enabled: false}
`, filepath.Join(dir, "data"))
	if err := os.WriteFile(cfg, []byte(cfgText), 0o644); err != nil {
		log.Fatal(err)
	}
	var serverLog bytes.Buffer
	srv := exec.Command(server, "serve", "-c", cfg)
	srv.Stdout, srv.Stderr = &serverLog, &serverLog
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	if !waitReady("http://127.0.0.1:18080/readyz", 15*time.Second) {
		log.Fatalf("server not ready:\n%s", serverLog.String())
	}

	type row struct {
		n   int
		rep loadReport
		cmd string
	}
	var rows []row
	for _, f := range strings.Split(viewers, ",") {
		var n int
		fmt.Sscan(f, &n)
		path := fmt.Sprintf("bench/v%d", n)
		args := []string{
			"-publish", "rtsp://127.0.0.1:18554/" + path,
			"-whep", "http://127.0.0.1:18080/whep/" + path,
			"-viewers", fmt.Sprint(n), "-ramp", fmt.Sprint(ramp),
			"-duration", duration.String(), "-server-pid", fmt.Sprint(srv.Process.Pid),
			"-size", "1280x720", "-fps", "25", "-bitrate", "1500k", "-gop", "50",
		}
		log.Printf("bench: %d viewers for %s", n, duration)
		ctx, cancel := context.WithTimeout(context.Background(), duration+5*time.Minute)
		cmd := exec.CommandContext(ctx, load, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		var rep loadReport
		if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
			log.Fatalf("classcast-load %d viewers: %v %v\n%s", n, err, jerr, stderr.String())
		}
		rows = append(rows, row{n, rep, "bin/classcast-load " + strings.Join(args, " ")})
		log.Printf("  connected %d/%d, TTFF p95 %.0f ms, added latency p99 %v ms, loss %.3f%%, CPU %.3f s/viewer-min",
			rep.ViewersConnected, n, rep.TTFF.P95, added(rep, func(q *quantiles) float64 { return q.P99 }), rep.LossPct, rep.Server.CPUSecPerViewerMin)
		if rep.LossPct > 0.5 {
			log.Printf("  loss above 0.5%%: stopping here")
			break
		}
		time.Sleep(3 * time.Second) // let the previous step's sessions close
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## Live: one 720p25 1.5 Mbit/s stream (H.264 + AAC→Opus) to N WebRTC viewers\n\n")
	fmt.Fprintf(&b, "Server and load tool share the machine's %d cores over loopback. The load tool publishes over RTSP with a timestamp SEI in every frame and "+
		"opens N pion WHEP viewers (%d started per second), then holds for %s. *Added latency* is the server's own histogram "+
		"(`classcast_viewer_send_delay_seconds`: hub arrival → packet sent, per frame per viewer); *client latency* is SEI send time → frame "+
		"complete at the viewer, which also counts the load tool's own scheduling on the shared cores.\n\n", runtime.NumCPU(), ramp, duration)
	b.WriteString("| viewers | connected | TTFF p50 / p95 / max (ms) | added latency p50 / p95 / p99 (ms) | client latency p50 / p95 / p99 (ms) | loss % | server CPU s per viewer-min | server RSS max (MB) | RSS per viewer (KB) |\n")
	b.WriteString("|---:|---:|---|---|---|---:|---:|---:|---:|\n")
	for _, r := range rows {
		a := "n/a"
		if q := r.rep.Server.Added; q != nil {
			a = fmt.Sprintf("%.1f / %.1f / %.1f", q.P50, q.P95, q.P99)
		}
		fmt.Fprintf(&b, "| %d | %d | %.0f / %.0f / %.0f | %s | %.1f / %.1f / %.1f | %.3f | %.3f | %.0f | %.0f |\n",
			r.n, r.rep.ViewersConnected, r.rep.TTFF.P50, r.rep.TTFF.P95, r.rep.TTFF.Max, a,
			r.rep.Latency.P50, r.rep.Latency.P95, r.rep.Latency.P99, r.rep.LossPct,
			r.rep.Server.CPUSecPerViewerMin, r.rep.Server.RSSMBMax, r.rep.Server.RSSKBPerViewer)
	}
	b.WriteString("\nGoals (issue 2): TTFF p95 < 300 ms with a 2 s GOP, server-added latency p99 < 50 ms, 400 viewers with loss < 0.5 %.\n\n")
	b.WriteString("For scale: LiveKit publishes about 190 subscribers per core for one 720p stream; MediaMTX makes a new WebRTC viewer wait for the next keyframe " +
		"(up to a GOP, here 2 s) and does not send AAC to browsers, where classcast starts a viewer from the cached GOP and transcodes AAC to Opus once per stream. " +
		"Neither peer could be run side by side here (no way to fetch and build them on this machine); their figures are their own published ones.\n\n")
	b.WriteString("Commands:\n\n```\n" + "bin/classcast serve -c <config above: loopback, default codecs>\n")
	for _, r := range rows {
		b.WriteString(r.cmd + "\n")
	}
	b.WriteString("```\n")
	return b.String()
}

func added(r loadReport, f func(*quantiles) float64) any {
	if r.Server.Added == nil {
		return "n/a"
	}
	return f(r.Server.Added)
}

func waitReady(url string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	return fmt.Sprintf("- CPU: %s, %d cores\n- %s\n- Linux %s- %s", model, runtime.NumCPU(), mem, kernel, runtime.Version())
}
