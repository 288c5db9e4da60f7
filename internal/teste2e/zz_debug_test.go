package teste2e

import (
	"fmt"
	"testing"
	"time"
)

func TestZZDebugB(t *testing.T) {
	s := startServer(t, "")
	path := "b/one"
	publishFFmpeg(t, s.RTSP(path), ffmpegOptions{BFrames: 2})
	waitLive(t, s, path, 20*time.Second)
	v := watch(t, s.WHEP(path))
	v.waitKeyframe(t, 5*time.Second)
	time.Sleep(6 * time.Second)
	f, _ := v.snapshot()
	hist := map[int32]int{}
	for i := 1; i < len(f); i++ {
		hist[int32(f[i].ts-f[i-1].ts)]++
	}
	t.Logf("frames %d, ts delta hist %v", len(f), hist)
	seq := ""
	for i := 1; i < len(f); i++ {
		seq += fmt.Sprintf("%d@%d ", int32(f[i].ts-f[i-1].ts), f[i].at.Sub(v.join).Milliseconds())
	}
	t.Log(seq)
	per := map[int]int{}
	for _, x := range f {
		per[int(x.at.Sub(v.join)/time.Second)]++
	}
	t.Logf("per second: %v", per)
	keys := ""
	for i, x := range f {
		if x.key {
			keys += fmt.Sprintf("%d ", i)
		}
	}
	t.Logf("keyframes at %s", keys)
	for _, l := range logLinesFor(s, path) {
		t.Log(l)
	}
	res := streamUnits(t, s, path)
	t.Logf("units in %d", res)
}
