package upload_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/classcast/classcast/internal/auth"
	"github.com/classcast/classcast/internal/catalog"
	"github.com/classcast/classcast/internal/storage"
	"github.com/classcast/classcast/internal/upload"
)

// mediaPath is a real ~40 MB H.264/AAC MP4 made by the ffmpeg CLI once per
// test run (noise makes x264 spend its bit rate).
var mediaPath string

func TestMain(m *testing.M) {
	if os.Getenv("UPLOAD_TEST_HELPER") != "" {
		helperServer()
		return
	}
	dir, err := os.MkdirTemp("", "upload-test-media")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mediaPath = filepath.Join(dir, "lesson.mp4")
	cmd := exec.Command("ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=4",
		"-f", "lavfi", "-i", "sine=f=440:d=4",
		"-vf", "noise=alls=60:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
		"-b:v", "80M", "-maxrate", "80M", "-bufsize", "80M", "-c:a", "aac", "-shortest",
		"-movflags", "+faststart", mediaPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "ffmpeg: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// accepted records the real Accept's calls: it copies the file into a real
// local object store, as the API node stores a lesson's source.
type accepted struct {
	mu    sync.Mutex
	calls []upload.Finished
	fail  int // fail this many calls first
	store *storage.Local
}

func (a *accepted) accept(ctx context.Context, f upload.Finished) error {
	a.mu.Lock()
	failNow := a.fail > 0
	if failNow {
		a.fail--
	}
	a.mu.Unlock()
	if failNow {
		return fmt.Errorf("object store unreachable")
	}
	file, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer file.Close()
	if err := a.store.Put(ctx, "sources/"+f.ID+"/source.mp4", file, f.Size, "video/mp4"); err != nil {
		return err
	}
	a.mu.Lock()
	a.calls = append(a.calls, f)
	a.mu.Unlock()
	return nil
}

func (a *accepted) list() []upload.Finished {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]upload.Finished(nil), a.calls...)
}

// waitAccepted waits until n uploads were accepted.
func (a *accepted) wait(t *testing.T, n int) []upload.Finished {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if got := a.list(); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("Accept was called %d times, want %d", len(a.list()), n)
	return nil
}

// env is a handler behind the real auth middleware, with a teacher, a second
// teacher and a viewer holding API tokens.
type env struct {
	dir                    string
	h                      *upload.Handler
	srv                    *httptest.Server
	acc                    *accepted
	authSvc                *auth.Service
	teacher, other, viewer string // bearer tokens
	// received counts request body bytes the server read, for "only the
	// remaining bytes were sent".
	received *counter
	// bodyRate throttles request bodies (bytes/s, 0 = none): a slow link, so
	// a client can be interrupted mid-upload.
	bodyRate atomic.Int64
}

type counter struct {
	mu sync.Mutex
	n  int64
}

func (c *counter) add(n int) {
	c.mu.Lock()
	c.n += int64(n)
	c.mu.Unlock()
}

func (c *counter) get() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

type opts func(*upload.Options)

