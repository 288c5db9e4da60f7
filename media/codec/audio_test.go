package codec

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"os"
	"strconv"
	"testing"
)

// checkOpusOutput asserts the invariants of a continuous Opus output: one
// packet per 20 ms of input, PTS steps of exactly 960, starting near the
// input's start, and a 440 Hz tone that survived the trip.
func checkOpusOutput(t *testing.T, pkts []OpusPacket, inSamples, inRate int, firstPTS int64) {
	t.Helper()
	want := inSamples * OpusSampleRate / inRate / OpusFrameSamples
	if d := len(pkts) - want; d < -2 || d > 0 {
		t.Errorf("got %d Opus packets, want %d (−2..0, the tail stays buffered)", len(pkts), want)
	}
	if len(pkts) == 0 {
		t.FailNow()
	}
	if d := pkts[0].PTS - firstPTS; d < -OpusFrameSamples || d > OpusFrameSamples {
		t.Errorf("first PTS %d, want about %d", pkts[0].PTS, firstPTS)
	}
	for i := 1; i < len(pkts); i++ {
		if d := pkts[i].PTS - pkts[i-1].PTS; d != OpusFrameSamples {
			t.Fatalf("packet %d: PTS step %d, want %d", i, d, OpusFrameSamples)
		}
	}
	for i, p := range pkts {
		if len(p.Data) == 0 {
			t.Fatalf("packet %d is empty", i)
		}
	}

	samples, ch := decodeOpus(t, pkts)
	if ch != OpusChannels {
		t.Fatalf("decoded %d channels, want %d", ch, OpusChannels)
	}
	// Skip the first 100 ms: encoder and resampler start-up.
	skip := OpusSampleRate / 10 * ch
	if len(samples) <= skip {
		t.Fatalf("only %d samples decoded", len(samples))
	}
	for c := 0; c < ch; c++ {
		rms, freq := toneStats(samples[skip:], ch, c, OpusSampleRate)
		t.Logf("channel %d: RMS %.3f, frequency %.1f Hz", c, rms, freq)
		if rms < 0.03 {
			t.Errorf("channel %d is silent: RMS %.4f", c, rms)
		}
		if math.Abs(freq-440) > 10 {
			t.Errorf("channel %d: tone at %.1f Hz, want 440", c, freq)
		}
	}
}

func TestAudioTranscoderAAC(t *testing.T) {
	for _, tc := range []struct {
		rate, channels int
	}{
		{44100, 2},
		{48000, 1},
		{16000, 1},
	} {
		t.Run(strconv.Itoa(tc.rate)+"Hz_"+strconv.Itoa(tc.channels)+"ch", func(t *testing.T) {
			path := runFFmpeg(t, t.TempDir(), "in.aac",
				"-f", "lavfi", "-i", "sine=frequency=440:duration=3:sample_rate="+strconv.Itoa(tc.rate),
				"-ac", strconv.Itoa(tc.channels), "-c:a", "aac", "-b:a", "96k", "-f", "adts")
			conf, rate, channels, aus := readADTS(t, path)
			if rate != tc.rate || channels != tc.channels {
				t.Fatalf("ADTS says %d Hz %d ch", rate, channels)
			}

			tr, err := NewAudioTranscoder(AudioInput{Codec: AudioCodecAAC, SampleRate: rate, Config: conf})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()

			// Start at a non-zero RTP-like timestamp, as a live source does.
			const start = 123456
			var pkts []OpusPacket
			for i, au := range aus {
				out, err := tr.Transcode(au, start+int64(i)*1024)
				if err != nil {
					t.Fatalf("AU %d: %v", i, err)
				}
				pkts = append(pkts, out...)
			}
			checkOpusOutput(t, pkts, len(aus)*1024, rate, int64(start)*OpusSampleRate/int64(rate))
		})
	}
}

func TestAudioTranscoderG711(t *testing.T) {
	for _, tc := range []struct{ codec, format string }{
		{AudioCodecPCMU, "mulaw"},
		{AudioCodecPCMA, "alaw"},
	} {
		t.Run(tc.codec, func(t *testing.T) {
			path := runFFmpeg(t, t.TempDir(), "in.raw",
				"-f", "lavfi", "-i", "sine=frequency=440:duration=3:sample_rate=8000",
				"-ac", "1", "-ar", "8000", "-f", tc.format)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := NewAudioTranscoder(AudioInput{Codec: tc.codec})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()

			// 20 ms RTP packets of 160 samples, the usual G.711 packetization.
			var pkts []OpusPacket
			n := 0
			for off := 0; off+160 <= len(raw); off += 160 {
				out, err := tr.Transcode(raw[off:off+160], int64(off))
				if err != nil {
					t.Fatalf("AU at %d: %v", off, err)
				}
				pkts = append(pkts, out...)
				n += 160
			}
			checkOpusOutput(t, pkts, n, 8000, 0)
		})
	}
}

