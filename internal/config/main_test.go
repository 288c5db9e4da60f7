package config

import (
	"os"
	"strings"
	"testing"
)

// TestMain clears CLASSCAST_* variables inherited from the developer's shell or CI, since
// Load treats an unknown one as an error and a known one would override what a test sets.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, EnvPrefix) {
			os.Unsetenv(name)
		}
	}
	os.Exit(m.Run())
}
