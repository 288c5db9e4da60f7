package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"

	"github.com/classcast/classcast/media/whep/wheptest"
)

func TestTmpScale(t *testing.T) {
	n := os.Getenv("TMP_VIEWERS")
	if n == "" {
		t.Skip()
	}
	ws, err := wheptest.NewServer(wheptest.Config{Path: "load/test"})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	rec := newRTSPRecorder(t, ws)
	cfg, _, err := parseFlags([]string{"-publish", rec.url, "-whep", ws.Endpoint(), "-viewers", n, "-duration", "10s",
		"-server-pid", strconv.Itoa(os.Getpid())}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := run(context.Background(), cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	out, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("%s %v", out, err)
	_ = io.Discard
}
