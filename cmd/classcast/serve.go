package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/classcast/classcast/internal/api"
	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/config"
	"github.com/classcast/classcast/internal/upload"
	"github.com/classcast/classcast/media/codec"
	"github.com/classcast/classcast/media/rtsp"
	"github.com/classcast/classcast/media/stream"
	"github.com/classcast/classcast/media/webrtc"
	"github.com/classcast/classcast/player"
)

func serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (RTSP ingest, WebRTC egress, API and player)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			log := newLogger(c.Log)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, c, log)
		},
	}
	addConfigFlags(cmd)
	return cmd
}

// pullSources adapts the pull sources to the API.
type pullSources []*rtsp.PullSource

func (p pullSources) States() any {
	out := make([]rtsp.PullStatus, 0, len(p))
	for _, s := range p {
		out = append(out, s.Status())
	}
	return out
}

// serve runs a node until ctx ends, then shuts down in order: stop taking new work,
// end sessions, release ports.
func serve(ctx context.Context, c config.Config, log *slog.Logger) error {
	log.Info("classcast starting", "version", version)
	codec.RouteFFmpegLogs(log.With("component", "ffmpeg"))
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	registry := stream.NewRegistry(log, c.Hub.IdleTimeout)
	defer registry.Close()

	vod, err := startVOD(ctx, c, log, registry, true)
	if err != nil {
		return err
	}
	// Runs after RTSP and WebRTC close (defers run in reverse): recordings in progress
	// are finalized and handed off, the worker hands back what it has not finished.
	defer vod.close(c.HTTP.ShutdownTimeout)

	accounts, err := auth.New(auth.Options{Catalog: vod.catalog, Log: log.With("component", "auth"), PublicURL: c.HTTP.PublicURL})
	if err != nil {
		return err
	}
	if _, err := accounts.Bootstrap(ctx, c.Admin.Password); err != nil {
		return err
	}

	rtspOpts := rtsp.ServerOptions{
		Address: c.RTSP.Address, AnonymousLoopback: c.RTSP.AnonymousLoopback,
		Takeover: c.RTSP.Takeover, ReadTimeout: c.RTSP.ReadTimeout,
		Credentials: func(path string) (string, string, bool) {
			// A key in the config file wins; else the classroom an admin set up.
			if s, ok := c.StreamConfig(path); ok && s.PublishUser != "" {
				return s.PublishUser, s.PublishPass, true
			}
			return accounts.PublishCredentials(path)
		},
	}
	if !c.RTSP.DisableUDP {
		rtspOpts.UDPRTPAddress, rtspOpts.UDPRTCPAddress = c.RTSP.UDPRTPAddress, c.RTSP.UDPRTCPAddress
	}
	rtspServer, err := rtsp.NewServer(rtspOpts, registry, log)
	if err != nil {
		return err
	}
	defer rtspServer.Close()

	egress, err := webrtc.NewServer(webrtc.Options{
		Port: c.WebRTC.Port, DisableTCP: c.WebRTC.DisableTCP, PublicIPs: c.WebRTC.PublicIPs, AdditionalHosts: c.WebRTC.AdditionalHosts,
		IPv6: c.WebRTC.IPv6, Loopback: c.WebRTC.Loopback, MaxViewers: c.WebRTC.MaxViewers,
	}, registry, log)
	if err != nil {
		return err
	}
	defer egress.Close()

	var wg sync.WaitGroup
	defer wg.Wait()
	workCtx, cancelWork := context.WithCancel(ctx)
	defer cancelWork()

	var sources pullSources
	for _, s := range c.Streams {
		if s.Source == "" {
			continue
		}
		ps := rtsp.NewPullSource(s.Path, s.Source, s.SourceTransport, registry, log)
		sources = append(sources, ps)
		wg.Add(1)
		go func() { defer wg.Done(); ps.Run(workCtx) }()
	}

	dist, err := fs.Sub(player.Dist, "dist")
	if err != nil {
		return err
	}
	apiOpts := api.Options{
		Registry: registry, WHEP: egress, Sources: sources, Player: dist, Pprof: c.HTTP.Pprof, Log: log.With("component", "api"),
		AdminPassword: c.Admin.Password, Auth: accounts,
		Access: func(path string) (string, bool) {
			s, ok := c.StreamConfig(path)
			return s.ViewToken, ok && s.ViewToken != ""
		},
	}
	if c.HasRole("api") {
		uploads, err := upload.New(upload.Options{
			Dir: c.UploadDir(), MaxSize: c.Upload.MaxSize, Authorize: api.AuthorizeUpload, Accept: vod.acceptUpload,
			MaxHeight: c.Transcode.MaxHeight, Log: log.With("component", "upload"),
		})
		if err != nil {
			return err
		}
		defer uploads.Close()
		apiOpts.Uploads = uploads
		apiOpts.Catalog, apiOpts.Store = vod.catalog, vod.store
		apiOpts.PresignRedirect = c.Storage.Backend == "s3" && c.Storage.S3.PresignRedirect
		apiOpts.AdminQueues = vod.queue.Monitor("/admin/queues")
		apiOpts.Clips = vod.queue
	}
	apiServer := api.New(apiOpts)
	lis, err := net.Listen("tcp", c.HTTP.Address)
	if err != nil {
		return fmt.Errorf("http.address: listen on %s: %w", c.HTTP.Address, err)
	}
	httpServer := &http.Server{Handler: apiServer, ReadHeaderTimeout: 10 * time.Second}
	httpDone := make(chan error, 1)
	go func() { httpDone <- httpServer.Serve(lis) }()

	base := publicURL(c)
	if c.Demo.Enabled {
		wg.Add(1)
		go func() { defer wg.Done(); runDemo(workCtx, c, log) }()
	}
	apiServer.SetReady(true)
	log.Info("classcast ready",
		"player", base+"/",
		"publish", "rtsp://"+hostOf(base)+portOf(c.RTSP.Address)+"/<path>",
		"whep", base+"/whep/<path>",
		"library", base+"/library",
		"queues", base+"/admin/queues/",
		"metrics", base+"/metrics")
	if c.Demo.Enabled {
		log.Info("demo classroom", "watch", base+"/live/"+c.Demo.Path)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-httpDone:
		return fmt.Errorf("http server: %w", err)
	}
	apiServer.SetReady(false)
	cancelWork()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.HTTP.ShutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "error", err)
	}
	// Deferred in reverse: pull sources and the demo stop (wg), egress ends viewer
	// sessions, RTSP closes publishers, the registry closes hubs.
	return nil
}

func publicURL(c config.Config) string {
	if c.HTTP.PublicURL != "" {
		return strings.TrimRight(c.HTTP.PublicURL, "/")
	}
	host, port, _ := net.SplitHostPort(c.HTTP.Address)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func hostOf(base string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return ":" + port
}
