package ladder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/asticode/go-astiav"
)

// formatWhitelist lists the FFmpeg demuxers a source may use: real audio
// and video containers. Anything else is refused before FFmpeg looks
// inside, which keeps out playlists and concat scripts (they would open
// other files), image sequences, subtitles, and text that a permissive
// demuxer would take for ANSI art.
const formatWhitelist = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,asf,ogg,wav,mp3,aac,flac,yuv4mpegpipe"

// Size limits checked on the container's declaration, before any decoder
// allocates a picture.
const (
	// maxSide bounds either side of any video stream, cover art included.
	maxSide = 16384
	// maxPixels bounds the area of any video stream: 8K.
	maxPixels = 7680 * 4320
	// minDuration is the shortest media accepted.
	minDuration = 100 * time.Millisecond
	// quickScanPackets bounds the video packets Probe reads to detect
	// B-frames.
	quickScanPackets = 64
)

// source is an open input with its chosen streams.
type source struct {
	path  string
	fc    *astiav.FormatContext
	intr  astiav.IOInterrupter
	stop  func() bool
	info  Info
	video *astiav.Stream // nil when absent
	audio *astiav.Stream // nil when absent
	// Upright display size of the video: rotation and sample aspect
	// ratio applied.
	dispW, dispH int
	fps          astiav.Rational
	// declared is the container's duration, 0 when it has none.
	declared time.Duration
}

// Probe opens path and describes its media: container, duration, streams,
// codecs, rotation. It reads the container header and the first packets
// only (the whole file when the container does not declare a duration).
// Sources that are not usable media, or whose picture exceeds maxHeight
// (0 means DefaultMaxHeight; see Options.MaxHeight), fail with an error
// wrapping ErrBadInput that says why.
func Probe(ctx context.Context, path string, maxHeight int) (Info, error) {
	s, err := openSource(ctx, path, maxHeight)
	if err != nil {
		return Info{}, err
	}
	defer s.close()
	sc, err := s.scan(ctx, s.declared == 0, nil)
	if err != nil {
		return Info{}, err
	}
	s.applyScan(sc)
	return s.info, nil
}

// openSource opens path, checks it and picks its streams.
func openSource(ctx context.Context, path string, maxHeight int) (*source, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if maxHeight <= 0 {
		maxHeight = DefaultMaxHeight
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ladder: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("ladder: %s: %w: not a regular file", path, ErrBadInput)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("ladder: %s: %w: the file is empty", path, ErrBadInput)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("ladder: %w", err)
	}

	s := &source{path: path, info: Info{Size: st.Size()}}
	s.fc = astiav.AllocFormatContext()
	if s.fc == nil {
		return nil, errors.New("ladder: allocating format context failed")
	}
	// Blocking reads give up when ctx ends.
	s.intr = s.fc.SetInterruptCallback()
	s.stop = context.AfterFunc(ctx, s.intr.Interrupt)

	opts, err := newDict("format_whitelist", formatWhitelist, "protocol_whitelist", "file")
	if err != nil {
		s.close()
		return nil, fmt.Errorf("ladder: %w", err)
	}
	// The "file:" prefix keeps a colon in the name from selecting another
	// protocol.
	err = s.fc.OpenInput("file:"+abs, nil, opts)
	opts.Free()
	if err != nil {
		// A failed avformat_open_input frees the context.
		s.fc = nil
		s.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if isMP4(abs) {
			return nil, fmt.Errorf("ladder: %s: %w: the MP4/MOV file is damaged or incomplete, was the upload cut short? (%v)", path, ErrBadInput, averr(err))
		}
		// FFmpeg's own reason ("Invalid data found when processing
		// input", or "Invalid argument" for a refused demuxer) would only
		// confuse the user who reads this.
		return nil, fmt.Errorf("ladder: %s: %w: not a supported audio or video file", path, ErrBadInput)
	}
	s.info.Format = s.fc.InputFormat().Name()

	// Check declared picture sizes before FindStreamInfo decodes anything:
	// a header claiming 30000x30000 must not reach a decoder.
	for _, is := range s.fc.Streams() {
		cp := is.CodecParameters()
		if cp.MediaType() != astiav.MediaTypeVideo {
			continue
		}
		if err := checkSize(cp.Width(), cp.Height(), maxHeight, isCoverArt(is)); err != nil {
			s.close()
			return nil, fmt.Errorf("ladder: %s: %w", path, err)
		}
	}
	// nil options: avformat_find_stream_info takes one dictionary per
	// stream, which go-astiav cannot pass.
	if err := s.fc.FindStreamInfo(nil); err != nil {
		s.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("ladder: %s: %w: reading stream information: %v", path, ErrBadInput, averr(err))
	}
	if err := s.pickStreams(maxHeight); err != nil {
		s.close()
		return nil, fmt.Errorf("ladder: %s: %w", path, err)
	}
	return s, nil
}

