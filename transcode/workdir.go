package transcode

import (
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// workRoot is the folder of work directories inside the configured temp dir.
func workRoot(tempDir string) string { return filepath.Join(tempDir, "transcode") }

// newWorkDir makes root/<asset>-<random> and holds a lock on it until release, which
// also removes it. The lock tells cleanWorkDirs which directories are still in use: the
// kernel drops it when the process dies, even by SIGKILL.
func newWorkDir(root, assetID string) (dir string, release func(), err error) {
	dir, err = os.MkdirTemp(root, assetID+"-")
	if err != nil {
		return "", nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() {
		os.RemoveAll(dir)
		lock.Close()
	}, nil
}

// cleanWorkDirs removes work directories that no live task holds: what a killed worker
// left behind. A directory younger than a minute without a lock file may be one that
// another process is just creating, and is left alone.
func cleanWorkDirs(root string, log *slog.Logger) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		lockPath := filepath.Join(dir, ".lock")
		if _, err := os.Stat(lockPath); err != nil {
			if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < time.Minute {
				continue
			}
		}
		lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			continue
		}
		if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			if err := os.RemoveAll(dir); err == nil {
				log.Info("removed the work files of an interrupted task", "dir", dir)
			}
		}
		lock.Close()
	}
}
