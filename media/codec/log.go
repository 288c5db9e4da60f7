package codec

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asticode/go-astiav"
)

// RouteFFmpegLogs sends FFmpeg's own messages (warnings and errors) to log instead of
// stderr, at most 20 lines every 10 s: a corrupt stream makes FFmpeg complain about
// every frame, and the log must stay readable.
func RouteFFmpegLogs(log *slog.Logger) {
	var mu sync.Mutex
	var windowStart time.Time
	var lines, suppressed int
	astiav.SetLogLevel(astiav.LogLevelWarning)
	astiav.SetLogCallback(func(_ astiav.Classer, l astiav.LogLevel, _, msg string) {
		if l > astiav.LogLevelWarning {
			return
		}
		mu.Lock()
		now := time.Now()
		if now.Sub(windowStart) > 10*time.Second {
			if suppressed > 0 {
				log.Warn("ffmpeg messages suppressed", "count", suppressed)
			}
			windowStart, lines, suppressed = now, 0, 0
		}
		lines++
		if lines > 20 {
			suppressed++
			mu.Unlock()
			return
		}
		mu.Unlock()
		msg = strings.TrimSpace(msg)
		if l <= astiav.LogLevelError {
			log.Error("ffmpeg", "message", msg)
		} else {
			log.Warn("ffmpeg", "message", msg)
		}
	})
}
