// Package sei writes and reads the classcast timestamp SEI: an H.264 SEI NAL
// unit that carries the sender's wall-clock time and a sequence number, so that
// latency can be measured end to end through the server (publisher → ingest →
// hub → WebRTC → viewer) without touching the media itself.
//
// Layout of the NAL unit (before emulation prevention):
//
//	0x06                         NAL header: forbidden_zero_bit 0, nal_ref_idc 0, nal_unit_type 6 (SEI)
//	0x05                         payloadType 5: user_data_unregistered
//	0x1C                         payloadSize 28
//	UUID (16 bytes)              cb9d1df2-1559-4532-a2cf-216aa677ab99, classcast's timestamp SEI
//	time (8 bytes, big-endian)   sender wall clock, Unix nanoseconds (signed 64-bit)
//	seq (4 bytes, big-endian)    access unit sequence number
//	0x80                         rbsp_trailing_bits
//
// Decoders ignore user_data_unregistered messages they do not know, and the
// server passes H.264 through untouched, so the SEI reaches every viewer.
package sei

import (
	"bytes"
	"encoding/binary"
	"time"
)

// UUID identifies the classcast timestamp SEI
// (cb9d1df2-1559-4532-a2cf-216aa677ab99). Other user_data_unregistered
// messages, such as x264's version string, carry other UUIDs and are skipped.
var UUID = [16]byte{
	0xcb, 0x9d, 0x1d, 0xf2, 0x15, 0x59, 0x45, 0x32,
	0xa2, 0xcf, 0x21, 0x6a, 0xa6, 0x77, 0xab, 0x99,
}

const (
	naluTypeSEI              = 6
	payloadTypeUserDataUnreg = 5
	// payloadSize is the UUID, the time and the sequence number.
	payloadSize = 16 + 8 + 4
)

// New returns a timestamp SEI NAL unit (without start code or length prefix)
// that carries t, with nanosecond precision, and seq.
func New(t time.Time, seq uint32) []byte {
	var rbsp [2 + payloadSize + 1]byte
	rbsp[0] = payloadTypeUserDataUnreg
	rbsp[1] = payloadSize
	copy(rbsp[2:18], UUID[:])
	binary.BigEndian.PutUint64(rbsp[18:26], uint64(t.UnixNano()))
	binary.BigEndian.PutUint32(rbsp[26:30], seq)
	rbsp[30] = 0x80 // rbsp_stop_one_bit and alignment zeros

	// At most one emulation prevention byte per two payload bytes.
	out := make([]byte, 0, 1+len(rbsp)+len(rbsp)/2)
	out = append(out, naluTypeSEI)
	return appendEmulationPrevented(out, rbsp[:])
}

// Parse reads a timestamp SEI NAL unit (without start code). ok is false when
// nalu is not an SEI or holds no classcast timestamp message; Parse never
// panics on malformed input.
func Parse(nalu []byte) (t time.Time, seq uint32, ok bool) {
	if len(nalu) < 2 || nalu[0]&0x1f != naluTypeSEI {
		return time.Time{}, 0, false
	}
	rbsp := removeEmulationPrevention(nalu[1:])

	// An SEI NAL unit may hold several messages; walk them all.
	for len(rbsp) > 0 && !isTrailingBits(rbsp) {
		var typ, size int
		var n bool
		if typ, rbsp, n = readFFValue(rbsp); !n {
			return time.Time{}, 0, false
		}
		if size, rbsp, n = readFFValue(rbsp); !n {
			return time.Time{}, 0, false
		}
		if size > len(rbsp) {
			return time.Time{}, 0, false
		}
		payload := rbsp[:size]
		rbsp = rbsp[size:]

		if typ == payloadTypeUserDataUnreg && size >= payloadSize && bytes.Equal(payload[:16], UUID[:]) {
			ns := int64(binary.BigEndian.Uint64(payload[16:24]))
			return time.Unix(0, ns), binary.BigEndian.Uint32(payload[24:28]), true
		}
	}
	return time.Time{}, 0, false
}

// Find returns the first classcast timestamp SEI found in an access unit.
func Find(au [][]byte) (t time.Time, seq uint32, ok bool) {
	for _, nalu := range au {
		if len(nalu) > 0 && nalu[0]&0x1f == naluTypeSEI {
			if t, seq, ok = Parse(nalu); ok {
				return t, seq, true
			}
		}
	}
	return time.Time{}, 0, false
}

// readFFValue reads a payloadType or payloadSize: a run of 0xFF bytes, each
// adding 255, then one byte below 0xFF.
func readFFValue(b []byte) (int, []byte, bool) {
	v := 0
	for i, c := range b {
		v += int(c)
		if c != 0xff {
			return v, b[i+1:], true
		}
		if v > 1<<20 { // no real SEI is this large; stop before overflow
			return 0, nil, false
		}
	}
	return 0, nil, false
}

// isTrailingBits reports whether b is only rbsp_trailing_bits (0x80, possibly
// followed by zero bytes such as cabac_zero_words).
func isTrailingBits(b []byte) bool {
	if b[0] != 0x80 {
		return false
	}
	for _, c := range b[1:] {
		if c != 0 {
			return false
		}
	}
	return true
}

// appendEmulationPrevented appends rbsp to dst, inserting 0x03 after any two
// zero bytes that are followed by a byte <= 0x03 (H.264 7.4.1), so the NAL
// unit never contains a start code.
func appendEmulationPrevented(dst, rbsp []byte) []byte {
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 0x03 {
			dst = append(dst, 0x03)
			zeros = 0
		}
		dst = append(dst, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}

// removeEmulationPrevention returns b without the 0x03 bytes that follow two
// zero bytes. It copies only when there is something to remove.
func removeEmulationPrevention(b []byte) []byte {
	if !bytes.Contains(b, []byte{0, 0, 3}) {
		return b
	}
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 0x03 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}
