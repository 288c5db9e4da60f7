package clip

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/transcode/ladder"
)

// maxSmallObject bounds what is read into memory from the store: playlists, init
// segments and the two edge segments of a rung. A 2 s segment of a 1080p rung is about
// 1 MB; anything near this limit is not what the ladder writes.
const maxSmallObject = 64 << 20

// variant is one entry of a master playlist, with its attributes kept in order so the
// clip's master can repeat them in the same style.
type variant struct {
	attrs     []attr
	uri       string // relative to the asset folder, e.g. "720p/index.m3u8"
	bandwidth int
	avg       int
	w, h      int
	codecs    string
	fps       float64
}

type attr struct{ key, val string }

// parseMaster reads the variants of a master playlist the ladder wrote.
func parseMaster(b []byte) ([]variant, error) {
	var vs []variant
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	var pending *variant
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				return nil, errors.New("master playlist does not start with #EXTM3U")
			}
			first = false
			continue
		}
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			v := variant{attrs: parseAttrs(strings.TrimPrefix(line, "#EXT-X-STREAM-INF:"))}
			for _, a := range v.attrs {
				switch a.key {
				case "BANDWIDTH":
					v.bandwidth, _ = strconv.Atoi(a.val)
				case "AVERAGE-BANDWIDTH":
					v.avg, _ = strconv.Atoi(a.val)
				case "RESOLUTION":
					ws, hs, _ := strings.Cut(a.val, "x")
					v.w, _ = strconv.Atoi(ws)
					v.h, _ = strconv.Atoi(hs)
				case "CODECS":
					v.codecs = a.val
				case "FRAME-RATE":
					v.fps, _ = strconv.ParseFloat(a.val, 64)
				}
			}
			pending = &v
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			if pending == nil {
				return nil, fmt.Errorf("master playlist names %q without #EXT-X-STREAM-INF", line)
			}
			pending.uri = line
			vs = append(vs, *pending)
			pending = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, errors.New("master playlist lists no renditions")
	}
	return vs, nil
}

// parseAttrs splits an HLS attribute list (KEY=VALUE,KEY="quoted, value").
func parseAttrs(s string) []attr {
	var out []attr
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:1+end], s[2+end:]
			}
			out = append(out, attr{key, val})
			s = strings.TrimPrefix(s, ",")
			continue
		}
		if c := strings.IndexByte(s, ','); c >= 0 {
			val, s = s[:c], s[c+1:]
		} else {
			val, s = s, ""
		}
		out = append(out, attr{key, val})
	}
	return out
}

// mediaPlaylist is a rendition's index.m3u8.
type mediaPlaylist struct {
	initURI string
	segs    []segRef
}

type segRef struct {
	uri string
	dur int64 // 90 kHz ticks
}

// parseMedia reads a media playlist the ladder wrote: one #EXT-X-MAP, then #EXTINF
// and segment lines. Durations are whole 90 kHz ticks written with six decimals, so
// rounding gives them back exactly.
func parseMedia(b []byte) (mediaPlaylist, error) {
	var p mediaPlaylist
	var dur int64 = -1
	ended := false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			for _, a := range parseAttrs(strings.TrimPrefix(line, "#EXT-X-MAP:")) {
				if a.key == "URI" {
					p.initURI = a.val
				}
			}
		case strings.HasPrefix(line, "#EXTINF:"):
			s, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f <= 0 || f > 3600 {
				return p, fmt.Errorf("bad #EXTINF %q", line)
			}
			dur = int64(math.Round(f * clock90k))
		case line == "#EXT-X-ENDLIST":
			ended = true
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			if dur < 0 {
				return p, fmt.Errorf("segment %q without #EXTINF", line)
			}
			p.segs = append(p.segs, segRef{uri: line, dur: dur})
			dur = -1
		}
	}
	if err := sc.Err(); err != nil {
		return p, err
	}
	switch {
	case p.initURI == "":
		return p, errors.New("media playlist has no #EXT-X-MAP")
	case len(p.segs) == 0:
		return p, errors.New("media playlist has no segments")
	case !ended:
		return p, errors.New("media playlist has no #EXT-X-ENDLIST (not a finished VOD)")
	}
	return p, nil
}

// objectKey resolves a URI of a playlist at key base (relative URIs only: the ladder
// writes nothing else).
func objectKey(base, uri string) (string, error) {
	if strings.Contains(uri, "://") || strings.HasPrefix(uri, "/") || strings.ContainsAny(uri, "?#") {
		return "", fmt.Errorf("%w: playlist names %q, not a relative file", ladder.ErrBadInput, uri)
	}
	key := path.Join(path.Dir(base), uri)
	if !strings.HasPrefix(key, assetFolder(base)) {
		return "", fmt.Errorf("%w: playlist names %q outside the asset", ladder.ErrBadInput, uri)
	}
	if err := storage.ValidKey(key); err != nil {
		return "", fmt.Errorf("%w: playlist names %q: %v", ladder.ErrBadInput, uri, err)
	}
	return key, nil
}

// assetFolder is "vod/<asset>/" of a key under it.
func assetFolder(key string) string {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) < 3 {
		return key
	}
	return parts[0] + "/" + parts[1] + "/"
}

// getSmall reads a whole object of at most maxSmallObject bytes.
func getSmall(ctx context.Context, st storage.Store, key string) ([]byte, error) {
	return getRange(ctx, st, key, nil)
}

func getRange(ctx context.Context, st storage.Store, key string, rng *storage.Range) ([]byte, error) {
	r, info, err := st.Get(ctx, key, rng)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	if rng == nil && info.Size > maxSmallObject {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than a ladder writes", ladder.ErrBadInput, key, info.Size)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSmallObject+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if len(b) > maxSmallObject {
		return nil, fmt.Errorf("%w: %s is larger than a ladder writes", ladder.ErrBadInput, key)
	}
	return b, nil
}
