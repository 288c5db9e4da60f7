package ladder

import (
	"fmt"
	"math"
	"strings"
)

// Segment is one media segment of a rendition as its playlist lists it. The ladder
// and the clip cutter (transcode/clip) write their playlists and measure their bit
// rates with the same two functions, so a clip's master reads like its lesson's.
type Segment struct {
	File     string  // relative to the playlist
	Duration float64 // seconds
	Bytes    int64
}

// MediaPlaylist is the fMP4 VOD media playlist of segs, whose init segment is
// "init.mp4" next to it.
func MediaPlaylist(segs []Segment) string {
	target := 1
	for _, s := range segs {
		target = max(target, int(math.Round(s.Duration)))
	}
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n")
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n", target)
	b.WriteString("#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	b.WriteString("#EXT-X-MAP:URI=\"init.mp4\"\n")
	for _, s := range segs {
		fmt.Fprintf(&b, "#EXTINF:%.6f,\n%s\n", s.Duration, s.File)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.String()
}

// Bandwidth returns the peak and average bit rates of segs for the master's
// BANDWIDTH and AVERAGE-BANDWIDTH. The peak ignores segments shorter than half the
// longest (the last one, or a clip's edge, is often a sliver whose keyframe alone
// would inflate it).
func Bandwidth(segs []Segment) (peak, avg int) {
	var bytes, longest, secs float64
	for _, s := range segs {
		longest = max(longest, s.Duration)
	}
	for _, s := range segs {
		bytes += float64(s.Bytes)
		secs += s.Duration
		if s.Duration >= longest/2 && s.Duration > 0 {
			peak = max(peak, int(math.Ceil(float64(s.Bytes)*8/s.Duration)))
		}
	}
	if secs > 0 {
		avg = int(math.Ceil(bytes * 8 / secs))
	}
	return max(peak, avg), avg
}
