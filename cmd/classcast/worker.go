package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/classcast/classcast/media/codec"
	"github.com/classcast/classcast/transcode"
)

func workerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run only the transcoding worker (takes tasks from the queue in Redis)",
		Long: "Run only the transcoding worker. With redis.url empty it joins the embedded Redis of a\n" +
			"`classcast serve` on this machine (redis.embedded_address); on other machines set redis.url,\n" +
			"storage.* and catalog.url to the shared services.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			c.Roles = []string{"worker"}
			log := newLogger(c.Log)
			codec.RouteFFmpegLogs(log.With("component", "ffmpeg"))
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log.Info("classcast worker starting", "version", version, "redis", transcode.Redact(redisURL(c)), "concurrency", c.Worker.Concurrency)
			v, err := startVOD(ctx, c, log, nil, false)
			if err != nil {
				return err
			}
			<-ctx.Done()
			log.Info("worker shutting down; unfinished tasks go back to the queue")
			v.close(c.Worker.ShutdownTimeout)
			return nil
		},
	}
	addConfigFlags(cmd)
	return cmd
}
