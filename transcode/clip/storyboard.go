package clip

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/transcode/outdir"
)

// cue is one storyboard thumbnail: a time span and a sprite region.
type cue struct {
	start, end time.Duration
	target     string // "storyboard.jpg#xywh=0,0,160,90"
}

// copyStoryboard carries the lesson's storyboard over to the clip: the cues that
// overlap [in, end) of the lesson, moved to the clip's time, and the sprite images
// they point at, copied as they are (a lesson's thumbnails are at most 10 s apart, so
// a clip keeps at least one every 10 s). A lesson without a storyboard, or with one
// this code does not read, gives none: false, nil.
func copyStoryboard(ctx context.Context, st storage.Store, sourceID string, w *outdir.Dir, in, end time.Duration) (bool, error) {
	base := "vod/" + sourceID + "/"
	b, err := getSmall(ctx, st, base+"storyboard.vtt")
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cues, ok := parseVTT(string(b))
	if !ok {
		return false, nil
	}
	clipLen := end - in
	var out strings.Builder
	out.WriteString("WEBVTT\n\n")
	sprites := map[string]bool{}
	var order []string
	n := 0
	for _, c := range cues {
		if c.end <= in || c.start >= end {
			continue
		}
		file, _, _ := strings.Cut(c.target, "#")
		if file == "" || strings.ContainsAny(file, "/\\") || path.Ext(file) != ".jpg" {
			return false, nil
		}
		if !sprites[file] {
			sprites[file] = true
			order = append(order, file)
		}
		s, e := max(c.start-in, 0), min(c.end-in, clipLen)
		fmt.Fprintf(&out, "%s --> %s\n%s\n\n", vttTime(s), vttTime(e), c.target)
		n++
	}
	if n == 0 {
		return false, nil
	}
	for _, file := range order {
		if err := copyObject(ctx, st, base+file, w, file); err != nil {
			return false, err
		}
	}
	return true, w.Write("storyboard.vtt", []byte(out.String()))
}

func copyObject(ctx context.Context, st storage.Store, key string, w *outdir.Dir, rel string) error {
	b, err := getSmall(ctx, st, key)
	if err != nil {
		return err
	}
	return w.Write(rel, b)
}

// parseVTT reads the cues of a storyboard WebVTT file the ladder wrote.
func parseVTT(s string) ([]cue, bool) {
	sc := bufio.NewScanner(strings.NewReader(s))
	var cues []cue
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "WEBVTT") {
		return nil, false
	}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		a, b, ok := strings.Cut(line, " --> ")
		if !ok {
			continue
		}
		start, ok1 := parseVTTTime(a)
		end, ok2 := parseVTTTime(b)
		if !ok1 || !ok2 || !sc.Scan() {
			return nil, false
		}
		cues = append(cues, cue{start: start, end: end, target: strings.TrimSpace(sc.Text())})
	}
	return cues, len(cues) > 0
}

// parseVTTTime reads HH:MM:SS.mmm.
func parseVTTTime(s string) (time.Duration, bool) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 3 {
		return 0, false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*1000+0.5)*time.Millisecond, true
}

func vttTime(d time.Duration) string {
	ms := max(d.Milliseconds(), 0)
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
