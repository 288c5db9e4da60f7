package ladder

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/asticode/go-astiav"
)

// avError gives an FFmpeg error code a message: go-astiav returns an empty
// one for codes av_strerror does not know.
type avError struct{ code astiav.Error }

func (e avError) Error() string { return "FFmpeg error " + strconv.Itoa(int(e.code)) }

// Unwrap lets errors.Is match the astiav.Error.
func (e avError) Unwrap() error { return e.code }

// averr returns err, or an error with a readable message when err is an
// astiav.Error without one.
func averr(err error) error {
	var e astiav.Error
	if errors.As(err, &e) && e.Error() == "" {
		return avError{code: e}
	}
	return err
}

// again reports the two "nothing more for now" results of the send/receive
// APIs of codecs and filter sinks.
func again(err error) bool {
	return errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof)
}

// newDict returns a dictionary holding the key/value pairs kv; the caller
// frees it.
func newDict(kv ...string) (*astiav.Dictionary, error) {
	d := astiav.NewDictionary()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := d.Set(kv[i], kv[i+1], 0); err != nil {
			d.Free()
			return nil, fmt.Errorf("setting FFmpeg option %s=%s: %w", kv[i], kv[i+1], averr(err))
		}
	}
	return d, nil
}

// graph is a filter graph with one input and one output.
type graph struct {
	g         *astiav.FilterGraph
	src, sink *astiav.FilterContext
}

// newVideoGraph builds "buffer -> desc -> buffersink" for pictures of the
// given size, format, sample aspect ratio and time base.
func newVideoGraph(w, h int, pix astiav.PixelFormat, sar, tb astiav.Rational, desc string) (*graph, error) {
	if sar.Num() <= 0 || sar.Den() <= 0 {
		sar = astiav.NewRational(1, 1)
	}
	return newGraph("buffer", "buffersink", astiav.FilterArgs{
		"video_size":   strconv.Itoa(w) + "x" + strconv.Itoa(h),
		"pix_fmt":      strconv.Itoa(int(pix)),
		"time_base":    tb.String(),
		"pixel_aspect": sar.String(),
	}, desc)
}

// newAudioGraph builds "abuffer -> desc -> abuffersink" for frames like f.
func newAudioGraph(f *astiav.Frame, tb astiav.Rational, desc string) (*graph, error) {
	cl := f.ChannelLayout()
	if f.SampleRate() <= 0 || cl.NbChannels() <= 0 {
		return nil, fmt.Errorf("audio decoder gave a frame without rate (%d) or channels (%d)", f.SampleRate(), cl.NbChannels())
	}
	return newGraph("abuffer", "abuffersink", astiav.FilterArgs{
		"sample_rate":    strconv.Itoa(f.SampleRate()),
		"sample_fmt":     f.SampleFormat().Name(),
		"channel_layout": cl.String(),
		"time_base":      tb.String(),
	}, desc)
}

func newGraph(srcName, sinkName string, args astiav.FilterArgs, desc string) (*graph, error) {
	bsrc, bsink := astiav.FindFilterByName(srcName), astiav.FindFilterByName(sinkName)
	if bsrc == nil || bsink == nil {
		return nil, fmt.Errorf("FFmpeg lacks the %s/%s filters", srcName, sinkName)
	}
	g := &graph{g: astiav.AllocFilterGraph()}
	if g.g == nil {
		return nil, errors.New("allocating filter graph failed")
	}
	// One thread: each rung runs its graph in its own goroutine already.
	g.g.SetThreadCount(1)
	var err error
	if g.src, err = g.g.NewFilterContext(bsrc, "in", args); err != nil {
		g.free()
		return nil, fmt.Errorf("creating filter source %v: %w", args, averr(err))
	}
	if g.sink, err = g.g.NewFilterContext(bsink, "out", nil); err != nil {
		g.free()
		return nil, fmt.Errorf("creating filter sink: %w", averr(err))
	}
	outputs, inputs := astiav.AllocFilterInOut(), astiav.AllocFilterInOut()
	if outputs == nil || inputs == nil {
		g.free()
		return nil, errors.New("allocating filter in/out failed")
	}
	defer outputs.Free()
	defer inputs.Free()
	outputs.SetName("in")
	outputs.SetFilterContext(g.src)
	outputs.SetPadIdx(0)
	outputs.SetNext(nil)
	inputs.SetName("out")
	inputs.SetFilterContext(g.sink)
	inputs.SetPadIdx(0)
	inputs.SetNext(nil)
	if err := g.g.Parse(desc, inputs, outputs); err != nil {
		g.free()
		return nil, fmt.Errorf("parsing filter %q: %w", desc, averr(err))
	}
	if err := g.g.Configure(); err != nil {
		g.free()
		return nil, fmt.Errorf("configuring filter %q: %w", desc, averr(err))
	}
	return g, nil
}

// push hands f to the graph. Without keep the graph takes f's buffers and
// f is left empty; with keep it takes a new reference. A nil f signals the
// end of the input.
func (g *graph) push(f *astiav.Frame, keep bool) error {
	var flags astiav.BuffersrcFlags
	if keep {
		flags = astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)
	}
	if err := g.src.BuffersrcAddFrame(f, flags); err != nil {
		return fmt.Errorf("feeding filter: %w", averr(err))
	}
	return nil
}

// pull reads one output frame into f; errors satisfy again() when nothing
// is ready.
func (g *graph) pull(f *astiav.Frame) error {
	return g.sink.BuffersinkGetFrame(f, astiav.NewBuffersinkFlags())
}

// outTimeBase is the time base of the frames pull returns.
func (g *graph) outTimeBase() astiav.Rational {
	if links := g.sink.Inputs(); len(links) > 0 {
		return links[0].TimeBase()
	}
	return astiav.NewRational(0, 1)
}

func (g *graph) free() {
	if g != nil && g.g != nil {
		// Freeing the graph frees its filter contexts too.
		g.g.Free()
		g.g, g.src, g.sink = nil, nil, nil
	}
}

// rotateFilter returns the filters that turn a picture stored rotated by
// deg degrees clockwise upright, or "" for none; the same choice as the
// ffmpeg CLI's autorotate.
func rotateFilter(deg int) string {
	switch deg {
	case 90:
		return "transpose=clock"
	case 180:
		return "hflip,vflip"
	case 270:
		return "transpose=cclock"
	}
	return ""
}
