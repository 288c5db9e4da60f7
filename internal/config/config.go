// Package config is classcast's configuration: one typed struct, loaded from
// classcast.yml, then CLASSCAST_* environment variables, then command-line flags, and
// validated with errors that name the key at fault.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/classcast/classcast/media/stream"
)

// EnvPrefix prefixes every environment override: CLASSCAST_RTSP_ADDRESS sets
// rtsp.address.
const EnvPrefix = "CLASSCAST_"

// Config is the whole configuration of a node.
type Config struct {
	// DataDir holds recordings, the embedded Redis and other state.
	DataDir string `koanf:"data_dir" yaml:"data_dir"`
	Log     Log    `koanf:"log" yaml:"log"`
	HTTP    HTTP   `koanf:"http" yaml:"http"`
	RTSP    RTSP   `koanf:"rtsp" yaml:"rtsp"`
	WebRTC  WebRTC `koanf:"webrtc" yaml:"webrtc"`
	Hub     Hub    `koanf:"hub" yaml:"hub"`
	Demo    Demo   `koanf:"demo" yaml:"demo"`
	// Roles this node plays: ingest (RTSP, hubs, WebRTC, recording), api (HTTP API,
	// player, VOD), worker (transcoding tasks). All three by default.
	Roles     []string  `koanf:"roles" yaml:"roles"`
	Catalog   Catalog   `koanf:"catalog" yaml:"catalog"`
	Redis     Redis     `koanf:"redis" yaml:"redis"`
	Storage   Storage   `koanf:"storage" yaml:"storage"`
	Record    Record    `koanf:"record" yaml:"record"`
	Worker    Worker    `koanf:"worker" yaml:"worker"`
	Transcode Transcode `koanf:"transcode" yaml:"transcode"`
	Upload    Upload    `koanf:"upload" yaml:"upload"`
	Admin     Admin     `koanf:"admin" yaml:"admin"`
	// Streams configures individual streams: publish credentials, pull sources, view
	// tokens. Streams not listed here may still be published from loopback when
	// rtsp.anonymous_loopback is on.
	Streams []Stream `koanf:"streams" yaml:"streams"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `koanf:"level" yaml:"level"`
	// Format is json, text, or auto (text on a terminal, JSON otherwise).
	Format string `koanf:"format" yaml:"format"`
}

// HTTP configures the HTTP server (API, WHEP, player, metrics).
type HTTP struct {
	// Address to listen on, e.g. ":8080".
	Address string `koanf:"address" yaml:"address"`
	// PublicURL is how users reach this server (printed in logs and links); empty means
	// derived from Address.
	PublicURL string `koanf:"public_url" yaml:"public_url"`
	// Pprof mounts Go's profiler at /debug/pprof/ (for diagnosing a busy node; keep it
	// off on a public address).
	Pprof bool `koanf:"pprof" yaml:"pprof"`
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout" yaml:"shutdown_timeout"`
}

// RTSP configures the RTSP server for publishers.
type RTSP struct {
	// Address is the TCP listen address.
	Address string `koanf:"address" yaml:"address"`
	// UDPRTPAddress and UDPRTCPAddress are the UDP transport ports (RTP must be even,
	// RTCP the next port).
	UDPRTPAddress  string `koanf:"udp_rtp_address" yaml:"udp_rtp_address"`
	UDPRTCPAddress string `koanf:"udp_rtcp_address" yaml:"udp_rtcp_address"`
	// DisableUDP offers TCP (interleaved) transport only.
	DisableUDP bool `koanf:"disable_udp" yaml:"disable_udp"`
	// AnonymousLoopback lets a publisher on this machine publish without credentials to
	// a path that has none (development and the demo stream). Remote publishers always
	// need a configured key.
	AnonymousLoopback bool `koanf:"anonymous_loopback" yaml:"anonymous_loopback"`
	// Takeover lets a second publisher on a live path replace the first instead of
	// being refused with 409.
	Takeover bool `koanf:"takeover" yaml:"takeover"`
	// ReadTimeout drops a publisher that sends nothing for this long.
	ReadTimeout time.Duration `koanf:"read_timeout" yaml:"read_timeout"`
}

