package clip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxMoof bounds a moof box read into memory: a 2 s segment's is a few KB.
const maxMoof = 8 << 20

// box is one ISO BMFF box inside a buffer.
type box struct {
	typ        string
	start, end int // of the whole box
	hdr        int // header length (8 or 16)
}

// boxes lists the boxes in b[from:to].
func boxes(b []byte, from, to int) ([]box, error) {
	var out []box
	for p := from; p < to; {
		if to-p < 8 {
			return nil, errors.New("truncated box header")
		}
		size := int64(binary.BigEndian.Uint32(b[p:]))
		typ := string(b[p+4 : p+8])
		hdr := 8
		switch size {
		case 1:
			if to-p < 16 {
				return nil, errors.New("truncated box header")
			}
			size = int64(binary.BigEndian.Uint64(b[p+8:]))
			hdr = 16
		case 0:
			size = int64(to - p)
		}
		if size < int64(hdr) || size > int64(to-p) {
			return nil, fmt.Errorf("box %q has a bad size %d", typ, size)
		}
		out = append(out, box{typ: typ, start: p, end: p + int(size), hdr: hdr})
		p += int(size)
	}
	return out, nil
}

// child finds the first box of type typ in b[from:to].
func child(b []byte, from, to int, typ string) (box, bool, error) {
	bs, err := boxes(b, from, to)
	if err != nil {
		return box{}, false, err
	}
	for _, x := range bs {
		if x.typ == typ {
			return x, true, nil
		}
	}
	return box{}, false, nil
}

