package upload_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/upload"
)

// playerDir holds tus-js-client (npm ci) and scripts/tusupload.mjs.
var playerDir = filepath.Join("..", "..", "player")

type nodeEvent struct {
	Event   string `json:"event"`
	URL     string `json:"url"`
	Sent    int64  `json:"sent"`
	Total   int64  `json:"total"`
	Count   int    `json:"count"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// tusNode starts scripts/tusupload.mjs; onEvent sees each line it prints
// and returns false to kill it there (an interrupted upload: a closed
// laptop, a dropped link). It returns every event seen.
func tusNode(t *testing.T, e *env, endpoint, store string, onEvent func(nodeEvent) bool) []nodeEvent {
	t.Helper()
	if _, err := os.Stat(filepath.Join(playerDir, "node_modules", "tus-js-client")); err != nil {
		t.Fatalf("tus-js-client is not installed: run `npm ci` in player/ (make deps): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "scripts/tusupload.mjs",
		"--endpoint", endpoint, "--file", mediaPath, "--token", e.teacher,
		"--title", "勾股定理（续传）", "--store", store, "--chunk-size", strconv.Itoa(8<<20))
	cmd.Dir = playerDir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var events []nodeEvent
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		var ev nodeEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Errorf("tusupload.mjs printed %q", sc.Text())
			continue
		}
		events = append(events, ev)
		if !killed && !onEvent(ev) {
			_ = cmd.Process.Kill()
			killed = true
		}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("tusupload.mjs ran past its time limit; events: %v", events)
	}
	if !killed && err != nil {
		t.Fatalf("tusupload.mjs: %v; events: %v", err, events)
	}
	return events
}

// TestTusJSClientInterruptResume: tus-js-client uploads the 44 MB video over
// a slow link and is killed at about 30%; a new process (a restarted
// browser) finds the upload in its URL storage, resumes from the server's
// offset, sends only the remaining bytes, and the lesson is accepted once
// with the exact bytes.
func TestTusJSClientInterruptResume(t *testing.T) {
	e := newEnv(t)
	e.bodyRate.Store(20 << 20) // 20 MB/s: about 2 s for the whole file
	size := fileSize(t, mediaPath)
	store := filepath.Join(t.TempDir(), "tus-urls.json")

	var url string
	endpoint := e.srv.URL + upload.DefaultBasePath
	first := tusNode(t, e, endpoint, store, func(ev nodeEvent) bool {
		if ev.Event == "url" {
			url = ev.URL
		}
		if ev.Event == "success" || ev.Event == "error" {
			t.Fatalf("the first run ended before it was interrupted: %+v", ev)
		}
		return !(ev.Event == "progress" && ev.Sent >= size*3/10)
	})
	if url == "" {
		t.Fatalf("no upload URL in %v", first)
	}
	// The server keeps what arrived before the client died.
	offset := stableOffset(t, e, url)
	if offset <= 0 || offset >= size {
		t.Fatalf("server offset after the interruption %d, want between 0 and %d", offset, size)
	}
	before := e.received.get()
	t.Logf("interrupted at %d of %d bytes (%.0f%%)", offset, size, 100*float64(offset)/float64(size))

	var firstProgress int64 = -1
	second := tusNode(t, e, endpoint, store, func(ev nodeEvent) bool {
		if ev.Event == "progress" && firstProgress < 0 {
			firstProgress = ev.Sent
		}
		return true
	})
	last := second[len(second)-1]
	if last.Event != "success" || last.URL != url {
		t.Fatalf("the resumed run ended with %+v, want success on %s", last, url)
	}
	if second[0].Event != "previous" || second[0].Count != 1 {
		t.Errorf("the resumed run found %+v, want 1 previous upload", second[0])
	}
	if sent := e.received.get() - before; sent != size-offset {
		t.Errorf("the resumed run sent %d bytes, want only the remaining %d", sent, size-offset)
	}
	if firstProgress < offset {
		t.Errorf("the resumed run's progress started at %d, want at least the offset %d", firstProgress, offset)
	}

	calls := e.acc.wait(t, 1)
	id := url[strings.LastIndex(url, "/")+1:]
	if calls[0].ID != id || calls[0].Meta["title"] != "勾股定理（续传）" || calls[0].Filename != "lesson.mp4" {
		t.Errorf("Accept got %q %q %q", calls[0].ID, calls[0].Meta["title"], calls[0].Filename)
	}
	if v := calls[0].Info.Video; v == nil || v.Codec != "h264" || calls[0].Info.Duration < 3*time.Second {
		t.Errorf("Accept got probe info %+v", calls[0].Info)
	}
	if got, want := e.storedSHA(t, id), fileSHA(t, mediaPath); got != want {
		t.Errorf("stored sha256 %s, want %s", got, want)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.acc.list()); n != 1 {
		t.Errorf("Accept called %d times, want 1", n)
	}
	// Success forgot the upload: the next run of the same file starts anew.
	if b, err := os.ReadFile(store); err == nil && strings.Contains(string(b), "tus::") {
		t.Errorf("URL storage still holds the finished upload: %s", b)
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// stableOffset is the server's offset once the interrupted PATCH has ended.
func stableOffset(t *testing.T, e *env, url string) int64 {
	t.Helper()
	prev := int64(-1)
	for range 50 {
		res := e.head(t, url, e.teacher)
		wantStatus(t, "HEAD", res, http.StatusOK)
		n, err := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if n == prev {
			return n
		}
		prev = n
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the offset never settled")
	return 0
}

// helperServer is a classcast upload node in its own process whose Accept
// never returns, so the test can kill it between "upload complete" and
// "accepted".
func helperServer() {
	dir := os.Getenv("UPLOAD_TEST_HELPER")
	h, err := upload.New(upload.Options{
		Dir: dir,
		Authorize: func(r *http.Request) (string, bool, int) {
			if r.Header.Get("Authorization") != "Bearer helper-token" {
				return "", false, http.StatusUnauthorized
			}
			return "u-helper", true, 0
		},
		Accept: func(ctx context.Context, f upload.Finished) error {
			_ = os.WriteFile(os.Getenv("UPLOAD_TEST_MARK"), []byte(f.ID), 0o644)
			select {} // "crash" here
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	_ = http.Serve(ln, h)
}

// TestRestartBeforeAccept: the node dies after the last byte arrived and
// while Accept runs; the next start accepts the upload, once, from disk.
func TestRestartBeforeAccept(t *testing.T) {
	root := t.TempDir()
	dir, mark := filepath.Join(root, "uploads"), filepath.Join(root, "accept-started")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "UPLOAD_TEST_HELPER="+dir, "UPLOAD_TEST_MARK="+mark)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper server: %v", err)
	}
	helper := &env{srv: nil}
	base := "http://" + strings.TrimSpace(addr)
	data, err := os.ReadFile(mediaPath)
	if err != nil {
		t.Fatal(err)
	}
	res := helper.do(t, "POST", base+upload.DefaultBasePath, "helper-token", map[string]string{"Tus-Resumable": "1.0.0",
		"Upload-Length": strconv.Itoa(len(data)), "Upload-Metadata": metaHeader("filename", "crash.mp4", "title", "断电之后")}, nil)
	loc := location(t, res)
	if !strings.HasPrefix(loc, "http") {
		loc = base + loc
	}
	wantStatus(t, "PATCH", helper.do(t, "PATCH", loc, "helper-token", map[string]string{"Tus-Resumable": "1.0.0",
		"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}, data), http.StatusNoContent)
	deadline := time.Now().Add(20 * time.Second)
	for !fileExists(mark) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !fileExists(mark) {
		t.Fatal("the helper never called Accept")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	id := loc[strings.LastIndex(loc, "/")+1:]
	if !fileExists(filepath.Join(dir, id)) || fileExists(filepath.Join(dir, id+".done")) {
		t.Fatalf("after the crash the upload dir holds %v", files(t, dir))
	}

	// The next start, on the same directory.
	e := newEnv(t, func(o *upload.Options) { o.Dir = dir })
	calls := e.acc.wait(t, 1)
	if calls[0].ID != id || calls[0].UserID != "u-helper" || calls[0].Meta["title"] != "断电之后" || calls[0].Info.Video == nil {
		t.Errorf("Accept after restart got %+v", calls[0])
	}
	if got, want := e.storedSHA(t, id), fileSHA(t, mediaPath); got != want {
		t.Errorf("stored sha256 %s, want %s", got, want)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.acc.list()); n != 1 {
		t.Errorf("Accept called %d times after restart, want 1", n)
	}
}

// cuttingProxy forwards TCP to target and cuts every connection once the
// client has sent limit bytes through it: a link that keeps dropping.
func cuttingProxy(t *testing.T, target string, limit int64) (addr string, cuts *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cuts = &atomic.Int64{}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(c, u); _ = c.Close() }()
			go func() {
				defer wg.Done()
				n, _ := io.CopyN(u, c, limit)
				if n == limit {
					cuts.Add(1)
				}
				_ = c.Close()
				_ = u.Close()
			}()
		}
	}()
	return ln.Addr().String(), cuts
}

// TestTusJSClientFlakyLink: every connection drops after 5 MB; tus-js-client
// retries on its own, each time from the server's offset, and the upload
// completes with each byte sent to the server once.
func TestTusJSClientFlakyLink(t *testing.T) {
	e := newEnv(t)
	size := fileSize(t, mediaPath)
	addr, cuts := cuttingProxy(t, strings.TrimPrefix(e.srv.URL, "http://"), 5_000_000)
	events := tusNode(t, e, "http://"+addr+upload.DefaultBasePath, filepath.Join(t.TempDir(), "urls.json"),
		func(nodeEvent) bool { return true })
	last := events[len(events)-1]
	if last.Event != "success" {
		t.Fatalf("the upload over a dropping link ended with %+v", last)
	}
	if n := cuts.Load(); n < int64(size/5_000_000)-1 {
		t.Errorf("the link dropped %d times, want about %d", n, size/5_000_000)
	}
	if got := e.received.get(); got != size {
		t.Errorf("the server read %d body bytes for a %d-byte file: it did not resume where it stopped", got, size)
	}
	calls := e.acc.wait(t, 1)
	if got, want := e.storedSHA(t, calls[0].ID), fileSHA(t, mediaPath); got != want {
		t.Errorf("stored sha256 %s, want %s", got, want)
	}
	t.Logf("%d-byte upload over a link that dropped %d times", size, cuts.Load())
}
