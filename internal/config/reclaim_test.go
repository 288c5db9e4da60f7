package config

import (
	"strings"
	"testing"
	"time"
)

// storage.reclaim_after: an hour by default, any duration from the file, 0 to keep
// unused media forever, never negative.
func TestReclaimAfter(t *testing.T) {
	c, err := Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.ReclaimAfter != time.Hour {
		t.Errorf("default storage.reclaim_after %v, want 1h", c.Storage.ReclaimAfter)
	}
	for text, want := range map[string]time.Duration{"30m": 30 * time.Minute, "0": 0, "72h": 72 * time.Hour} {
		c, err := Load(writeFile(t, "storage:\n  reclaim_after: "+text+"\n"), true, nil)
		if err != nil || c.Storage.ReclaimAfter != want {
			t.Errorf("reclaim_after: %s: %v %v, want %v", text, c.Storage.ReclaimAfter, err, want)
		}
	}
	if _, err := Load(writeFile(t, "storage:\n  reclaim_after: -5m\n"), true, nil); err == nil || !strings.Contains(err.Error(), "storage.reclaim_after") {
		t.Errorf("a negative reclaim_after: error %v does not name storage.reclaim_after", err)
	}
}
