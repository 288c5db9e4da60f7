package ladder

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"strings"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/classcast/classcast/transcode/outdir"
)

// Poster and storyboard geometry.
const (
	// posterBox bounds the poster: 1280 on its long side.
	posterBox = 1280
	// thumbW x thumbH bounds each storyboard thumbnail.
	thumbW, thumbH = 160, 90
	// spriteCols thumbnails per sprite row; spriteMax per sprite.
	spriteCols = 10
	spriteMax  = 100
	// maxThumbInterval caps the time between thumbnails, so long lessons
	// keep useful seek previews (they get several sprites).
	maxThumbInterval = 10 * time.Second
	jpegQuality      = 82
)

// imageMaker takes the poster and the storyboard thumbnails from the one
// decode, as pictures go by.
type imageMaker struct {
	p      *plan
	tb     astiav.Rational
	rotate int
	dispW  int
	dispH  int

	posterAt int64 // 90 kHz
	poster   *image.YCbCr
	last     *astiav.Frame // latest picture, until the poster is taken

	dur      int64 // 90 kHz, of the media
	interval int64 // 90 kHz between thumbnails
	count    int   // thumbnails wanted
	thumbs   []*image.YCbCr
	tw, th   int
	tg       *graph
	tgW, tgH int
	tgFmt    astiav.PixelFormat
	tmp      *astiav.Frame
}

func newImageMaker(s *source, p *plan) (*imageMaker, error) {
	m := &imageMaker{p: p, tb: s.video.TimeBase(), rotate: s.info.Video.Rotation, dispW: s.dispW, dispH: s.dispH}
	m.last, m.tmp = astiav.AllocFrame(), astiav.AllocFrame()
	if m.last == nil || m.tmp == nil {
		m.close()
		return nil, errors.New("ladder: allocating image frames failed")
	}
	// Times here are the player's: from the start of the media.
	dur := p.end - p.offset
	m.dur = dur
	// The poster: a tenth in, where the title card is usually over, but
	// not earlier than 1 s in when the media is long enough for that.
	m.posterAt = dur / 10
	if m.posterAt < clock90k {
		m.posterAt = min(clock90k, dur/2)
	}
	// One thumbnail every whole number of seconds, about 100 over the
	// whole media, at most 10 s apart.
	secs := max(1, int64(math.Ceil(float64(dur)/clock90k/spriteMax)))
	secs = min(secs, int64(maxThumbInterval/time.Second))
	m.interval = secs * clock90k
	m.count = int(max(1, (dur+m.interval-1)/m.interval))
	// Thumbnails stay within 160x90 whatever the orientation.
	m.tw, m.th = fitBoxExact(s.dispW, s.dispH, thumbW, thumbH)
	return m, nil
}

// fitBoxExact fits w x h into boxW x boxH without turning the box.
func fitBoxExact(w, h, boxW, boxH int) (int, int) {
	scale := math.Min(1, math.Min(float64(boxW)/float64(w), float64(boxH)/float64(h)))
	even := func(v float64) int { return max(2, 2*int(math.Round(v/2))) }
	return even(float64(w) * scale), even(float64(h) * scale)
}

// frame looks at one decoded picture; it keeps references, never the
// caller's buffers.
func (m *imageMaker) frame(f *astiav.Frame) error {
	pts := m.p.to90k(f.Pts(), m.tb) - m.p.offset
	if m.poster == nil {
		if pts >= m.posterAt {
			img, err := m.capturePoster(f)
			if err != nil {
				return err
			}
			m.poster = img
			m.last.Unref()
		} else {
			m.last.Unref()
			if err := m.last.Ref(f); err != nil {
				return fmt.Errorf("ladder: keeping a picture: %w", averr(err))
			}
		}
	}
	if len(m.thumbs) < m.count && pts >= int64(len(m.thumbs))*m.interval {
		img, err := m.captureThumb(f)
		if err != nil {
			return err
		}
		// A gap in the video (or a late start) repeats the picture.
		for len(m.thumbs) < m.count && pts >= int64(len(m.thumbs))*m.interval {
			m.thumbs = append(m.thumbs, img)
		}
	}
	return nil
}

func (m *imageMaker) capturePoster(f *astiav.Frame) (*image.YCbCr, error) {
	w, h := fitBoxExact(m.dispW, m.dispH, posterBox, posterBox)
	g, err := m.imageGraph(f, w, h, "bicubic")
	if err != nil {
		return nil, err
	}
	defer g.free()
	return m.capture(g, f)
}

func (m *imageMaker) captureThumb(f *astiav.Frame) (*image.YCbCr, error) {
	if m.tg == nil || f.Width() != m.tgW || f.Height() != m.tgH || f.PixelFormat() != m.tgFmt {
		m.tg.free()
		g, err := m.imageGraph(f, m.tw, m.th, "bilinear")
		if err != nil {
			return nil, err
		}
		m.tg, m.tgW, m.tgH, m.tgFmt = g, f.Width(), f.Height(), f.PixelFormat()
	}
	return m.capture(m.tg, f)
}

// imageGraph scales pictures like f to an upright w x h full-range 4:2:0
// picture, what JPEG holds.
func (m *imageMaker) imageGraph(f *astiav.Frame, w, h int, flags string) (*graph, error) {
	sw, sh := w, h
	if m.rotate == 90 || m.rotate == 270 {
		sw, sh = h, w
	}
	desc := fmt.Sprintf("scale=%d:%d:flags=%s:out_range=full,format=yuv420p,setsar=1", sw, sh, flags)
	if rf := rotateFilter(m.rotate); rf != "" {
		desc += "," + rf
	}
	g, err := newVideoGraph(f.Width(), f.Height(), f.PixelFormat(), f.SampleAspectRatio(), m.tb, desc)
	if err != nil {
		return nil, fmt.Errorf("ladder: image scaler: %w", err)
	}
	return g, nil
}

