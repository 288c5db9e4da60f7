package outdir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A failed run takes back exactly what it wrote: its files and the directories it
// made, down to the root it created, while a file that was there before and a
// directory someone else filled stay.
func TestRemoveAllTakesBackOnlyItsOwn(t *testing.T) {
	base := t.TempDir()
	keep := filepath.Join(base, "job", "720p", "theirs.txt")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "job", "out", "asset")
	d, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"720p", "audio"} {
		if err := d.Mkdir(dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Write("master.m3u8", []byte("#EXTM3U\n")); err != nil {
		t.Fatal(err)
	}
	if err := d.Write("720p/seg_00001.m4s", []byte("a")); err != nil {
		t.Fatal(err)
	}
	f, err := d.Create("audio/seg_00001.m4s")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := d.Write("master.m3u8", []byte("#EXTM3U\n#again\n")); err != nil { // written twice, listed once
		t.Fatal(err)
	}
	if got := d.List(); !slices.Equal(got, []string{"720p/seg_00001.m4s", "audio/seg_00001.m4s", "master.m3u8"}) {
		t.Fatalf("List: %v", got)
	}
	d.RemoveAll()
	if _, err := os.Stat(filepath.Join(base, "job", "out")); !os.IsNotExist(err) {
		t.Errorf("the directories it made are still there: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file that was there before is gone: %v", err)
	}
	if len(d.List()) != 0 {
		t.Errorf("List after RemoveAll: %v", d.List())
	}
	// A path that is a file is not a directory to write into.
	if _, err := New(keep); err == nil {
		t.Error("New on a file: no error")
	}
}
