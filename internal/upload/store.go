package upload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
)

// store is tusd's file store, except that an accepted upload, whose bytes
// are deleted once Accept has taken them, still answers as complete: a
// client resuming it (a retried last PATCH, a HEAD after a browser restart)
// learns it is done instead of starting the 2 GB over.
type store struct {
	fs  filestore.FileStore
	dir string
}

func newStore(dir string) store {
	fs := filestore.New(dir)
	// Teachers' recordings are not for other users of the machine.
	fs.DirModePerm, fs.FileModePerm = 0o750, 0o640
	return store{fs: fs, dir: dir}
}

func (s store) NewUpload(ctx context.Context, info tusd.FileInfo) (tusd.Upload, error) {
	return s.fs.NewUpload(ctx, info)
}

func (s store) GetUpload(ctx context.Context, id string) (tusd.Upload, error) {
	if !idPattern.MatchString(id) {
		return nil, tusd.ErrNotFound
	}
	if exists(donePath(s.dir, id)) {
		info, err := readInfo(s.dir, id)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, tusd.ErrNotFound
			}
			return nil, err
		}
		info.Offset = info.Size
		return &acceptedUpload{info: info, dir: s.dir}, nil
	}
	return s.fs.GetUpload(ctx, id)
}

func (s store) AsTerminatableUpload(u tusd.Upload) tusd.TerminatableUpload {
	if a, ok := u.(*acceptedUpload); ok {
		return a
	}
	return s.fs.AsTerminatableUpload(u)
}

// acceptedUpload is an upload Accept took: complete, its bytes gone.
type acceptedUpload struct {
	info tusd.FileInfo
	dir  string
}

func (a *acceptedUpload) GetInfo(context.Context) (tusd.FileInfo, error) { return a.info, nil }
func (a *acceptedUpload) FinishUpload(context.Context) error             { return nil }

func (a *acceptedUpload) WriteChunk(context.Context, int64, io.Reader) (int64, error) {
	// tusd never writes to a complete upload.
	return 0, tusd.ErrSizeExceeded
}

func (a *acceptedUpload) GetReader(context.Context) (io.ReadCloser, error) {
	return nil, tusd.ErrNotFound
}

func (a *acceptedUpload) Terminate(context.Context) error {
	for _, p := range []string{infoPath(a.dir, a.info.ID), donePath(a.dir, a.info.ID)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func binPath(dir, id string) string  { return filepath.Join(dir, id) }
func infoPath(dir, id string) string { return filepath.Join(dir, id+".info") }
func donePath(dir, id string) string { return filepath.Join(dir, id+".done") }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readInfo reads tusd's record of upload id.
func readInfo(dir, id string) (tusd.FileInfo, error) {
	var info tusd.FileInfo
	b, err := os.ReadFile(infoPath(dir, id))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("upload %s: %w", id, err)
	}
	return info, nil
}

// removeUpload deletes every file of upload id.
func removeUpload(dir, id string, log *slog.Logger) {
	for _, p := range []string{binPath(dir, id), infoPath(dir, id), donePath(dir, id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Error("could not delete an upload's file", "upload", id, "error", err)
		}
	}
}

// writeDone records that upload id was accepted: written to a temporary
// file, synced and renamed, so a crash leaves either no marker or a whole
// one.
func writeDone(dir, id string, d doneRecord) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, id+".done.tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, donePath(dir, id))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// doneRecord is the content of "<id>.done".
type doneRecord struct {
	UserID     string `json:"user_id"`
	AcceptedAt string `json:"accepted_at"`
}