// WebRTC configures the WebRTC egress.
type WebRTC struct {
	// Port is the one UDP port all peers share; ICE-TCP uses the same number.
	Port int `koanf:"port" yaml:"port"`
	// DisableTCP turns ICE-TCP off.
	DisableTCP bool `koanf:"disable_tcp" yaml:"disable_tcp"`
	// PublicIPs are the addresses viewers reach this server at, when it is behind 1:1
	// NAT (a cloud VM's public IP).
	PublicIPs []string `koanf:"public_ips" yaml:"public_ips"`
	// AdditionalHosts are extra addresses offered to viewers besides the local ones (a
	// second uplink, a VPN address).
	AdditionalHosts []string `koanf:"additional_hosts" yaml:"additional_hosts"`
	// IPv6 offers IPv6 candidates as well as IPv4.
	IPv6 bool `koanf:"ipv6" yaml:"ipv6"`
	// Loopback offers loopback candidates, for viewers on the same machine.
	Loopback bool `koanf:"loopback" yaml:"loopback"`
	// MaxViewers caps WebRTC viewers on this node (0: no cap).
	MaxViewers int `koanf:"max_viewers" yaml:"max_viewers"`
}

// Hub configures the per-stream hubs.
type Hub struct {
	// IdleTimeout is how long a stream keeps its viewers after its publisher drops,
	// waiting for it to come back.
	IdleTimeout time.Duration `koanf:"idle_timeout" yaml:"idle_timeout"`
}

// Demo configures the built-in demo classroom stream.
type Demo struct {
	// Enabled publishes a synthetic class (a test picture with a clock and a tone) with
	// the ffmpeg CLI, so a new user sees and hears a live stream at once.
	Enabled bool `koanf:"enabled" yaml:"enabled"`
	// Path is the demo stream's path.
	Path string `koanf:"path" yaml:"path"`
	// Record records the demo stream (off by default: it never ends, so it would only
	// fill the disk with max_duration-long lessons).
	Record bool `koanf:"record" yaml:"record"`
}

// Catalog configures the SQL catalog of lessons.
type Catalog struct {
	// URL is postgres://user:pass@host/db for a shared catalog; empty means the embedded
	// SQLite file data_dir/catalog.db.
	URL string `koanf:"url" yaml:"url"`
}

// Redis configures the task queue's Redis.
type Redis struct {
	// URL of an external Redis: redis://[:password@]host:port/db, rediss:// for TLS, or
	// redis-sentinel://[:password@]host1:port,host2:port?master=name for Sentinel.
	// Empty starts and supervises an embedded redis-server in data_dir/redis.
	URL string `koanf:"url" yaml:"url"`
	// EmbeddedAddress is where the embedded redis-server listens (loopback only).
	EmbeddedAddress string `koanf:"embedded_address" yaml:"embedded_address"`
	// EmbeddedBinary is the redis-server executable for the embedded Redis.
	EmbeddedBinary string `koanf:"embedded_binary" yaml:"embedded_binary"`
}

// Storage configures the object store for lessons (sources, HLS renditions, posters).
type Storage struct {
	// Backend is local (a directory, the embedded default) or s3.
	Backend string `koanf:"backend" yaml:"backend"`
	// LocalDir is the local backend's directory; empty means data_dir/objects.
	LocalDir string  `koanf:"local_dir" yaml:"local_dir"`
	S3       S3Store `koanf:"s3" yaml:"s3"`
	// ReclaimAfter is how long media nothing uses any more (a deleted lesson's video, a
	// micro-lecture's earlier cuts) stays in the store before the serve node deletes it;
	// 0 keeps it forever.
	ReclaimAfter time.Duration `koanf:"reclaim_after" yaml:"reclaim_after"`
}

// S3Store configures an S3-compatible object store (MinIO, Ceph RGW, SeaweedFS, a cloud).
type S3Store struct {
	// Endpoint is host:port of the S3 API, without scheme.
	Endpoint  string `koanf:"endpoint" yaml:"endpoint"`
	Bucket    string `koanf:"bucket" yaml:"bucket"`
	Region    string `koanf:"region" yaml:"region"`
	AccessKey string `koanf:"access_key" yaml:"access_key"`
	SecretKey string `koanf:"secret_key" yaml:"secret_key"`
	// UseSSL talks https to Endpoint.
	UseSSL bool `koanf:"use_ssl" yaml:"use_ssl"`
	// PresignRedirect answers VOD requests with a redirect to a presigned URL, so
	// viewers fetch media from the store directly instead of through this node.
	PresignRedirect bool `koanf:"presign_redirect" yaml:"presign_redirect"`
}