// capture runs f through g and copies the picture into Go memory.
func (m *imageMaker) capture(g *graph, f *astiav.Frame) (*image.YCbCr, error) {
	if err := g.push(f, true); err != nil {
		return nil, fmt.Errorf("ladder: image scaler: %w", err)
	}
	m.tmp.Unref()
	if err := g.pull(m.tmp); err != nil {
		return nil, fmt.Errorf("ladder: image scaler gave no picture: %w", averr(err))
	}
	defer m.tmp.Unref()
	w, h := m.tmp.Width(), m.tmp.Height()
	// Bytes copies the planes out packed (stride = width), through
	// av_image_copy_to_buffer, which knows each plane's real size.
	buf, err := m.tmp.Data().Bytes(1)
	if err != nil {
		return nil, fmt.Errorf("ladder: copying picture: %w", err)
	}
	cw, ch := (w+1)/2, (h+1)/2
	if len(buf) < w*h+2*cw*ch {
		return nil, fmt.Errorf("ladder: picture buffer is %d bytes for %dx%d", len(buf), w, h)
	}
	return &image.YCbCr{
		Y:              buf[:w*h],
		Cb:             buf[w*h : w*h+cw*ch],
		Cr:             buf[w*h+cw*ch : w*h+2*cw*ch],
		YStride:        w,
		CStride:        cw,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, w, h),
	}, nil
}

// finish writes poster.jpg, the storyboard sprites and storyboard.vtt.
func (m *imageMaker) finish(out *outdir.Dir) error {
	if m.poster == nil {
		if m.last.Width() == 0 {
			return fmt.Errorf("ladder: %w: no picture could be decoded for the poster", ErrBadInput)
		}
		img, err := m.capturePoster(m.last)
		if err != nil {
			return err
		}
		m.poster = img
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m.poster, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return fmt.Errorf("ladder: encoding poster: %w", err)
	}
	if err := out.Write("poster.jpg", b.Bytes()); err != nil {
		return err
	}
	if len(m.thumbs) == 0 {
		return fmt.Errorf("ladder: %w: no picture could be decoded for the storyboard", ErrBadInput)
	}
	for len(m.thumbs) < m.count {
		m.thumbs = append(m.thumbs, m.thumbs[len(m.thumbs)-1])
	}
	return m.writeStoryboard(out)
}

// spriteName names sprite i of n.
func spriteName(i, n int) string {
	if n == 1 {
		return "storyboard.jpg"
	}
	return fmt.Sprintf("storyboard_%d.jpg", i)
}

func (m *imageMaker) writeStoryboard(out *outdir.Dir) error {
	nSprites := (len(m.thumbs) + spriteMax - 1) / spriteMax
	var vtt strings.Builder
	vtt.WriteString("WEBVTT\n\n")
	for si := 0; si < nSprites; si++ {
		thumbs := m.thumbs[si*spriteMax : min(len(m.thumbs), (si+1)*spriteMax)]
		cols := min(spriteCols, len(thumbs))
		rows := (len(thumbs) + cols - 1) / cols
		sprite := image.NewYCbCr(image.Rect(0, 0, cols*m.tw, rows*m.th), image.YCbCrSubsampleRatio420)
		// Black in full range: Y 0, chroma neutral.
		for i := range sprite.Cb {
			sprite.Cb[i], sprite.Cr[i] = 128, 128
		}
		name := spriteName(si, nSprites)
		for i, t := range thumbs {
			x, y := (i%cols)*m.tw, (i/cols)*m.th
			blit(sprite, t, x, y)
			idx := si*spriteMax + i
			start := int64(idx) * m.interval
			end := min(start+m.interval, m.dur)
			fmt.Fprintf(&vtt, "%s --> %s\n%s#xywh=%d,%d,%d,%d\n\n", vttTime(start), vttTime(end), name, x, y, t.Rect.Dx(), t.Rect.Dy())
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, sprite, &jpeg.Options{Quality: jpegQuality}); err != nil {
			return fmt.Errorf("ladder: encoding storyboard: %w", err)
		}
		if err := out.Write(name, b.Bytes()); err != nil {
			return err
		}
	}
	return out.Write("storyboard.vtt", []byte(vtt.String()))
}

// blit copies the 4:2:0 picture src into dst at (x, y), both even.
func blit(dst, src *image.YCbCr, x, y int) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	w = min(w, dst.Rect.Dx()-x)
	h = min(h, dst.Rect.Dy()-y)
	for r := 0; r < h; r++ {
		copy(dst.Y[(y+r)*dst.YStride+x:][:w], src.Y[r*src.YStride:][:w])
	}
	cw, ch := (w+1)/2, (h+1)/2
	for r := 0; r < ch; r++ {
		copy(dst.Cb[(y/2+r)*dst.CStride+x/2:][:cw], src.Cb[r*src.CStride:][:cw])
		copy(dst.Cr[(y/2+r)*dst.CStride+x/2:][:cw], src.Cr[r*src.CStride:][:cw])
	}
}

// vttTime formats 90 kHz ticks as a WebVTT timestamp.
func vttTime(t int64) string {
	ms := max(t, 0) * 1000 / clock90k
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

func (m *imageMaker) close() {
	m.tg.free()
	m.tg = nil
	if m.last != nil {
		m.last.Free()
		m.last = nil
	}
	if m.tmp != nil {
		m.tmp.Free()
		m.tmp = nil
	}
}
