// Command classcast is the classcast media server: one binary for the all-in-one node
// and for each scale-out role.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/classcast/classcast/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	root := &cobra.Command{
		Use:           "classcast",
		Short:         "classcast: live and recorded classroom media server",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringP("config", "c", "classcast.yml", "configuration file (YAML)")
	root.AddCommand(serveCmd(), workerCmd(), configCmd(), versionCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "classcast:", err)
		os.Exit(1)
	}
}

// addConfigFlags adds flags for the keys people change most; every other key is set in
// the YAML file or with CLASSCAST_* variables.
func addConfigFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	d := config.Default()
	f.String("data_dir", d.DataDir, "directory for recordings and state")
	f.String("log.level", d.Log.Level, "log level: debug, info, warn, error")
	f.String("log.format", d.Log.Format, "log format: auto, json, text")
	f.String("http.address", d.HTTP.Address, "HTTP listen address (API, WHEP, player, metrics)")
	f.String("rtsp.address", d.RTSP.Address, "RTSP listen address for publishers")
	f.Int("webrtc.port", d.WebRTC.Port, "WebRTC UDP port shared by all viewers (and ICE-TCP port)")
	f.StringSlice("webrtc.public_ips", nil, "public IPs to announce to viewers (server behind NAT)")
	f.Bool("demo.enabled", d.Demo.Enabled, "publish a demo classroom stream (needs the ffmpeg CLI)")
}

func loadConfig(cmd *cobra.Command) (config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	explicit := cmd.Flags().Changed("config")
	return config.Load(path, explicit, cmd.Flags())
}

func configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (file, environment and flags applied; secrets masked)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			enc := yaml.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent(2)
			return enc.Encode(c.Redacted())
		},
	}
	addConfigFlags(cmd)
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			v := version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" {
						v += "-" + s.Value
					}
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "classcast", v)
		},
	}
}

func newLogger(c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	format := c.Format
	if format == "auto" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	var l *slog.Logger
	if format == "text" {
		l = slog.New(slog.NewTextHandler(os.Stderr, opts))
	} else {
		l = slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	// Libraries that log through the default logger land in the same stream.
	slog.SetDefault(l)
	return l
}
