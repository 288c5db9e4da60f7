package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/transcode/clip"
	"github.com/classcast/classcast/transcode/ladder"
)

// Clip benchmark: a 5-minute micro-lecture cut out of the middle of a 45-minute
// 1080p25 lesson, at points that are not on a GOP boundary.
var (
	clipLessonMinutes = 45
	clipLoopSeconds   = 60
	clipLessonID      = "bench-lesson-45min"
	clipIn            = 20*time.Minute + 3360*time.Millisecond
	clipOut           = 25*time.Minute + 3360*time.Millisecond
)

// benchClip measures clip.Cut and the publish of its objects. The lesson is built
// once and kept under cacheDir: a 60 s 1080p source through ladder.Run, then every
// rendition looped to 45 minutes by rewriting the segments' timestamps, so the store
// holds exactly the layout (playlists, init segments, 2 s segments) a 45-minute
// ladder has, for a minute of encoding instead of eleven.
func benchClip(ctx context.Context, cacheDir string) (string, error) {
	storeDir := filepath.Join(cacheDir, "store")
	ready := filepath.Join(cacheDir, "ready")
	if _, err := os.Stat(ready); err != nil {
		os.RemoveAll(cacheDir)
		start := time.Now()
		if err := buildClipFixture(ctx, cacheDir, storeDir); err != nil {
			return "", fmt.Errorf("building the 45-minute lesson: %w", err)
		}
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			return "", err
		}
		log.Printf("clip: fixture built in %v (cached in %s)", time.Since(start).Round(time.Second), cacheDir)
	} else {
		log.Printf("clip: reusing the 45-minute lesson in %s", cacheDir)
	}
	st, err := storage.NewLocal(storeDir)
	if err != nil {
		return "", err
	}
	const clipID = "bench-clip"
	st.DeletePrefix(ctx, "vod/"+clipID)
	// The cached lesson stays for the next run; the clip (half a GB) does not.
	defer st.DeletePrefix(context.WithoutCancel(ctx), "vod/"+clipID)
	work, err := os.MkdirTemp("", "classcast-bench-clip-out")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)

	log.Printf("clip: cutting %v-%v out of the %d-minute lesson", clipIn, clipOut, clipLessonMinutes)
	start := time.Now()
	res, err := clip.Cut(ctx, st, clipLessonID, clipIn, clipOut, work, clip.Options{Preset: ladder.DefaultPreset})
	if err != nil {
		return "", err
	}
	cutTook := time.Since(start)
	pubStart := time.Now()
	var objects int
	var bytesOut int64
	// The worker's publish: media first, playlists, master last.
	for _, pass := range []func(string) bool{
		func(f string) bool { return !strings.HasSuffix(f, ".m3u8") },
		func(f string) bool { return strings.HasSuffix(f, ".m3u8") && f != "master.m3u8" },
		func(f string) bool { return f == "master.m3u8" },
	} {
		for _, f := range res.Files {
			if !pass(f) {
				continue
			}
			fh, err := os.Open(filepath.Join(work, filepath.FromSlash(f)))
			if err != nil {
				return "", err
			}
			fi, _ := fh.Stat()
			err = st.Put(ctx, "vod/"+clipID+"/"+f, fh, fi.Size(), "")
			fh.Close()
			if err != nil {
				return "", err
			}
			objects++
			bytesOut += fi.Size()
		}
	}
	pubTook := time.Since(pubStart)
	total := time.Since(start)

	// Not timed: the clip must decode end to end and hold exactly its pictures.
	var checks []string
	for _, r := range res.Renditions {
		pl := filepath.Join(work, filepath.FromSlash(r.Playlist))
		out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", pl, "-f", "null", "-").CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			return "", fmt.Errorf("clip rendition %s does not decode cleanly: %v: %s", r.Name, err, out)
		}
		if r.Width > 0 && r.Name == res.Renditions[0].Name {
			out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
				"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", pl).Output()
			if err != nil {
				return "", fmt.Errorf("ffprobe %s: %w", r.Name, err)
			}
			n, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			checks = append(checks, fmt.Sprintf("%s holds %s pictures", r.Name, strings.TrimSpace(n)))
		}
	}
	log.Printf("clip: cut %v, publish %v, total %v", cutTook.Round(time.Millisecond), pubTook.Round(time.Millisecond), total.Round(time.Millisecond))

	var names []string
	for _, r := range res.Renditions {
		names = append(names, r.Name)
	}
	work2 := res.CopyTime + res.EdgeTime
	frac := func(d time.Duration) string {
		return fmt.Sprintf("%.0f %%", 100*d.Seconds()/math.Max(work2.Seconds(), 1e-9))
	}
	var b strings.Builder
	b.WriteString("## Micro-lecture clip\n\n")
	fmt.Fprintf(&b, "A %v micro-lecture, [%s, %s), cut out of a %d-minute 1080p25 lesson (H.264 High with B-frames, 2 s GOPs, AAC) "+
		"whose ladder is in the local object store: renditions %s. The cut points are not on GOP boundaries. "+
		"`clip.Cut` reads the playlists and init segments, copies the segments inside the cut (moof rewritten in flight, media data streamed, never decoded), "+
		"and decodes and re-encodes (x264 preset %s) only the two GOPs holding the cut points, per rendition, two renditions at a time; "+
		"then the files are published to the store as the worker does. "+
		"The lesson is a 60 s source through `ladder.Run`, looped to %d minutes by rewriting segment timestamps (same layout as a real ladder; built once, not measured).\n\n",
		clipOut-clipIn, clockTime(clipIn), clockTime(clipOut), clipLessonMinutes, strings.Join(names, ", "), ladder.DefaultPreset, clipLessonMinutes)
	b.WriteString("| step | wall time |\n|---|---|\n")
	fmt.Fprintf(&b, "| cut (`clip.Cut`) | %.2f s |\n", cutTook.Seconds())
	fmt.Fprintf(&b, "| publish %d objects, %.0f MB (local store) | %.2f s |\n", objects, float64(bytesOut)/1e6, pubTook.Seconds())
	fmt.Fprintf(&b, "| **clip ready** | **%.2f s** |\n\n", total.Seconds())
	b.WriteString("Where the cut's time goes (summed over renditions, which run two at a time):\n\n")
	b.WriteString("| work | segments | data | time | share |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| copy (no decode) | %d | %.0f MB | %.2f s | %s |\n", res.CopiedSegments, float64(res.CopiedBytes)/1e6, res.CopyTime.Seconds(), frac(res.CopyTime))
	fmt.Fprintf(&b, "| decode + re-encode the edge GOPs | %d | %d pictures | %.2f s | %s |\n\n", res.EdgeSegments, res.EdgeFrames, res.EdgeTime.Seconds(), frac(res.EdgeTime))
	fmt.Fprintf(&b, "Checked after the timing: every rendition decodes with the ffmpeg CLI without an error; %s (%v at 25 fps: %d).\n",
		strings.Join(checks, "; "), clipOut-clipIn, int((clipOut-clipIn)*25/time.Second))
	return b.String(), nil
}

