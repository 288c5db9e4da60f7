// Package ladder turns one media file into HLS for video on demand, in
// process with the FFmpeg libraries (go-astiav): it probes the source, then
// decodes it once and encodes every rung of an adaptive bitrate ladder from
// that one decode (1080p / 720p / 480p / 360p as the source allows, never
// upscaled), with AAC audio encoded once and muxed into every rung, plus an
// audio-only rendition for the slowest links, a poster image and a
// storyboard sprite with a WebVTT thumbnail track for seeking.
//
// The top rung is a stream copy when the source is already browser-safe
// H.264. Segments are fragmented MP4 (CMAF), cut at the same timestamps in
// every rung so a player can switch rungs at any segment boundary.
//
// How Run works:
//
//  1. A first pass reads every packet without decoding (cheap: I/O only):
//     exact duration, truncation, B-frames, and the keyframes. From them
//     the plan fixes the rungs and every segment cut before an encoder
//     starts: at the first source IDR at or after each 2 s mark when the
//     top rung is copied (its segments can only start on the source's
//     keyframes), else at the first frame at or after each mark.
//  2. The second pass decodes once (on one thread for light H.264, frame
//     threads for heavier sources). Each encoded rung runs in its own
//     goroutine: a filter graph scales (and turns upright) the picture,
//     then libx264 encodes it with an IDR forced at every cut and no other
//     keyframe (no scene cuts, closed GOPs). Smaller rungs scale
//     from a larger rung's output instead of the full picture, which saves
//     most of the scaling work. Audio is decoded and encoded to AAC once in
//     the reading goroutine and its frames go to every rung.
//  3. Each rung writes its own fMP4 segments (mediacommon's fmp4), cutting
//     where the plan says; the master playlist takes each rung's measured
//     peak and average bit rate and its real codecs string.
//
// Timeline: every rung maps source timestamps the same way onto one
// timeline (90 kHz video, 48 kHz audio) that starts a few frames after
// zero, so decode times of reordered frames stay positive without negative
// composition offsets and presentation times are identical in every rung.
package ladder

import (
	"errors"
	"time"
)

// ErrBadInput marks a permanent input failure: the file is not usable media
// (empty, not audio or video, truncated, too large a picture, no decodable
// stream). Retrying cannot help; match it with errors.Is.
var ErrBadInput = errors.New("not usable media")

// Info describes a probed source.
type Info struct {
	// Format is the FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2".
	Format string
	// Duration of the media.
	Duration time.Duration
	// Size of the file in bytes.
	Size int64
	// Video is the video stream, nil when there is none.
	Video *VideoInfo
	// Audio is the audio stream, nil when there is none.
	Audio *AudioInfo
}

// VideoInfo describes the video stream of a source.
type VideoInfo struct {
	// Codec is the FFmpeg codec name ("h264", "hevc", ...); Profile its
	// profile when known ("Constrained Baseline", "Main", "High", "Main 10").
	Codec, Profile string
	// Width and Height are the stored picture size; Rotation is how many
	// degrees clockwise (0, 90, 180, 270) the picture must be turned to be
	// upright, from the container's display matrix. Outputs are upright.
	Width, Height, Rotation int
	// FPS is the average frame rate.
	FPS float64
	// BitRate in bit/s, 0 when unknown.
	BitRate int64
	// BFrames reports frame reordering (B-frames) seen in the first packets.
	BFrames bool
	// PixFmt is the FFmpeg pixel format name, e.g. "yuv420p".
	PixFmt string
}

// AudioInfo describes the audio stream of a source.
type AudioInfo struct {
	// Codec is the FFmpeg codec name ("aac", "mp3", "opus", ...).
	Codec string
	// SampleRate in Hz and Channels count.
	SampleRate, Channels int
	// BitRate in bit/s, 0 when unknown.
	BitRate int64
}

// Options tune Run. The zero value is usable.
type Options struct {
	// Preset is the x264 preset of encoded rungs; DefaultPreset when empty.
	Preset string
	// MaxHeight rejects (ErrBadInput) sources whose picture is larger: the
	// short side may not exceed MaxHeight nor the long side twice that.
	// 0 means DefaultMaxHeight.
	MaxHeight int
	// SegmentDuration is the HLS segment length, 2 s when 0. Segments are
	// cut at keyframes, so they may be slightly longer.
	SegmentDuration time.Duration
	// Progress, when not nil, is called with the step ("probe", "ladder",
	// "poster", "storyboard") and how far it is, 0 to 100; at most a few
	// times per second, from the goroutine that called Run.
	Progress func(step string, percent float64)
}

// Rendition is one variant stream of the master playlist.
type Rendition struct {
	// Name is the rung: "1080p", "720p", "480p", "360p" or "audio"; it is
	// also the directory holding the rung's files.
	Name string
	// Width and Height of the picture, 0 for the audio rung.
	Width, Height int
	// Bandwidth is the peak segment bit rate in bit/s, as in the master
	// playlist.
	Bandwidth int
	// Codecs is the RFC 6381 codecs string, e.g. "avc1.64001f,mp4a.40.2".
	Codecs string
	// FrameRate is the average frame rate of the video, 0 for the audio rung. The
	// ladder keeps the source's frame timing, so every video rung has the same one.
	FrameRate float64
	// Copy reports a video stream copied from the source, not re-encoded.
	Copy bool
	// Playlist is the media playlist, relative to the output directory.
	Playlist string
}

// Result is what Run made.
type Result struct {
	// Info is the probed source.
	Info Info
	// Duration of the output.
	Duration time.Duration
	// Width and Height of the top rung, upright; 0 for audio-only media.
	Width, Height int
	// Renditions, highest first, the audio-only one last.
	Renditions []Rendition
	// Files lists every file written, relative to the output directory,
	// slash-separated: "master.m3u8", "720p/seg_00001.m4s", "poster.jpg"...
	Files []string
}

// Defaults.
const (
	// DefaultPreset is the x264 preset when Options.Preset is empty. superfast
	// makes a 1080p ladder at about 5x realtime on 2 cores (3-minute source,
	// 0.37-0.38 CPU s per media s); veryfast gives 0.3-0.6 dB better SSIM at
	// the same bitrates but costs about 1.4x the CPU (measured: BENCHMARKS.md),
	// short of the 4x a school's daily recordings need.
	DefaultPreset = "superfast"
	// DefaultMaxHeight is the largest picture accepted when no limit is
	// given: 4K.
	DefaultMaxHeight = 2160
	// DefaultSegmentDuration is the HLS segment length when none is given.
	DefaultSegmentDuration = 2 * time.Second
)