// Record configures the recording of live streams.
type Record struct {
	// Enabled records every live stream unless its streams[] entry says record: false.
	Enabled bool `koanf:"enabled" yaml:"enabled"`
	// Dir holds recordings being written; empty means data_dir/recordings.
	Dir string `koanf:"dir" yaml:"dir"`
	// SegmentDuration is the target length of each fMP4 segment on disk (cut on
	// keyframes); a crash loses at most one segment.
	SegmentDuration time.Duration `koanf:"segment_duration" yaml:"segment_duration"`
	// Grace is how long a recording waits for its publisher to come back before it is
	// finalized and sent for transcoding.
	Grace time.Duration `koanf:"grace" yaml:"grace"`
	// MaxDuration splits a recording that runs longer than this into several lessons.
	MaxDuration time.Duration `koanf:"max_duration" yaml:"max_duration"`
}

// Worker configures the transcoding worker.
type Worker struct {
	// Concurrency is how many tasks run at once on this node.
	Concurrency int `koanf:"concurrency" yaml:"concurrency"`
	// ShutdownTimeout is how long a stopping worker lets running tasks finish before
	// handing them back to the queue.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout" yaml:"shutdown_timeout"`
}

// Transcode configures the VOD ladder.
type Transcode struct {
	// Preset is the x264 preset for encoded rungs.
	Preset string `koanf:"preset" yaml:"preset"`
	// TempDir holds work files; empty means data_dir/tmp.
	TempDir string `koanf:"temp_dir" yaml:"temp_dir"`
	// MaxHeight rejects sources taller than this (a declared 100000x100000 video
	// is an attack, not a lesson).
	MaxHeight int `koanf:"max_height" yaml:"max_height"`
}

// Upload configures teachers' resumable lesson uploads (tus) on api nodes.
type Upload struct {
	// MaxSize is the largest file a teacher may upload, in bytes (4 GiB); a larger
	// upload is refused before any byte is sent.
	MaxSize int64 `koanf:"max_size" yaml:"max_size"`
	// Dir holds uploads in progress on this node; empty means data_dir/uploads. A
	// client resumes on the node that holds its upload: put several api nodes behind
	// sticky sessions.
	Dir string `koanf:"dir" yaml:"dir"`
}

// Admin configures access to admin pages (the queue UI at /admin/queues).
type Admin struct {
	// Password for HTTP basic auth as user "admin"; empty allows loopback clients only.
	Password string `koanf:"password" yaml:"password"`
}

// Stream configures one stream path.
type Stream struct {
	// Path names the stream, e.g. "school-a/room-101".
	Path string `koanf:"path" yaml:"path"`
	// PublishUser and PublishPass are the RTSP credentials an encoder publishes with.
	PublishUser string `koanf:"publish_user" yaml:"publish_user"`
	PublishPass string `koanf:"publish_pass" yaml:"publish_pass"`
	// Source, when set, is an rtsp:// URL classcast pulls from (an IP camera) instead
	// of waiting for a publisher.
	Source string `koanf:"source" yaml:"source"`
	// SourceTransport is tcp, udp or auto for a pull source.
	SourceTransport string `koanf:"source_transport" yaml:"source_transport"`
	// ViewToken, when set, must be presented by viewers as "Authorization: Bearer" or
	// ?token=; without it the stream is public.
	ViewToken string `koanf:"view_token" yaml:"view_token"`
	// Record, when set, overrides record.enabled for this stream.
	Record *bool `koanf:"record" yaml:"record,omitempty"`
}

// Records reports whether path is recorded.
func (c *Config) Records(path string) bool {
	if s, ok := c.StreamConfig(path); ok && s.Record != nil {
		return *s.Record
	}
	if c.Demo.Enabled && path == c.Demo.Path {
		return c.Demo.Record
	}
	return c.Record.Enabled
}