func TestAudioTranscoderCorruptAU(t *testing.T) {
	path := runFFmpeg(t, t.TempDir(), "in.aac",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=44100",
		"-ac", "2", "-c:a", "aac", "-f", "adts")
	conf, rate, _, aus := readADTS(t, path)
	tr, err := NewAudioTranscoder(AudioInput{Codec: AudioCodecAAC, SampleRate: rate, Config: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	rnd := rand.New(rand.NewSource(1))
	garbage := make([]byte, 300)
	rnd.Read(garbage)
	bad := map[int][]byte{
		20: garbage,
		21: bytes.Repeat([]byte{0xff}, 50),
		22: {},
		23: aus[23][:3], // truncated AU
	}

	var pkts []OpusPacket
	for i, au := range aus {
		pts := int64(i) * 1024
		if b, ok := bad[i]; ok {
			out, err := tr.Transcode(b, pts)
			if err == nil {
				t.Errorf("AU %d (corrupt, %d bytes): no error, %d packets", i, len(b), len(out))
			} else {
				t.Logf("AU %d (corrupt): %v", i, err)
			}
			continue
		}
		out, err := tr.Transcode(au, pts)
		if err != nil {
			t.Fatalf("good AU %d after corrupt ones: %v", i, err)
		}
		pkts = append(pkts, out...)
	}
	// Four AUs (~93 ms) are missing: less than the re-anchoring threshold,
	// so the output stays continuous and simply has fewer packets.
	checkOpusOutput(t, pkts, (len(aus)-len(bad))*1024, rate, 0)
}

func TestAudioTranscoderPTSJump(t *testing.T) {
	path := runFFmpeg(t, t.TempDir(), "in.raw",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=3:sample_rate=8000", "-f", "mulaw")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewAudioTranscoder(AudioInput{Codec: AudioCodecPCMU})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	// Second 1 comes with timestamps 10 s later (a publisher restart),
	// second 2 jumps 5 s back.
	offsets := []int64{0, 80000, 40000} // 8 kHz units, per second of input
	var pkts []OpusPacket
	for off := 0; off+160 <= len(raw); off += 160 {
		o := offsets[min(off/8000, len(offsets)-1)]
		out, err := tr.Transcode(raw[off:off+160], int64(off)+o)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, out...)
	}
	steps := 0
	for i := 1; i < len(pkts); i++ {
		if d := pkts[i].PTS - pkts[i-1].PTS; d != OpusFrameSamples {
			steps++
			t.Logf("re-anchored at packet %d: %d -> %d", i, pkts[i-1].PTS, pkts[i].PTS)
		}
	}
	if steps != 2 {
		t.Errorf("%d discontinuities, want 2", steps)
	}
	last := pkts[len(pkts)-1].PTS + OpusFrameSamples
	wantLast := (int64(len(raw)) + offsets[2]) * 6 // 8 kHz -> 48 kHz
	if d := wantLast - last; d < 0 || d > 2*OpusFrameSamples {
		t.Errorf("last packet ends at %d, want just under %d", last, wantLast)
	}
}

func TestAudioTranscoderErrors(t *testing.T) {
	if _, err := NewAudioTranscoder(AudioInput{Codec: "mp3"}); !errors.Is(err, ErrUnsupportedCodec) {
		t.Errorf("mp3: got %v, want ErrUnsupportedCodec", err)
	}
	if _, err := NewAudioTranscoder(AudioInput{Codec: AudioCodecAAC}); err == nil {
		t.Error("AAC without config: no error")
	}
	if _, err := NewAudioTranscoder(AudioInput{Codec: AudioCodecAAC, Config: []byte{0xff}}); err == nil {
		t.Error("AAC with a broken config: no error")
	}
	tr, err := NewAudioTranscoder(AudioInput{Codec: AudioCodecPCMA})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	tr.Close()
	if _, err := tr.Transcode(make([]byte, 160), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: got %v, want ErrClosed", err)
	}
}

// The transcoder runs for every AU of every stream: Go allocations per AU
// stay a handful (the returned packets and their slice).
func TestAudioTranscoderAllocs(t *testing.T) {
	path := testMedia(t, "sine_44k.aac", "-f", "lavfi", "-i", "sine=frequency=440:duration=3:sample_rate=44100",
		"-ac", "2", "-c:a", "aac", "-f", "adts")
	conf, rate, _, aus := readADTS(t, path)
	tr, err := NewAudioTranscoder(AudioInput{Codec: AudioCodecAAC, SampleRate: rate, Config: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := tr.Transcode(aus[i%len(aus)], int64(i)*1024); err != nil {
			t.Fatal(err)
		}
		i++
	})
	t.Logf("%.1f Go allocations per AAC access unit", allocs)
	if allocs > 12 {
		t.Errorf("%.1f allocations per access unit", allocs)
	}
}
