package codec

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/asticode/go-astiav"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// runFFmpeg generates test media with the ffmpeg CLI into dir and returns
// the path of the output file name.
func runFFmpeg(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed")
	}
	out := filepath.Join(dir, name)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	full = append(full, out)
	cmd := exec.Command("ffmpeg", full...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", full, err, b)
	}
	return out
}

// readADTS splits an ADTS file into raw AAC access units and builds the
// AudioSpecificConfig an RTSP SDP would carry for it.
func readADTS(t testing.TB, path string) (conf []byte, rate, channels int, aus [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(b); err != nil {
		t.Fatalf("parsing ADTS: %v", err)
	}
	if len(pkts) == 0 {
		t.Fatal("no ADTS packets")
	}
	c := mpeg4audio.AudioSpecificConfig{
		Type:         pkts[0].Type,
		SampleRate:   pkts[0].SampleRate,
		ChannelCount: pkts[0].ChannelCount,
	}
	conf, err = c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		aus = append(aus, p.AU)
	}
	return conf, c.SampleRate, c.ChannelCount, aus
}

// decodeOpus decodes Opus packets back to 48 kHz interleaved 16-bit samples
// with FFmpeg's libopus decoder, then turns each frame into bytes with the
// PCM encoder (go-astiav v0.16.0 gives no direct access to audio planes).
func decodeOpus(t testing.TB, pkts []OpusPacket) (samples []int16, channels int) {
	t.Helper()
	dc := astiav.FindDecoderByName("libopus")
	if dc == nil {
		dc = astiav.FindDecoder(astiav.CodecIDOpus)
	}
	dec := astiav.AllocCodecContext(dc)
	defer dec.Free()
	dec.SetSampleRate(OpusSampleRate)
	dec.SetChannelLayout(astiav.ChannelLayoutStereo)
	if err := dec.Open(dc, nil); err != nil {
		t.Fatalf("opening Opus decoder: %v", err)
	}

	var enc *astiav.CodecContext
	defer func() {
		if enc != nil {
			enc.Free()
		}
	}()
	pkt, epkt, f := astiav.AllocPacket(), astiav.AllocPacket(), astiav.AllocFrame()
	defer pkt.Free()
	defer epkt.Free()
	defer f.Free()

	for _, p := range pkts {
		if err := pkt.FromData(append(append([]byte{}, p.Data...), make([]byte, 64)...)); err != nil {
			t.Fatal(err)
		}
		pkt.SetSize(len(p.Data))
		pkt.SetPts(p.PTS)
		if err := dec.SendPacket(pkt); err != nil {
			t.Fatalf("decoding Opus: %v", err)
		}
		pkt.Unref()
		for {
			if err := dec.ReceiveFrame(f); err != nil {
				if errors.Is(err, astiav.ErrEagain) {
					break
				}
				t.Fatalf("decoding Opus: %v", err)
			}
			if enc == nil {
				if f.SampleFormat() != astiav.SampleFormatS16 {
					t.Fatalf("Opus decoder gives %s, want s16", f.SampleFormat().Name())
				}
				ec := astiav.FindEncoder(astiav.CodecIDPcmS16Le)
				enc = astiav.AllocCodecContext(ec)
				enc.SetSampleFormat(astiav.SampleFormatS16)
				enc.SetSampleRate(f.SampleRate())
				enc.SetChannelLayout(f.ChannelLayout())
				enc.SetTimeBase(astiav.NewRational(1, f.SampleRate()))
				if err := enc.Open(ec, nil); err != nil {
					t.Fatalf("opening PCM encoder: %v", err)
				}
				channels = f.ChannelLayout().NbChannels()
			}
			if err := enc.SendFrame(f); err != nil {
				t.Fatalf("PCM encode: %v", err)
			}
			f.Unref()
			for enc.ReceivePacket(epkt) == nil {
				b := epkt.Data()
				for i := 0; i+1 < len(b); i += 2 {
					samples = append(samples, int16(uint16(b[i])|uint16(b[i+1])<<8))
				}
				epkt.Unref()
			}
		}
	}
	return samples, channels
}

// toneStats returns the RMS level (full scale 1.0) and the frequency,
// estimated from zero crossings, of channel ch of interleaved samples.
func toneStats(samples []int16, channels, ch, rate int) (rms, freq float64) {
	var sum float64
	crossings := 0
	n := 0
	prev := 0.0
	for i := ch; i < len(samples); i += channels {
		v := float64(samples[i]) / 32768
		sum += v * v
		if n > 0 && (prev < 0) != (v < 0) {
			crossings++
		}
		prev = v
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return math.Sqrt(sum / float64(n)), float64(crossings) / 2 / (float64(n) / float64(rate))
}

// videoAU is one demuxed video access unit.
type videoAU struct {
	nalus [][]byte
	pts   int64
	dts   int64
}

// readVideoTS demuxes the video access units of an MPEG-TS file in decode
// order, the order RTSP delivers them, with their PTS in 90 kHz.
func readVideoTS(t testing.TB, path string) []videoAU {
	t.Helper()
	fc := astiav.AllocFormatContext()
	defer fc.Free()
	if err := fc.OpenInput(path, nil, nil); err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer fc.CloseInput()
	if err := fc.FindStreamInfo(nil); err != nil {
		t.Fatal(err)
	}
	var st *astiav.Stream
	for _, s := range fc.Streams() {
		if s.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			st = s
		}
	}
	if st == nil {
		t.Fatal("no video stream")
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	tb90k := astiav.NewRational(1, 90000)
	var aus []videoAU
	for {
		if err := fc.ReadFrame(pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				break
			}
			t.Fatal(err)
		}
		if pkt.StreamIndex() == st.Index() {
			var a h264.AnnexB // start code syntax is the same for H.265
			if err := a.Unmarshal(pkt.Data()); err != nil {
				t.Fatalf("splitting Annex-B: %v", err)
			}
			aus = append(aus, videoAU{
				nalus: a,
				pts:   astiav.RescaleQ(pkt.Pts(), st.TimeBase(), tb90k),
				dts:   astiav.RescaleQ(pkt.Dts(), st.TimeBase(), tb90k),
			})
		}
		pkt.Unref()
	}
	return aus
}

// decodeH264 decodes encoded access units and returns the frame count and
// the size of the last frame.
func decodeH264(t testing.TB, frames []VideoFrame) (n, width, height int) {
	t.Helper()
	dc := astiav.FindDecoder(astiav.CodecIDH264)
	dec := astiav.AllocCodecContext(dc)
	defer dec.Free()
	if err := dec.Open(dc, nil); err != nil {
		t.Fatal(err)
	}
	pkt, f := astiav.AllocPacket(), astiav.AllocFrame()
	defer pkt.Free()
	defer f.Free()
	drain := func() {
		for dec.ReceiveFrame(f) == nil {
			n++
			width, height = f.Width(), f.Height()
			f.Unref()
		}
	}
	for _, fr := range frames {
		b, err := h264.AnnexB(fr.AU).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := pkt.FromData(append(b, make([]byte, 64)...)); err != nil {
			t.Fatal(err)
		}
		pkt.SetSize(len(b))
		pkt.SetPts(fr.PTS)
		if err := dec.SendPacket(pkt); err != nil {
			t.Fatalf("decoding output: %v", err)
		}
		pkt.Unref()
		drain()
	}
	if err := dec.SendPacket(nil); err != nil {
		t.Fatal(err)
	}
	drain()
	return n, width, height
}