// HasRole reports whether this node plays role.
func (c *Config) HasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Default is the embedded all-in-one configuration.
func Default() Config {
	return Config{
		DataDir: "./data",
		Log:     Log{Level: "info", Format: "auto"},
		HTTP:    HTTP{Address: ":8080", ShutdownTimeout: 10 * time.Second},
		RTSP: RTSP{Address: ":8554", UDPRTPAddress: ":8000", UDPRTCPAddress: ":8001",
			AnonymousLoopback: true, ReadTimeout: 10 * time.Second},
		WebRTC:  WebRTC{Port: 8189, Loopback: true},
		Hub:     Hub{IdleTimeout: 60 * time.Second},
		Demo:    Demo{Enabled: false, Path: "demo/classroom"},
		Roles:   []string{"ingest", "api", "worker"},
		Redis:   Redis{EmbeddedAddress: "127.0.0.1:6390", EmbeddedBinary: "redis-server"},
		Storage: Storage{Backend: "local", S3: S3Store{Region: "us-east-1"}, ReclaimAfter: time.Hour},
		Record: Record{Enabled: true, SegmentDuration: 2 * time.Second, Grace: 60 * time.Second,
			MaxDuration: 4 * time.Hour},
		Worker:    Worker{Concurrency: 1, ShutdownTimeout: 30 * time.Second},
		Transcode: Transcode{Preset: "superfast", MaxHeight: 2160},
		Upload:    Upload{MaxSize: 4 << 30},
	}
}

