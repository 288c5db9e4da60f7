// Package captions checks caption files teachers upload and turns them into the one
// format browsers play: WebVTT. Teachers export captions from whatever tool they
// have (SRT from most editors, WebVTT from a few), often in a legacy Windows
// encoding or with a byte-order mark; the player must not be the one to find out.
package captions

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxSize bounds a caption file: a 4-hour lesson with a cue every two seconds
// is well under 1 MiB.
const MaxSize = 2 << 20

// ErrInvalid wraps every reason a file is refused.
var ErrInvalid = errors.New("captions: not a caption file")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// srtTiming is an SRT cue timing line: 00:01:02,500 --> 00:01:04,000 (some
// tools write a dot, or drop the hour).
var srtTiming = regexp.MustCompile(`^\s*((?:\d{1,2}:)?\d{1,2}:\d{2})[,.](\d{1,3})\s*-->\s*((?:\d{1,2}:)?\d{1,2}:\d{2})[,.](\d{1,3})(.*)$`)

// vttTiming is a WebVTT cue timing line.
var vttTiming = regexp.MustCompile(`^(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}\s+-->\s+(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}(?:\s.*)?$`)

// ToVTT returns b as WebVTT: a WebVTT file is checked and passed through (without a
// byte-order mark, with \n line ends); an SRT file is converted. Anything else, a file
// that is not UTF-8, or one without a single cue is refused with ErrInvalid and a
// reason a teacher can act on.
func ToVTT(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, invalid("the file is empty")
	}
	if len(b) > MaxSize {
		return nil, invalid("the file is %d bytes, more than the %d a caption file can be", len(b), MaxSize)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, invalid("the file is not UTF-8 text (save it as UTF-8 in your caption editor)")
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, invalid("the file is binary, not text")
	}
	text := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(text, "\n")
	if first := lines[0]; first == "WEBVTT" || strings.HasPrefix(first, "WEBVTT ") || strings.HasPrefix(first, "WEBVTT\t") {
		cues, header := 0, true
		for i, l := range lines {
			if strings.TrimSpace(l) == "" {
				header = false
			}
			if strings.Contains(l, "-->") {
				if header {
					return nil, invalid("line %d: a cue right under the WEBVTT line; WebVTT needs an empty line between them", i+1)
				}
				if !vttTiming.MatchString(strings.TrimSpace(l)) {
					return nil, invalid("line %d: %q is not a WebVTT cue timing (hh:mm:ss.ttt --> hh:mm:ss.ttt)", i+1, clip(l))
				}
				cues++
			}
		}
		if cues == 0 {
			return nil, invalid("the WebVTT file has no cues")
		}
		return []byte(text), nil
	}
	return fromSRT(lines)
}

// fromSRT converts SRT lines: the cue counters become cue identifiers, commas in
// timings become dots, and hours are filled in.
func fromSRT(lines []string) ([]byte, error) {
	var out strings.Builder
	// The header block ends at the first blank line: without one, the first cue
	// would be read as part of the header and never shown.
	out.WriteString("WEBVTT\n\n")
	cues := 0
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for i, l := range lines {
		if m := srtTiming.FindStringSubmatch(l); m != nil {
			fmt.Fprintf(&out, "%s.%s --> %s.%s%s\n", hours(m[1]), millis(m[2]), hours(m[3]), millis(m[4]), m[5])
			cues++
			continue
		}
		if strings.Contains(l, "-->") {
			return nil, invalid("line %d: %q is not an SRT cue timing (hh:mm:ss,ttt --> hh:mm:ss,ttt)", i+1, clip(l))
		}
		// A blank line before a cue counter: WebVTT needs the blank line too.
		out.WriteString(l)
		out.WriteByte('\n')
	}
	if cues == 0 {
		return nil, invalid("neither WebVTT (the first line must be WEBVTT) nor SRT (no cue timings such as 00:00:01,000 --> 00:00:03,000)")
	}
	return []byte(out.String()), nil
}

// hours writes mm:ss or h:mm:ss as hh:mm:ss.
func hours(s string) string {
	parts := strings.Split(s, ":")
	for i, p := range parts {
		if len(p) == 1 {
			parts[i] = "0" + p
		}
	}
	if len(parts) == 2 {
		parts = append([]string{"00"}, parts...)
	}
	return strings.Join(parts, ":")
}

// millis pads a fraction to three digits: ",5" is half a second.
func millis(s string) string { return (s + "00")[:3] }

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