// isMP4 reports a file that starts like an ISO BMFF (MP4, MOV, M4A) file:
// one FFmpeg cannot open is then most likely cut short, its index (written
// last by most tools) missing.
func isMP4(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [8]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	switch string(b[4:8]) {
	case "ftyp", "moov", "mdat", "wide", "free":
		return true
	}
	return false
}

// checkSize rejects a declared picture size no decoder should allocate, or
// a main video larger than maxHeight allows.
func checkSize(w, h, maxHeight int, cover bool) error {
	if w < 0 || h < 0 || w > maxSide || h > maxSide || int64(w)*int64(h) > maxPixels {
		return fmt.Errorf("%w: the picture is %dx%d, larger than any supported video", ErrBadInput, w, h)
	}
	if cover || w == 0 || h == 0 {
		return nil
	}
	if short, long := min(w, h), max(w, h); short > maxHeight || long > 2*maxHeight {
		return fmt.Errorf("%w: the picture is %dx%d, larger than the %dp limit", ErrBadInput, w, h, maxHeight)
	}
	return nil
}

// isCoverArt reports a video stream that is an attached picture (album art
// in an MP3 or M4A): a still image codec with at most one frame. go-astiav
// does not expose the stream disposition that says so directly.
func isCoverArt(is *astiav.Stream) bool {
	switch is.CodecParameters().CodecID() {
	case astiav.CodecIDMjpeg, astiav.CodecIDPng, astiav.CodecIDBmp, astiav.CodecIDGif, astiav.CodecIDWebp, astiav.CodecIDTiff:
		return is.NbFrames() <= 1
	}
	return false
}

// pickStreams chooses the video and audio streams and fills s.info.
func (s *source) pickStreams(maxHeight int) error {
	for _, is := range s.fc.Streams() {
		cp := is.CodecParameters()
		switch cp.MediaType() {
		case astiav.MediaTypeVideo:
			if s.video != nil || isCoverArt(is) {
				continue
			}
			if astiav.FindDecoder(cp.CodecID()) == nil {
				return fmt.Errorf("%w: no decoder for video codec %q", ErrBadInput, cp.CodecID().Name())
			}
			if cp.Width() <= 0 || cp.Height() <= 0 {
				return fmt.Errorf("%w: the %s video stream has no picture size", ErrBadInput, cp.CodecID().Name())
			}
			if err := checkSize(cp.Width(), cp.Height(), maxHeight, false); err != nil {
				return err
			}
			s.video = is
		case astiav.MediaTypeAudio:
			if s.audio != nil || astiav.FindDecoder(cp.CodecID()) == nil || cp.SampleRate() <= 0 || cp.ChannelLayout().NbChannels() <= 0 {
				continue
			}
			s.audio = is
		}
	}
	if s.video == nil && s.audio == nil {
		return fmt.Errorf("%w: no decodable audio or video stream", ErrBadInput)
	}

	if d := s.fc.Duration(); d > 0 {
		s.declared = time.Duration(d) * time.Microsecond
	} else {
		for _, is := range []*astiav.Stream{s.video, s.audio} {
			if is != nil && is.Duration() > 0 {
				d := time.Duration(float64(is.Duration()) * is.TimeBase().Float64() * float64(time.Second))
				s.declared = max(s.declared, d)
			}
		}
	}
	s.info.Duration = s.declared

	if s.video != nil {
		cp := s.video.CodecParameters()
		v := &VideoInfo{
			Codec:   cp.CodecID().Name(),
			Profile: profileName(cp.CodecID(), cp.Profile()),
			Width:   cp.Width(),
			Height:  cp.Height(),
			BitRate: cp.BitRate(),
			PixFmt:  cp.PixelFormat().Name(),
		}
		if m, err := astiav.NewDisplayMatrixFromBytes(s.video.SideData(astiav.PacketSideDataTypeDisplaymatrix)); err == nil && m != nil {
			v.Rotation = normRotation(m.Rotation())
		}
		s.fps = s.video.AvgFrameRate()
		if s.fps.Num() <= 0 || s.fps.Den() <= 0 || s.fps.Float64() > 1000 {
			s.fps = s.video.RFrameRate()
		}
		if s.fps.Num() <= 0 || s.fps.Den() <= 0 || s.fps.Float64() > 1000 || s.fps.Float64() < 1 {
			s.fps = astiav.NewRational(25, 1)
		}
		v.FPS = s.fps.Float64()
		s.info.Video = v

		w, h := v.Width, v.Height
		if sar := cp.SampleAspectRatio(); sar.Num() > 0 && sar.Den() > 0 && sar.Num() != sar.Den() {
			w = int(math.Round(float64(w) * sar.Float64()))
		}
		if v.Rotation == 90 || v.Rotation == 270 {
			w, h = h, w
		}
		s.dispW, s.dispH = max(w, 2), max(h, 2)
	}
	if s.audio != nil {
		cp := s.audio.CodecParameters()
		s.info.Audio = &AudioInfo{
			Codec:      cp.CodecID().Name(),
			SampleRate: cp.SampleRate(),
			Channels:   cp.ChannelLayout().NbChannels(),
			BitRate:    cp.BitRate(),
		}
	}
	return nil
}

