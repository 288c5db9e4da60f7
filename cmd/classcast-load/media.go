package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// mediaConfig says what test media to generate.
type mediaConfig struct {
	Seconds int    `json:"seconds"`
	Size    string `json:"size"` // WxH
	FPS     int    `json:"fps"`
	Bitrate string `json:"bitrate"` // ffmpeg syntax, e.g. 1500k
	GOP     int    `json:"gop"`     // frames between keyframes
	Profile string `json:"profile"` // baseline or main
}

// loadMedia is the generated media, held in memory and looped by the
// publisher.
type loadMedia struct {
	fps      int
	sps, pps []byte
	// video holds access units, NAL units without start codes, AUDs removed.
	video [][][]byte
	// audio holds raw AAC-LC frames of 1024 samples each.
	audio       [][]byte
	audioConfig mpeg4audio.AudioSpecificConfig
}

// generateMedia runs ffmpeg twice (video, audio), in parallel, each writing
// a raw stream to stdout, and parses the result.
func generateMedia(ctx context.Context, cfg mediaConfig) (*loadMedia, error) {
	if cfg.Profile != "main" && cfg.Profile != "baseline" {
		return nil, fmt.Errorf("profile %q: want main or baseline", cfg.Profile)
	}
	bitrate, err := parseBitrate(cfg.Bitrate)
	if err != nil {
		return nil, err
	}
	secs := strconv.Itoa(cfg.Seconds)
	videoArgs := []string{
		"-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=%d", cfg.Size, cfg.FPS),
		"-t", secs,
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", cfg.Profile, "-pix_fmt", "yuv420p",
		"-b:v", cfg.Bitrate, "-maxrate", cfg.Bitrate, "-bufsize", strconv.Itoa(2 * bitrate),
		"-g", strconv.Itoa(cfg.GOP), "-keyint_min", strconv.Itoa(cfg.GOP), "-sc_threshold", "0",
		"-bf", "0",
		// SPS/PPS before every keyframe, so a viewer can start at any GOP.
		"-x264-params", "repeat-headers=1",
		"-f", "h264", "pipe:1",
	}
	audioArgs := []string{
		"-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", secs,
		"-ac", "2", "-c:a", "aac", "-b:a", "64k",
		"-f", "adts", "pipe:1",
	}

	var (
		wg                 sync.WaitGroup
		videoRaw, audioRaw []byte
		videoErr, audioErr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); videoRaw, videoErr = runFFmpeg(ctx, videoArgs) }()
	go func() { defer wg.Done(); audioRaw, audioErr = runFFmpeg(ctx, audioArgs) }()
	wg.Wait()
	if err := errors.Join(videoErr, audioErr); err != nil {
		return nil, err
	}

	m := &loadMedia{fps: cfg.FPS}
	if err := m.parseVideo(videoRaw); err != nil {
		return nil, err
	}
	if err := m.parseAudio(audioRaw); err != nil {
		return nil, err
	}
	return m, nil
}

// parseBitrate reads ffmpeg's 1500k / 2M / 800000 forms, in bits per second.
func parseBitrate(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1000, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult, s = 1000000, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bitrate %q: want a number with optional k or M", s)
	}
	return n * mult, nil
}

func runFFmpeg(ctx context.Context, args []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ffmpeg %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// splitAnnexB returns the NAL units of an Annex-B byte stream, without start
// codes. It slices buf, without copying.
func splitAnnexB(buf []byte) [][]byte {
	var nalus [][]byte
	start := -1
	for i := 0; i+2 < len(buf); {
		if buf[i] == 0 && buf[i+1] == 0 && buf[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && buf[end-1] == 0 { // the zero of a 4-byte start code, or trailing_zero_8bits
					end--
				}
				nalus = append(nalus, buf[start:end])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(buf) {
		nalus = append(nalus, buf[start:])
	}
	return nalus
}

func isVCL(typ h264.NALUType) bool { return typ >= 1 && typ <= 5 }

// groupAccessUnits splits a NAL unit sequence into access units (H.264
// 7.4.1.2.3): a new one starts at an AUD, SEI, SPS, PPS or type 14-18 NAL
// unit that follows a picture, or at a slice with first_mb_in_slice 0 that
// follows a picture. AUDs are dropped: the publisher's SEI must come first.
func groupAccessUnits(nalus [][]byte) [][][]byte {
	var aus [][][]byte
	var cur [][]byte
	sawVCL := false
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		typ := h264.NALUType(n[0] & 0x1f)
		startsAU := false
		switch {
		case typ == h264.NALUTypeAccessUnitDelimiter || typ == h264.NALUTypeSEI ||
			typ == h264.NALUTypeSPS || typ == h264.NALUTypePPS || (typ >= 14 && typ <= 18):
			startsAU = sawVCL
		case isVCL(typ):
			// first_mb_in_slice is ue(v) at the start of the slice header:
			// value 0 is coded as a single 1 bit.
			startsAU = sawVCL && len(n) > 1 && n[1]&0x80 != 0
		}
		if startsAU {
			aus = append(aus, cur)
			cur, sawVCL = nil, false
		}
		if isVCL(typ) {
			sawVCL = true
		}
		if typ != h264.NALUTypeAccessUnitDelimiter {
			cur = append(cur, n)
		}
	}
	if sawVCL {
		aus = append(aus, cur)
	}
	return aus
}

func (m *loadMedia) parseVideo(raw []byte) error {
	m.video = groupAccessUnits(splitAnnexB(raw))
	if len(m.video) == 0 {
		return fmt.Errorf("ffmpeg produced no H.264 access units")
	}
	if !h264.IsRandomAccess(m.video[0]) {
		return fmt.Errorf("H.264 stream does not start with a keyframe")
	}
	for _, n := range m.video[0] {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			m.sps = n
		case h264.NALUTypePPS:
			m.pps = n
		}
	}
	if m.sps == nil || m.pps == nil {
		return fmt.Errorf("first H.264 access unit has no SPS/PPS")
	}
	return nil
}

func (m *loadMedia) parseAudio(raw []byte) error {
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(raw); err != nil {
		return fmt.Errorf("parse ADTS: %w", err)
	}
	if len(pkts) == 0 {
		return fmt.Errorf("ffmpeg produced no AAC frames")
	}
	m.audioConfig = mpeg4audio.AudioSpecificConfig{
		Type:         pkts[0].Type,
		SampleRate:   pkts[0].SampleRate,
		ChannelCount: pkts[0].ChannelCount,
	}
	for _, p := range pkts {
		m.audio = append(m.audio, p.AU)
	}
	return nil
}