// Load builds the effective configuration: defaults, then the YAML file at path (if
// path is not empty; a missing file is an error only when explicit is true), then
// CLASSCAST_* environment variables, then the flags that were set.
func Load(path string, explicit bool, flags *pflag.FlagSet) (Config, error) {
	k := koanf.New(".")
	def := Default()
	if err := k.Load(structs.Provider(def, "koanf"), nil); err != nil {
		return Config{}, err
	}
	known := map[string]string{}
	for _, key := range k.Keys() {
		known[strings.ToUpper(strings.ReplaceAll(key, ".", "_"))] = key
	}
	// Slices of structs have no keys in the defaults.
	known["STREAMS"] = "streams"

	if path != "" {
		if _, err := os.Stat(path); err == nil {
			if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
				return Config{}, fmt.Errorf("config file %s: %w", path, err)
			}
		} else if explicit {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}

	var envErr error
	if err := k.Load(env.Provider(".", env.Opt{
		Prefix: EnvPrefix,
		TransformFunc: func(name, value string) (string, any) {
			key, ok := known[strings.TrimPrefix(name, EnvPrefix)]
			if !ok {
				envErr = errors.Join(envErr, fmt.Errorf("environment variable %s does not name a config key", name))
				return "", nil
			}
			if reflect.TypeOf(k.Get(key)) != nil && reflect.TypeOf(k.Get(key)).Kind() == reflect.Slice {
				return key, strings.Split(value, ",")
			}
			return key, value
		},
	}), nil); err != nil {
		return Config{}, err
	}
	if envErr != nil {
		return Config{}, envErr
	}
	if flags != nil {
		if err := k.Load(posflag.ProviderWithFlag(flags, ".", k, func(f *pflag.Flag) (string, any) {
			if _, ok := known[strings.ToUpper(strings.ReplaceAll(f.Name, ".", "_"))]; !ok {
				return "", nil // a command flag, not a config key
			}
			return f.Name, posflag.FlagVal(flags, f)
		}), nil); err != nil {
			return Config{}, err
		}
	}

	var c Config
	err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: &mapstructure.DecoderConfig{
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		Result:           &c,
		TagName:          "koanf",
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
	}})
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// Validate checks the configuration; every error names the key at fault.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "text":
	default:
		bad("log.format", "%q is not one of auto, json, text", c.Log.Format)
	}
	checkAddr := func(key, addr string, optional bool) {
		if addr == "" && optional {
			return
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			bad(key, "%q is not host:port (%v)", addr, err)
			return
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			bad(key, "port %q is not 0-65535", port)
		}
	}
	checkAddr("http.address", c.HTTP.Address, false)
	checkAddr("rtsp.address", c.RTSP.Address, false)
	if !c.RTSP.DisableUDP {
		checkAddr("rtsp.udp_rtp_address", c.RTSP.UDPRTPAddress, false)
		checkAddr("rtsp.udp_rtcp_address", c.RTSP.UDPRTCPAddress, false)
		_, rp, _ := net.SplitHostPort(c.RTSP.UDPRTPAddress)
		_, cp, _ := net.SplitHostPort(c.RTSP.UDPRTCPAddress)
		r, _ := strconv.Atoi(rp)
		cc, _ := strconv.Atoi(cp)
		if r%2 != 0 || cc != r+1 {
			bad("rtsp.udp_rtp_address", "RTP port must be even and rtsp.udp_rtcp_address the next port (got %s and %s)", rp, cp)
		}
	}
	if c.RTSP.ReadTimeout < time.Second {
		bad("rtsp.read_timeout", "must be at least 1s (got %s)", c.RTSP.ReadTimeout)
	}
	if c.WebRTC.Port < 1 || c.WebRTC.Port > 65535 {
		bad("webrtc.port", "must be 1-65535 (got %d)", c.WebRTC.Port)
	}
	for i, ip := range c.WebRTC.PublicIPs {
		if net.ParseIP(ip) == nil {
			bad(fmt.Sprintf("webrtc.public_ips[%d]", i), "%q is not an IP address", ip)
		}
	}
	for i, ip := range c.WebRTC.AdditionalHosts {
		if net.ParseIP(ip) == nil {
			bad(fmt.Sprintf("webrtc.additional_hosts[%d]", i), "%q is not an IP address", ip)
		}
	}
	if c.WebRTC.MaxViewers < 0 {
		bad("webrtc.max_viewers", "must not be negative")
	}
	if c.Hub.IdleTimeout < time.Second {
		bad("hub.idle_timeout", "must be at least 1s (got %s)", c.Hub.IdleTimeout)
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		bad("http.shutdown_timeout", "must be positive")
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if c.Demo.Enabled {
		if err := stream.ValidatePath(c.Demo.Path); err != nil {
			bad("demo.path", "%v", err)
		}
	}
	for i, r := range c.Roles {
		switch r {
		case "ingest", "api", "worker":
		default:
			bad(fmt.Sprintf("roles[%d]", i), "%q is not one of ingest, api, worker", r)
		}
	}
	if len(c.Roles) == 0 {
		bad("roles", "name at least one of ingest, api, worker")
	}
	if c.Redis.URL == "" {
		checkAddr("redis.embedded_address", c.Redis.EmbeddedAddress, false)
	} else if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "redis-sentinel") {
		bad("redis.url", "%q is not a redis://, rediss:// or redis-sentinel:// URL", redactURL(c.Redis.URL))
	}
	if c.Catalog.URL != "" {
		if u, err := url.Parse(c.Catalog.URL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql" && u.Scheme != "sqlite") {
			bad("catalog.url", "%q is not a postgres:// or sqlite:// URL", redactURL(c.Catalog.URL))
		}
	}
	switch c.Storage.Backend {
	case "local":
	case "s3":
		if c.Storage.S3.Endpoint == "" {
			bad("storage.s3.endpoint", "is required for storage.backend s3")
		} else if strings.Contains(c.Storage.S3.Endpoint, "://") {
			bad("storage.s3.endpoint", "%q: give host:port without scheme (use storage.s3.use_ssl for https)", c.Storage.S3.Endpoint)
		}
		if c.Storage.S3.Bucket == "" {
			bad("storage.s3.bucket", "is required for storage.backend s3")
		}
	default:
		bad("storage.backend", "%q is not one of local, s3", c.Storage.Backend)
	}
	if c.Record.SegmentDuration < 500*time.Millisecond || c.Record.SegmentDuration > time.Minute {
		bad("record.segment_duration", "must be between 500ms and 1m (got %s)", c.Record.SegmentDuration)
	}
	if c.Record.Grace < 0 {
		bad("record.grace", "must not be negative")
	}
	if c.Record.MaxDuration < time.Minute {
		bad("record.max_duration", "must be at least 1m (got %s)", c.Record.MaxDuration)
	}
	if c.Worker.Concurrency < 1 {
		bad("worker.concurrency", "must be at least 1")
	}
	switch c.Transcode.Preset {
	case "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow":
	default:
		bad("transcode.preset", "%q is not an x264 preset", c.Transcode.Preset)
	}
	if c.Transcode.MaxHeight < 144 {
		bad("transcode.max_height", "must be at least 144")
	}
	if c.Storage.ReclaimAfter < 0 {
		bad("storage.reclaim_after", "must not be negative (0 keeps unused media forever) (got %s)", c.Storage.ReclaimAfter)
	}
	if c.Upload.MaxSize < 1<<20 {
		bad("upload.max_size", "must be at least 1048576 bytes (1 MiB) (got %d)", c.Upload.MaxSize)
	}
	seen := map[string]bool{}
	for i, s := range c.Streams {
		key := fmt.Sprintf("streams[%d]", i)
		if err := stream.ValidatePath(s.Path); err != nil {
			bad(key+".path", "%q: %v", s.Path, err)
		}
		if seen[s.Path] {
			bad(key+".path", "%q is configured twice", s.Path)
		}
		seen[s.Path] = true
		if (s.PublishUser == "") != (s.PublishPass == "") {
			bad(key+".publish_user", "publish_user and publish_pass must be set together")
		}
		if s.Source != "" {
			u, err := url.Parse(s.Source)
			if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
				bad(key+".source", "%q is not an rtsp:// URL", redactURL(s.Source))
			}
			if s.PublishUser != "" {
				bad(key+".source", "a pulled stream takes no publisher; remove publish_user/publish_pass")
			}
		}
		switch s.SourceTransport {
		case "", "auto", "tcp", "udp":
		default:
			bad(key+".source_transport", "%q is not one of tcp, udp, auto", s.SourceTransport)
		}
	}
	return errors.Join(errs...)
}