func newEnv(t *testing.T, mods ...opts) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{dir: filepath.Join(t.TempDir(), "uploads"), received: &counter{}}
	cat, err := catalog.Open(ctx, "", filepath.Join(t.TempDir(), "catalog.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cat.Close() })
	a, err := auth.New(auth.Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	e.authSvc = a
	if _, err := a.Bootstrap(ctx, "admin-password-1"); err != nil {
		t.Fatal(err)
	}
	admin, err := a.Login(ctx, auth.LoginRequest{Username: "admin", Password: "admin-password-1", Remote: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	token := func(name string, role auth.Role) string {
		if _, _, err := a.CreateUser(ctx, admin.Principal, auth.NewUser{Username: name, Password: "password-" + name, Role: role}); err != nil {
			t.Fatal(err)
		}
		res, err := a.Login(ctx, auth.LoginRequest{Username: name, Password: "password-" + name, Remote: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := a.CreateToken(ctx, res.Principal, "upload test", 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Secret
	}
	e.teacher, e.other, e.viewer = token("teacher1", auth.RoleTeacher), token("teacher2", auth.RoleTeacher), token("viewer1", auth.RoleViewer)

	st, err := storage.NewLocal(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.acc = &accepted{store: st}
	o := upload.Options{
		Dir:       e.dir,
		MaxSize:   64 << 20,
		Authorize: authorize,
		Accept:    e.acc.accept,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if testing.Verbose() {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, m := range mods {
		m(&o)
	}
	e.dir = o.Dir
	e.h, err = upload.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.h.Close() })
	mux := http.NewServeMux()
	// Mounted as internal/api mounts it: method-qualified patterns.
	for _, m := range []string{"POST", "HEAD", "PATCH", "DELETE", "OPTIONS", "GET"} {
		mux.Handle(m+" "+upload.DefaultBasePath, e.h)
	}
	mux.Handle("POST /api/v1/uploads", e.h)
	e.srv = httptest.NewServer(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = &countingBody{r: r.Body, c: e.received, rate: int(e.bodyRate.Load())}
		}
		mux.ServeHTTP(w, r)
	})))
	t.Cleanup(e.srv.Close)
	return e
}

// authorize is what the API wires: signed-in teachers and admins may upload.
func authorize(r *http.Request) (string, bool, int) {
	p := auth.FromContext(r.Context())
	if err := auth.Denial(r.Context()); err != nil && p == nil {
		return "", false, http.StatusForbidden
	}
	if p == nil {
		return "", false, http.StatusUnauthorized
	}
	if !p.Is(auth.RoleTeacher) {
		return "", false, http.StatusForbidden
	}
	return p.UserID, true, 0
}

type countingBody struct {
	r    io.ReadCloser
	c    *counter
	rate int
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.rate > 0 && len(p) > 64<<10 {
		p = p[:64<<10]
	}
	n, err := b.r.Read(p)
	b.c.add(n)
	if b.rate > 0 && n > 0 {
		time.Sleep(time.Duration(n) * time.Second / time.Duration(b.rate))
	}
	return n, err
}

func (b *countingBody) Close() error { return b.r.Close() }

// --- a tus 1.0 client written from the spec, for exact control over requests

func metaHeader(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

func (e *env) do(t *testing.T, method, url, token string, hdr map[string]string, body []byte) *http.Response {
	t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = e.srv.URL + url
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

func bodyOf(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) create(t *testing.T, token string, size int64, meta string) *http.Response {
	t.Helper()
	return e.do(t, "POST", upload.DefaultBasePath, token, map[string]string{
		"Tus-Resumable": "1.0.0", "Upload-Length": strconv.FormatInt(size, 10), "Upload-Metadata": meta}, nil)
}

func (e *env) patch(t *testing.T, url, token string, offset int64, data []byte) *http.Response {
	t.Helper()
	return e.do(t, "PATCH", url, token, map[string]string{"Tus-Resumable": "1.0.0",
		"Upload-Offset": strconv.FormatInt(offset, 10), "Content-Type": "application/offset+octet-stream"}, data)
}

func (e *env) head(t *testing.T, url, token string) *http.Response {
	t.Helper()
	return e.do(t, "HEAD", url, token, map[string]string{"Tus-Resumable": "1.0.0"}, nil)
}

func wantStatus(t *testing.T, what string, res *http.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s: status %d, want %d (%s)", what, res.StatusCode, want, strings.TrimSpace(string(b)))
	}
}

func location(t *testing.T, res *http.Response) string {
	t.Helper()
	wantStatus(t, "create", res, http.StatusCreated)
	loc := res.Header.Get("Location")
	if !strings.Contains(loc, upload.DefaultBasePath) {
		t.Fatalf("Location %q is not under %s", loc, upload.DefaultBasePath)
	}
	return loc
}

func sha(t *testing.T, r io.Reader) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return sha(t, f)
}

func (e *env) storedSHA(t *testing.T, id string) string {
	t.Helper()
	rc, _, err := e.acc.store.Get(context.Background(), "sources/"+id+"/source.mp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return sha(t, rc)
}

func (e *env) state(t *testing.T, url, token string) upload.State {
	t.Helper()
	res := e.do(t, "GET", url, token, nil, nil)
	wantStatus(t, "GET state", res, http.StatusOK)
	var st upload.State
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestUploadInChunks uploads a real video in three PATCHes with a hand-made
// client, checks HEAD between them, the probe, Accept's arguments (a
// Chinese title round-trips through base64 metadata) and the stored bytes.
func TestUploadInChunks(t *testing.T) {
	e := newEnv(t)
	data, err := os.ReadFile(mediaPath)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(data))
	title := "勾股定理 · 第一课（八年级）"
	loc := location(t, e.create(t, e.teacher, size, metaHeader("filename", "勾股定理.mp4", "title", title)))

	cuts := []int64{0, 5 << 20, 23 << 20, size}
	for i := 0; i+1 < len(cuts); i++ {
		res := e.head(t, loc, e.teacher)
		wantStatus(t, "HEAD", res, http.StatusOK)
		if got := res.Header.Get("Upload-Offset"); got != strconv.FormatInt(cuts[i], 10) {
			t.Fatalf("HEAD before chunk %d: Upload-Offset %s, want %d", i, got, cuts[i])
		}
		if got := res.Header.Get("Upload-Length"); got != strconv.FormatInt(size, 10) {
			t.Fatalf("HEAD: Upload-Length %s, want %d", got, size)
		}
		res = e.patch(t, loc, e.teacher, cuts[i], data[cuts[i]:cuts[i+1]])
		wantStatus(t, "PATCH", res, http.StatusNoContent)
		if got := res.Header.Get("Upload-Offset"); got != strconv.FormatInt(cuts[i+1], 10) {
			t.Fatalf("PATCH %d: Upload-Offset %s, want %d", i, got, cuts[i+1])
		}
		if i == len(cuts)-2 && res.Header.Get("Classcast-Upload-State") != "processing" {
			t.Errorf("last PATCH: Classcast-Upload-State %q, want processing", res.Header.Get("Classcast-Upload-State"))
		}
	}

	calls := e.acc.wait(t, 1)
	f := calls[0]
	id := loc[strings.LastIndex(loc, "/")+1:]
	if f.ID != id || f.Size != size || f.Filename != "勾股定理.mp4" || f.Meta["title"] != title {
		t.Errorf("Accept got id %q size %d filename %q title %q; want %q %d %q %q", f.ID, f.Size, f.Filename, f.Meta["title"], id, size, "勾股定理.mp4", title)
	}
	if _, leaked := f.Meta["classcast-owner"]; leaked {
		t.Error("Accept's Meta carries the server's owner key")
	}
	if f.UserID == "" {
		t.Error("Accept got no user id")
	}
	if f.Info.Video == nil || f.Info.Video.Codec != "h264" || f.Info.Video.Width != 640 || f.Info.Audio == nil {
		t.Errorf("Accept got probe info %+v, want 640-wide h264 video with audio", f.Info)
	}
	if d := f.Info.Duration; d < 3900*time.Millisecond || d > 4100*time.Millisecond {
		t.Errorf("probed duration %v, want 4s", d)
	}
	if got, want := e.storedSHA(t, id), fileSHA(t, mediaPath); got != want {
		t.Errorf("stored source sha256 %s, want %s", got, want)
	}

	// Accepted: the bytes are gone from the upload dir, yet the upload
	// still answers as complete to a client that resumes it.
	deadline := time.Now().Add(5 * time.Second)
	for fileExists(filepath.Join(e.dir, id)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if fileExists(filepath.Join(e.dir, id)) {
		t.Error("the accepted upload's bytes are still in the upload dir")
	}
	res := e.head(t, loc, e.teacher)
	wantStatus(t, "HEAD after acceptance", res, http.StatusOK)
	if got := res.Header.Get("Upload-Offset"); got != strconv.FormatInt(size, 10) {
		t.Errorf("HEAD after acceptance: Upload-Offset %s, want %d", got, size)
	}
	if m := res.Header.Get("Upload-Metadata"); !strings.Contains(m, base64.StdEncoding.EncodeToString([]byte(title))) {
		t.Errorf("HEAD Upload-Metadata %q lacks the title", m)
	}
	wantStatus(t, "PATCH after acceptance", e.patch(t, loc, e.teacher, size, nil), http.StatusNoContent)
	if st := e.state(t, loc, e.teacher); st.State != "accepted" || st.Title != title || st.Offset != size {
		t.Errorf("state %+v, want accepted with the title", st)
	}
	if n := len(e.acc.list()); n != 1 {
		t.Errorf("Accept called %d times, want 1", n)
	}

	// DELETE removes the record; the lesson stays in the store.
	wantStatus(t, "DELETE", e.do(t, "DELETE", loc, e.teacher, map[string]string{"Tus-Resumable": "1.0.0"}, nil), http.StatusNoContent)
	wantStatus(t, "HEAD after DELETE", e.head(t, loc, e.teacher), http.StatusNotFound)
	if got := files(t, e.dir); len(got) != 0 {
		t.Errorf("upload dir after DELETE holds %v", got)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestOversized refuses an Upload-Length over the limit before any byte is
// sent, and a PATCH carrying more than the declared length.
func TestOversized(t *testing.T) {
	e := newEnv(t, func(o *upload.Options) { o.MaxSize = 1 << 20 })
	res := e.create(t, e.teacher, 1<<20+1, metaHeader("filename", "big.mp4"))
	wantStatus(t, "create over the limit", res, http.StatusRequestEntityTooLarge)
	if b := bodyOf(t, res); !strings.Contains(b, "maximum size exceeded") {
		t.Errorf("413 body %q does not say why", b)
	}
	res = e.do(t, "POST", strings.TrimSuffix(upload.DefaultBasePath, "/"), e.teacher, map[string]string{
		"Tus-Resumable": "1.0.0", "Upload-Length": strconv.Itoa(2 << 20), "Upload-Metadata": metaHeader("filename", "big.mp4")}, nil)
	wantStatus(t, "create over the limit without the slash", res, http.StatusRequestEntityTooLarge)
	opt := e.do(t, "OPTIONS", upload.DefaultBasePath, "", nil, nil)
	if got := opt.Header.Get("Tus-Max-Size"); got != strconv.Itoa(1<<20) {
		t.Errorf("OPTIONS Tus-Max-Size %q, want %d", got, 1<<20)
	}
	loc := location(t, e.create(t, e.teacher, 1000, metaHeader("filename", "small.mp4")))
	wantStatus(t, "PATCH past the length", e.patch(t, loc, e.teacher, 0, make([]byte, 1001)), http.StatusRequestEntityTooLarge)
	res = e.head(t, loc, e.teacher)
	if got := res.Header.Get("Upload-Offset"); got != "0" {
		t.Errorf("after the refused PATCH: Upload-Offset %s, want 0", got)
	}
	if n := len(e.acc.list()); n != 0 {
		t.Errorf("Accept called %d times", n)
	}
}

// TestDiskFull refuses, at creation, an upload larger than the free space
// of the upload disk (measured with statfs on the real directory).
func TestDiskFull(t *testing.T) {
	e := newEnv(t, func(o *upload.Options) { o.MaxSize = 1 << 62 })
	res := e.create(t, e.teacher, 1<<60, metaHeader("filename", "huge.mp4"))
	wantStatus(t, "create larger than the disk", res, http.StatusInsufficientStorage)
	if b := bodyOf(t, res); !strings.Contains(b, "磁盘空间不足") {
		t.Errorf("507 body %q", b)
	}
	if got := files(t, e.dir); len(got) != 0 {
		t.Errorf("upload dir holds %v", got)
	}
}

// TestMalformed sends broken tus requests: each gets a 4xx, nothing
// crashes, and a good upload still works afterwards.
func TestMalformed(t *testing.T) {
	e := newEnv(t)
	loc := location(t, e.create(t, e.teacher, 100, metaHeader("filename", "a.mp4")))
	good := map[string]string{"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	without := func(k string) map[string]string { m := with(k, ""); delete(m, k); return m }
	cases := []struct {
		name        string
		method, url string
		hdr         map[string]string
		body        []byte
		want        int // 0: any 4xx
	}{
		{"POST without Tus-Resumable", "POST", upload.DefaultBasePath, map[string]string{"Upload-Length": "10", "Upload-Metadata": metaHeader("filename", "a.mp4")}, nil, 412},
		{"POST with an old Tus-Resumable", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "0.2.2", "Upload-Length": "10", "Upload-Metadata": metaHeader("filename", "a.mp4")}, nil, 412},
		{"POST without Upload-Length", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Metadata": metaHeader("filename", "a.mp4")}, nil, 400},
		{"POST with a negative Upload-Length", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "-5", "Upload-Metadata": metaHeader("filename", "a.mp4")}, nil, 400},
		{"POST with a non-numeric Upload-Length", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "1e9", "Upload-Metadata": metaHeader("filename", "a.mp4")}, nil, 400},
		// Not malformed but not offered (Tus-Extension does not list
		// creation-defer-length): the size limit needs the length up front.
		{"POST with a deferred length", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Defer-Length": "1", "Upload-Metadata": metaHeader("filename", "a.mp4")}, nil, 501},
		{"POST of an empty file", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "0", "Upload-Metadata": metaHeader("filename", "a.mp4")}, nil, 400},
		{"POST without a filename", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": metaHeader("title", "x")}, nil, 400},
		{"POST with bad base64 metadata", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": "filename !!!notbase64"}, nil, 400},
		{"POST with a non-UTF-8 title", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": metaHeader("filename", "a.mp4", "title", "\xff\xfe")}, nil, 400},
		{"POST with a 300-character title", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": metaHeader("filename", "a.mp4", "title", strings.Repeat("课", 300))}, nil, 400},
		{"POST concatenating uploads", "POST", upload.DefaultBasePath, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Concat": "final;" + loc}, nil, 400},
		{"PATCH with Upload-Offset abc", "PATCH", loc, with("Upload-Offset", "abc"), []byte("x"), 400},
		{"PATCH with a negative Upload-Offset", "PATCH", loc, with("Upload-Offset", "-1"), []byte("x"), 400},
		{"PATCH without Upload-Offset", "PATCH", loc, without("Upload-Offset"), []byte("x"), 400},
		{"PATCH with a wrong offset", "PATCH", loc, with("Upload-Offset", "50"), []byte("x"), 409},
		{"PATCH with Content-Type application/octet-stream", "PATCH", loc, with("Content-Type", "application/octet-stream"), []byte("x"), 400},
		{"PATCH without Content-Type", "PATCH", loc, without("Content-Type"), []byte("x"), 400},
		{"PATCH without Tus-Resumable", "PATCH", loc, without("Tus-Resumable"), []byte("x"), 412},
		{"PATCH of an unknown upload", "PATCH", upload.DefaultBasePath + strings.Repeat("ab", 16), good, []byte("x"), 404},
		{"PATCH with a path in the id", "PATCH", upload.DefaultBasePath + "..%2f..%2fetc%2fpasswd", good, []byte("x"), 404},
		{"HEAD with a traversal id", "HEAD", upload.DefaultBasePath + "../" + filepath.Base(e.dir), good, nil, 0},
		{"GET download", "GET", upload.DefaultBasePath + strings.Repeat("cd", 16), nil, nil, 404},
	}
	for _, c := range cases {
		res := e.do(t, c.method, c.url, e.teacher, c.hdr, c.body)
		if c.want == 0 && res.StatusCode >= 400 && res.StatusCode < 500 {
			continue // any client error
		}
		if res.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, res.StatusCode, c.want, strings.TrimSpace(bodyOf(t, res)))
		}
	}
	// The one real upload is untouched by all that, and completes.
	res := e.head(t, loc, e.teacher)
	wantStatus(t, "HEAD", res, http.StatusOK)
	if got := res.Header.Get("Upload-Offset"); got != "0" {
		t.Errorf("Upload-Offset %s after malformed requests, want 0", got)
	}
	if got := files(t, e.dir); len(got) != 2 {
		t.Errorf("upload dir holds %v, want one upload's two files", got)
	}
}

// TestNotMedia uploads a text file named .mp4: the last PATCH answers 422
// with the probe's reason, the file is deleted and Accept is not called.
func TestNotMedia(t *testing.T) {
	e := newEnv(t)
	text := []byte(strings.Repeat("这不是视频。This is not a video.\n", 200))
	loc := location(t, e.create(t, e.teacher, int64(len(text)), metaHeader("filename", "notes.mp4", "title", "笔记")))
	res := e.patch(t, loc, e.teacher, 0, text)
	wantStatus(t, "PATCH of text", res, http.StatusUnprocessableEntity)
	body := bodyOf(t, res)
	for _, want := range []string{"不是可用的视频文件", "not a usable video", "not a supported audio or video file"} {
		if !strings.Contains(body, want) {
			t.Errorf("422 body %q lacks %q", body, want)
		}
	}
	if strings.Contains(body, e.dir) {
		t.Errorf("422 body %q shows a server path", body)
	}
	if got := files(t, e.dir); len(got) != 0 {
		t.Errorf("upload dir after the refusal holds %v", got)
	}
	if st := e.state(t, loc, e.teacher); st.State != "rejected" || !strings.Contains(st.Reason, "MP4") && !strings.Contains(st.Reason, "not a supported") {
		t.Errorf("state %+v, want rejected with the reason", st)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(e.acc.list()); n != 0 {
		t.Errorf("Accept called %d times for a text file", n)
	}
}

// TestAccess: every tus request needs a signed-in teacher, and an upload is
// its creator's only.
func TestAccess(t *testing.T) {
	e := newEnv(t)
	loc := location(t, e.create(t, e.teacher, 10, metaHeader("filename", "a.mp4")))
	tus := map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Offset": "0",
		"Content-Type": "application/offset+octet-stream", "Upload-Metadata": metaHeader("filename", "a.mp4")}
	reqs := []struct{ method, url string }{
		{"POST", upload.DefaultBasePath}, {"HEAD", loc}, {"PATCH", loc}, {"DELETE", loc}, {"GET", loc},
	}
	for _, r := range reqs {
		res := e.do(t, r.method, r.url, "", tus, []byte("0123456789"))
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous %s: status %d, want 401", r.method, res.StatusCode)
		}
		res = e.do(t, r.method, r.url, "cct_not-a-real-token", tus, []byte("0123456789"))
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with an unknown token: status %d, want 401", r.method, res.StatusCode)
		}
		res = e.do(t, r.method, r.url, e.viewer, tus, []byte("0123456789"))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("viewer %s: status %d, want 403", r.method, res.StatusCode)
		}
		if r.method == "POST" {
			continue
		}
		res = e.do(t, r.method, r.url, e.other, tus, []byte("0123456789"))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("another teacher's %s: status %d, want 403", r.method, res.StatusCode)
		}
	}
	// A CORS preflight carries no credentials and is answered.
	res := e.do(t, "OPTIONS", loc, "", map[string]string{"Origin": "http://school.example", "Access-Control-Request-Method": "PATCH"}, nil)
	wantStatus(t, "preflight", res, http.StatusOK)
	if h := res.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(h, "X-CSRF-Token") || !strings.Contains(h, "Upload-Offset") {
		t.Errorf("preflight allows headers %q", h)
	}

	// A browser session: unsafe requests need the CSRF token.
	ctx := context.Background()
	sess, err := e.authSvc.Login(ctx, auth.LoginRequest{Username: "teacher1", Password: "password-teacher1", Remote: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cookie := func(csrf string) map[string]string {
		m := map[string]string{"Cookie": auth.CookieName + "=" + sess.Secret, "X-CSRF-Token": csrf}
		for k, v := range tus {
			m[k] = v
		}
		return m
	}
	res = e.do(t, "POST", upload.DefaultBasePath, "", cookie(""), nil)
	wantStatus(t, "cookie POST without CSRF", res, http.StatusForbidden)
	res = e.do(t, "POST", upload.DefaultBasePath, "", cookie(sess.CSRFToken), nil)
	wantStatus(t, "cookie POST with CSRF", res, http.StatusCreated)
	wantStatus(t, "cookie HEAD of the token-made upload", e.do(t, "HEAD", loc, "", cookie(""), nil), http.StatusOK)

	// The owner still has it, untouched.
	res = e.head(t, loc, e.teacher)
	wantStatus(t, "owner HEAD", res, http.StatusOK)
	if res.Header.Get("Upload-Offset") != "0" {
		t.Errorf("Upload-Offset %s after refused PATCHes, want 0", res.Header.Get("Upload-Offset"))
	}
}

// TestAcceptRetried: Accept fails (the object store is down); the upload
// waits, says why, and is accepted on a later sweep.
func TestAcceptRetried(t *testing.T) {
	e := newEnv(t, func(o *upload.Options) { o.SweepInterval = 300 * time.Millisecond })
	e.acc.fail = 2
	data, err := os.ReadFile(mediaPath)
	if err != nil {
		t.Fatal(err)
	}
	loc := location(t, e.create(t, e.teacher, int64(len(data)), metaHeader("filename", "lesson.mp4")))
	wantStatus(t, "PATCH", e.patch(t, loc, e.teacher, 0, data), http.StatusNoContent)
	deadline := time.Now().Add(5 * time.Second)
	var st upload.State
	for time.Now().Before(deadline) {
		if st = e.state(t, loc, e.teacher); st.Reason != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.State != "processing" || !strings.Contains(st.Reason, "object store unreachable") {
		t.Errorf("state while Accept fails: %+v", st)
	}
	calls := e.acc.wait(t, 1)
	id := loc[strings.LastIndex(loc, "/")+1:]
	if calls[0].ID != id {
		t.Errorf("accepted %q, want %q", calls[0].ID, id)
	}
	if got, want := e.storedSHA(t, id), fileSHA(t, mediaPath); got != want {
		t.Errorf("stored sha256 %s, want %s", got, want)
	}
	if st := e.state(t, loc, e.teacher); st.State != "accepted" || st.Reason != "" {
		t.Errorf("state after the retry: %+v", st)
	}
}

// TestExpiry: an abandoned partial upload is deleted after Expiry.
func TestExpiry(t *testing.T) {
	e := newEnv(t, func(o *upload.Options) {
		o.Expiry = 300 * time.Millisecond
		o.SweepInterval = 50 * time.Millisecond
	})
	loc := location(t, e.create(t, e.teacher, 1000, metaHeader("filename", "a.mp4")))
	wantStatus(t, "PATCH", e.patch(t, loc, e.teacher, 0, make([]byte, 400)), http.StatusNoContent)
	deadline := time.Now().Add(5 * time.Second)
	for len(files(t, e.dir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := files(t, e.dir); len(got) != 0 {
		t.Fatalf("abandoned upload not deleted: %v", got)
	}
	wantStatus(t, "HEAD of the expired upload", e.head(t, loc, e.teacher), http.StatusNotFound)
}

// TestConcurrentPatch: a second PATCH arriving while one is streaming (two
// tabs, or a client retrying over a half-dead connection) interrupts the
// first through the locker; the stored bytes stay a prefix of the file, and
// the upload completes intact from the server's offset.
func TestConcurrentPatch(t *testing.T) {
	e := newEnv(t)
	data, err := os.ReadFile(mediaPath)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(data))
	loc := location(t, e.create(t, e.teacher, size, metaHeader("filename", "lesson.mp4")))

	// PATCH A sends 1 MB, then stalls.
	pr, pw := io.Pipe()
	reqA, err := http.NewRequest("PATCH", loc, pr)
	if err != nil {
		t.Fatal(err)
	}
	reqA.ContentLength = size
	reqA.Header.Set("Authorization", "Bearer "+e.teacher)
	reqA.Header.Set("Tus-Resumable", "1.0.0")
	reqA.Header.Set("Upload-Offset", "0")
	reqA.Header.Set("Content-Type", "application/offset+octet-stream")
	resA := make(chan *http.Response, 1)
	go func() {
		res, err := http.DefaultClient.Do(reqA)
		if err != nil {
			resA <- nil
			return
		}
		resA <- res
	}()
	if _, err := pw.Write(data[:1<<20]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.received.get() < 1<<20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}

	// PATCH B from offset 0: A is interrupted, B finds the offset moved.
	resB := e.patch(t, loc, e.teacher, 0, data)
	wantStatus(t, "second PATCH at a stale offset", resB, http.StatusConflict)
	var a *http.Response
	select {
	case a = <-resA:
	case <-time.After(10 * time.Second):
		t.Fatal("the first PATCH was not interrupted")
	}
	_ = pw.Close()
	if a != nil {
		b, _ := io.ReadAll(a.Body)
		_ = a.Body.Close()
		if a.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "INTERRUPTED") {
			t.Errorf("interrupted PATCH: %d %s", a.StatusCode, b)
		}
	}

	res := e.head(t, loc, e.teacher)
	offset, _ := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
	if offset != 1<<20 {
		t.Errorf("offset after the interruption %d, want %d", offset, 1<<20)
	}
	wantStatus(t, "PATCH the rest", e.patch(t, loc, e.teacher, offset, data[offset:]), http.StatusNoContent)
	calls := e.acc.wait(t, 1)
	if got, want := e.storedSHA(t, calls[0].ID), fileSHA(t, mediaPath); got != want {
		t.Errorf("stored sha256 %s, want %s", got, want)
	}
}