// normRotation turns go-astiav's clockwise angle into 0, 90, 180 or 270.
func normRotation(deg float64) int {
	if math.IsNaN(deg) || math.IsInf(deg, 0) {
		return 0
	}
	r := int(math.Round(deg/90)) * 90 % 360
	if r < 0 {
		r += 360
	}
	return r
}

// profileName names the H.264 and H.265 profiles a browser cares about.
func profileName(id astiav.CodecID, p astiav.Profile) string {
	switch id {
	case astiav.CodecIDH264:
		switch int(p) {
		case 66:
			return "Baseline"
		case 66 | 1<<9:
			return "Constrained Baseline"
		case 77:
			return "Main"
		case 88:
			return "Extended"
		case 100:
			return "High"
		case 110, 110 | 1<<11:
			return "High 10"
		case 122, 122 | 1<<11:
			return "High 4:2:2"
		case 244, 244 | 1<<11:
			return "High 4:4:4 Predictive"
		}
	case astiav.CodecIDHevc:
		switch int(p) {
		case 1:
			return "Main"
		case 2:
			return "Main 10"
		case 3:
			return "Main Still Picture"
		case 4:
			return "Rext"
		}
	}
	return ""
}

func (s *source) close() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
	if s.fc != nil {
		s.fc.CloseInput()
		s.fc.Free()
		s.fc = nil
	}
}

// scanResult is what reading the packets (without decoding) tells.
type scanResult struct {
	// videoPTS are the presentation timestamps of every video packet, in
	// the video stream time base, sorted; idrPTS those of IDR keyframes.
	videoPTS, idrPTS []int64
	// bframes: a packet came with a PTS lower than an earlier one.
	bframes bool
	// start and end of the media on the microsecond clock; start is the
	// earliest timestamp of the chosen streams.
	start, end int64
	// videoStart and audioStart are the earliest timestamps of each
	// stream (microseconds), math.MaxInt64 when absent; reorder is the
	// largest PTS-DTS of a video packet (microseconds).
	videoStart, audioStart int64
	reorder                int64
	full                   bool // the whole file was read
}