func clockTime(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%d:%02d.%02d", ms/60000, ms/1000%60, ms%1000/10)
}

// buildClipFixture makes the 45-minute lesson in a local store under storeDir.
func buildClipFixture(ctx context.Context, dir, storeDir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src := filepath.Join(dir, "src.mp4")
	log.Printf("clip: encoding a %d s 1080p25 source", clipLoopSeconds)
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(clipLoopSeconds), "-c:v", "libx264", "-preset", "superfast", "-profile:v", "high",
		"-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg: %v: %s", err, out)
	}
	ladderDir := filepath.Join(dir, "ladder")
	log.Printf("clip: ladder of the %d s source", clipLoopSeconds)
	res, err := ladder.Run(ctx, src, ladderDir, ladder.Options{})
	if err != nil {
		return err
	}
	st, err := storage.NewLocal(storeDir)
	if err != nil {
		return err
	}
	prefix := "vod/" + clipLessonID + "/"
	put := func(rel string, b []byte) error {
		return st.Put(ctx, prefix+rel, bytes.NewReader(b), int64(len(b)), "")
	}
	copies := clipLessonMinutes * 60 / clipLoopSeconds
	for _, f := range res.Files {
		if path.Ext(f) == ".m4s" || strings.HasSuffix(f, "index.m3u8") {
			continue // looped below
		}
		b, err := os.ReadFile(filepath.Join(ladderDir, filepath.FromSlash(f)))
		if err != nil {
			return err
		}
		if f == "storyboard.vtt" {
			b = loopVTT(b, copies, time.Duration(clipLoopSeconds)*time.Second)
		}
		if err := put(f, b); err != nil {
			return err
		}
	}
	for _, r := range res.Renditions {
		log.Printf("clip: looping %s to %d minutes", r.Name, clipLessonMinutes)
		if err := loopRendition(ctx, ladderDir, r, copies, put); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	os.RemoveAll(ladderDir)
	return nil
}

