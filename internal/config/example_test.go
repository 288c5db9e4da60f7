package config

import (
	"path/filepath"
	"runtime"
	"testing"
)

// TestDeployExampleIsValid keeps deploy/classcast.example.yml loadable: a sample that
// fails on copy-paste is worse than none.
func TestDeployExampleIsValid(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "classcast.example.yml")
	c, err := Load(path, true, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if c.Storage.Backend != "s3" || !c.Records("school-a/room-101") || c.Records("school-a/camera-2") {
		t.Fatalf("example not read as written: %+v", c)
	}
}
