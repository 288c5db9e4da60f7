// Command benchvod runs the VOD ladder benchmark (transcode/ladder against
// the ffmpeg CLI, see transcode/ladder/ladderbench) on its own, printing
// the markdown section, or the ladder alone on a given file:
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
	"path/filepath"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/classcast/classcast/transcode/ladder"
	"github.com/classcast/classcast/transcode/ladder/ladderbench"
)

func main() {
	minutes := flag.Int("minutes", 2, "length of the generated source")
	work := flag.String("work", filepath.Join(os.TempDir(), "classcast-benchvod"), "work directory (the source is kept there)")
	preset := flag.String("preset", ladder.DefaultPreset, "x264 preset")
	in := flag.String("in", "", "run the ladder on this file only")
	out := flag.String("out", "", "output directory for -in")
	flag.Parse()
	log.SetFlags(0)
	astiav.SetLogLevel(astiav.LogLevelError)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if *in != "" {
		if *out == "" {
			log.Fatal("-out is required with -in")
		}
		start := time.Now()
		res, err := ladder.Run(ctx, *in, *out, ladder.Options{Preset: *preset})
		if err != nil {
			log.Fatal(err)
		}
		el := time.Since(start)
		for _, r := range res.Renditions {
			fmt.Printf("%-6s %4dx%-4d copy=%-5v bandwidth=%8d %s\n", r.Name, r.Width, r.Height, r.Copy, r.Bandwidth, r.Codecs)
		}
		fmt.Printf("%v of media in %v: %.2fx realtime, %d files\n", res.Duration.Round(time.Millisecond),
			el.Round(time.Millisecond), res.Duration.Seconds()/el.Seconds(), len(res.Files))
		return
	}

	r, err := ladderbench.Run(ctx, ladderbench.Config{WorkDir: *work, Minutes: *minutes, Preset: *preset, Logf: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(r.Markdown())
}