// loopRendition writes copies of a rendition's segments back to back, each copy's
// timestamps moved by the loop period, and the playlist of the whole. Audio frames
// that would overlap the next copy are dropped.
func loopRendition(ctx context.Context, ladderDir string, r ladder.Rendition, copies int, put func(string, []byte) error) error {
	dir := filepath.Join(ladderDir, path.Dir(r.Playlist))
	pl, err := os.ReadFile(filepath.Join(ladderDir, filepath.FromSlash(r.Playlist)))
	if err != nil {
		return err
	}
	var segFiles []string
	for _, line := range strings.Split(string(pl), "\n") {
		if strings.HasSuffix(line, ".m4s") {
			segFiles = append(segFiles, line)
		}
	}
	segs := make([]fmp4.Parts, len(segFiles))
	for i, f := range segFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if err := segs[i].Unmarshal(b); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	// Track time scales: video (ID 1 in video renditions) 90 kHz, audio 48 kHz.
	video := r.Width > 0
	scale := func(id int) int64 {
		if video && id == 1 {
			return 90000
		}
		return 48000
	}
	period := int64(clipLoopSeconds) // seconds; whole, so every time scale divides it
	type span struct{ start, end int64 }
	var out []span // 90 kHz, per output segment
	var names []string
	n := 0
	for c := 0; c < copies; c++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i, parts := range segs {
			n++
			var buf seekablebuffer.Buffer
			sp := span{start: math.MaxInt64}
			for _, p := range parts {
				q := fmp4.Part{SequenceNumber: uint32(n)}
				for _, t := range p.Tracks {
					ts := scale(t.ID)
					nt := &fmp4.PartTrack{ID: t.ID, BaseTime: t.BaseTime + uint64(int64(c)*period*ts)}
					at := int64(t.BaseTime)
					for _, s := range t.Samples {
						// The source's audio runs a little past its video: in the
						// last segment, drop what the next copy covers.
						if !(video && t.ID == 1) && c < copies-1 && i == len(segs)-1 && at+int64(s.Duration) > firstAudio(segs, video)+period*ts {
							break
						}
						nt.Samples = append(nt.Samples, s)
						pts := at + int64(s.PTSOffset)
						sp.start = min(sp.start, (pts+int64(c)*period*ts)*90000/ts)
						sp.end = max(sp.end, (pts+int64(s.Duration)+int64(c)*period*ts)*90000/ts)
						at += int64(s.Duration)
					}
					if len(nt.Samples) > 0 {
						q.Tracks = append(q.Tracks, nt)
					}
				}
				if err := q.Marshal(&buf); err != nil {
					return err
				}
			}
			name := fmt.Sprintf("seg_%05d.m4s", n)
			if err := put(path.Dir(r.Playlist)+"/"+name, buf.Bytes()); err != nil {
				return err
			}
			out = append(out, sp)
			names = append(names, name)
		}
	}
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n")
	end := out[len(out)-1].end
	for i, sp := range out {
		next := end
		if i+1 < len(out) {
			next = out[i+1].start
		}
		fmt.Fprintf(&b, "#EXTINF:%.6f,\n%s\n", float64(next-sp.start)/90000, names[i])
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return put(r.Playlist, []byte(b.String()))
}

// firstAudio is the first audio decode time of the rendition (audio ticks).
func firstAudio(segs []fmp4.Parts, video bool) int64 {
	for _, p := range segs[0] {
		for _, t := range p.Tracks {
			if !(video && t.ID == 1) {
				return int64(t.BaseTime)
			}
		}
	}
	return 0
}

// loopVTT repeats the storyboard's cues for every copy of the loop.
func loopVTT(b []byte, copies int, period time.Duration) []byte {
	lines := strings.Split(string(b), "\n")
	var out strings.Builder
	out.WriteString("WEBVTT\n\n")
	for c := 0; c < copies; c++ {
		for i := 0; i+1 < len(lines); i++ {
			a, z, ok := strings.Cut(lines[i], " --> ")
			if !ok {
				continue
			}
			fmt.Fprintf(&out, "%s --> %s\n%s\n\n", shiftVTT(a, time.Duration(c)*period), shiftVTT(z, time.Duration(c)*period), lines[i+1])
		}
	}
	return []byte(out.String())
}

func shiftVTT(s string, d time.Duration) string {
	var h, m int
	var sec float64
	fmt.Sscanf(strings.ReplaceAll(s, ":", " "), "%d %d %f", &h, &m, &sec)
	t := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*1000+0.5)*time.Millisecond + d
	ms := t.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
