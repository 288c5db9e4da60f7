package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestUploadKeys(t *testing.T) {
	c, err := Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Upload.MaxSize != 4<<30 || c.UploadDir() != filepath.Join("data", "uploads") {
		t.Errorf("defaults: upload.max_size %d, dir %q", c.Upload.MaxSize, c.UploadDir())
	}
	t.Setenv("CLASSCAST_UPLOAD_MAX_SIZE", "2147483648")
	c, err = Load(writeFile(t, "upload:\n  dir: /srv/uploads\n"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Upload.MaxSize != 2<<30 || c.UploadDir() != "/srv/uploads" {
		t.Errorf("upload.max_size %d, dir %q", c.Upload.MaxSize, c.UploadDir())
	}
	t.Setenv("CLASSCAST_UPLOAD_MAX_SIZE", "100")
	if _, err := Load("", false, nil); err == nil || !strings.Contains(err.Error(), "upload.max_size") {
		t.Errorf("a 100-byte limit: error %v does not name upload.max_size", err)
	}
}