// moofTimes walks a moof and calls fn for each track fragment with the track id and
// the offset of its tfdt box inside moof (and the tfdt version).
func moofTimes(moof []byte, fn func(track uint32, tfdt box, version byte) error) error {
	top, err := boxes(moof, 0, len(moof))
	if err != nil || len(top) != 1 || top[0].typ != "moof" {
		return errors.New("not a moof box")
	}
	kids, err := boxes(moof, top[0].hdr, len(moof))
	if err != nil {
		return err
	}
	for _, k := range kids {
		if k.typ != "traf" {
			continue
		}
		tk, err := boxes(moof, k.start+k.hdr, k.end)
		if err != nil {
			return err
		}
		var id uint32
		haveID := false
		for _, x := range tk {
			switch x.typ {
			case "tfhd":
				if x.end-x.start < x.hdr+8 {
					return errors.New("short tfhd")
				}
				id, haveID = binary.BigEndian.Uint32(moof[x.start+x.hdr+4:]), true
			case "tfdt":
				if !haveID {
					return errors.New("tfdt before tfhd")
				}
				v := moof[x.start+x.hdr]
				need := 8
				if v == 1 {
					need = 12
				}
				if x.end-x.start < x.hdr+need {
					return errors.New("short tfdt")
				}
				if err := fn(id, x, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func readBaseTime(moof []byte, tfdt box, v byte) uint64 {
	p := tfdt.start + tfdt.hdr + 4
	if v == 1 {
		return binary.BigEndian.Uint64(moof[p:])
	}
	return uint64(binary.BigEndian.Uint32(moof[p:]))
}

// rebaseMoof moves every track fragment of moof earlier by shift[track] ticks and sets
// the sequence number; the box keeps its size, so the sample data offsets still hold.
func rebaseMoof(moof []byte, seq uint32, shift map[uint32]uint64) error {
	top, err := boxes(moof, 0, len(moof))
	if err != nil || len(top) != 1 || top[0].typ != "moof" {
		return errors.New("not a moof box")
	}
	if mfhd, ok, err := child(moof, top[0].hdr, len(moof), "mfhd"); err == nil && ok && mfhd.end-mfhd.start >= mfhd.hdr+8 {
		binary.BigEndian.PutUint32(moof[mfhd.start+mfhd.hdr+4:], seq)
	}
	return moofTimes(moof, func(id uint32, x box, v byte) error {
		s, ok := shift[id]
		if !ok {
			return fmt.Errorf("track %d is not in the init segment", id)
		}
		base := readBaseTime(moof, x, v)
		if base < s {
			return fmt.Errorf("track %d starts at %d, before the clip (%d)", id, base, s)
		}
		p := x.start + x.hdr + 4
		if v == 1 {
			binary.BigEndian.PutUint64(moof[p:], base-s)
		} else {
			if base-s > 0xFFFFFFFF {
				return errors.New("tfdt overflow")
			}
			binary.BigEndian.PutUint32(moof[p:], uint32(base-s))
		}
		return nil
	})
}

// copyRebased streams an fMP4 media segment from r to w, rewriting each moof with
// rebaseMoof and passing every other box through untouched. It holds at most one moof
// in memory, never the media data.
func copyRebased(w io.Writer, r io.Reader, seq uint32, shift map[uint32]uint64) (int64, error) {
	var n int64
	hdr := make([]byte, 16)
	sawMoof := false
	for {
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			if errors.Is(err, io.EOF) {
				if !sawMoof {
					return n, errors.New("segment has no moof box")
				}
				return n, nil
			}
			return n, fmt.Errorf("truncated segment: %w", err)
		}
		size := uint64(binary.BigEndian.Uint32(hdr))
		typ := string(hdr[4:8])
		h := 8
		if size == 1 {
			if _, err := io.ReadFull(r, hdr[8:16]); err != nil {
				return n, fmt.Errorf("truncated segment: %w", err)
			}
			size = binary.BigEndian.Uint64(hdr[8:])
			h = 16
		}
		if size == 0 || size < uint64(h) {
			return n, fmt.Errorf("box %q with size %d in a media segment", typ, size)
		}
		if typ == "moof" {
			if size > maxMoof {
				return n, fmt.Errorf("moof of %d bytes", size)
			}
			moof := make([]byte, size)
			copy(moof, hdr[:h])
			if _, err := io.ReadFull(r, moof[h:]); err != nil {
				return n, fmt.Errorf("truncated moof: %w", err)
			}
			if err := rebaseMoof(moof, seq, shift); err != nil {
				return n, err
			}
			m, err := w.Write(moof)
			n += int64(m)
			if err != nil {
				return n, err
			}
			sawMoof = true
			continue
		}
		m, err := w.Write(hdr[:h])
		n += int64(m)
		if err != nil {
			return n, err
		}
		c, err := io.CopyN(w, r, int64(size)-int64(h))
		n += c
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, fmt.Errorf("truncated %s box", typ)
			}
			return n, err
		}
	}
}

// avcCPath is where the video sample entry's decoder configuration sits in an init
// segment, with the bytes each box has before its children.
var avcCPath = []struct {
	typ  string
	skip int
}{
	{"moov", 0}, {"trak", 0}, {"mdia", 0}, {"minf", 0}, {"stbl", 0},
	{"stsd", 8},  // version, flags, entry count
	{"avc1", 78}, // VisualSampleEntry fields
	{"avcC", 0},
}

// findAVCC returns the avcC box of the first video track of an init segment, with the
// boxes that hold it (outermost first).
func findAVCC(init []byte) (avcc box, parents []box, err error) {
	var walk func(from, to, depth int, parents []box) (box, []box, bool, error)
	walk = func(from, to, depth int, parents []box) (box, []box, bool, error) {
		bs, err := boxes(init, from, to)
		if err != nil {
			return box{}, nil, false, err
		}
		step := avcCPath[depth]
		for _, x := range bs {
			if x.typ != step.typ {
				continue
			}
			if depth == len(avcCPath)-1 {
				return x, parents, true, nil
			}
			inner := x.start + x.hdr + step.skip
			if inner > x.end {
				return box{}, nil, false, fmt.Errorf("short %s box", x.typ)
			}
			b, ps, ok, err := walk(inner, x.end, depth+1, append(append([]box(nil), parents...), x))
			if err != nil || ok {
				return b, ps, ok, err
			}
		}
		return box{}, nil, false, nil
	}
	b, ps, ok, err := walk(0, len(init), 0, nil)
	if err != nil {
		return box{}, nil, err
	}
	if !ok {
		return box{}, nil, errors.New("init segment has no H.264 (avc1/avcC) track")
	}
	return b, ps, nil
}

// avcConfig is a parsed AVCDecoderConfigurationRecord.
type avcConfig struct {
	sps, pps [][]byte
	tail     []byte // profile-specific bytes after the PPS list (High profiles)
}

func parseAVCC(b []byte) (avcConfig, error) {
	var c avcConfig
	if len(b) < 7 || b[0] != 1 {
		return c, errors.New("bad avcC record")
	}
	if b[4]&3 != 3 {
		return c, fmt.Errorf("avcC with %d-byte NAL lengths, want 4", b[4]&3+1)
	}
	p := 5
	read := func(count int) ([][]byte, error) {
		var out [][]byte
		for range count {
			if p+2 > len(b) {
				return nil, errors.New("truncated avcC")
			}
			n := int(binary.BigEndian.Uint16(b[p:]))
			p += 2
			if p+n > len(b) || n == 0 {
				return nil, errors.New("truncated avcC")
			}
			out = append(out, bytes.Clone(b[p:p+n]))
			p += n
		}
		return out, nil
	}
	nSPS := int(b[p] & 0x1f)
	p++
	var err error
	if c.sps, err = read(nSPS); err != nil {
		return c, err
	}
	if p >= len(b) {
		return c, errors.New("truncated avcC")
	}
	nPPS := int(b[p])
	p++
	if c.pps, err = read(nPPS); err != nil {
		return c, err
	}
	if len(c.sps) == 0 || len(c.pps) == 0 {
		return c, errors.New("avcC without SPS or PPS")
	}
	c.tail = bytes.Clone(b[p:])
	return c, nil
}

// buildAVCC writes an AVCDecoderConfigurationRecord; the header takes the first SPS's
// profile and level.
func buildAVCC(c avcConfig) []byte {
	sps := c.sps[0]
	b := []byte{1, sps[1], sps[2], sps[3], 0xFF, 0xE0 | byte(len(c.sps))}
	for _, s := range c.sps {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = append(b, byte(len(c.pps)))
	for _, s := range c.pps {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	return append(b, c.tail...)
}

// replaceBox returns init with the payload of box x replaced, growing or shrinking
// the boxes that hold it to match.
func replaceBox(init []byte, x box, parents []box, payload []byte) ([]byte, error) {
	delta := len(payload) - (x.end - x.start - x.hdr)
	out := make([]byte, 0, len(init)+delta)
	out = append(out, init[:x.start+x.hdr]...)
	out = append(out, payload...)
	out = append(out, init[x.end:]...)
	for _, p := range append(parents, x) {
		if p.hdr != 8 {
			return nil, fmt.Errorf("64-bit %s box in an init segment", p.typ)
		}
		size := int(binary.BigEndian.Uint32(init[p.start:])) + delta
		binary.BigEndian.PutUint32(out[p.start:], uint32(size))
	}
	return out, nil
}

// bitReader reads the Exp-Golomb fields at the start of an SPS or PPS.
type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) bit() (uint, error) {
	if r.pos >= 8*len(r.b) {
		return 0, errors.New("parameter set too short")
	}
	v := uint(r.b[r.pos/8]>>(7-r.pos%8)) & 1
	r.pos++
	return v, nil
}

func (r *bitReader) ue() (uint, error) {
	zeros := 0
	for {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		if b == 1 {
			break
		}
		zeros++
		if zeros > 31 {
			return 0, errors.New("bad Exp-Golomb code")
		}
	}
	v := uint(1)
	for range zeros {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
	}
	return v - 1, nil
}

// unescape removes emulation prevention bytes from a NAL unit.
func unescape(n []byte) []byte {
	out := make([]byte, 0, len(n))
	zeros := 0
	for _, c := range n {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// spsID returns seq_parameter_set_id of an SPS NAL unit.
func spsID(sps []byte) (uint, error) {
	if len(sps) < 5 {
		return 0, errors.New("SPS too short")
	}
	r := bitReader{b: unescape(sps[4:])}
	return r.ue()
}

// ppsID returns pic_parameter_set_id of a PPS NAL unit.
func ppsID(pps []byte) (uint, error) {
	if len(pps) < 2 {
		return 0, errors.New("PPS too short")
	}
	r := bitReader{b: unescape(pps[1:])}
	return r.ue()
}

// annexBUnits calls fn with each NAL unit of an Annex B buffer.
func annexBUnits(b []byte, fn func([]byte)) {
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && b[end-1] == 0 {
					end--
				}
				if end > start {
					fn(b[start:end])
				}
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		fn(b[start:])
	}
}

// toAVCC converts an Annex B access unit to 4-byte length prefixes, dropping
// parameter sets (they live in the init segment).
func toAVCC(au []byte) []byte {
	out := make([]byte, 0, len(au)+16)
	annexBUnits(au, func(n []byte) {
		if t := n[0] & 0x1f; t == 7 || t == 8 {
			return
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
		out = append(out, n...)
	})
	return out
}
