package main

import (
	"context"
	"log"

	"github.com/classcast/classcast/transcode/ladder/ladderbench"
)

// benchVOD measures the VOD ladder (transcode/ladder) against the ffmpeg CLI
// making the same ladder on a generated minutes-long 1080p25 H.264 + AAC
// source, and returns the BENCHMARKS.md section. workDir keeps the source for
// reruns.
func benchVOD(ctx context.Context, workDir string, minutes int) (markdown string, err error) {
	r, err := ladderbench.Run(ctx, ladderbench.Config{
		WorkDir: workDir,
		Minutes: minutes,
		Logf:    log.Printf,
	})
	if err != nil {
		return "", err
	}
	return r.Markdown(), nil
}