// scan reads packets: all of them when full, else the first few video
// packets. progress, when set, gets the percentage read.
func (s *source) scan(ctx context.Context, full bool, progress func(float64)) (*scanResult, error) {
	r := &scanResult{start: math.MaxInt64, end: math.MinInt64, full: full, videoStart: math.MaxInt64, audioStart: math.MaxInt64}
	pkt := astiav.AllocPacket()
	if pkt == nil {
		return nil, errors.New("ladder: allocating packet failed")
	}
	defer pkt.Free()
	var nal nalFormat
	if s.video != nil {
		nal = nalFormatOf(s.video.CodecParameters())
	}
	us := astiav.NewRational(1, 1000000)
	maxPTS := int64(math.MinInt64)
	videoPackets := 0
	var readErr error
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		pkt.Unref()
		if err := s.fc.ReadFrame(pkt); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !errors.Is(err, astiav.ErrEof) {
				// What was read so far stands; the truncation check below
				// says whether it is enough.
				readErr = averr(err)
			}
			break
		}
		var is *astiav.Stream
		switch {
		case s.video != nil && pkt.StreamIndex() == s.video.Index():
			is = s.video
		case s.audio != nil && pkt.StreamIndex() == s.audio.Index():
			is = s.audio
		default:
			continue
		}
		ts := pkt.Pts()
		if ts == astiav.NoPtsValue {
			ts = pkt.Dts()
		}
		if ts == astiav.NoPtsValue {
			continue
		}
		tb := is.TimeBase()
		tsUS := astiav.RescaleQ(ts, tb, us)
		r.start = min(r.start, tsUS)
		if is == s.video {
			r.videoStart = min(r.videoStart, tsUS)
			if dts := pkt.Dts(); dts != astiav.NoPtsValue && pkt.Pts() != astiav.NoPtsValue {
				r.reorder = max(r.reorder, astiav.RescaleQ(pkt.Pts()-dts, tb, us))
			}
		} else {
			r.audioStart = min(r.audioStart, tsUS)
		}
		r.end = max(r.end, astiav.RescaleQ(ts+max(pkt.Duration(), 0), tb, us))
		if is == s.video {
			videoPackets++
			if ts < maxPTS {
				r.bframes = true
			}
			maxPTS = max(maxPTS, ts)
			r.videoPTS = append(r.videoPTS, ts)
			if pkt.Flags().Has(astiav.PacketFlagKey) && nal.hasIDR(pkt.Data()) {
				r.idrPTS = append(r.idrPTS, ts)
			}
			if progress != nil && n%64 == 0 && s.declared > 0 {
				progress(100 * float64(astiav.RescaleQ(ts, tb, us)) / float64(s.declared.Microseconds()))
			}
			if !full && videoPackets >= quickScanPackets {
				break
			}
		} else if !full && s.video == nil && n >= quickScanPackets {
			break
		}
	}
	slices.Sort(r.videoPTS)
	slices.Sort(r.idrPTS)
	if r.start == math.MaxInt64 {
		if readErr != nil {
			return nil, fmt.Errorf("ladder: %s: %w: reading packets: %v", s.path, ErrBadInput, readErr)
		}
		return nil, fmt.Errorf("ladder: %s: %w: the file holds no audio or video packets", s.path, ErrBadInput)
	}
	if !full {
		return r, nil
	}
	got := time.Duration(r.end-r.start) * time.Microsecond
	if got < minDuration {
		return nil, fmt.Errorf("ladder: %s: %w: the media lasts %v", s.path, ErrBadInput, got.Round(time.Millisecond))
	}
	// A file cut short still declares its full duration in a header
	// written up front; the packets tell the truth.
	if s.declared > 0 && got+max(time.Second, s.declared/20) < s.declared {
		why := ""
		if readErr != nil {
			why = fmt.Sprintf(" (%v)", readErr)
		}
		return nil, fmt.Errorf("ladder: %s: %w: the file is truncated: media stops at %v of the %v declared%s",
			s.path, ErrBadInput, got.Round(time.Millisecond), s.declared.Round(time.Millisecond), why)
	}
	if s.video != nil && len(r.videoPTS) == 0 {
		return nil, fmt.Errorf("ladder: %s: %w: the video stream has no packets", s.path, ErrBadInput)
	}
	return r, nil
}

// applyScan completes s.info with what a scan found.
func (s *source) applyScan(r *scanResult) {
	if s.info.Video != nil {
		s.info.Video.BFrames = r.bframes
	}
	if r.full || s.info.Duration == 0 {
		s.info.Duration = time.Duration(r.end-r.start) * time.Microsecond
	}
}

// nalFormat says how H.264 packets of a stream delimit NAL units: with a
// length prefix of lengthSize bytes (MP4, MKV) or start codes (MPEG-TS).
type nalFormat struct {
	h264       bool
	lengthSize int // 0 for Annex B
}

func nalFormatOf(cp *astiav.CodecParameters) nalFormat {
	if cp.CodecID() != astiav.CodecIDH264 {
		return nalFormat{}
	}
	ext := cp.ExtraData()
	if len(ext) >= 7 && ext[0] == 1 {
		return nalFormat{h264: true, lengthSize: int(ext[4]&3) + 1}
	}
	return nalFormat{h264: true}
}

// hasIDR reports an H.264 access unit with an IDR slice; for other codecs
// every keyframe counts.
func (f nalFormat) hasIDR(b []byte) bool {
	if !f.h264 {
		return true
	}
	found := false
	f.each(b, func(nalu []byte) bool {
		if nalu[0]&0x1f == 5 {
			found = true
			return false
		}
		return true
	})
	return found
}

// each calls fn with every non-empty NAL unit of the access unit b until fn
// returns false. Malformed lengths end the walk; it never panics.
func (f nalFormat) each(b []byte, fn func([]byte) bool) {
	if f.lengthSize > 0 {
		for len(b) >= f.lengthSize {
			n := 0
			for i := 0; i < f.lengthSize; i++ {
				n = n<<8 | int(b[i])
			}
			b = b[f.lengthSize:]
			if n > len(b) {
				return
			}
			if n > 0 && !fn(b[:n]) {
				return
			}
			b = b[n:]
		}
		return
	}
	// Annex B: split on 00 00 01, dropping the zero byte of 4-byte codes
	// and trailing zeros.
	start := -1
	i := 0
	emit := func(end int) bool {
		if start < 0 {
			return true
		}
		for end > start && b[end-1] == 0 {
			end--
		}
		if end > start {
			return fn(b[start:end])
		}
		return true
	}
	for i+2 < len(b) {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if !emit(i) {
				return
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		emit(len(b))
	}
}
