// Command benchvod runs the VOD ladder benchmark (transcode/ladder against
// the ffmpeg CLI) on its own, or the ladder alone on a given file:
//
//	go run ./scripts/benchvod -minutes 2
//	go run ./scripts/benchvod -in lesson.mp4 -out /tmp/hls
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/classcast/classcast/transcode/ladder"
)

func main() {
	in := flag.String("in", "", "run the ladder on this file only")
	out := flag.String("out", "", "output directory for -in")
	preset := flag.String("preset", "veryfast", "x264 preset")
	flag.Parse()
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if *in != "" {
		start := time.Now()
		res, err := ladder.Run(ctx, *in, *out, ladder.Options{Preset: *preset})
		if err != nil {
			log.Fatal(err)
		}
		el := time.Since(start)
		for _, r := range res.Renditions {
			fmt.Printf("%-6s %4dx%-4d copy=%-5v bw=%8d %s\n", r.Name, r.Width, r.Height, r.Copy, r.Bandwidth, r.Codecs)
		}
		fmt.Printf("duration %v, wall %v, %.2fx realtime, %d files\n", res.Duration, el.Round(time.Millisecond),
			res.Duration.Seconds()/el.Seconds(), len(res.Files))
		return
	}
	log.Fatal("-in required for now")
}
