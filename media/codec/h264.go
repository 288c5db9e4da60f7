// Package codec holds the codec helpers of the live plane: inspection of
// H.264/H.265 access units (keyframes, B-frames, parameter sets), and the
// once-per-stream transcoders that make a source browser-safe for WebRTC
// (AAC/G.711 to Opus, H.264-with-B-frames/H.265 to B-frame-free H.264).
//
// Access units are given as slices of NAL units without start codes, the
// form gortsplib and pion hand them over. Nothing in this package logs: every
// failure is returned as an error for the caller to log with its stream path.
package codec

import (
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/bits"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// H.264 NAL unit types used here (ITU-T H.264, table 7-1).
const (
	h264NALSlice = 1
	h264NALIDR   = 5
	h264NALSPS   = 7
	h264NALPPS   = 8
)

// H.265 NAL unit types used here (ITU-T H.265, table 7-1).
const (
	h265NALBLAWLP = 16 // first IRAP type
	h265NALCRA    = 21 // last IRAP type the decoders we feed accept
	h265NALVPS    = 32
	h265NALSPS    = 33
	h265NALPPS    = 34
)

// sliceHeaderPrefix bounds how much of a slice NAL unit is unescaped to read
// first_mb_in_slice and slice_type: two Exp-Golomb codes of at most 65 bits
// each fit in 17 bytes, escapes may add a third more.
const sliceHeaderPrefix = 32

// ErrTruncatedSliceHeader is returned by the slice header parser when a slice
// NAL unit ends before its slice_type.
var ErrTruncatedSliceHeader = errors.New("codec: truncated H.264 slice header")

// IsH264Keyframe reports whether the access unit holds an IDR slice (NAL
// type 5), the only point where an H.264 decoder can start. Empty NAL units
// are skipped, so garbage never panics.
func IsH264Keyframe(au [][]byte) bool {
	for _, nalu := range au {
		if len(nalu) > 0 && nalu[0]&0x1f == h264NALIDR {
			return true
		}
	}
	return false
}

// H264HasBFrames reports whether any slice of the access unit is a B slice
// (slice_type 1 or 6). A browser's WebRTC stack plays H.264 without frame
// reordering, so one B slice is enough to decide that the stream needs the
// VideoTranscoder. Slices whose header cannot be read count as not B.
func H264HasBFrames(au [][]byte) bool {
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		typ := nalu[0] & 0x1f
		if typ != h264NALSlice && typ != h264NALIDR {
			continue
		}
		st, err := h264SliceType(nalu)
		if err == nil && st%5 == 1 {
			return true
		}
	}
	return false
}

// h264SliceType returns slice_type (0..9) of a coded slice NAL unit (type 1
// or 5), header byte included. It reads only the start of the slice and
// never panics, whatever the input.
func h264SliceType(nalu []byte) (uint32, error) {
	if len(nalu) < 2 {
		return 0, ErrTruncatedSliceHeader
	}
	payload := nalu[1:]
	if len(payload) > sliceHeaderPrefix {
		payload = payload[:sliceHeaderPrefix]
	}
	// Escapes (00 00 03) can sit inside the two Exp-Golomb codes when
	// first_mb_in_slice is large; cutting the prefix first keeps the copy
	// small and cannot create a false escape.
	buf := h264.EmulationPreventionRemove(payload)

	pos := 0
	if _, err := bits.ReadGolombUnsigned(buf, &pos); err != nil { // first_mb_in_slice
		return 0, fmt.Errorf("%w: first_mb_in_slice: %w", ErrTruncatedSliceHeader, err)
	}
	st, err := bits.ReadGolombUnsigned(buf, &pos)
	if err != nil {
		return 0, fmt.Errorf("%w: slice_type: %w", ErrTruncatedSliceHeader, err)
	}
	if st > 9 {
		return 0, fmt.Errorf("codec: invalid H.264 slice_type %d", st)
	}
	return st, nil
}

// H264ProfileLevelID returns the profile-level-id of an SPS NAL unit as the
// six lower-case hex digits used in SDP (RFC 6184), e.g. "42e01f" or
// "640028": profile_idc, the constraint flags byte and level_idc.
func H264ProfileLevelID(sps []byte) (string, error) {
	if len(sps) < 4 {
		return "", fmt.Errorf("codec: SPS too short (%d bytes)", len(sps))
	}
	if typ := sps[0] & 0x1f; typ != h264NALSPS {
		return "", fmt.Errorf("codec: NAL unit type %d is not an SPS", typ)
	}
	return fmt.Sprintf("%02x%02x%02x", sps[1], sps[2], sps[3]), nil
}

// H264Params returns the first SPS and PPS found in the access unit, or nil
// for each one that is missing. The slices alias the access unit.
func H264Params(au [][]byte) (sps, pps []byte) {
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch nalu[0] & 0x1f {
		case h264NALSPS:
			if sps == nil {
				sps = nalu
			}
		case h264NALPPS:
			if pps == nil {
				pps = nalu
			}
		}
	}
	return sps, pps
}

// h265Type returns the NAL unit type of an H.265 NAL unit, which sits in
// bits 1..6 of its two-byte header.
func h265Type(nalu []byte) byte {
	return (nalu[0] >> 1) & 0x3f
}

// IsH265Keyframe reports whether the access unit holds an IRAP picture (NAL
// types 16..21: BLA, IDR, CRA), where an H.265 decoder can start.
func IsH265Keyframe(au [][]byte) bool {
	for _, nalu := range au {
		if len(nalu) < 2 {
			continue
		}
		if t := h265Type(nalu); t >= h265NALBLAWLP && t <= h265NALCRA {
			return true
		}
	}
	return false
}

// H265Params returns the first VPS, SPS and PPS found in the access unit, or
// nil for each one that is missing. The slices alias the access unit.
func H265Params(au [][]byte) (vps, sps, pps []byte) {
	for _, nalu := range au {
		if len(nalu) < 2 {
			continue
		}
		switch h265Type(nalu) {
		case h265NALVPS:
			if vps == nil {
				vps = nalu
			}
		case h265NALSPS:
			if sps == nil {
				sps = nalu
			}
		case h265NALPPS:
			if pps == nil {
				pps = nalu
			}
		}
	}
	return vps, sps, pps
}

// h264SPSFPS reads the frame rate an SPS advertises in its VUI timing info,
// or 0 when it has none or cannot be parsed.
func h264SPSFPS(sps []byte) float64 {
	var s h264.SPS
	if len(sps) == 0 || s.Unmarshal(sps) != nil {
		return 0
	}
	return s.FPS()
}

// h265SPSFPS is h264SPSFPS for an H.265 SPS.
func h265SPSFPS(sps []byte) float64 {
	var s h265.SPS
	if len(sps) < 2 || s.Unmarshal(sps) != nil {
		return 0
	}
	return s.FPS()
}