// StreamConfig returns the configuration of path, if it has one.
func (c *Config) StreamConfig(path string) (Stream, bool) {
	for _, s := range c.Streams {
		if s.Path == path {
			return s, true
		}
	}
	return Stream{}, false
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		// Unparsable (a bad port, say): still mask whatever stands between "://" and the
		// last "@", which is where a password would be.
		if i := strings.Index(s, "://"); i >= 0 {
			if j := strings.LastIndexByte(s, '@'); j > i+3 {
				return s[:i+3] + "xxxxx" + s[j:]
			}
		}
		return s
	}
	if u.User == nil {
		return s
	}
	u.User = url.UserPassword(u.User.Username(), "xxxxx")
	return u.String()
}

// RecordDir is where recordings are written.
func (c *Config) RecordDir() string {
	if c.Record.Dir != "" {
		return c.Record.Dir
	}
	return filepath.Join(c.DataDir, "recordings")
}

// StorageDir is the local object store's directory.
func (c *Config) StorageDir() string {
	if c.Storage.LocalDir != "" {
		return c.Storage.LocalDir
	}
	return filepath.Join(c.DataDir, "objects")
}

// TempDir is where transcoding work files go.
func (c *Config) TempDir() string {
	if c.Transcode.TempDir != "" {
		return c.Transcode.TempDir
	}
	return filepath.Join(c.DataDir, "tmp")
}

// UploadDir is where uploads in progress are kept.
func (c *Config) UploadDir() string {
	if c.Upload.Dir != "" {
		return c.Upload.Dir
	}
	return filepath.Join(c.DataDir, "uploads")
}

// Redacted returns a copy with secrets masked, for printing.
func (c Config) Redacted() Config {
	out := c
	out.Streams = append([]Stream(nil), c.Streams...)
	for i := range out.Streams {
		if out.Streams[i].PublishPass != "" {
			out.Streams[i].PublishPass = "xxxxx"
		}
		if out.Streams[i].ViewToken != "" {
			out.Streams[i].ViewToken = "xxxxx"
		}
		out.Streams[i].Source = redactURL(out.Streams[i].Source)
	}
	if out.Storage.S3.SecretKey != "" {
		out.Storage.S3.SecretKey = "xxxxx"
	}
	if out.Admin.Password != "" {
		out.Admin.Password = "xxxxx"
	}
	out.Redis.URL = redactURL(out.Redis.URL)
	out.Catalog.URL = redactURL(out.Catalog.URL)
	return out
}
